package trackpage

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignerVerify(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSigner([]byte("fedcba9876543210fedcba9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	id := newLinkID()
	if !validLinkID(id) {
		t.Fatalf("newLinkID() = %q, not a valid link id", id)
	}
	exp := now.Add(time.Hour)
	good := s.Sign(id, exp)

	gotID, gotExp, err := s.Verify(good, now)
	if err != nil {
		t.Fatalf("Verify(good) error: %v", err)
	}
	if gotID != id || !gotExp.Equal(exp) {
		t.Errorf("Verify(good) = %q %v, want %q %v", gotID, gotExp, id, exp)
	}

	parts := strings.Split(good, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name, token string
		signer      *Signer
		at          time.Time
	}{
		{"empty", "", s, now},
		{"one part", id, s, now},
		{"two parts", id + "." + parts[1], s, now},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2], 5), s, now},
		{"tampered id", flip(parts[0], 3) + "." + parts[1] + "." + parts[2], s, now},
		{"later expiry", parts[0] + "." + "9999999999" + "." + parts[2], s, now},
		{"leading zero expiry", parts[0] + ".0" + parts[1] + "." + parts[2], s, now},
		{"expired", good, s, exp},
		{"long expired", good, s, exp.Add(24 * time.Hour)},
		{"wrong key", good, other, now},
		{"padded signature", good + "=", s, now},
		{"extra part", good + ".x", s, now},
		{"short id", "abc." + parts[1] + "." + parts[2], s, now},
		{"id with a dot", strings.Replace(good, ".", "..", 1), s, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if id, _, err := tt.signer.Verify(tt.token, tt.at); !errors.Is(err, ErrBadToken) {
				t.Errorf("Verify(%q) = %q, %v; want ErrBadToken", tt.token, id, err)
			}
		})
	}
}

func TestNewSignerShortKey(t *testing.T) {
	t.Parallel()
	if _, err := NewSigner([]byte("too short")); err == nil {
		t.Error("NewSigner(9 bytes) succeeded, want an error")
	}
}
