package config

import (
	"errors"
	"testing"
)

func TestEncryptionValidate(t *testing.T) {
	t.Parallel()
	const good = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // 32 zero bytes
	tests := []struct {
		name    string
		enc     Encryption
		wantKey string // "" for valid
	}{
		{name: "default", enc: Encryption{Enabled: true}},
		{name: "key", enc: Encryption{Enabled: true, Key: good}},
		{name: "key file", enc: Encryption{Enabled: true, KeyFile: "/run/secrets/kek"}},
		{name: "both", enc: Encryption{Enabled: true, Key: good, KeyFile: "/run/secrets/kek"}, wantKey: "encryption.key"},
		{name: "not base64", enc: Encryption{Enabled: true, Key: "not base64!"}, wantKey: "encryption.key"},
		{name: "short key", enc: Encryption{Enabled: true, Key: "c2hvcnQ="}, wantKey: "encryption.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			c.Encryption = tt.enc
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *KeyError
			if !errors.As(err, &fe) || fe.Key != tt.wantKey {
				t.Errorf("Validate() = %v, want an error on %s", err, tt.wantKey)
			}
		})
	}
}
