package verify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verification errors. Every error returned by a Verifier's Verify for a
// rejected webhook wraps exactly one of these.
var (
	// ErrMissingSignature means the request carries no signature header.
	ErrMissingSignature = errors.New("missing webhook signature")
	// ErrBadSignature means no signature matches any configured secret.
	ErrBadSignature = errors.New("bad webhook signature")
	// ErrTimestampOutOfTolerance means the signed timestamp is too far from
	// now.
	ErrTimestampOutOfTolerance = errors.New("webhook timestamp out of tolerance")
	// ErrReplayed means the webhook id was already accepted within its
	// tolerance window.
	ErrReplayed = errors.New("webhook replayed")
	// ErrMalformed means a signature-related header cannot be parsed.
	ErrMalformed = errors.New("malformed webhook signature header")
)

// Construction errors returned by [New].
var (
	// ErrUnknownKind means New was given a kind it does not know.
	ErrUnknownKind = errors.New("unknown webhook signature kind")
	// ErrInvalidSecret means a secret given to New is empty or malformed.
	ErrInvalidSecret = errors.New("invalid webhook secret")
	// ErrInvalidOptions means New was given invalid Options.
	ErrInvalidOptions = errors.New("invalid webhook verifier options")
)

// Kinds accepted by [New].
const (
	KindEasyPost  = "easypost"
	KindAfterShip = "aftership"
	KindStandard  = "standard"
)

// ToleranceDefault is the default [Options.Tolerance]: Standard Webhooks
// rejects timestamps more than 5 minutes from now.
const ToleranceDefault = 5 * time.Minute

// Header names, as the providers document them.
const (
	headerEasyPost   = "X-Hmac-Signature"
	headerAfterShip  = "aftership-hmac-sha256"
	headerStandardID = "webhook-id"
	// maxStandardID bounds a webhook-id: it is stored to refuse replays.
	maxStandardID            = 256
	headerStandardTimestamp  = "webhook-timestamp"
	headerStandardSignature  = "webhook-signature"
	easyPostSignaturePrefix  = "hmac-sha256-hex="
	standardSecretPrefix     = "whsec_"
	standardSignatureVersion = "v1"
)

// Verifier checks that a webhook was signed by its provider.
//
// Verify takes the request headers, the exact raw body bytes and the current
// time (injected so that tests are deterministic; production passes
// time.Now()). It returns nil when the webhook is authentic and, for schemes
// with replay protection, not a replay. Otherwise it returns an error
// wrapping one of ErrMissingSignature, ErrBadSignature,
// ErrTimestampOutOfTolerance, ErrReplayed or ErrMalformed, or, when a [Seen]
// fails, that error (the webhook should then be retried, not rejected).
// Implementations are safe for concurrent use.
type Verifier interface {
	Verify(h http.Header, body []byte, now time.Time) error
}

// ContextVerifier is a [Verifier] that also takes a context, passed on to
// [Seen]. Every verifier returned by [New] implements it; Verify is
// VerifyContext with context.Background().
type ContextVerifier interface {
	Verifier
	VerifyContext(ctx context.Context, h http.Header, body []byte, now time.Time) error
}

// Options are the optional settings of [New]. The zero value is valid.
type Options struct {
	// Tolerance is how far the signed timestamp may be from now, in either
	// direction, for the "standard" kind; a difference of exactly Tolerance
	// is accepted. Must not be negative. Defaults to ToleranceDefault (5m)
	// when zero. Ignored by the other kinds, which sign no timestamp.
	Tolerance time.Duration

	// Seen remembers accepted webhook ids for replay protection ("standard"
	// kind only). Share one Seen across processes (for example backed by the
	// database) when several processes receive the same endpoint. When nil,
	// the verifier gets its own MemorySeen on the wall clock, which protects
	// a single process only.
	Seen Seen

	// Source names the endpoint in calls to Seen, so that one Seen can serve
	// several endpoints. Defaults to the kind.
	Source string
}

// New returns a Verifier for kind (KindEasyPost, KindAfterShip or
// KindStandard) that accepts a signature made with any of secrets. It fails
// with ErrUnknownKind, ErrInvalidSecret or ErrInvalidOptions; the errors
// name a secret by its position, never by its value.
func New(kind string, secrets []string, opts Options) (Verifier, error) {
	switch kind {
	case KindEasyPost, KindAfterShip, KindStandard:
	default:
		return nil, fmt.Errorf("%w: %q (want %q, %q or %q)", ErrUnknownKind, kind, KindEasyPost, KindAfterShip, KindStandard)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secrets given for %s", ErrInvalidSecret, kind)
	}
	if opts.Tolerance < 0 {
		return nil, fmt.Errorf("%w: tolerance %s is negative", ErrInvalidOptions, opts.Tolerance)
	}
	keys := make([][]byte, 0, len(secrets))
	for i, s := range secrets {
		k, err := decodeSecret(kind, s)
		if err != nil {
			return nil, fmt.Errorf("%w: secret %d of %d for %s: %s", ErrInvalidSecret, i+1, len(secrets), kind, err)
		}
		keys = append(keys, k)
	}
	switch kind {
	case KindEasyPost:
		return &rawBodyVerifier{keys: keys, header: headerEasyPost, decode: decodeEasyPost}, nil
	case KindAfterShip:
		return &rawBodyVerifier{keys: keys, header: headerAfterShip, decode: decodeBase64Signature}, nil
	default:
		sv := &standardVerifier{keys: keys, tolerance: opts.Tolerance, seen: opts.Seen, source: opts.Source}
		if sv.tolerance == 0 {
			sv.tolerance = ToleranceDefault
		}
		if sv.seen == nil {
			sv.seen = &MemorySeen{}
		}
		if sv.source == "" {
			sv.source = kind
		}
		return sv, nil
	}
}

// decodeSecret turns a configured secret into HMAC key bytes. Its errors
// describe the problem without quoting the secret.
func decodeSecret(kind, s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	switch kind {
	case KindEasyPost:
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, errors.New("contains non-ASCII characters, which need NFKD normalisation (not supported)")
			}
		}
		return []byte(s), nil
	case KindStandard:
		enc, ok := strings.CutPrefix(s, standardSecretPrefix)
		if !ok {
			return nil, fmt.Errorf("missing %q prefix", standardSecretPrefix)
		}
		k, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, errors.New("part after the prefix is not valid base64")
		}
		if len(k) == 0 {
			return nil, errors.New("decoded key is empty")
		}
		return k, nil
	default:
		return []byte(s), nil
	}
}

// rawBodyVerifier checks an HMAC-SHA256 of the raw body carried in a single
// header (EasyPost, AfterShip).
type rawBodyVerifier struct {
	keys   [][]byte
	header string
	decode func(v string) ([]byte, error)
}

func (v *rawBodyVerifier) Verify(h http.Header, body []byte, now time.Time) error {
	return v.VerifyContext(context.Background(), h, body, now)
}

func (v *rawBodyVerifier) VerifyContext(_ context.Context, h http.Header, body []byte, _ time.Time) error {
	val := strings.TrimSpace(h.Get(v.header))
	if val == "" {
		return fmt.Errorf("%w: no %s header", ErrMissingSignature, v.header)
	}
	sig, err := v.decode(val)
	if err != nil {
		return fmt.Errorf("%w: header %s: %s", ErrMalformed, v.header, err)
	}
	for _, k := range v.keys {
		if hmac.Equal(sig, mac(k, body)) {
			return nil
		}
	}
	return fmt.Errorf("%w: header %s matches no configured secret", ErrBadSignature, v.header)
}

func decodeEasyPost(v string) ([]byte, error) {
	enc, ok := strings.CutPrefix(v, easyPostSignaturePrefix)
	if !ok {
		return nil, fmt.Errorf("missing %q prefix", easyPostSignaturePrefix)
	}
	sig, err := hex.DecodeString(enc)
	if err != nil {
		return nil, errors.New("signature is not hex")
	}
	if len(sig) != sha256.Size {
		return nil, fmt.Errorf("signature is %d bytes, want %d", len(sig), sha256.Size)
	}
	return sig, nil
}

func decodeBase64Signature(v string) ([]byte, error) {
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, errors.New("signature is not base64")
	}
	if len(sig) != sha256.Size {
		return nil, fmt.Errorf("signature is %d bytes, want %d", len(sig), sha256.Size)
	}
	return sig, nil
}

// standardVerifier implements Standard Webhooks v1 (symmetric) signatures.
type standardVerifier struct {
	keys      [][]byte
	tolerance time.Duration
	seen      Seen
	source    string
}

func (v *standardVerifier) Verify(h http.Header, body []byte, now time.Time) error {
	return v.VerifyContext(context.Background(), h, body, now)
}

// VerifyContext checks, in order: the headers are present and parse, the
// timestamp is within tolerance, a v1 signature matches a secret, and the id
// was not accepted before. An id is recorded only once its signature is
// valid, so forged requests cannot block a genuine delivery.
func (v *standardVerifier) VerifyContext(ctx context.Context, h http.Header, body []byte, now time.Time) error {
	sigHeader := strings.TrimSpace(strings.Join(h.Values(headerStandardSignature), " "))
	if sigHeader == "" {
		return fmt.Errorf("%w: no %s header", ErrMissingSignature, headerStandardSignature)
	}
	id := h.Get(headerStandardID)
	if id == "" {
		return fmt.Errorf("%w: no %s header", ErrMalformed, headerStandardID)
	}
	if len(id) > maxStandardID {
		return fmt.Errorf("%w: header %s is %d bytes long, at most %d", ErrMalformed, headerStandardID, len(id), maxStandardID)
	}
	if strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return fmt.Errorf("%w: header %s must be visible ASCII characters", ErrMalformed, headerStandardID)
	}
	tsText := h.Get(headerStandardTimestamp)
	if tsText == "" {
		return fmt.Errorf("%w: no %s header", ErrMalformed, headerStandardTimestamp)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: header %s is not an integer number of seconds", ErrMalformed, headerStandardTimestamp)
	}
	signedAt := time.Unix(ts, 0)
	if skew := now.Sub(signedAt); skew > v.tolerance || skew < -v.tolerance {
		return fmt.Errorf("%w: timestamp is %s from now, tolerance %s", ErrTimestampOutOfTolerance, skew.Round(time.Second), v.tolerance)
	}

	var sigs [][]byte
	for _, field := range strings.Fields(sigHeader) {
		version, enc, ok := strings.Cut(field, ",")
		if !ok || version != standardSignatureVersion {
			continue // Other versions (v1a, future ones) are not ours to check.
		}
		sig, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(sig) != sha256.Size {
			continue
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: header %s holds no well-formed %s signature", ErrMalformed, headerStandardSignature, standardSignatureVersion)
	}

	content := make([]byte, 0, len(id)+len(tsText)+len(body)+2)
	content = append(content, id...)
	content = append(content, '.')
	content = append(content, tsText...)
	content = append(content, '.')
	content = append(content, body...)
	match := false
	for _, k := range v.keys {
		want := mac(k, content)
		for _, sig := range sigs {
			// Keep comparing after a match: the time taken does not depend on
			// which secret or signature matched.
			if hmac.Equal(sig, want) {
				match = true
			}
		}
	}
	if !match {
		return fmt.Errorf("%w: %d %s signature(s) match no configured secret", ErrBadSignature, len(sigs), standardSignatureVersion)
	}

	seen, err := v.seen.Seen(ctx, v.source, id, signedAt.Add(v.tolerance))
	if err != nil {
		return fmt.Errorf("checking webhook id for replay: %w", err)
	}
	if seen {
		return fmt.Errorf("%w: webhook id already accepted", ErrReplayed)
	}
	return nil
}

func mac(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}
