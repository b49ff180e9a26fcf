package subscription

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret, as Standard Webhooks writes
// them: whsec_ and the base64 of the key.
const SecretPrefix = "whsec_"

// NewSecret returns a new signing secret: 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// errBadSecret reports a secret that is not whsec_ and base64.
var errBadSecret = errors.New("signing secret must be whsec_ followed by base64 of 24 to 64 bytes")

// secretKey returns the key of a whsec_ secret.
func secretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, errBadSecret
	}
	return key, nil
}

// Sign returns the webhook-signature header of a message: one v1
// signature per secret, space-separated, as Standard Webhooks asks during
// a rotation. Each signs "id.timestamp.body" with HMAC-SHA256.
func Sign(id string, at time.Time, body []byte, secrets []string) (string, error) {
	ts := strconv.FormatInt(at.Unix(), 10)
	var out []string
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return "", err
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		out = append(out, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(out, " "), nil
}
