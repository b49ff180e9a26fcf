package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

func TestReadSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tt := range []struct {
		name, content, want, wantErr string
	}{
		{name: "no newline", content: "whsec_abc", want: "whsec_abc"},
		{name: "one newline", content: "whsec_abc\n", want: "whsec_abc"},
		{name: "CRLF", content: "whsec_abc\r\n", want: "whsec_abc"},
		{name: "only one newline dropped", content: "abc\n\n", want: "abc\n"},
		{name: "spaces kept", content: " a b \n", want: " a b "},
		{name: "empty", content: "", wantErr: "is empty"},
		{name: "only a newline", content: "\n", wantErr: "is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := write(strings.ReplaceAll(tt.name, " ", "_"), tt.content)
			got, err := ReadSecretFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("ReadSecretFile = %v, want an error naming %s and saying it %s", err, path, tt.wantErr)
				}
				return
			}
			if err != nil || got.Reveal() != tt.want {
				t.Fatalf("ReadSecretFile = %q, %v; want %q", got.Reveal(), err, tt.want)
			}
			if fmt.Sprint(got) != "REDACTED" {
				t.Errorf("a secret read from a file prints as %q, want REDACTED", fmt.Sprint(got))
			}
		})
	}
	missing := filepath.Join(dir, "nope")
	if _, err := ReadSecretFile(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadSecretFile(missing file) = %v, want an error naming %s that matches os.ErrNotExist", err, missing)
	}
}
