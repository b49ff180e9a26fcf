package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors returned by [Verify]; each is wrapped with detail.
var (
	// ErrSignatureMalformed reports a missing or unparsable signature
	// header.
	ErrSignatureMalformed = errors.New("malformed signature header")
	// ErrSignatureMismatch reports that no signature in the header matches
	// the body and secret.
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrSignatureStale reports a valid signature whose timestamp is
	// further from now than the tolerance.
	ErrSignatureStale = errors.New("signature timestamp outside tolerance")
)

// Sign returns the Waybill-Signature header value for body signed with
// secret at time t: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
func Sign(secret string, t time.Time, body []byte) string {
	return sign([]byte(secret), t, body)
}

func sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Waybill-Signature header value against the raw request
// body and the shared secret, as the package doc describes. It returns nil
// when one v1 signature matches and its timestamp is within tolerance of
// now; otherwise an error that wraps ErrSignatureMalformed,
// ErrSignatureMismatch or ErrSignatureStale. A tolerance of zero or less
// skips the timestamp check, which leaves captured requests open to replay;
// receivers should pass a few minutes. An empty secret verifies nothing and
// is an error.
func Verify(secret string, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return errors.New("verifying webhook signature: empty secret")
	}
	var (
		ts   string
		sigs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: %q is not key=value", ErrSignatureMalformed, part)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: more than one t", ErrSignatureMalformed)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: v1 is not a hex SHA-256 HMAC", ErrSignatureMalformed)
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" {
		return fmt.Errorf("%w: no t", ErrSignatureMalformed)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: t %q is not a Unix time", ErrSignatureMalformed, ts)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1", ErrSignatureMalformed)
	}
	want := mac([]byte(secret), ts, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if tolerance > 0 {
		age := now.Sub(time.Unix(unix, 0))
		if age > tolerance || age < -tolerance {
			return fmt.Errorf("%w: signed %v from now, tolerance %v", ErrSignatureStale, age.Round(time.Second), tolerance)
		}
	}
	return nil
}
