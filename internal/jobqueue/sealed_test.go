package jobqueue

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/connectortest"
	"github.com/waybill/waybill/internal/connector/webhook/webhooktest"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

const (
	keyA = "0000000000000a0a"
	keyB = "0000000000000b0b"
)

// TestSealedJobsAndDeadLetters runs outbound jobs with a keyring: the
// stored job arguments and dead letters hold no plaintext payload, the
// connector still gets it, a dead letter shows it, rotation and
// re-sealing move every row to the new key, and a missing key is an error
// naming it.
func TestSealedJobsAndDeadLetters(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		keys := map[string][]byte{keyA: seal.NewKey()}
		kr, err := seal.New(keys, keyA)
		if err != nil {
			t.Fatal(err)
		}
		db.Keyring = kr
		rcv := webhooktest.New(t)
		q := startQueue(t, db, rcv.URL())

		const secret = "Acme Retail, 12 Secret Street"
		action := func(idem string) connector.Action {
			return connector.Action{Kind: shipment.ActionDispatchRelease, ShipmentID: "shp_1", EventID: "evt_1",
				CorrelationID: "corr-1", IdempotencyKey: idem, Payload: json.RawMessage(`{"consignee":"` + secret + `"}`)}
		}
		insert := func(a connector.Action) {
			t.Helper()
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return q.InsertTx(ctx, tx, []connector.Action{a}) }); err != nil {
				t.Fatalf("inserting job: %v", err)
			}
		}

		insert(action("idem-ok"))
		poll.Until(t, "the job to be delivered", func() bool { return len(rcv.Requests()) == 1 })
		if body := rcv.Requests()[0].Body; !bytes.Contains(body, []byte(secret)) {
			t.Errorf("delivered body %s: want the opened payload", body)
		}

		rcv.SetAnswer(connectortest.AnswerReject)
		insert(action("idem-dead"))
		var dead []*DeadLetter
		poll.Until(t, "a dead letter", func() bool {
			dead, _, err = q.DeadLetters().List(ctx, 10, "")
			return err == nil && len(dead) == 1
		})
		if !bytes.Contains(dead[0].Action.Payload, []byte(secret)) {
			t.Errorf("dead letter payload %s: want the opened payload", dead[0].Action.Payload)
		}
		if dead[0].Error == "" {
			t.Error("dead letter error is empty")
		}

		// A job waiting for later is re-sealed before it runs.
		later := action("idem-later")
		later.NotBefore = time.Now().Add(time.Hour)
		insert(later)

		assertNoPlaintext(t, db, secret)
		jobs := NewJobArgs(db)
		want := map[string]int64{keyA: 3}
		if got, err := jobs.CountByKey(ctx); err != nil || !cmp.Equal(got, want) {
			t.Errorf("jobs by key = %v, %v; want %v", got, err, want)
		}

		// Rotate, then re-seal every row under the new key.
		keys[keyB] = seal.NewKey()
		if err := kr.Replace(keys, keyB); err != nil {
			t.Fatal(err)
		}
		reseal(t, jobs.Reseal)
		reseal(t, q.DeadLetters().Reseal)
		wantB := map[string]int64{keyB: 3}
		if got, err := jobs.CountByKey(ctx); err != nil || !cmp.Equal(got, wantB) {
			t.Errorf("jobs by key after re-sealing = %v, %v; want %v", got, err, wantB)
		}
		if got, err := q.DeadLetters().CountByKey(ctx); err != nil || !cmp.Equal(got, map[string]int64{keyB: 1}) {
			t.Errorf("dead letters by key after re-sealing = %v, %v; want all under %s", got, err, keyB)
		}
		got, err := q.DeadLetters().Get(ctx, dead[0].ID)
		if err != nil || !cmp.Equal(got.Action, dead[0].Action) || got.Error != dead[0].Error {
			t.Errorf("dead letter after re-sealing = %+v, %v; want %+v", got, err, dead[0])
		}
		assertNoPlaintext(t, db, secret)

		rcv.SetAnswer(connectortest.AnswerOK)
		res, err := q.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateScheduled))
		if err != nil || len(res.Jobs) != 1 {
			t.Fatalf("scheduled jobs: %d, %v; want 1", len(res.Jobs), err)
		}
		if _, err := q.client.JobRetry(ctx, res.Jobs[0].ID); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, "the re-sealed job to be delivered", func() bool { return len(rcv.Requests()) == 3 })
		if body := rcv.Requests()[2].Body; !bytes.Contains(body, []byte(secret)) {
			t.Errorf("re-sealed job delivered %s: want the opened payload", body)
		}

		// Without key B, the dead letter is a missing-key error.
		onlyA, _ := seal.New(map[string][]byte{keyA: keys[keyA]}, keyA)
		kr.Adopt(onlyA)
		_, err = q.DeadLetters().Get(ctx, dead[0].ID)
		var mk *seal.MissingKeyError
		if !errors.As(err, &mk) || mk.KeyID != keyB {
			t.Errorf("reading a dead letter without its key: %v, want a MissingKeyError for %s", err, keyB)
		}
	})
}

// reseal runs a table's Reseal with a small batch until it is done.
func reseal(t *testing.T, fn func(ctx context.Context, cursor string, limit int) (seal.Batch, error)) {
	t.Helper()
	cursor := ""
	for {
		b, err := fn(t.Context(), cursor, 1)
		if err != nil || b.Failed > 0 {
			t.Fatalf("re-sealing: %+v, %v", b, err)
		}
		if b.Next == "" {
			return
		}
		cursor = b.Next
	}
}

// assertNoPlaintext fails when secret appears in the raw job arguments or
// dead letters.
func assertNoPlaintext(t *testing.T, db *sqldb.DB, secret string) {
	t.Helper()
	for _, q := range []string{`SELECT ` + db.Dialect.JSONText("args") + ` FROM river_job`, `SELECT args || error FROM dead_letters`} {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains([]byte(raw), []byte(secret)) {
				t.Errorf("%s: stored value holds the plaintext: %s", q, raw)
			}
		}
		rows.Close()
	}
}
