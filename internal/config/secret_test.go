package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecretRedaction(t *testing.T) {
	t.Parallel()
	const (
		dbURL = "postgres://waybill:s3cr3t-db@db/waybill"
		hook  = "s3cr3t-hook"
	)
	cfg := Default()
	cfg.Storage.DatabaseURL = dbURL
	cfg.Connectors.Webhook.Secret = hook

	var slogJSON, slogText bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogJSON, nil)).Info("loaded", "config", cfg, "database_url", cfg.Storage.DatabaseURL)
	slog.New(slog.NewTextHandler(&slogText, nil)).Info("loaded", "config", cfg, "secret", cfg.Connectors.Webhook.Secret)
	jsonOut, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	yamlOut, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}

	outputs := []struct {
		name string
		out  string
	}{
		{"fmt %v", fmt.Sprintf("%v", cfg)},
		{"fmt %+v", fmt.Sprintf("%+v", cfg)},
		{"fmt %#v", fmt.Sprintf("%#v", cfg)},
		{"fmt %s", fmt.Sprintf("%s", cfg.Storage.DatabaseURL)},
		{"fmt %q", fmt.Sprintf("%q", cfg.Connectors.Webhook.Secret)},
		{"fmt %x", fmt.Sprintf("%x", cfg.Connectors.Webhook.Secret)},
		{"fmt pointer %v", fmt.Sprintf("%v", &cfg)},
		{"slog JSON", slogJSON.String()},
		{"slog text", slogText.String()},
		{"json.Marshal", string(jsonOut)},
		{"yaml.Marshal", string(yamlOut)},
	}
	for _, o := range outputs {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range []string{dbURL, "s3cr3t", fmt.Sprintf("%x", hook)} {
				if strings.Contains(o.out, s) {
					t.Errorf("output reveals %q:\n%s", s, o.out)
				}
			}
			if !strings.Contains(o.out, "REDACTED") && !strings.Contains(o.out, fmt.Sprintf("%x", "REDACTED")) {
				t.Errorf("output lacks REDACTED:\n%s", o.out)
			}
		})
	}

	t.Run("json fields", func(t *testing.T) {
		t.Parallel()
		var got struct {
			Storage struct {
				DatabaseURL string `json:"database_url"`
			} `json:"storage"`
		}
		if err := json.Unmarshal(jsonOut, &got); err != nil {
			t.Fatal(err)
		}
		if got.Storage.DatabaseURL != "REDACTED" {
			t.Errorf("got storage.database_url %q in JSON, want %q", got.Storage.DatabaseURL, "REDACTED")
		}
	})

	t.Run("reveal", func(t *testing.T) {
		t.Parallel()
		if got := cfg.Storage.DatabaseURL.Reveal(); got != dbURL {
			t.Errorf("Reveal() = %q, want %q", got, dbURL)
		}
	})

	t.Run("empty secret shows as empty", func(t *testing.T) {
		t.Parallel()
		var s Secret
		text, _ := s.MarshalText()
		jsonText, _ := json.Marshal(s)
		got := []string{s.String(), s.LogValue().String(), string(text), string(jsonText)}
		want := []string{"", "", "", `""`}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("form %d: got %q, want %q", i, got[i], want[i])
			}
		}
	})
}
