package config

import (
	"encoding/base64"
	"strings"
)

// encryptionKeySize is the size of a key-encryption key (seal.KeySize).
const encryptionKeySize = 32

func (e Encryption) validate(v *validator) {
	if e.KeyFile != "" && e.Key != "" {
		v.add("encryption.key", "set encryption.key_file or encryption.key, not both")
	}
	if e.Key != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(e.Key.Reveal()))
		if err != nil || len(k) != encryptionKeySize {
			v.add("encryption.key", "must be 32 bytes in standard base64 (waybill keys new-kek makes one)")
		}
	}
}
