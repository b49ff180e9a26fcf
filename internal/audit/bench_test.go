package audit_test

import (
	"testing"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// BenchmarkAppend measures one append in its own transaction on SQLite
// (synchronous=normal, as the tests open it).
func BenchmarkAppend(b *testing.B) {
	s := audit.NewStore(sqldbtest.SQLite(b), newSigner(b), nil)
	rec := audit.Record{Actor: "key:ops", Action: audit.ActionKeyCreated, Subject: "k1", Details: map[string]any{"name": "tms", "scopes": []string{"events:write"}}}
	for b.Loop() {
		if _, err := s.Append(b.Context(), rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures verifying a chain of 10,000 entries.
func BenchmarkVerify(b *testing.B) {
	signer := newSigner(b)
	s := audit.NewStore(sqldbtest.SQLite(b), signer, nil)
	for range 10000 {
		if _, err := s.Append(b.Context(), audit.Record{Actor: "system", Action: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	ring := audit.NewKeyRing(signer.Public())
	for b.Loop() {
		if _, err := s.Verify(b.Context(), ring); err != nil {
			b.Fatal(err)
		}
	}
}
