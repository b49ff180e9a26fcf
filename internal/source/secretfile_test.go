package source_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/source"
)

// TestLoadSecretsFromFiles reads a webhook source's HMAC secrets from
// mounted secret files: one relative to the sources file, one absolute,
// beside one from the environment.
func TestLoadSecretsFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mounted := t.TempDir() // elsewhere, as /run/secrets is
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const (
		oldSecret = "whsec_Zml4dHVyZS1vbmx5LXN0YW5kYXJkLXdlYmhvb2tzISE="
		newSecret = "whsec_bmV3LXN0YW5kYXJkLXdlYmhvb2tzLXNlY3JldA=="
	)
	write(filepath.Join(dir, "tern-old.secret"), oldSecret+"\n")
	newPath := filepath.Join(mounted, "tern_new")
	write(newPath, newSecret)
	write(filepath.Join(dir, "ridgeback.secret"), "s3cret\r\n")
	write(filepath.Join(dir, "empty.secret"), "\n")

	path := filepath.Join(dir, "sources.yaml")
	write(path, `sources:
  - id: tern
    format: aftership
    auth: {scheme: standard_webhooks, secrets_file: [tern-old.secret, `+newPath+`]}
  - id: ridgeback
    format: easypost
    auth: {scheme: easypost, secrets_env: [RIDGEBACK_OLD], secrets_file: [ridgeback.secret]}
`)
	ps, err := source.LoadFile(path, []string{"RIDGEBACK_OLD=0ld"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{oldSecret, newSecret}, ps.Get("tern").Auth.Secrets); diff != "" {
		t.Errorf("tern secrets mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0ld", "s3cret"}, ps.Get("ridgeback").Auth.Secrets); diff != "" {
		t.Errorf("ridgeback secrets mismatch (-want +got):\n%s", diff)
	}
	if v, err := ps.Get("tern").Verifier(nil); err != nil || v == nil {
		t.Errorf("tern verifier from file secrets: %v", err)
	}

	// A missing or empty file is named; its contents never are.
	write(path, `sources:
  - id: gone
    format: easypost
    auth: {scheme: easypost, secrets_file: [nope.secret]}
  - id: blank
    format: easypost
    auth: {scheme: easypost, secrets_file: [empty.secret, ridgeback.secret]}
`)
	_, err = source.LoadFile(path, nil)
	if err == nil {
		t.Fatal("missing and empty secret files loaded")
	}
	msg := err.Error()
	for _, want := range []string{
		"sources.yaml:2: gone.auth.secrets_file: reading secret file: open " + filepath.Join(dir, "nope.secret") + ": no such file or directory",
		"sources.yaml:5: blank.auth.secrets_file: secret file " + filepath.Join(dir, "empty.secret") + " is empty",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "s3cret") || strings.Contains(msg, "needs one secret") {
		t.Errorf("error shows a secret, or asks for a secret a file was meant to give:\n%s", msg)
	}
}
