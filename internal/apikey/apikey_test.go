package apikey

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Scope
		wantBad string // a word the error must name
	}{
		{name: "one", in: "events:write", want: []Scope{EventsWrite}},
		{name: "all", in: "events:write,shipments:read,admin", want: []Scope{EventsWrite, ShipmentsRead, Admin}},
		{name: "blanks", in: " admin , shipments:read ", want: []Scope{Admin, ShipmentsRead}},
		{name: "duplicates dropped", in: "admin,admin,events:write,admin", want: []Scope{Admin, EventsWrite}},
		{name: "empty items skipped", in: ",events:write,,", want: []Scope{EventsWrite}},
		{name: "finance", in: "finance:approve,shipments:read", want: []Scope{FinanceApprove, ShipmentsRead}},
		{name: "empty", in: "", wantBad: "no scopes"},
		{name: "only commas", in: " , ,", wantBad: "no scopes"},
		{name: "unknown", in: "events:read", wantBad: `"events:read"`},
		{name: "unknown among known", in: "admin,shipments:write", wantBad: `"shipments:write"`},
		{name: "case matters", in: "Admin", wantBad: `"Admin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseScopes(tt.in)
			if tt.wantBad != "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseScopes(%q) = %v, %v; want an error matching ErrInvalid", tt.in, got, err)
				}
				// The message is shown to users, so it must name the problem.
				if !strings.Contains(err.Error(), tt.wantBad) {
					t.Errorf("ParseScopes(%q) error %q does not mention %s", tt.in, err, tt.wantBad)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScopes(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseScopes(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestKeyHas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scopes []Scope
		ask    Scope
		want   bool
	}{
		{[]Scope{EventsWrite}, EventsWrite, true},
		{[]Scope{EventsWrite}, ShipmentsRead, false},
		{[]Scope{EventsWrite}, Admin, false},
		{[]Scope{ShipmentsRead, EventsWrite}, ShipmentsRead, true},
		{[]Scope{Admin}, EventsWrite, true},
		{[]Scope{Admin}, ShipmentsRead, true},
		{[]Scope{Admin}, Admin, true},
		{[]Scope{FinanceApprove}, FinanceApprove, true},
		{[]Scope{FinanceApprove}, ChangesApprove, false},
		{[]Scope{ChangesApprove}, FinanceApprove, false},
		{[]Scope{Admin}, FinanceApprove, true},
		{nil, EventsWrite, false},
	}
	for _, tt := range tests {
		k := Key{Scopes: tt.scopes}
		if got := k.Has(tt.ask); got != tt.want {
			t.Errorf("Key{Scopes: %v}.Has(%s) = %t, want %t", tt.scopes, tt.ask, got, tt.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	good := []string{"a", "ci-bot", "odoo.prod_1", strings.Repeat("x", 64)}
	for _, name := range good {
		if err := checkName(name); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", name, err)
		}
	}
	bad := []string{"", strings.Repeat("x", 65), "ci bot", "ci/bot", "clé", "a\n"}
	for _, name := range bad {
		if err := checkName(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("checkName(%q) = %v, want an error matching ErrInvalid", name, err)
		}
	}
}

func TestNewPlaintext(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	labels := []string{"", "prod", "test", "a", strings.Repeat("z", maxLabelLen)}
	for i := range 100 {
		id, secret, hash := newPlaintext()
		label := labels[i%len(labels)]
		plain := plaintext(label, id, secret)
		gotLabel, gotID, gotSecret, ok := parsePlaintext(plain)
		if !ok || gotLabel != label || gotID != id || gotSecret != secret {
			t.Fatalf("parsePlaintext(%q) = %q, %q, %q, %t; want %q, %q, %q, true", plain, gotLabel, gotID, gotSecret, ok, label, id, secret)
		}
		if hashSecret(secret) != hash {
			t.Fatalf("newPlaintext hash differs from hashSecret(%q)", secret)
		}
		if seen[id] || seen[secret] {
			t.Fatalf("newPlaintext repeated %q or %q", id, secret)
		}
		seen[id], seen[secret] = true, true
	}
}

// FuzzParsePlaintext checks that whatever parsePlaintext accepts is exactly
// the canonical encoding of an id and a 32-byte secret.
func FuzzParsePlaintext(f *testing.F) {
	id, secret, _ := newPlaintext()
	f.Add(keyPrefix + id + "_" + secret)
	f.Add(plaintext("prod", id, secret))
	f.Add("wb_")
	f.Add("wb_0123456789ab_" + strings.Repeat("_", secretLen))
	f.Add("wb__0123456789ab_" + strings.Repeat("A", secretLen))
	f.Fuzz(func(t *testing.T, s string) {
		label, id, secret, ok := parsePlaintext(s)
		if !ok {
			return
		}
		if got := plaintext(label, id, secret); got != s {
			t.Fatalf("parsePlaintext(%q) split into %q, %q and %q", s, label, id, secret)
		}
		if err := checkLabel(label); err != nil {
			t.Fatalf("parsePlaintext(%q) accepted label %q: %v", s, label, err)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(secret)
		if err != nil || len(b) != secretBytes || base64.RawURLEncoding.EncodeToString(b) != secret {
			t.Fatalf("parsePlaintext(%q) accepted secret %q: not canonical base64url of %d bytes (%v)", s, secret, secretBytes, err)
		}
		if raw, err := hex.DecodeString(id); err != nil || hex.EncodeToString(raw) != id {
			t.Fatalf("parsePlaintext(%q) accepted id %q: not lowercase hex (%v)", s, id, err)
		}
	})
}
