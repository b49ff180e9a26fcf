package source_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestSealedPayloads stores payload bodies sealed: the column holds no
// plaintext, Get returns the bytes as received (binary too), a body moved
// to another row does not open, and one stored before encryption still
// reads.
func TestSealedPayloads(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := source.NewStore(db)
		save := func(id string, body []byte) {
			t.Helper()
			if err := s.Save(ctx, &payload.Payload{ID: id, Source: "xktl", Channel: payload.ChannelEDI, Body: body,
				ReceivedAt: time.Now(), CorrelationID: "c", Status: payload.StatusAccepted}, ""); err != nil {
				t.Fatal(err)
			}
		}
		save("p-old", []byte("ISA*00*before encryption~"))
		const id = "00000000000000d4"
		kr, err := seal.New(map[string][]byte{id: seal.NewKey()}, id)
		if err != nil {
			t.Fatal(err)
		}
		db.Keyring = kr
		edi := []byte("ISA*00*PINECREST HARDWARE DC 07~\x00\xff binary tail")
		save("p-1", edi)
		save("p-2", []byte("another"))

		var raw []byte
		var keyID string
		if err := db.QueryRowContext(ctx, db.Dialect.Rebind(`SELECT body, key_id FROM source_payloads WHERE id = ?`), "p-1").Scan(&raw, &keyID); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("PINECREST")) || keyID != id {
			t.Errorf("stored body %q under key %q: want it sealed under %s", raw, keyID, id)
		}
		for want, body := range map[string][]byte{"p-1": edi, "p-old": []byte("ISA*00*before encryption~")} {
			p, err := s.Get(ctx, want)
			if err != nil || !bytes.Equal(p.Body, body) {
				t.Errorf("Get(%s) = %q, %v; want %q", want, p.Body, err, body)
			}
		}
		sum := sha256.Sum256(edi)
		if p, _ := s.Get(ctx, "p-1"); p.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("sha256 %q: want the plaintext's digest", p.SHA256)
		}

		if _, err := db.ExecContext(ctx, db.Dialect.Rebind(`UPDATE source_payloads SET body = ? WHERE id = ?`), raw, "p-2"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "p-2"); !errors.Is(err, seal.ErrTampered) {
			t.Errorf("Get of a body copied from another row: %v, want ErrTampered", err)
		}
	})
}
