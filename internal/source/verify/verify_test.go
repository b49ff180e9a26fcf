package verify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixtureFile mirrors testdata/signatures.json.
type fixtureFile struct {
	Secrets struct {
		EasyPost         string `json:"easypost"`
		AfterShip        string `json:"aftership"`
		StandardWebhooks string `json:"standard_webhooks"`
	} `json:"secrets"`
	Cases []fixtureCase `json:"cases"`
}

type fixtureCase struct {
	Name      string            `json:"name"`
	Scheme    string            `json:"scheme"`
	File      string            `json:"file"`
	Transform string            `json:"transform"`
	Headers   map[string]string `json:"headers"`
	Now       string            `json:"now"`
	Expected  string            `json:"expected"`
}

func loadFixtures(t testing.TB) fixtureFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "signatures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixtureFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("decoding signatures.json: %v", err)
	}
	return f
}

func readBody(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newVerifier(t testing.TB, kind string, secrets []string, opts Options) Verifier {
	t.Helper()
	v, err := New(kind, secrets, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", kind, err)
	}
	return v
}

// verificationErrs are the sentinels a rejected webhook must wrap.
var verificationErrs = []error{ErrMissingSignature, ErrBadSignature, ErrTimestampOutOfTolerance, ErrReplayed, ErrMalformed}

// checkNoLeak fails when err's message contains a secret or a signature.
func checkNoLeak(t *testing.T, err error, secrets []string, h http.Header) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	var leaks []string
	for _, s := range secrets {
		leaks = append(leaks, s, strings.TrimPrefix(s, standardSecretPrefix))
	}
	for _, name := range []string{headerEasyPost, headerAfterShip, headerStandardSignature} {
		for _, v := range h.Values(name) {
			leaks = append(leaks, v)
			for _, f := range strings.Fields(v) {
				_, sig, _ := strings.Cut(f, ",")
				leaks = append(leaks, strings.TrimPrefix(f, easyPostSignaturePrefix), sig)
			}
		}
	}
	for _, l := range leaks {
		if len(l) >= 8 && strings.Contains(msg, l) {
			t.Errorf("error message %q contains secret or signature material", msg)
		}
	}
}

// TestFixtureVectors runs every case of testdata/signatures.json with the
// clock the case gives, and checks each invalid case fails for its reason.
func TestFixtureVectors(t *testing.T) {
	t.Parallel()
	f := loadFixtures(t)
	kinds := map[string]struct {
		kind   string
		secret string
	}{
		"easypost-hmac-sha256-hex":     {KindEasyPost, f.Secrets.EasyPost},
		"aftership-hmac-sha256-base64": {KindAfterShip, f.Secrets.AfterShip},
		"standard-webhooks-v1":         {KindStandard, f.Secrets.StandardWebhooks},
	}
	// wantErrs names the reason each invalid case must fail for.
	wantErrs := map[string]error{
		"easypost-wrong-secret":           ErrBadSignature,
		"easypost-body-reserialized":      ErrBadSignature,
		"aftership-hex-instead-of-base64": ErrMalformed, // 64 hex digits decode as 48 bytes of base64
		"standard-webhooks-stale":         ErrTimestampOutOfTolerance,
		"standard-webhooks-id-swapped":    ErrBadSignature,
	}
	if len(f.Cases) != 9 {
		t.Errorf("got %d fixture cases, want 9: classify new cases in wantErrs", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			k, ok := kinds[c.Scheme]
			if !ok {
				t.Fatalf("unknown scheme %q", c.Scheme)
			}
			body := readBody(t, c.File)
			if c.Transform != "" {
				// The only transform: parse and re-encode compactly.
				var v any
				if err := json.Unmarshal(body, &v); err != nil {
					t.Fatal(err)
				}
				re, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(re, body) {
					t.Fatal("re-encoded body equals the raw body; the case proves nothing")
				}
				body = re
			}
			// Schemes without a timestamp ignore now; the zero time shows
			// that no wall clock is involved.
			var now time.Time
			if c.Now != "" {
				var err error
				if now, err = time.Parse(time.RFC3339, c.Now); err != nil {
					t.Fatal(err)
				}
			}
			h := http.Header{}
			for name, v := range c.Headers {
				h.Set(name, v)
			}
			v := newVerifier(t, k.kind, []string{k.secret}, Options{Seen: &MemorySeen{NowFunc: func() time.Time { return now }}})
			err := v.Verify(h, body, now)
			checkNoLeak(t, err, []string{k.secret}, h)
			switch c.Expected {
			case "valid":
				if err != nil {
					t.Fatalf("Verify: got %v, want nil", err)
				}
			case "invalid":
				want, ok := wantErrs[c.Name]
				if !ok {
					t.Fatalf("invalid case %q has no expected error in wantErrs", c.Name)
				}
				if !errors.Is(err, want) {
					t.Fatalf("Verify: got %v, want %v", err, want)
				}
			default:
				t.Fatalf("unknown expectation %q", c.Expected)
			}
		})
	}
}

// Test signing helpers, written from the scheme descriptions independently of
// the verifier code.

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func signEasyPost(secret string, body []byte) string {
	return "hmac-sha256-hex=" + hex.EncodeToString(hmacSHA256([]byte(secret), body))
}

func signAfterShip(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(hmacSHA256([]byte(secret), body))
}

func signStandard(t testing.TB, secret, id string, ts int64, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	content := id + "." + strconv.FormatInt(ts, 10) + "." + string(body)
	return "v1," + base64.StdEncoding.EncodeToString(hmacSHA256(key, []byte(content)))
}

func standardHeader(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func newStandardSecret(seed string) string {
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte("test-key-"+seed))
}

// fixtureNow is the clock of the valid Standard Webhooks fixture case, and
// fixtureTS its signed timestamp (25 s earlier).
var (
	fixtureNow = time.Date(2025, 11, 13, 22, 0, 30, 0, time.UTC)
	fixtureTS  = int64(1763071205)
)

// signFunc returns headers carrying a signature of body made with secret.
type signFunc func(t testing.TB, secret string, body []byte, now time.Time) http.Header

var signers = map[string]signFunc{
	KindEasyPost: func(_ testing.TB, secret string, body []byte, _ time.Time) http.Header {
		h := http.Header{}
		h.Set("X-Hmac-Signature", signEasyPost(secret, body))
		return h
	},
	KindAfterShip: func(_ testing.TB, secret string, body []byte, _ time.Time) http.Header {
		h := http.Header{}
		h.Set("aftership-hmac-sha256", signAfterShip(secret, body))
		return h
	},
	KindStandard: func(t testing.TB, secret string, body []byte, now time.Time) http.Header {
		return standardHeader("msg_test", now.Unix(), signStandard(t, secret, "msg_test", now.Unix(), body))
	},
}

// rotationSecrets returns three distinct well-formed secrets for kind.
func rotationSecrets(kind string) (oldS, newS, other string) {
	if kind == KindStandard {
		return newStandardSecret("old"), newStandardSecret("new"), newStandardSecret("other")
	}
	return "old-secret", "new-secret", "other-secret"
}

// TestRotation proves that with two configured secrets, a signature by either
// passes and a signature by a third fails.
func TestRotation(t *testing.T) {
	t.Parallel()
	body := readBody(t, "webhook-01-easypost-tracker-updated.json")
	for _, kind := range []string{KindEasyPost, KindAfterShip, KindStandard} {
		oldS, newS, other := rotationSecrets(kind)
		for _, tc := range []struct {
			name    string
			signer  string
			wantErr error
		}{
			{"old secret", oldS, nil},
			{"new secret", newS, nil},
			{"third secret", other, ErrBadSignature},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				// A fresh verifier per case: the same webhook-id is reused.
				v := newVerifier(t, kind, []string{oldS, newS}, Options{})
				h := signers[kind](t, tc.signer, body, fixtureNow)
				err := v.Verify(h, body, fixtureNow)
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Fatalf("Verify: got %v, want %v", err, tc.wantErr)
				}
				checkNoLeak(t, err, []string{oldS, newS, other}, h)
			})
		}
	}
}

// TestStandardRotationSignatureList proves that one matching signature among
// several in webhook-signature is enough, in any position, that unknown
// versions are skipped, and that a list with no match fails.
func TestStandardRotationSignatureList(t *testing.T) {
	t.Parallel()
	body := readBody(t, "webhook-06-quirky-duplicates-out-of-order.json")
	secret := newStandardSecret("current")
	good := signStandard(t, secret, "msg_1", fixtureTS, body)
	bad := signStandard(t, newStandardSecret("other"), "msg_1", fixtureTS, body)
	for _, tc := range []struct {
		name    string
		header  string
		wantErr error
	}{
		{"match first", good + " " + bad, nil},
		{"match last", bad + " " + bad + " " + good, nil},
		{"unknown version skipped", "v1a,abcdef " + good, nil},
		{"extra spaces", "  " + bad + "   " + good + " ", nil},
		{"none match", bad + " " + bad, ErrBadSignature},
		{"version prefix differs", strings.Replace(good, "v1,", "v2,", 1), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, KindStandard, []string{secret}, Options{})
			err := v.Verify(standardHeader("msg_1", fixtureTS, tc.header), body, fixtureNow)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify: got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestStandardTolerance checks the edges of the timestamp window, both with
// the fixture signature and with re-signed messages.
func TestStandardTolerance(t *testing.T) {
	t.Parallel()
	f := loadFixtures(t)
	body := readBody(t, "webhook-06-quirky-duplicates-out-of-order.json")
	secret := f.Secrets.StandardWebhooks
	signedAt := time.Unix(fixtureTS, 0)
	for _, tc := range []struct {
		name      string
		ts        time.Time // signed timestamp
		now       time.Time
		tolerance time.Duration
		wantErr   error
	}{
		{"fixture, exactly 5m old", signedAt, signedAt.Add(5 * time.Minute), 0, nil},
		{"fixture, 5m1s old", signedAt, signedAt.Add(5*time.Minute + time.Second), 0, ErrTimestampOutOfTolerance},
		{"fixture, 5m and 1ns old", signedAt, signedAt.Add(5*time.Minute + time.Nanosecond), 0, ErrTimestampOutOfTolerance},
		{"fixture, exactly 5m in the future", signedAt, signedAt.Add(-5 * time.Minute), 0, nil},
		{"fixture, 5m1s in the future", signedAt, signedAt.Add(-5*time.Minute - time.Second), 0, ErrTimestampOutOfTolerance},
		{"same second", fixtureNow, fixtureNow, 0, nil},
		{"custom 30s, 30s old", fixtureNow.Add(-30 * time.Second), fixtureNow, 30 * time.Second, nil},
		{"custom 30s, 31s old", fixtureNow.Add(-31 * time.Second), fixtureNow, 30 * time.Second, ErrTimestampOutOfTolerance},
		{"custom 30s, 31s in the future", fixtureNow.Add(31 * time.Second), fixtureNow, 30 * time.Second, ErrTimestampOutOfTolerance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, KindStandard, []string{secret}, Options{
				Tolerance: tc.tolerance,
				Seen:      &MemorySeen{NowFunc: func() time.Time { return tc.now }},
			})
			id := "msg_pp_20251113_0091"
			h := standardHeader(id, tc.ts.Unix(), signStandard(t, secret, id, tc.ts.Unix(), body))
			err := v.Verify(h, body, tc.now)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify: got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestStandardReplay walks one verifier through a sequence of deliveries on
// an injected clock: a repeat is rejected, a different id passes, an id is
// remembered to the last instant of its window and accepted after it, and a
// forged delivery does not burn its id.
func TestStandardReplay(t *testing.T) {
	t.Parallel()
	f := loadFixtures(t)
	secret := f.Secrets.StandardWebhooks
	body := readBody(t, "webhook-06-quirky-duplicates-out-of-order.json")
	now := fixtureNow
	seen := &MemorySeen{NowFunc: func() time.Time { return now }}
	v := newVerifier(t, KindStandard, []string{secret}, Options{Seen: seen})

	fixtureHeader := standardHeader("msg_pp_20251113_0091", fixtureTS, "v1,5MM3Iu+m8by+q8tfwb2CsMSF08FhIV2X7gvMVJcP3VQ=")
	signed := func(id string, ts int64) http.Header {
		return standardHeader(id, ts, signStandard(t, secret, id, ts, body))
	}
	windowEnd := time.Unix(fixtureTS, 0).Add(ToleranceDefault)
	steps := []struct {
		name    string
		now     time.Time
		h       http.Header
		wantErr error
	}{
		{"first delivery", fixtureNow, fixtureHeader, nil},
		{"second delivery of the same id", fixtureNow, fixtureHeader, ErrReplayed},
		{"different id", fixtureNow, signed("msg_pp_20251113_0092", fixtureTS), nil},
		{"same id re-signed later in the window", fixtureNow.Add(time.Minute), signed("msg_pp_20251113_0091", fixtureNow.Add(time.Minute).Unix()), ErrReplayed},
		{"same id at the last instant of its window", windowEnd, fixtureHeader, ErrReplayed},
		{"same id re-signed after its window", windowEnd.Add(time.Second), signed("msg_pp_20251113_0091", windowEnd.Add(time.Second).Unix()), nil},
		{"forged delivery of a new id", windowEnd.Add(time.Second), standardHeader("msg_new", windowEnd.Unix(), signStandard(t, newStandardSecret("attacker"), "msg_new", windowEnd.Unix(), body)), ErrBadSignature},
		{"genuine delivery of that id after the forgery", windowEnd.Add(time.Second), signed("msg_new", windowEnd.Unix()), nil},
	}
	for _, s := range steps {
		// Sequential on purpose: each step depends on the ones before.
		now = s.now
		err := v.Verify(s.h, body, s.now)
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: Verify: got %v, want %v", s.name, err, s.wantErr)
		}
	}
}

// TestStandardReplaySources proves that one Seen shared by two endpoints
// keeps their ids apart, and that verifiers on the same source share them.
func TestStandardReplaySources(t *testing.T) {
	t.Parallel()
	f := loadFixtures(t)
	secret := f.Secrets.StandardWebhooks
	body := readBody(t, "webhook-06-quirky-duplicates-out-of-order.json")
	seen := &MemorySeen{NowFunc: func() time.Time { return fixtureNow }}
	a := newVerifier(t, KindStandard, []string{secret}, Options{Seen: seen, Source: "partner-a"})
	b := newVerifier(t, KindStandard, []string{secret}, Options{Seen: seen, Source: "partner-b"})
	a2 := newVerifier(t, KindStandard, []string{secret}, Options{Seen: seen, Source: "partner-a"})
	h := standardHeader("msg_pp_20251113_0091", fixtureTS, "v1,5MM3Iu+m8by+q8tfwb2CsMSF08FhIV2X7gvMVJcP3VQ=")
	for _, s := range []struct {
		name    string
		v       Verifier
		wantErr error
	}{
		{"partner-a", a, nil},
		{"partner-b", b, nil},
		{"partner-a, second verifier", a2, ErrReplayed},
	} {
		err := s.v.Verify(h, body, fixtureNow)
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: Verify: got %v, want %v", s.name, err, s.wantErr)
		}
	}
}

type seenFunc func(ctx context.Context, source, id string, until time.Time) (bool, error)

func (f seenFunc) Seen(ctx context.Context, source, id string, until time.Time) (bool, error) {
	return f(ctx, source, id, until)
}

// TestStandardSeenError proves that a failing Seen makes Verify fail with
// that error rather than a verdict, and that Seen gets the source, the id and
// the end of the id's window.
func TestStandardSeenError(t *testing.T) {
	t.Parallel()
	f := loadFixtures(t)
	body := readBody(t, "webhook-06-quirky-duplicates-out-of-order.json")
	errStore := errors.New("store down")
	var gotSource, gotID string
	var gotUntil time.Time
	seen := seenFunc(func(_ context.Context, source, id string, until time.Time) (bool, error) {
		gotSource, gotID, gotUntil = source, id, until
		return false, errStore
	})
	v := newVerifier(t, KindStandard, []string{f.Secrets.StandardWebhooks}, Options{Seen: seen})
	cv, ok := v.(ContextVerifier)
	if !ok {
		t.Fatal("standard verifier does not implement ContextVerifier")
	}
	h := standardHeader("msg_pp_20251113_0091", fixtureTS, "v1,5MM3Iu+m8by+q8tfwb2CsMSF08FhIV2X7gvMVJcP3VQ=")
	err := cv.VerifyContext(t.Context(), h, body, fixtureNow)
	if !errors.Is(err, errStore) {
		t.Fatalf("VerifyContext: got %v, want %v", err, errStore)
	}
	for _, s := range verificationErrs {
		if errors.Is(err, s) {
			t.Errorf("VerifyContext: got %v, which wraps verdict %v", err, s)
		}
	}
	wantUntil := time.Unix(fixtureTS, 0).Add(ToleranceDefault)
	if gotSource != KindStandard || gotID != "msg_pp_20251113_0091" || !gotUntil.Equal(wantUntil) {
		t.Errorf("Seen got (%q, %q, %v), want (%q, %q, %v)", gotSource, gotID, gotUntil, KindStandard, "msg_pp_20251113_0091", wantUntil)
	}
}

// TestBodyChangedOneByte proves that flipping, adding or removing one byte of
// a correctly signed body fails for every kind.
func TestBodyChangedOneByte(t *testing.T) {
	t.Parallel()
	body := readBody(t, "webhook-02-aftership-tracking-update.json")
	changes := map[string]func([]byte) []byte{
		"flip middle byte": func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 0x01; return c },
		"drop final newline": func(b []byte) []byte {
			return bytes.Clone(b[:len(b)-1])
		},
		"append space": func(b []byte) []byte { return append(bytes.Clone(b), ' ') },
	}
	for _, kind := range []string{KindEasyPost, KindAfterShip, KindStandard} {
		secret, _, _ := rotationSecrets(kind)
		for name, change := range changes {
			t.Run(kind+"/"+name, func(t *testing.T) {
				t.Parallel()
				v := newVerifier(t, kind, []string{secret}, Options{})
				h := signers[kind](t, secret, body, fixtureNow)
				if err := v.Verify(h, change(body), fixtureNow); !errors.Is(err, ErrBadSignature) {
					t.Fatalf("Verify changed body: got %v, want %v", err, ErrBadSignature)
				}
				if err := v.Verify(h, body, fixtureNow); err != nil {
					t.Fatalf("Verify original body: got %v, want nil", err)
				}
			})
		}
	}
}

// TestMissingAndMalformed covers absent and unparseable headers.
func TestMissingAndMalformed(t *testing.T) {
	t.Parallel()
	body := readBody(t, "webhook-01-easypost-tracker-updated.json")
	epSecret, _, _ := rotationSecrets(KindEasyPost)
	stdSecret := newStandardSecret("old")
	goodEP := signEasyPost(epSecret, body)
	goodStd := signStandard(t, stdSecret, "msg_1", fixtureTS, body)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	ts := strconv.FormatInt(fixtureTS, 10)
	for _, tc := range []struct {
		name    string
		kind    string
		h       http.Header
		wantErr error
	}{
		{"easypost no header", KindEasyPost, hdr(), ErrMissingSignature},
		{"easypost empty header", KindEasyPost, hdr("X-Hmac-Signature", " "), ErrMissingSignature},
		{"easypost no prefix", KindEasyPost, hdr("X-Hmac-Signature", strings.TrimPrefix(goodEP, "hmac-sha256-hex=")), ErrMalformed},
		{"easypost not hex", KindEasyPost, hdr("X-Hmac-Signature", "hmac-sha256-hex=zz"), ErrMalformed},
		{"easypost short", KindEasyPost, hdr("X-Hmac-Signature", goodEP[:len(goodEP)-2]), ErrMalformed},
		{"easypost upper-case hex", KindEasyPost, hdr("X-Hmac-Signature", "hmac-sha256-hex="+strings.ToUpper(strings.TrimPrefix(goodEP, "hmac-sha256-hex="))), nil},
		{"easypost lower-case header name", KindEasyPost, hdr("x-hmac-signature", goodEP), nil},
		{"aftership no header", KindAfterShip, hdr(), ErrMissingSignature},
		{"aftership not base64", KindAfterShip, hdr("aftership-hmac-sha256", "%%%"), ErrMalformed},
		{"standard no headers", KindStandard, hdr(), ErrMissingSignature},
		{"standard no signature", KindStandard, hdr("webhook-id", "msg_1", "webhook-timestamp", ts), ErrMissingSignature},
		{"standard no id", KindStandard, hdr("webhook-timestamp", ts, "webhook-signature", goodStd), ErrMalformed},
		{"standard no timestamp", KindStandard, hdr("webhook-id", "msg_1", "webhook-signature", goodStd), ErrMalformed},
		{"standard timestamp not integer", KindStandard, hdr("webhook-id", "msg_1", "webhook-timestamp", ts+".5", "webhook-signature", goodStd), ErrMalformed},
		{"standard signature without version", KindStandard, hdr("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", strings.TrimPrefix(goodStd, "v1,")), ErrMalformed},
		{"standard signature not base64", KindStandard, hdr("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", "v1,%%%"), ErrMalformed},
		{"standard valid", KindStandard, hdr("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", goodStd), nil},
		{"standard id over 256 bytes", KindStandard, hdr("webhook-id", strings.Repeat("m", 257), "webhook-timestamp", ts, "webhook-signature", goodStd), ErrMalformed},
		{"standard id not ASCII", KindStandard, hdr("webhook-id", "msg_ÿ", "webhook-timestamp", ts, "webhook-signature", goodStd), ErrMalformed},
		{"standard id with a space", KindStandard, hdr("webhook-id", "msg 1", "webhook-timestamp", ts, "webhook-signature", goodStd), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret := epSecret
			if tc.kind == KindStandard {
				secret = stdSecret
			}
			v := newVerifier(t, tc.kind, []string{secret}, Options{})
			err := v.Verify(tc.h, body, fixtureNow)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify: got %v, want %v", err, tc.wantErr)
			}
			checkNoLeak(t, err, []string{secret}, tc.h)
		})
	}
}

// TestNewErrors covers unknown kinds, bad secrets and bad options, and checks
// that the errors do not quote the secret.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		kind    string
		secrets []string
		opts    Options
		wantErr error
	}{
		{"unknown kind", "svix", []string{"some-secret-value"}, Options{}, ErrUnknownKind},
		{"kind is case-sensitive", "EasyPost", []string{"some-secret-value"}, Options{}, ErrUnknownKind},
		{"no secrets", KindAfterShip, nil, Options{}, ErrInvalidSecret},
		{"empty secret", KindAfterShip, []string{"ok-secret", ""}, Options{}, ErrInvalidSecret},
		{"easypost non-ASCII secret", KindEasyPost, []string{"geheim-schlüssel-ﬁ"}, Options{}, ErrInvalidSecret},
		{"standard without whsec_", KindStandard, []string{"Zml4dHVyZS1vbmx5LXN0YW5kYXJkLXdlYmhvb2tzISE="}, Options{}, ErrInvalidSecret},
		{"standard bad base64", KindStandard, []string{"whsec_not*base64*secret"}, Options{}, ErrInvalidSecret},
		{"standard empty key", KindStandard, []string{"whsec_"}, Options{}, ErrInvalidSecret},
		{"negative tolerance", KindStandard, []string{newStandardSecret("a")}, Options{Tolerance: -time.Second}, ErrInvalidOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := New(tc.kind, tc.secrets, tc.opts)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("New: got (%v, %v), want error %v", v, err, tc.wantErr)
			}
			for _, s := range tc.secrets {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("New error %q quotes a secret", err)
				}
			}
		})
	}
	for _, kind := range []string{KindEasyPost, KindAfterShip, KindStandard} {
		s, _, _ := rotationSecrets(kind)
		v, err := New(kind, []string{s}, Options{})
		if err != nil {
			t.Fatalf("New(%q): %v", kind, err)
		}
		if _, ok := v.(ContextVerifier); !ok {
			t.Errorf("New(%q) returned %T, which does not implement ContextVerifier", kind, v)
		}
	}
}

// TestConcurrentVerify runs one verifier from many goroutines (meaningful
// under -race) and checks that exactly one delivery of an id is accepted.
func TestConcurrentVerify(t *testing.T) {
	t.Parallel()
	f := loadFixtures(t)
	body := readBody(t, "webhook-06-quirky-duplicates-out-of-order.json")
	v := newVerifier(t, KindStandard, []string{f.Secrets.StandardWebhooks}, Options{Seen: &MemorySeen{NowFunc: func() time.Time { return fixtureNow }}})
	h := standardHeader("msg_pp_20251113_0091", fixtureTS, "v1,5MM3Iu+m8by+q8tfwb2CsMSF08FhIV2X7gvMVJcP3VQ=")
	const n = 32
	errs := make(chan error, n)
	for range n {
		go func() { errs <- v.Verify(h, body, fixtureNow) }()
	}
	accepted := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, ErrReplayed):
			t.Errorf("Verify: got %v, want nil or %v", err, ErrReplayed)
		}
	}
	if accepted != 1 {
		t.Errorf("got %d accepted deliveries, want 1", accepted)
	}
}
