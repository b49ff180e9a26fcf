package hub_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/datakey"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// pgKEK is the key-encryption key of hub tests on PostgreSQL, which needs
// one configured (SQLite creates its own in the data directory).
var pgKEK = config.Secret(seal.FormatKEK(seal.NewKey()))

// testKEK is the encryption.key of a hub test on opts' engine: pgKEK on
// PostgreSQL, none on SQLite.
func testKEK(opts sqldb.Options) config.Secret {
	if opts.DatabaseURL != "" {
		return pgKEK
	}
	return ""
}

// TestEncryptionAtRest runs a hub with encryption on (the default): events
// and payloads are applied and served back while the database holds no
// plaintext of them; a data key rotated from outside is picked up and
// every row moves to it while the hub serves; a missing key answers 500.
func TestEncryptionAtRest(t *testing.T) {
	t.Setenv("TEST_AFTERSHIP_SECRET", "fixture-only-aftership-secret")
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, func(c *config.Config) { c.Intake.SourcesFile = sourcesFile(t) }, nil)
		db := a.hub.DB
		const customer = "Pinecrest Secret Hardware"
		planned := strings.Replace(apiPlannedData, "Acme Retail", customer, 1)
		if status, _, body := a.call(t, http.MethodPost, "/v1/events", "application/cloudevents+json",
			cloudEvent("enc-1", "shipment.planned", "odoo:WH/OUT/00900", planned)); status != http.StatusAccepted {
			t.Fatalf("event: %d %s", status, body)
		}
		poll.Until(t, "the sealed event applied", func() bool { return a.shipment(t, "odoo:WH/OUT/00900").State == "planned" })

		// A rejected file is stored as received too.
		edi := fixture(t, "edi/x12", "neg-x12-wrong-se-count.edi")
		status, h, body := a.post(t, "/v1/sources/xktl/edi", edi, nil)
		rc := wantProblem(t, "wrong SE count", status, h, body, http.StatusUnprocessableEntity, problem.CodeRejectedPayload)
		var stored struct {
			Body string `json:"body"`
		}
		a.getJSON(t, "/v1/payloads/"+rc.PayloadID, &stored)
		if stored.Body != string(edi) {
			t.Errorf("GET /v1/payloads/%s body differs from what was sent", rc.PayloadID)
		}

		// At rest: no plaintext of either.
		assertSealedAtRest(t, db, customer, "PINECREST HARDWARE DC")

		// Rotate as waybill keys rotate-data-key does, from outside.
		w, err := datakey.Wrapper(t.Context(), db, datakey.Options{Enabled: true, Key: testKEK(opts).Reveal(), DataDir: opts.DataDir})
		if err != nil {
			t.Fatal(err)
		}
		k, err := datakey.Rotate(t.Context(), db, w)
		if err != nil {
			t.Fatal(err)
		}
		poll.Until(t, "every row under the rotated key", func() bool {
			_, tables, err := datakey.Status(t.Context(), db, hub.SealedTables(db))
			if err != nil {
				t.Fatal(err)
			}
			for _, ts := range tables {
				for id, n := range ts.Rows {
					if id != k.ID && n > 0 {
						return false
					}
				}
			}
			return db.Keyring.Current() == k.ID
		})
		a.getJSON(t, "/v1/payloads/"+rc.PayloadID, &stored)
		if stored.Body != string(edi) {
			t.Errorf("after re-encryption GET /v1/payloads/%s body differs from what was sent", rc.PayloadID)
		}
		assertSealedAtRest(t, db, customer, "PINECREST HARDWARE DC")

		// Without the key: a 500, never bytes.
		other := seal.NewKeyID()
		without, err := seal.New(map[string][]byte{other: seal.NewKey()}, other)
		if err != nil {
			t.Fatal(err)
		}
		saved, _ := seal.New(map[string][]byte{other: seal.NewKey()}, other)
		saved.Adopt(db.Keyring)
		db.Keyring.Adopt(without)
		status, h, body = a.call(t, http.MethodGet, "/v1/payloads/"+rc.PayloadID, "", nil)
		db.Keyring.Adopt(saved)
		p := wantProblem(t, "a payload whose key is missing", status, h, body, http.StatusInternalServerError, problem.CodeInternal)
		if bytes.Contains(body, edi[:20]) || p.Detail == "" {
			t.Errorf("answer without the key: %s", body)
		}
	})
}

// assertSealedAtRest fails when any of secrets appears in a stored event
// or payload body.
func assertSealedAtRest(t *testing.T, db *sqldb.DB, secrets ...string) {
	t.Helper()
	for _, q := range []string{`SELECT body FROM events`, `SELECT body FROM source_payloads`} {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var raw []byte
			if err := rows.Scan(&raw); err != nil {
				t.Fatal(err)
			}
			n++
			if !seal.IsSealed(raw) {
				t.Errorf("%s: a value is not sealed: %.60q", q, raw)
			}
			for _, s := range secrets {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("%s: stored value holds %q", q, s)
				}
			}
		}
		rows.Close()
		if n == 0 {
			t.Errorf("%s: no rows", q)
		}
	}
}

// TestEncryptedJobsAndDeadLetters delivers an outbound job and keeps a
// dead letter with encryption on: the connector and the dead-letter API
// see the payload, River's job rows and the dead-letter table do not.
func TestEncryptedJobsAndDeadLetters(t *testing.T) {
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		b := setup(t, opts, nil)
		const customer = "Rotterdam Secret Retail"
		b.receiver.mu.Lock()
		b.receiver.fail["dispatch.release"] = http.StatusBadRequest
		b.receiver.mu.Unlock()
		for i, e := range [][2]string{
			{"shipment.planned", strings.Replace(plannedData, "Acme Retail", customer, 1)},
			{"inventory.reserved", `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`},
		} {
			if status, body, _ := b.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json",
				ce(strconv.Itoa(i), e[0], "odoo:WH/OUT/77", "2026-11-26T08:00:00Z", e[1])); status != http.StatusAccepted {
				t.Fatalf("%s: %d %s", e[0], status, body)
			}
		}
		var raw []byte
		poll.Until(t, "a dead letter", func() bool {
			_, raw, _ = b.do(t, http.MethodGet, "/v1/dead-letters", "", nil)
			return bytes.Contains(raw, []byte(`"dead_letters":[{`))
		})
		if !bytes.Contains(raw, []byte(customer)) {
			t.Errorf("GET /v1/dead-letters does not show the action's payload: %s", raw)
		}
		delivered := false
		for _, d := range b.receiver.deliveries() {
			if d.Kind == "dispatch.release" && strings.Contains(fmt.Sprint(d.Body), customer) {
				delivered = true
			}
		}
		if !delivered {
			t.Error("the connector did not get the opened payload")
		}
		db := b.hub.DB
		for _, q := range []string{`SELECT ` + db.Dialect.JSONText("args") + ` FROM river_job`, `SELECT args || error FROM dead_letters`} {
			rows, err := db.QueryContext(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var v string
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				n++
				if strings.Contains(v, customer) {
					t.Errorf("%s: stored in plaintext: %s", q, v)
				}
			}
			rows.Close()
			if n == 0 {
				t.Errorf("%s: no rows", q)
			}
		}
	})
}
