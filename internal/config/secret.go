package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// redacted is what a non-empty Secret shows instead of its value.
const redacted = "REDACTED"

// Secret is a configuration string that must not be shown: a password, a
// token, a URL with credentials. A non-empty Secret formats with fmt (%v, %s,
// %q, %#v …), logs with log/slog and marshals to JSON, YAML or text as
// "REDACTED"; an empty one shows as "", so it is still visible whether it is
// set. Reveal returns the value; call it only where the value is used.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "REDACTED", or "" when s is empty.
func (s Secret) String() string { return s.shown() }

// GoString returns the quoted String, so %#v does not print the value either.
func (s Secret) GoString() string { return `config.Secret("` + s.shown() + `")` }

// LogValue implements slog.LogValuer: it logs "REDACTED", or "" when s is empty.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON implements json.Marshaler: "REDACTED", or "" when s is empty.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalText implements encoding.TextMarshaler: REDACTED, or nothing when s is
// empty. YAML encoders use it too.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// ReadSecretFile reads a secret from a file, such as a mounted container or
// Kubernetes secret. One trailing newline (LF or CRLF), which editors and
// echo add, is dropped; anything else is the secret. A missing, unreadable
// or empty file is an error that names the file but never holds its
// contents.
func ReadSecretFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return Secret(s), nil
}
