package archive

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/waybill/waybill/internal/sqldb"
)

// mover moves the rows of one kind. Its queries sit with it; every method
// keeps its transactions short (one page or chunk each).
type mover interface {
	kind() string
	// next returns the time (Unix microseconds) of the first row to
	// archive at or after from and before cutoff, and false when there is
	// none.
	next(ctx context.Context, from, cutoff int64) (int64, bool, error)
	// scan writes the rows to archive of the day [from, to) to w, in key
	// order.
	scan(ctx context.Context, from, to int64, w *dayWriter) error
	// purge deletes the rows of lines, a chunk of an archive file, from
	// the database: only rows that are the ones the lines hold.
	purge(ctx context.Context, lines [][]byte) (int64, error)
	// restore inserts the rows of lines back, leaving those already there.
	restore(ctx context.Context, lines [][]byte) (int64, error)
	// decode decodes one line into the kind's row.
	decode(line []byte) (Row, error)
}

// Row is an archived row as Search returns it.
type Row interface {
	// Match reports whether the row matches q.
	Match(q Query) bool
}

// pageSize is how many rows one read or one delete transaction handles.
const pageSize = 1000

// EventRow is an archived event: its row in events, the body sealed as
// stored.
type EventRow struct {
	Seq            int64   `json:"seq"`
	ID             string  `json:"id"`
	Source         string  `json:"source"`
	SourceID       string  `json:"source_id"`
	Type           string  `json:"type"`
	Subject        string  `json:"subject"`
	OccurredAt     int64   `json:"occurred_at"`
	OccurredOffset int     `json:"occurred_offset"`
	AcceptedAt     int64   `json:"accepted_at"`
	CorrelationID  string  `json:"correlation_id"`
	PayloadHash    string  `json:"payload_hash"`
	Body           string  `json:"body"`
	State          string  `json:"state"`
	Reason         string  `json:"reason"`
	ShipmentID     *string `json:"shipment_id"`
	ProcessedAt    *int64  `json:"processed_at"`
}

// Match implements Row.
func (r *EventRow) Match(q Query) bool {
	return (q.ID == "" || q.ID == r.ID) && (q.Source == "" || q.Source == r.Source) &&
		(q.SourceID == "" || q.SourceID == r.SourceID) && (q.CorrelationID == "" || q.CorrelationID == r.CorrelationID) &&
		(q.ShipmentID == "" || r.ShipmentID != nil && q.ShipmentID == *r.ShipmentID)
}

// PayloadRow is an archived source payload with its event links; the body
// is sealed as stored (key_id names its data key, "" for plaintext).
type PayloadRow struct {
	ID            string        `json:"id"`
	Source        string        `json:"source"`
	Channel       string        `json:"channel"`
	Name          string        `json:"name"`
	ContentType   string        `json:"content_type"`
	SHA256        string        `json:"sha256"`
	Body          []byte        `json:"body"`
	KeyID         string        `json:"key_id"`
	ReceivedAt    int64         `json:"received_at"`
	CorrelationID string        `json:"correlation_id"`
	Status        string        `json:"status"`
	Error         string        `json:"error"`
	Events        int           `json:"events"`
	Duplicates    int           `json:"duplicates"`
	Links         []PayloadLink `json:"links"`
}

// PayloadLink links a payload to an event made from it.
type PayloadLink struct {
	EventSource string `json:"event_source"`
	EventID     string `json:"event_id"`
}

// Match implements Row. SourceID matches a linked event's id.
func (r *PayloadRow) Match(q Query) bool {
	if q.ShipmentID != "" {
		return false
	}
	ok := (q.ID == "" || q.ID == r.ID) && (q.Source == "" || q.Source == r.Source) && (q.CorrelationID == "" || q.CorrelationID == r.CorrelationID)
	if !ok || q.SourceID == "" {
		return ok
	}
	for _, l := range r.Links {
		if l.EventID == q.SourceID {
			return true
		}
	}
	return false
}

// AuditRow is an archived audit entry, its details byte for byte as
// hashed.
type AuditRow struct {
	Seq       int64  `json:"seq"`
	At        int64  `json:"at"`
	Actor     string `json:"actor"`
	Action    string `json:"action"`
	Subject   string `json:"subject"`
	Details   string `json:"details"`
	PrevHash  string `json:"prev_hash"`
	Hash      string `json:"hash"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

// Match implements Row: ID is the seq or the subject.
func (r *AuditRow) Match(q Query) bool {
	if q.Source != "" || q.SourceID != "" || q.CorrelationID != "" || q.ShipmentID != "" {
		return false
	}
	return q.ID == "" || q.ID == strconv.FormatInt(r.Seq, 10) || q.ID == r.Subject
}

func newMover(db *sqldb.DB, kind string) (mover, error) {
	switch kind {
	case KindEvents:
		return &events{db: db}, nil
	case KindPayloads:
		return &payloads{db: db}, nil
	case KindAudit:
		return &auditLog{db: db}, nil
	}
	return nil, fmt.Errorf("%w %q: want events, payloads or audit", ErrUnknownKind, kind)
}

// ErrUnknownKind is returned for a kind the archive does not have.
var ErrUnknownKind = errors.New("unknown archive kind")

// nullable returns the time of a nullable MIN.
func nullable(v sql.NullInt64, err error) (int64, bool, error) {
	if err != nil {
		return 0, false, err
	}
	return v.Int64, v.Valid, nil
}

// valueRows repeats row, a parenthesised row of placeholders, n times,
// comma-separated. The casts in row type the values for PostgreSQL,
// which takes a VALUES list's untyped parameters for text.
func valueRows(n int, row string) string {
	return strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}

// inTx runs fn in a write transaction of db.
func inTx(ctx context.Context, db *sqldb.DB, fn func(tx *sql.Tx) (int64, error)) (int64, error) {
	var n int64
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = fn(tx)
		return err
	})
	return n, err
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ---- events

// events moves final events. The event with the highest seq is never
// moved: SQLite numbers a new event after the highest one left, and
// restored events must keep numbers nobody else took.
type events struct{ db *sqldb.DB }

func (m *events) kind() string { return KindEvents }

const eventCols = `seq, id, source, source_id, type, subject, occurred_at, occurred_offset, accepted_at, correlation_id, payload_hash, body, state, reason, shipment_id, processed_at`

const eventFinal = `state <> 'pending' AND seq < (SELECT MAX(seq) FROM events)`

func (m *events) next(ctx context.Context, from, cutoff int64) (int64, bool, error) {
	var v sql.NullInt64
	err := m.db.Reader.QueryRowContext(ctx, m.db.Dialect.Rebind(`SELECT MIN(accepted_at) FROM events WHERE accepted_at >= ? AND accepted_at < ? AND `+eventFinal), from, cutoff).Scan(&v)
	return nullable(v, err)
}

func (m *events) scan(ctx context.Context, from, to int64, w *dayWriter) error {
	q := m.db.Dialect.Rebind(`SELECT ` + eventCols + ` FROM events WHERE accepted_at >= ? AND accepted_at < ? AND seq > ? AND ` + eventFinal + ` ORDER BY seq LIMIT ?`)
	after := int64(-1 << 62)
	for {
		rows, err := m.db.Reader.QueryContext(ctx, q, from, to, after, pageSize)
		if err != nil {
			return fmt.Errorf("reading events to archive: %w", err)
		}
		n := 0
		for rows.Next() {
			var r EventRow
			var ship sql.NullString
			var processed sql.NullInt64
			if err := rows.Scan(&r.Seq, &r.ID, &r.Source, &r.SourceID, &r.Type, &r.Subject, &r.OccurredAt, &r.OccurredOffset, &r.AcceptedAt,
				&r.CorrelationID, &r.PayloadHash, &r.Body, &r.State, &r.Reason, &ship, &processed); err != nil {
				rows.Close()
				return fmt.Errorf("reading events to archive: %w", err)
			}
			if ship.Valid {
				r.ShipmentID = &ship.String
			}
			if processed.Valid {
				r.ProcessedAt = &processed.Int64
			}
			if err := w.write(strconv.FormatInt(r.Seq, 10), &r); err != nil {
				rows.Close()
				return err
			}
			after = r.Seq
			n++
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("reading events to archive: %w", err)
		}
		if n < pageSize {
			return nil
		}
	}
}

func (m *events) decode(line []byte) (Row, error) {
	var r EventRow
	err := json.Unmarshal(line, &r)
	return &r, err
}

func decodeAll[T any](lines [][]byte) ([]T, error) {
	out := make([]T, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal(l, &out[i]); err != nil {
			return nil, fmt.Errorf("decoding an archived row: %w", err)
		}
	}
	return out, nil
}

// purge keeps each event's key in archived_events and deletes its row, in
// one transaction: a repeat finds the one or the other.
func (m *events) purge(ctx context.Context, lines [][]byte) (int64, error) {
	rs, err := decodeAll[EventRow](lines)
	if err != nil {
		return 0, err
	}
	d := m.db.Dialect
	return inTx(ctx, m.db, func(tx *sql.Tx) (int64, error) {
		keys := make([]any, 0, len(rs)*5)
		del := make([]any, 0, len(rs)*3)
		for _, r := range rs {
			keys = append(keys, r.Source, r.SourceID, r.ID, r.CorrelationID, r.PayloadHash)
			del = append(del, r.Seq, r.Source, r.SourceID)
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO archived_events (source, source_id, id, correlation_id, payload_hash) VALUES `+
			sqldb.Placeholders(len(rs), 5)+` ON CONFLICT DO NOTHING`), keys...); err != nil {
			return 0, fmt.Errorf("keeping archived event keys: %w", err)
		}
		n, err := affected(tx.ExecContext(ctx, d.Rebind(`DELETE FROM events WHERE (seq, source, source_id) IN (VALUES `+
			valueRows(len(rs), "(CAST(? AS BIGINT), ?, ?)")+`)`), del...))
		if err != nil {
			return 0, fmt.Errorf("deleting archived events: %w", err)
		}
		return n, nil
	})
}

func (m *events) restore(ctx context.Context, lines [][]byte) (int64, error) {
	rs, err := decodeAll[EventRow](lines)
	if err != nil {
		return 0, err
	}
	d := m.db.Dialect
	override := ""
	if d.Engine == sqldb.Postgres {
		override = " OVERRIDING SYSTEM VALUE"
	}
	return inTx(ctx, m.db, func(tx *sql.Tx) (int64, error) {
		args := make([]any, 0, len(rs)*16)
		for _, r := range rs {
			var ship, processed any
			if r.ShipmentID != nil {
				ship = *r.ShipmentID
			}
			if r.ProcessedAt != nil {
				processed = *r.ProcessedAt
			}
			args = append(args, r.Seq, r.ID, r.Source, r.SourceID, r.Type, r.Subject, r.OccurredAt, r.OccurredOffset, r.AcceptedAt,
				r.CorrelationID, r.PayloadHash, r.Body, r.State, r.Reason, ship, processed)
		}
		n, err := affected(tx.ExecContext(ctx, d.Rebind(`INSERT INTO events (`+eventCols+`)`+override+` VALUES `+
			sqldb.Placeholders(len(rs), 16)+` ON CONFLICT DO NOTHING`), args...))
		if err != nil {
			return 0, fmt.Errorf("restoring events: %w", err)
		}
		return n, nil
	})
}

// ---- payloads

// payloads moves stored source payloads none of whose events is pending,
// with their event links.
type payloads struct{ db *sqldb.DB }

func (m *payloads) kind() string { return KindPayloads }

const payloadCols = `id, source, channel, name, content_type, sha256, body, key_id, received_at, correlation_id, status, error, events, duplicates`

const payloadDone = `NOT EXISTS (SELECT 1 FROM source_payload_events pe JOIN events e ON e.source = pe.event_source AND e.source_id = pe.event_id
	WHERE pe.payload_id = p.id AND e.state = 'pending')`

func (m *payloads) next(ctx context.Context, from, cutoff int64) (int64, bool, error) {
	var v sql.NullInt64
	err := m.db.Reader.QueryRowContext(ctx, m.db.Dialect.Rebind(`SELECT MIN(received_at) FROM source_payloads p WHERE received_at >= ? AND received_at < ? AND `+payloadDone), from, cutoff).Scan(&v)
	return nullable(v, err)
}

func (m *payloads) scan(ctx context.Context, from, to int64, w *dayWriter) error {
	d := m.db.Dialect
	q := d.Rebind(`SELECT ` + payloadCols + ` FROM source_payloads p WHERE received_at >= ? AND received_at < ? AND id > ? AND ` + payloadDone + ` ORDER BY id LIMIT ?`)
	after := ""
	for {
		rows, err := m.db.Reader.QueryContext(ctx, q, from, to, after, pageSize)
		if err != nil {
			return fmt.Errorf("reading payloads to archive: %w", err)
		}
		var page []*PayloadRow
		for rows.Next() {
			var r PayloadRow
			if err := rows.Scan(&r.ID, &r.Source, &r.Channel, &r.Name, &r.ContentType, &r.SHA256, &r.Body, &r.KeyID, &r.ReceivedAt,
				&r.CorrelationID, &r.Status, &r.Error, &r.Events, &r.Duplicates); err != nil {
				rows.Close()
				return fmt.Errorf("reading payloads to archive: %w", err)
			}
			r.Links = []PayloadLink{}
			page = append(page, &r)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("reading payloads to archive: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		byID := make(map[string]*PayloadRow, len(page))
		ids := make([]any, len(page))
		for i, r := range page {
			byID[r.ID], ids[i] = r, r.ID
		}
		lrows, err := m.db.Reader.QueryContext(ctx, d.Rebind(`SELECT payload_id, event_source, event_id FROM source_payload_events WHERE payload_id IN `+
			sqldb.Placeholders(1, len(ids))+` ORDER BY payload_id, event_source, event_id`), ids...)
		if err != nil {
			return fmt.Errorf("reading payload links to archive: %w", err)
		}
		for lrows.Next() {
			var id string
			var l PayloadLink
			if err := lrows.Scan(&id, &l.EventSource, &l.EventID); err != nil {
				lrows.Close()
				return fmt.Errorf("reading payload links to archive: %w", err)
			}
			byID[id].Links = append(byID[id].Links, l)
		}
		if err := lrows.Close(); err != nil {
			return fmt.Errorf("reading payload links to archive: %w", err)
		}
		for _, r := range page {
			if err := w.write(r.ID, r); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func (m *payloads) decode(line []byte) (Row, error) {
	var r PayloadRow
	err := json.Unmarshal(line, &r)
	return &r, err
}

func (m *payloads) purge(ctx context.Context, lines [][]byte) (int64, error) {
	rs, err := decodeAll[PayloadRow](lines)
	if err != nil {
		return 0, err
	}
	d := m.db.Dialect
	ids := make([]any, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return inTx(ctx, m.db, func(tx *sql.Tx) (int64, error) {
		in := sqldb.Placeholders(1, len(ids))
		if _, err := tx.ExecContext(ctx, d.Rebind(`DELETE FROM source_payload_events WHERE payload_id IN `+in), ids...); err != nil {
			return 0, fmt.Errorf("deleting archived payload links: %w", err)
		}
		n, err := affected(tx.ExecContext(ctx, d.Rebind(`DELETE FROM source_payloads WHERE id IN `+in), ids...))
		if err != nil {
			return 0, fmt.Errorf("deleting archived payloads: %w", err)
		}
		return n, nil
	})
}

func (m *payloads) restore(ctx context.Context, lines [][]byte) (int64, error) {
	rs, err := decodeAll[PayloadRow](lines)
	if err != nil {
		return 0, err
	}
	d := m.db.Dialect
	return inTx(ctx, m.db, func(tx *sql.Tx) (int64, error) {
		var n int64
		for _, r := range rs {
			k, err := affected(tx.ExecContext(ctx, d.Rebind(`INSERT INTO source_payloads (`+payloadCols+`) VALUES `+sqldb.Placeholders(1, 14)+` ON CONFLICT DO NOTHING`),
				r.ID, r.Source, r.Channel, r.Name, r.ContentType, r.SHA256, r.Body, r.KeyID, r.ReceivedAt, r.CorrelationID, r.Status, r.Error, r.Events, r.Duplicates))
			if err != nil {
				return 0, fmt.Errorf("restoring payload %s: %w", r.ID, err)
			}
			n += k
			for _, l := range r.Links {
				if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO source_payload_events (payload_id, event_source, event_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
					r.ID, l.EventSource, l.EventID); err != nil {
					return 0, fmt.Errorf("restoring payload %s links: %w", r.ID, err)
				}
			}
		}
		return n, nil
	})
}

// ---- audit

// auditLog moves the oldest audit entries, a prefix of the chain, and
// moves the anchor (audit_anchor) with them.
type auditLog struct{ db *sqldb.DB }

func (m *auditLog) kind() string { return KindAudit }

const auditCols = `seq, at, actor, action, subject, details, prev_hash, hash, key_id, signature`

// anchorSeq is the seq of the last archived entry, 0 before the first.
func (m *auditLog) anchorSeq(ctx context.Context, q sqldb.Querier) (int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq FROM audit_anchor WHERE id = 1`)
	if err != nil {
		return 0, fmt.Errorf("reading the audit anchor: %w", err)
	}
	defer rows.Close()
	var seq int64
	if rows.Next() {
		if err := rows.Scan(&seq); err != nil {
			return 0, fmt.Errorf("reading the audit anchor: %w", err)
		}
	}
	return seq, rows.Err()
}

// next is the time of the first entry after the anchor, in seq order, if
// it is before cutoff: the chain moves as a prefix, whatever from says.
func (m *auditLog) next(ctx context.Context, _, cutoff int64) (int64, bool, error) {
	after, err := m.anchorSeq(ctx, m.db.Reader)
	if err != nil {
		return 0, false, err
	}
	var at int64
	err = m.db.Reader.QueryRowContext(ctx, m.db.Dialect.Rebind(`SELECT at FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 1`), after).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) || err == nil && at >= cutoff {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading audit entries to archive: %w", err)
	}
	return at, true, nil
}

// scan writes the entries after the anchor, in seq order, up to the first
// recorded at or after to (an entry whose clock went back stays with the
// day before it).
func (m *auditLog) scan(ctx context.Context, _, to int64, w *dayWriter) error {
	after, err := m.anchorSeq(ctx, m.db.Reader)
	if err != nil {
		return err
	}
	q := m.db.Dialect.Rebind(`SELECT ` + auditCols + ` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`)
	for {
		rows, err := m.db.Reader.QueryContext(ctx, q, after, pageSize)
		if err != nil {
			return fmt.Errorf("reading audit entries to archive: %w", err)
		}
		n, stop := 0, false
		for rows.Next() {
			var r AuditRow
			if err := rows.Scan(&r.Seq, &r.At, &r.Actor, &r.Action, &r.Subject, &r.Details, &r.PrevHash, &r.Hash, &r.KeyID, &r.Signature); err != nil {
				rows.Close()
				return fmt.Errorf("reading audit entries to archive: %w", err)
			}
			n++
			if r.At >= to {
				stop = true
				break
			}
			if err := w.write(strconv.FormatInt(r.Seq, 10), &r); err != nil {
				rows.Close()
				return err
			}
			after, w.lastHash = r.Seq, r.Hash
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("reading audit entries to archive: %w", err)
		}
		if stop || n < pageSize {
			return nil
		}
	}
}

func (m *auditLog) decode(line []byte) (Row, error) {
	var r AuditRow
	err := json.Unmarshal(line, &r)
	return &r, err
}

// purge deletes the entries of lines that are still there with the same
// hash, and moves the anchor to the last of them when it is past the
// anchor, in one transaction: the hot chain always goes on from the
// anchor.
func (m *auditLog) purge(ctx context.Context, lines [][]byte) (int64, error) {
	rs, err := decodeAll[AuditRow](lines)
	if err != nil {
		return 0, err
	}
	d := m.db.Dialect
	return inTx(ctx, m.db, func(tx *sql.Tx) (int64, error) {
		args := make([]any, 0, len(rs)*2)
		for _, r := range rs {
			args = append(args, r.Seq, r.Hash)
		}
		n, err := affected(tx.ExecContext(ctx, d.Rebind(`DELETE FROM audit_log WHERE (seq, hash) IN (VALUES `+valueRows(len(rs), "(CAST(? AS BIGINT), ?)")+`)`), args...))
		if err != nil {
			return 0, fmt.Errorf("deleting archived audit entries: %w", err)
		}
		last := rs[len(rs)-1]
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO audit_anchor (id, seq, hash) VALUES (1, ?, ?)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE audit_anchor.seq < excluded.seq`), last.Seq, last.Hash); err != nil {
			return 0, fmt.Errorf("moving the audit anchor: %w", err)
		}
		return n, nil
	})
}

func (m *auditLog) restore(ctx context.Context, lines [][]byte) (int64, error) {
	rs, err := decodeAll[AuditRow](lines)
	if err != nil {
		return 0, err
	}
	d := m.db.Dialect
	return inTx(ctx, m.db, func(tx *sql.Tx) (int64, error) {
		args := make([]any, 0, len(rs)*10)
		for _, r := range rs {
			args = append(args, r.Seq, r.At, r.Actor, r.Action, r.Subject, r.Details, r.PrevHash, r.Hash, r.KeyID, r.Signature)
		}
		n, err := affected(tx.ExecContext(ctx, d.Rebind(`INSERT INTO audit_log (`+auditCols+`) VALUES `+sqldb.Placeholders(len(rs), 10)+` ON CONFLICT DO NOTHING`), args...))
		if err != nil {
			return 0, fmt.Errorf("restoring audit entries: %w", err)
		}
		return n, nil
	})
}
