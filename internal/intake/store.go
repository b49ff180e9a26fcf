package intake

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/tracing"
)

// Event states in the events table.
const (
	StatePending  = "pending"  // accepted, not yet applied
	StateApplied  = "accepted" // applied to its shipment (possibly as a late milestone)
	StateRejected = "rejected" // refused by a gate; the reason says why
	StateFailed   = "failed"   // could not be applied (a defect); the reason says why
)

// Result is the outcome of storing one event.
type Result struct {
	// EventID and CorrelationID are those of the stored event: for a
	// duplicate, the original's.
	EventID       string
	CorrelationID string
	Duplicate     bool
	// Err is ErrConflict when (source, id) is taken by another payload,
	// and a *RefusedError (ErrRefused) when the database refused the event
	// itself; the event is not stored then.
	Err error
}

// ErrConflict means the (source, id) of an event is already taken by a
// different payload.
var ErrConflict = errors.New("event id already used with a different payload")

// ErrRefused means the database refused to store an event that passed
// validation (a constraint, a value it cannot hold). The event was written
// alone, so nothing else failed with it; sending it again fails again.
var ErrRefused = errors.New("the database refused to store the event")

// RefusedError is a Result's Err for an event the database refused; it
// matches ErrRefused and wraps the database's error, which is for the log,
// not for clients.
type RefusedError struct {
	Err error
}

func (e *RefusedError) Error() string   { return ErrRefused.Error() + ": " + e.Err.Error() }
func (e *RefusedError) Unwrap() []error { return []error{ErrRefused, e.Err} }

// Store owns the events table. It is safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	backlog *Backlog
	q       storeQueries
}

type storeQueries struct {
	lookup, lookupArchived, lookupBody, pending, olderPending, anyPending, timeline, countPending string
	pendingIn, unrouted, anyPendingIn, anyUnrouted                                                string
	pendingStored, summary                                                                        string
	insertFinal                                                                                   sqldb.Insert
}

// newInsertFinal is the insert of events with their number and outcome.
func newInsertFinal(d sqldb.Dialect) sqldb.Insert {
	override := ""
	if d.Engine == sqldb.Postgres {
		override = " OVERRIDING SYSTEM VALUE"
	}
	return d.NewInsert(`INSERT INTO events (seq, `+eventColumns+`, state, reason, shipment_id, processed_at)`+override,
		[]string{"bigint", "text", "text", "text", "text", "text", "bigint", "integer", "bigint", "text", "text", "text", "text", "text", "text", "text", "bigint"},
		` ON CONFLICT (source, source_id) DO NOTHING`)
}

const insertColumns = 12

// eventColumns are the columns of an accepted event, as appendEvent binds
// them.
const eventColumns = `id, source, source_id, type, subject, occurred_at, occurred_offset, accepted_at, correlation_id, payload_hash, body, trace`

// pendingColumns are the columns readPending scans.
const pendingColumns = `seq, id, source, type, subject, occurred_at, correlation_id, body, part, trace`

const insertPrefix = `INSERT INTO events (` + eventColumns + `) VALUES `

const insertSuffix = ` ON CONFLICT (source, source_id) DO NOTHING RETURNING id, seq`

// NewStore returns a Store on db. backlog is told of every newly stored
// event.
func NewStore(db *sqldb.DB, backlog *Backlog) *Store {
	d := db.Dialect
	return &Store{db: db, backlog: backlog, q: storeQueries{
		lookup:         d.Rebind(`SELECT id, correlation_id, payload_hash FROM events WHERE source = ? AND source_id = ?`),
		lookupArchived: d.Rebind(`SELECT id, correlation_id, payload_hash FROM archived_events WHERE source = ? AND source_id = ?`),
		lookupBody:     d.Rebind(`SELECT id, body FROM events WHERE source = ? AND source_id = ?`),
		pending:        d.Rebind(`SELECT ` + pendingColumns + ` FROM events WHERE state = 'pending' ORDER BY seq LIMIT ?`),
		// The oldest of each partition through its index, then the
		// oldest of those: no sort of every pending event.
		pendingIn: d.Rebind(`SELECT ` + pendingColumns + ` FROM events WHERE seq IN (
SELECT e.seq FROM unnest(CAST(? AS INTEGER[])) AS p (part),
LATERAL (SELECT seq FROM events WHERE state = 'pending' AND part = p.part ORDER BY seq LIMIT ?) e
ORDER BY e.seq LIMIT ?) ORDER BY seq`),
		// Routing needs the data of the events that bring keys only.
		unrouted: d.Rebind(`SELECT seq, id, source, type, subject, occurred_at, correlation_id,
CASE WHEN type IN ('shipment.planned', 'dispatch.assigned', 'shipment.tracked') THEN body ELSE '' END, part, trace
FROM events WHERE state = 'pending' AND part IS NULL ORDER BY seq LIMIT ?`),
		anyPendingIn:  d.Rebind(`SELECT seq FROM events WHERE state = 'pending' AND part = ANY(CAST(? AS INTEGER[])) LIMIT 1`),
		anyUnrouted:   `SELECT seq FROM events WHERE state = 'pending' AND part IS NULL LIMIT 1`,
		olderPending:  d.Rebind(`SELECT seq FROM events WHERE state = 'pending' AND seq < ? ORDER BY seq LIMIT 1`),
		anyPending:    `SELECT seq FROM events WHERE state = 'pending' ORDER BY seq LIMIT 1`,
		timeline:      d.Rebind(`SELECT seq, id, source, source_id, type, occurred_at, occurred_offset, accepted_at, correlation_id, state, reason FROM events WHERE shipment_id = ? ORDER BY occurred_at, seq`),
		countPending:  `SELECT COUNT(*) FROM events WHERE state = 'pending'`,
		pendingStored: d.Rebind(`SELECT seq, id, source, source_id, subject, correlation_id, body FROM events WHERE state = 'pending' ORDER BY seq LIMIT ?`),
		summary:       `SELECT state, COUNT(*), MIN(accepted_at), MAX(processed_at) FROM events GROUP BY state`,
		insertFinal:   newInsertFinal(d),
	}}
}

// CountPending counts accepted-but-unprocessed events.
func (s *Store) CountPending(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.Reader.QueryRowContext(ctx, s.q.countPending).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting pending events: %w", err)
	}
	return n, nil
}

// Append stores evs in one transaction and returns one Result per event, in
// order. An event whose (source, id) is already stored (or appears earlier
// in evs) is a duplicate when its payload hash matches and a conflict
// otherwise; neither changes anything.
func (s *Store) Append(ctx context.Context, evs []*Event) ([]Result, error) {
	return s.AppendApply(ctx, evs, nil)
}

// ApplyFunc applies events about to be stored, in acceptance order, inside
// the transaction that stores them, so that an event, its outcome and its
// effects are written once, together. It returns one outcome per event, in
// the order of evs, or nil to leave them all pending; and, when not nil, a
// function called once that transaction has ended, told whether it
// committed, whatever the outcome. An error means what it wrote failed;
// the events are then stored without it.
type ApplyFunc func(ctx context.Context, tx *sql.Tx, evs []Pending) (outcomes []Outcome, done func(committed bool), err error)

// AppendApply is Append that hands the new events to apply in the
// transaction that stores them, and stores each with its outcome. When
// apply fails, the events are stored alone, in a transaction of their own,
// and stay pending for the processor.
func (s *Store) AppendApply(ctx context.Context, evs []*Event, apply ApplyFunc) ([]Result, error) {
	if apply != nil {
		res, err := s.appendApply(ctx, evs, apply)
		if !errors.Is(err, errApply) {
			return res, err
		}
	}
	return s.appendApply(ctx, evs, nil)
}

// errApply marks an error from an ApplyFunc.
var errApply = errors.New("applying stored events")

func (s *Store) appendApply(ctx context.Context, evs []*Event, apply ApplyFunc) ([]Result, error) {
	results := make([]Result, len(evs))
	type key struct{ source, id string }
	first := make(map[key]int, len(evs))
	var fresh []int // indexes of events to insert
	for i, ev := range evs {
		k := key{ev.Source, ev.SourceID}
		if j, seen := first[k]; seen {
			results[i].Err = errSameGroup(j)
			continue
		}
		first[k] = i
		fresh = append(fresh, i)
	}

	now := time.Now().UnixMicro()
	var stored int // events newly stored
	var done func(committed bool)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if apply == nil {
			stored, err = s.insertPending(ctx, tx, evs, fresh, results, now)
		} else {
			stored, done, err = s.applyInsert(ctx, tx, evs, fresh, results, now, apply)
		}
		return err
	})
	if done != nil {
		done(err == nil)
	}
	if err != nil {
		return nil, err
	}

	// Repeats inside the group take the outcome of their first occurrence.
	for i := range results {
		var sg errSameGroup
		if errors.As(results[i].Err, &sg) {
			j := int(sg)
			results[i] = Result{EventID: results[j].EventID, CorrelationID: results[j].CorrelationID, Duplicate: true}
			if results[j].Err != nil || (evs[j].Hash != evs[i].Hash && !sameEvent(evs[j], evs[i])) {
				results[i].Err = ErrConflict
			}
		}
	}
	if stored > 0 && s.backlog != nil {
		s.backlog.Add(int64(stored))
	}
	return results, nil
}

// insertPending inserts the events at indexes fresh of evs, pending, and
// fills their results; those already stored are duplicates or conflicts.
func (s *Store) insertPending(ctx context.Context, tx *sql.Tx, evs []*Event, fresh []int, results []Result, now int64) (int, error) {
	inserted := make(map[string]int64, len(fresh)) // id → seq
	maxRows := min(1000, s.db.Dialect.MaxParams/insertColumns)
	for start := 0; start < len(fresh); start += maxRows {
		chunk := fresh[start:min(start+maxRows, len(fresh))]
		args := make([]any, 0, len(chunk)*insertColumns)
		for _, i := range chunk {
			args = s.appendEvent(args, evs[i], now)
		}
		q := s.db.Dialect.Rebind(insertPrefix + sqldb.Placeholders(len(chunk), insertColumns) + insertSuffix)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return 0, fmt.Errorf("inserting events: %w", err)
		}
		for rows.Next() {
			var id string
			var seq int64
			if err := rows.Scan(&id, &seq); err != nil {
				rows.Close()
				return 0, fmt.Errorf("reading inserted events: %w", err)
			}
			inserted[id] = seq
		}
		if err := rows.Close(); err != nil {
			return 0, fmt.Errorf("inserting events: %w", err)
		}
	}
	// An event inserted whose key is archived was stored before: its row
	// went to the history archive, its key stayed. It is taken back out.
	// The probe runs after the insert, so that on PostgreSQL it sees an
	// archiving that committed while the insert waited for its delete.
	var newIdx []int
	for _, i := range fresh {
		if _, ok := inserted[evs[i].ID]; ok {
			newIdx = append(newIdx, i)
		}
	}
	archived, err := s.archivedTx(ctx, tx, evs, newIdx)
	if err != nil {
		return 0, err
	}
	if len(archived) > 0 {
		var seqs []any
		for i := range archived {
			seqs = append(seqs, inserted[evs[i].ID])
			delete(inserted, evs[i].ID)
		}
		for start := 0; start < len(seqs); start += 500 {
			part := seqs[start:min(start+500, len(seqs))]
			q := s.db.Dialect.Rebind(`DELETE FROM events WHERE seq IN ` + sqldb.Placeholders(1, len(part)))
			if _, err := tx.ExecContext(ctx, q, part...); err != nil {
				return 0, fmt.Errorf("taking back repeats of archived events: %w", err)
			}
		}
	}
	// Events not inserted were already stored: compare payloads.
	for _, i := range fresh {
		ev := evs[i]
		if a, ok := archived[i]; ok {
			results[i] = a.result(ev)
			continue
		}
		if _, ok := inserted[ev.ID]; ok {
			results[i] = Result{EventID: ev.ID, CorrelationID: ev.CorrelationID}
			continue
		}
		if err := s.lookupTx(ctx, tx, ev, &results[i]); err != nil {
			return 0, err
		}
	}
	return len(inserted), nil
}

// archivedKey is what the history archive keeps of an event it moved out:
// enough to answer a repeat.
type archivedKey struct{ id, correlationID, hash string }

// result is the Result of ev, whose key is archived: a duplicate, or a
// conflict when its payload's bytes differ (the archived body is not at
// hand to compare as sameEvent does).
func (a archivedKey) result(ev *Event) Result {
	res := Result{EventID: a.id, CorrelationID: a.correlationID, Duplicate: true}
	if a.hash != ev.Hash {
		res.Err = ErrConflict
	}
	return res
}

// archivedTx returns, by index into evs, the events at indexes idx whose
// key is in archived_events.
func (s *Store) archivedTx(ctx context.Context, tx *sql.Tx, evs []*Event, idx []int) (map[int]archivedKey, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	type key struct{ source, id string }
	at := make(map[key]int, len(idx))
	sources, ids := make([]string, len(idx)), make([]string, len(idx))
	for n, i := range idx {
		sources[n], ids[n] = evs[i].Source, evs[i].SourceID
		at[key{evs[i].Source, evs[i].SourceID}] = i
	}
	var out map[int]archivedKey
	probe := sqldb.PairProbe{Table: "archived_events", ColA: "source", ColB: "source_id", Cols: []string{"id", "correlation_id", "payload_hash"}}
	err := probe.Run(ctx, s.db.Dialect, tx, sources, ids, func(rows *sql.Rows) error {
		var k key
		var a archivedKey
		if err := rows.Scan(&k.source, &k.id, &a.id, &a.correlationID, &a.hash); err != nil {
			return err
		}
		if out == nil {
			out = map[int]archivedKey{}
		}
		out[at[k]] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("looking for archived events: %w", err)
	}
	return out, nil
}

// appendEvent appends the values of ev's eventColumns, accepted at now, to
// args.
func (s *Store) appendEvent(args []any, ev *Event, now int64) []any {
	return append(args, ev.ID, ev.Source, ev.SourceID, string(ev.Type), ev.Subject,
		ev.Time.UnixMicro(), ev.Offset, now, ev.CorrelationID, ev.Hash, s.seal(ev), traceOf(ev.Trace, ev.Via))
}

// traceOf is what the trace column holds: the traceparent of the span
// context an event's flow continues from, and of the span that submitted
// it when they differ, so that an event applied later, read back from the
// database, continues its trace too. Empty with tracing off.
func traceOf(tr, via trace.SpanContext) string {
	if !tr.IsValid() {
		return ""
	}
	if via.IsValid() {
		return tracing.Traceparent(tr) + " " + tracing.Traceparent(via)
	}
	return tracing.Traceparent(tr)
}

// parseTrace reverses traceOf.
func parseTrace(s string) (tr, via trace.SpanContext) {
	a, b, _ := strings.Cut(s, " ")
	return tracing.SpanContext(a), tracing.SpanContext(b)
}

// lookupTx fills res for ev, which is already stored: a duplicate, or a
// conflict when its payload differs.
func (s *Store) lookupTx(ctx context.Context, tx *sql.Tx, ev *Event, res *Result) error {
	var id, corr, hash string
	err := tx.QueryRowContext(ctx, s.q.lookup, ev.Source, ev.SourceID).Scan(&id, &corr, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		// Archived since the insert found it stored: its key was kept.
		var a archivedKey
		if err := tx.QueryRowContext(ctx, s.q.lookupArchived, ev.Source, ev.SourceID).Scan(&a.id, &a.correlationID, &a.hash); err != nil {
			return fmt.Errorf("looking up duplicate event: %w", err)
		}
		*res = a.result(ev)
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up duplicate event: %w", err)
	}
	*res = Result{EventID: id, CorrelationID: corr, Duplicate: true}
	if hash != ev.Hash {
		same, err := s.sameAsStoredTx(ctx, tx, ev)
		if err != nil {
			return err
		}
		if !same {
			res.Err = ErrConflict
		}
	}
	return nil
}

// sameAsStoredTx reports whether ev says what the stored event with its
// key says, though the bytes differ: the same type, subject and time, and
// data that differ only in the order of object members (a producer that
// builds its JSON from a map, or one that changed how it serializes). The
// payload hash is of the bytes, so that the common repeat costs nothing;
// only a mismatch pays for this.
func (s *Store) sameAsStoredTx(ctx context.Context, tx *sql.Tx, ev *Event) (bool, error) {
	var id, stored string
	if err := tx.QueryRowContext(ctx, s.q.lookupBody, ev.Source, ev.SourceID).Scan(&id, &stored); err != nil {
		return false, fmt.Errorf("reading the stored event: %w", err)
	}
	body, err := s.openBody(id, stored)
	if err != nil {
		// A body that does not open (a missing data key) cannot be
		// compared: the bytes decide, as they did.
		return false, nil
	}
	var st struct {
		Type    event.Type      `json:"type"`
		Subject string          `json:"subject"`
		Time    string          `json:"time"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &st) != nil {
		return false, nil
	}
	t, err := parseTime(st.Time)
	if err != nil {
		return false, nil
	}
	return sameEvent(&Event{Type: st.Type, Subject: st.Subject, Time: t, Data: st.Data}, ev), nil
}

// sameEvent reports whether a and b say the same: type, subject, time
// instant, and data equal as JSON values (see sameJSON).
func sameEvent(a, b *Event) bool {
	return a.Type == b.Type && a.Subject == b.Subject && a.Time.Equal(b.Time) && sameJSON(a.Data, b.Data)
}

// sameJSON reports whether a and b are the same JSON value with object
// members in any order. Numbers are compared as written: 1.0 and 1 differ,
// as they may to whoever reads them.
func sameJSON(a, b []byte) bool {
	va, okA := decodeExact(a)
	vb, okB := decodeExact(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

func decodeExact(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil || d.More() {
		return nil, false
	}
	return v, true
}

// applyInsert finds which of the events at indexes fresh of evs are new,
// numbers them, has apply apply them, and inserts each with its outcome:
// one write of its row. Their results are filled in, as are those of the
// events already stored.
func (s *Store) applyInsert(ctx context.Context, tx *sql.Tx, evs []*Event, fresh []int, results []Result, now int64, apply ApplyFunc) (int, func(bool), error) {
	isNew, err := s.notStoredTx(ctx, tx, evs, fresh)
	if err != nil {
		return 0, nil, err
	}
	var todo []int
	for _, i := range fresh {
		if isNew[i] {
			todo = append(todo, i)
			results[i] = Result{EventID: evs[i].ID, CorrelationID: evs[i].CorrelationID}
		} else if err := s.lookupTx(ctx, tx, evs[i], &results[i]); err != nil {
			return 0, nil, err
		}
	}
	if len(todo) == 0 {
		return 0, nil, nil
	}
	seqs, err := s.nextSeqsTx(ctx, tx, len(todo))
	if err != nil {
		return 0, nil, err
	}
	pending := make([]Pending, len(todo))
	for k, i := range todo {
		ev := evs[i]
		pending[k] = Pending{Seq: seqs[k], ID: ev.ID, Source: ev.Source, Type: ev.Type, Subject: ev.Subject,
			Time: ev.Time.UTC().Truncate(time.Microsecond), CorrelationID: ev.CorrelationID, Data: ev.Data, Decoded: ev.Decoded,
			Trace: ev.Trace, Via: ev.Via}
	}
	outcomes, done, err := apply(ctx, tx, pending)
	if err != nil {
		return 0, done, fmt.Errorf("%w: %w", errApply, err)
	}
	if outcomes != nil && len(outcomes) != len(todo) {
		return 0, done, fmt.Errorf("%w: %d outcomes for %d events", errApply, len(outcomes), len(todo))
	}
	cols := s.q.insertFinal.Columns()
	maxRows := min(1000, s.db.Dialect.MaxParams/cols)
	n := 0
	for start := 0; start < len(todo); start += maxRows {
		end := min(start+maxRows, len(todo))
		args := make([]any, 0, (end-start)*cols)
		for k := start; k < end; k++ {
			ev := evs[todo[k]]
			state, reason, ship, processed := StatePending, "", any(nil), any(nil)
			if outcomes != nil {
				o := outcomes[k]
				state, reason, processed = o.State, o.Reason, now
				if o.ShipmentID != "" {
					ship = o.ShipmentID
				}
			}
			args = append(s.appendEvent(append(args, seqs[k]), ev, now), state, reason, ship, processed)
		}
		q, args := s.q.insertFinal.Statement(args)
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, done, fmt.Errorf("inserting events: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, done, fmt.Errorf("inserting events: %w", err)
		}
		n += int(k)
	}
	if n != len(todo) {
		// Another writer stored one of them since it was looked for: what
		// was applied for it must not be kept.
		return 0, done, fmt.Errorf("%w: %d of %d events were stored meanwhile", errApply, len(todo)-n, len(todo))
	}
	// A repeat of an archived event must not be applied again: what was
	// applied is dropped, and the events are stored without it, where the
	// repeat is answered from its archived key.
	archived, err := s.archivedTx(ctx, tx, evs, todo)
	if err != nil {
		return 0, done, err
	}
	if len(archived) > 0 {
		return 0, done, fmt.Errorf("%w: %d of %d events are archived", errApply, len(archived), len(todo))
	}
	return n, done, nil
}

// notStoredTx reports, by index into evs, which of the events at indexes
// fresh are not stored yet.
func (s *Store) notStoredTx(ctx context.Context, tx *sql.Tx, evs []*Event, fresh []int) (map[int]bool, error) {
	type key struct{ source, id string }
	idx := make(map[key]int, len(fresh))
	isNew := make(map[int]bool, len(fresh))
	sources, ids := make([]string, len(fresh)), make([]string, len(fresh))
	for n, i := range fresh {
		sources[n], ids[n] = evs[i].Source, evs[i].SourceID
		idx[key{evs[i].Source, evs[i].SourceID}] = i
		isNew[i] = true
	}
	probe := sqldb.PairProbe{Table: "events", ColA: "source", ColB: "source_id"}
	err := probe.Run(ctx, s.db.Dialect, tx, sources, ids, func(rows *sql.Rows) error {
		var k key
		if err := rows.Scan(&k.source, &k.id); err != nil {
			return err
		}
		isNew[idx[k]] = false
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("looking for stored events: %w", err)
	}
	return isNew, nil
}

// nextSeqsTx takes n event numbers, ascending, for events tx will insert.
func (s *Store) nextSeqsTx(ctx context.Context, tx *sql.Tx, n int) ([]int64, error) {
	seqs := make([]int64, 0, n)
	if s.db.Dialect.Engine != sqldb.Postgres {
		// SQLite has one writer, and tx holds it: the numbers after the
		// highest are free, as SQLite would give them.
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&last); err != nil {
			return nil, fmt.Errorf("numbering events: %w", err)
		}
		for i := range n {
			seqs = append(seqs, last+1+int64(i))
		}
		return seqs, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence('events', 'seq')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("numbering events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("numbering events: %w", err)
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("numbering events: %w", err)
	}
	if len(seqs) != n {
		return nil, fmt.Errorf("numbering events: got %d numbers for %d events", len(seqs), n)
	}
	slices.Sort(seqs)
	return seqs, nil
}

type errSameGroup int

func (e errSameGroup) Error() string { return "repeat of an event earlier in the group" }

// Pending is an accepted event waiting to be applied.
type Pending struct {
	Seq           int64
	ID            string
	Source        string
	Type          event.Type
	Subject       string
	Time          time.Time
	CorrelationID string
	Data          json.RawMessage
	// Decoded is Data decoded by the parser (see Event.Decoded), for
	// events applied as they are stored; nil for events read back.
	Decoded any
	// Err is set when the stored event cannot be decoded; it is then
	// marked failed rather than applied.
	Err error
	// Trace and Via are the event's (see Event.Trace); invalid with
	// tracing off, and for events stored before they were kept.
	Trace, Via trace.SpanContext
	// Part is the partition the event was routed to, -1 when it was not
	// (on SQLite, and for events applied as they are stored).
	Part int
}

// OlderPendingTx reports whether an event accepted before seq is still
// pending, in tx.
func (s *Store) OlderPendingTx(ctx context.Context, tx *sql.Tx, seq int64) (bool, error) {
	var older int64
	err := tx.QueryRowContext(ctx, s.q.olderPending, seq).Scan(&older)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for older pending events: %w", err)
	}
	return true, nil
}

// AnyPending reports whether an event is pending. It reads only the index
// of pending events.
func (s *Store) AnyPending(ctx context.Context) (bool, error) {
	var seq int64
	err := s.db.Reader.QueryRowContext(ctx, s.q.anyPending).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for pending events: %w", err)
	}
	return true, nil
}

// Pending returns up to limit unprocessed events in acceptance order.
func (s *Store) Pending(ctx context.Context, limit int) ([]Pending, error) {
	return s.readPending(ctx, s.q.pending, limit)
}

// PendingIn returns up to limit unprocessed events routed to one of
// parts, in acceptance order (PostgreSQL only).
func (s *Store) PendingIn(ctx context.Context, parts []int, limit int) ([]Pending, error) {
	return s.readPending(ctx, s.q.pendingIn, partArray(parts), limit, limit)
}

// Unrouted returns up to limit unprocessed events not routed to a
// partition yet, in acceptance order (PostgreSQL only). Only those that
// bring a shipment keys (shipment.planned, dispatch.assigned,
// shipment.tracked) have their Data.
func (s *Store) Unrouted(ctx context.Context, limit int) ([]Pending, error) {
	return s.readPending(ctx, s.q.unrouted, limit)
}

// AnyPendingIn reports whether an event routed to one of parts is pending
// (PostgreSQL only).
func (s *Store) AnyPendingIn(ctx context.Context, parts []int) (bool, error) {
	return s.exists(ctx, s.q.anyPendingIn, partArray(parts))
}

// AnyUnrouted reports whether a pending event waits for routing
// (PostgreSQL only).
func (s *Store) AnyUnrouted(ctx context.Context) (bool, error) {
	return s.exists(ctx, s.q.anyUnrouted)
}

// OldestPendingIn returns the acceptance number of the oldest event of
// one of types pending in one of parts, or 0 when there is none
// (PostgreSQL only).
func (s *Store) OldestPendingIn(ctx context.Context, parts []int, types []event.Type) (int64, error) {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	var seq sql.NullInt64
	err := s.db.Reader.QueryRowContext(ctx, `SELECT MIN(e.seq) FROM unnest(CAST($1 AS INTEGER[])) AS p (part),
LATERAL (SELECT seq FROM events WHERE state = 'pending' AND part = p.part AND type = ANY(CAST($2 AS TEXT[])) ORDER BY seq LIMIT 1) e`,
		partArray(parts), "{"+strings.Join(names, ",")+"}").Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("looking for pending events of other partitions: %w", err)
	}
	return seq.Int64, nil
}

// Route is the partition an event goes to.
type Route struct {
	Seq  int64
	Part int
}

// RouteTx records routes in tx, for pending events only: an event
// processed meanwhile keeps what it has.
func (s *Store) RouteTx(ctx context.Context, tx *sql.Tx, routes []Route) error {
	const cols = 2
	for start := 0; start < len(routes); start += 500 {
		chunk := routes[start:min(start+500, len(routes))]
		args := make([]any, 0, len(chunk)*cols)
		for _, r := range chunk {
			args = append(args, strconv.FormatInt(r.Seq, 10), strconv.Itoa(r.Part))
		}
		q := s.db.Dialect.Rebind(`WITH v (seq, part) AS (VALUES ` + sqldb.Placeholders(len(chunk), cols) + `)
UPDATE events SET part = CAST(v.part AS INTEGER) FROM v WHERE events.seq = CAST(v.seq AS BIGINT) AND events.state = 'pending'`)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("routing events: %w", err)
		}
	}
	return nil
}

// partArray is parts as a PostgreSQL integer array literal.
func partArray(parts []int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(p))
	}
	b.WriteByte('}')
	return b.String()
}

// exists reports whether query returns a row.
func (s *Store) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var seq int64
	err := s.db.Reader.QueryRowContext(ctx, query, args...).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for pending events: %w", err)
	}
	return true, nil
}

// readPending runs a query of pending events and decodes them.
func (s *Store) readPending(ctx context.Context, query string, args ...any) ([]Pending, error) {
	rows, err := s.db.Reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading pending events: %w", err)
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		var typ, body string
		var at int64
		var part sql.NullInt64
		var tr sql.NullString
		if err := rows.Scan(&p.Seq, &p.ID, &p.Source, &typ, &p.Subject, &at, &p.CorrelationID, &body, &part, &tr); err != nil {
			return nil, fmt.Errorf("reading pending events: %w", err)
		}
		p.Trace, p.Via = parseTrace(tr.String)
		p.Type, p.Time = event.Type(typ), time.UnixMicro(at).UTC()
		p.Part = -1
		if part.Valid {
			p.Part = int(part.Int64)
		}
		if body == "" {
			out = append(out, p) // not read
			continue
		}
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		raw, err := s.openBody(p.ID, body)
		if missing := (*seal.MissingKeyError)(nil); errors.As(err, &missing) || errors.Is(err, seal.ErrUnknownVersion) {
			// Not this event's fault: processing waits for the key (or
			// for the newer Waybill that wrote it).
			return nil, fmt.Errorf("reading pending event %s: %w", p.ID, err)
		}
		if err != nil {
			p.Err = fmt.Errorf("opening stored event: %w", err)
		} else if err := json.Unmarshal(raw, &env); err != nil {
			// Keep going: the processor marks this one event failed.
			p.Err = fmt.Errorf("decoding stored event: %w", err)
		}
		p.Data = env.Data
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading pending events: %w", err)
	}
	return out, nil
}

// Outcome is what processing made of one event.
type Outcome struct {
	Seq        int64
	State      string // StateApplied, StateRejected or StateFailed
	Reason     string
	ShipmentID string
	// Cause classifies a rejection or failure for metrics, from a small
	// fixed set (such as "unknown_shipment"); Reason says it in full.
	Cause string
}

// MarkTx records outcomes inside the processor's transaction.
func (s *Store) MarkTx(ctx context.Context, tx *sql.Tx, outcomes []Outcome) error {
	const cols = 4
	now := time.Now().UnixMicro()
	maxRows := min(500, s.db.Dialect.MaxParams/cols-1)
	for start := 0; start < len(outcomes); start += maxRows {
		chunk := outcomes[start:min(start+maxRows, len(outcomes))]
		args := make([]any, 0, len(chunk)*cols+1)
		for _, o := range chunk {
			var ship any
			if o.ShipmentID != "" {
				ship = o.ShipmentID
			}
			args = append(args, strconv.FormatInt(o.Seq, 10), o.State, o.Reason, ship)
		}
		args = append(args, now)
		// A CTE of VALUES updates many rows in one statement on both engines.
		values := sqldb.Placeholders(len(chunk), cols)
		q := s.db.Dialect.Rebind(`WITH v (seq, state, reason, shipment_id) AS (VALUES ` + values + `)
UPDATE events SET state = v.state, reason = v.reason, shipment_id = v.shipment_id, processed_at = ?
FROM v WHERE events.seq = CAST(v.seq AS BIGINT)`)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("recording event outcomes: %w", err)
		}
	}
	return nil
}

// TimelineEntry is one event of a shipment's timeline.
type TimelineEntry struct {
	Seq           int64     `json:"-"`
	EventID       string    `json:"event_id"`
	Source        string    `json:"source"`
	SourceID      string    `json:"source_event_id"`
	Type          string    `json:"type"`
	Time          time.Time `json:"time"`
	AcceptedAt    time.Time `json:"accepted_at"`
	CorrelationID string    `json:"correlation_id"`
	State         string    `json:"state"`
	Reason        string    `json:"reason,omitempty"`
}

// Timeline returns a shipment's processed events sorted by when they
// happened (then by acceptance), each at its source's offset.
func (s *Store) Timeline(ctx context.Context, shipmentID string) ([]TimelineEntry, error) {
	rows, err := s.db.Reader.QueryContext(ctx, s.q.timeline, shipmentID)
	if err != nil {
		return nil, fmt.Errorf("reading timeline: %w", err)
	}
	defer rows.Close()
	out := []TimelineEntry{}
	for rows.Next() {
		var e TimelineEntry
		var at, acc int64
		var off int
		if err := rows.Scan(&e.Seq, &e.EventID, &e.Source, &e.SourceID, &e.Type, &at, &off, &acc, &e.CorrelationID, &e.State, &e.Reason); err != nil {
			return nil, fmt.Errorf("reading timeline: %w", err)
		}
		e.Time = time.UnixMicro(at).In(time.FixedZone("", off))
		e.AcceptedAt = time.UnixMicro(acc).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Backlog counts accepted events not yet processed. It is safe for
// concurrent use.
type Backlog struct{ n atomic.Int64 }

// Add adds n (which may be negative).
func (b *Backlog) Add(n int64) { b.n.Add(n) }

// Load returns the current count.
func (b *Backlog) Load() int64 { return b.n.Load() }

// Set sets the count, at start-up.
func (b *Backlog) Set(n int64) { b.n.Store(n) }
