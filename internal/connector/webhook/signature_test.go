package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/webhook"
	"github.com/waybill/waybill/internal/connector/webhook/webhooktest"
)

func TestSignatureVerifies(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test"
	r := webhooktest.New(t)
	c := newConnector(t, webhook.Config{URL: r.URL(), Secret: secret}, &webhook.Options{NowFunc: func() time.Time { return fixedNow }})
	if err := c.Deliver(t.Context(), testAction()); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	req := r.Requests()[0]
	header := req.Header.Get(webhook.HeaderSignature)
	if got, want := header, webhook.Sign(secret, fixedNow, req.Body); got != want {
		t.Errorf("%s: got %q, want %q", webhook.HeaderSignature, got, want)
	}
	tampered := []byte(strings.Replace(string(req.Body), "D4", "D5", 1))

	const tolerance = 5 * time.Minute
	tests := []struct {
		name    string
		secret  string
		body    []byte
		now     time.Time
		wantErr error
	}{
		{name: "valid", secret: secret, body: req.Body, now: fixedNow},
		{name: "valid_within_tolerance", secret: secret, body: req.Body, now: fixedNow.Add(tolerance - time.Second)},
		{name: "wrong_secret", secret: "whsec_other", body: req.Body, now: fixedNow, wantErr: webhook.ErrSignatureMismatch},
		{name: "tampered_body", secret: secret, body: tampered, now: fixedNow, wantErr: webhook.ErrSignatureMismatch},
		{name: "stale", secret: secret, body: req.Body, now: fixedNow.Add(tolerance + time.Second), wantErr: webhook.ErrSignatureStale},
		{name: "from_the_future", secret: secret, body: req.Body, now: fixedNow.Add(-tolerance - time.Second), wantErr: webhook.ErrSignatureStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhook.Verify(tt.secret, header, tt.body, tolerance, tt.now)
			if tt.wantErr == nil && err != nil {
				t.Errorf("Verify: got error %v, want nil", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify: got error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyStaleTimestampWithoutTolerance(t *testing.T) {
	t.Parallel()
	body := []byte(`{"kind":"dispatch.release"}`)
	header := webhook.Sign("k", fixedNow, body)
	if err := webhook.Verify("k", header, body, 0, fixedNow.Add(24*time.Hour)); err != nil {
		t.Errorf("Verify with tolerance 0 a day later: got error %v, want nil", err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	body := []byte(`{}`)
	good := webhook.Sign("k", fixedNow, body)
	_, v1, _ := strings.Cut(good, ",")
	tests := []struct {
		name    string
		header  string
		wantErr error
	}{
		{name: "empty", header: "", wantErr: webhook.ErrSignatureMalformed},
		{name: "no_equals", header: "garbage", wantErr: webhook.ErrSignatureMalformed},
		{name: "no_t", header: v1, wantErr: webhook.ErrSignatureMalformed},
		{name: "no_v1", header: "t=1773480413", wantErr: webhook.ErrSignatureMalformed},
		{name: "bad_t", header: "t=yesterday," + v1, wantErr: webhook.ErrSignatureMalformed},
		{name: "two_t", header: "t=1,t=2," + v1, wantErr: webhook.ErrSignatureMalformed},
		{name: "bad_hex", header: "t=1,v1=zz", wantErr: webhook.ErrSignatureMalformed},
		{name: "short_v1", header: "t=1,v1=abcd", wantErr: webhook.ErrSignatureMalformed},
		{name: "unknown_scheme_only", header: "t=1,v0=abcd", wantErr: webhook.ErrSignatureMalformed},
		{name: "unknown_scheme_ignored", header: good + ",v2=whatever"},
		{name: "extra_v1_rotation", header: "t=" + strings.TrimPrefix(strings.Split(good, ",")[0], "t=") + ",v1=" + strings.Repeat("00", 32) + "," + v1},
		{name: "spaces", header: strings.ReplaceAll(good, ",", ", ")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhook.Verify("k", tt.header, body, time.Minute, fixedNow)
			if tt.wantErr == nil && err != nil {
				t.Errorf("Verify(%q): got error %v, want nil", tt.header, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify(%q): got error %v, want %v", tt.header, err, tt.wantErr)
			}
		})
	}
}

func TestVerifyEmptySecret(t *testing.T) {
	t.Parallel()
	body := []byte(`{}`)
	if err := webhook.Verify("", webhook.Sign("", fixedNow, body), body, time.Minute, fixedNow); err == nil {
		t.Error("Verify with an empty secret: got nil error, want one")
	}
}
