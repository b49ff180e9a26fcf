package source

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/sqldb"
)

// Store owns the source_payloads, source_payload_events, webhook_ids and
// control_numbers tables. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

// NewStore returns a Store on db.
func NewStore(db *sqldb.DB) *Store { return &Store{db: db} }

// Insert stores a payload, in its own short transaction. It fills in
// SHA256.
func (s *Store) Insert(ctx context.Context, p *payload.Payload) error {
	return s.Save(ctx, p, "")
}

// Save stores a payload with what became of it and its links to the
// events made from it (eventSource is their CloudEvents source), in one
// transaction. It fills in SHA256, the digest of the plaintext body. The
// body is sealed at rest when the database has a keyring.
func (s *Store) Save(ctx context.Context, p *payload.Payload, eventSource string) error {
	sum := sha256.Sum256(p.Body)
	p.SHA256 = hex.EncodeToString(sum[:])
	if p.Status == "" {
		return fmt.Errorf("storing payload %s: no status", p.ID)
	}
	body, keyID := s.sealBody(p.ID, p.Body)
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		q := s.db.Dialect.Rebind(`INSERT INTO source_payloads
			(id, source, channel, name, content_type, sha256, body, key_id, received_at, correlation_id, status, error, events, duplicates)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if _, err := tx.ExecContext(ctx, q, p.ID, p.Source, p.Channel, p.Name, p.ContentType, p.SHA256, body, keyID,
			p.ReceivedAt.UnixMicro(), p.CorrelationID, p.Status, p.Error, p.Events, p.Duplicates); err != nil {
			return fmt.Errorf("storing payload: %w", err)
		}
		const cols = 3
		ids := p.EventIDs
		for start := 0; start < len(ids); start += 500 {
			part := ids[start:min(start+500, len(ids))]
			args := make([]any, 0, len(part)*cols)
			for _, id := range part {
				args = append(args, p.ID, eventSource, id)
			}
			q := s.db.Dialect.Rebind(`INSERT INTO source_payload_events (payload_id, event_source, event_id) VALUES ` +
				sqldb.Placeholders(len(part), cols) + ` ON CONFLICT DO NOTHING`)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("linking payload to its events: %w", err)
			}
		}
		return nil
	})
}

// Get returns a payload with its body and event links.
func (s *Store) Get(ctx context.Context, id string) (*payload.Payload, error) {
	q := s.db.Dialect.Rebind(`SELECT id, source, channel, name, content_type, sha256, body, key_id, received_at, correlation_id,
		status, error, events, duplicates FROM source_payloads WHERE id = ?`)
	var p payload.Payload
	var at int64
	var keyID string
	err := s.db.Reader.QueryRowContext(ctx, q, id).Scan(&p.ID, &p.Source, &p.Channel, &p.Name, &p.ContentType, &p.SHA256,
		&p.Body, &keyID, &at, &p.CorrelationID, &p.Status, &p.Error, &p.Events, &p.Duplicates)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", payload.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading payload %s: %w", id, err)
	}
	if p.Body, err = s.openBody(p.ID, keyID, p.Body); err != nil {
		return nil, fmt.Errorf("reading payload %s: %w", id, err)
	}
	p.ReceivedAt = time.UnixMicro(at).UTC()
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(
		`SELECT event_id FROM source_payload_events WHERE payload_id = ? ORDER BY event_id`), id)
	if err != nil {
		return nil, fmt.Errorf("reading payload %s events: %w", id, err)
	}
	defer rows.Close()
	p.EventIDs = []string{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("reading payload %s events: %w", id, err)
		}
		p.EventIDs = append(p.EventIDs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading payload %s events: %w", id, err)
	}
	return &p, nil
}

// PayloadsOf returns the ids of the payloads an event was made from.
func (s *Store) PayloadsOf(ctx context.Context, eventSource, eventID string) ([]string, error) {
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(
		`SELECT payload_id FROM source_payload_events WHERE event_source = ? AND event_id = ? ORDER BY payload_id`), eventSource, eventID)
	if err != nil {
		return nil, fmt.Errorf("reading payloads of event %s: %w", eventID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading payloads of event %s: %w", eventID, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Seen implements verify.Seen on the webhook_ids table, so replay
// protection holds across restarts and across processes sharing the
// database. An id is new when it is absent or its record has expired.
func (s *Store) Seen(ctx context.Context, source, id string, until time.Time) (bool, error) {
	now := time.Now().UnixMicro()
	q := s.db.Dialect.Rebind(`INSERT INTO webhook_ids (source, id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (source, id) DO UPDATE SET expires_at = excluded.expires_at WHERE webhook_ids.expires_at < ?`)
	res, err := s.db.ExecContext(ctx, q, source, id, until.UnixMicro(), now)
	if err != nil {
		return false, fmt.Errorf("recording webhook id: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording webhook id: %w", err)
	}
	return n == 0, nil
}

// Known reports whether id was recorded for source and is still
// remembered at now. Unlike Seen it records nothing.
func (s *Store) Known(ctx context.Context, source, id string, now time.Time) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.db.Dialect.Rebind(`SELECT 1 FROM webhook_ids WHERE source = ? AND id = ? AND expires_at >= ?`),
		source, id, now.UnixMicro()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking up webhook id: %w", err)
	}
	return true, nil
}

// SweepSeen deletes webhook ids whose tolerance window has passed.
func (s *Store) SweepSeen(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Dialect.Rebind(`DELETE FROM webhook_ids WHERE expires_at < ?`), now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sweeping webhook ids: %w", err)
	}
	return res.RowsAffected()
}

// maxControl is the largest X12 control number (nine digits).
const maxControl = 999999999

// NextControl hands out the next control number of name, from 1 and
// wrapping after 999999999.
func (s *Store) NextControl(ctx context.Context, name string) (int, error) {
	var v int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		q := s.db.Dialect.Rebind(`INSERT INTO control_numbers (name, value) VALUES (?, 1)
			ON CONFLICT (name) DO UPDATE SET value = CASE WHEN control_numbers.value >= ? THEN 1 ELSE control_numbers.value + 1 END
			RETURNING value`)
		return tx.QueryRowContext(ctx, q, name, maxControl).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("taking control number %s: %w", name, err)
	}
	return int(v), nil
}

// Outbound returns the outbound payload of source stored under name (the
// idempotency key of the action that made it), or payload.ErrNotFound.
func (s *Store) Outbound(ctx context.Context, source, name string) (*payload.Payload, error) {
	q := s.db.Dialect.Rebind(`SELECT id FROM source_payloads WHERE source = ? AND channel = ? AND name = ?`)
	var id string
	err := s.db.QueryRowContext(ctx, q, source, payload.ChannelOutbound, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: outbound %s of %s", payload.ErrNotFound, name, source)
	}
	if err != nil {
		return nil, fmt.Errorf("reading outbound payload: %w", err)
	}
	return s.Get(ctx, id)
}

// bodyPlace is where a payload body lives, for its seal.
func bodyPlace(id string) string { return seal.Place("source_payloads", "body", id) }

// sealBody seals a payload body for storage and returns it with its key
// id; with encryption off it returns the body and "".
func (s *Store) sealBody(id string, body []byte) ([]byte, string) {
	kr := s.db.Keyring
	if kr == nil {
		return body, ""
	}
	sealed := kr.Seal(body, bodyPlace(id))
	keyID, _ := seal.KeyID(sealed)
	return sealed, keyID
}

// openBody opens a stored payload body: sealed when keyID is set,
// plaintext otherwise.
func (s *Store) openBody(id, keyID string, stored []byte) ([]byte, error) {
	if keyID == "" {
		return stored, nil
	}
	return s.db.Keyring.OpenSealed(stored, bodyPlace(id))
}

// SealedTable implements datakey.Table.
func (s *Store) SealedTable() string { return "source_payloads" }

// CountByKey implements datakey.Table: payloads by the data key of their
// body, "" for plaintext.
func (s *Store) CountByKey(ctx context.Context) (map[string]int64, error) {
	out, err := s.db.CountGroups(ctx, `SELECT key_id, COUNT(*) FROM source_payloads GROUP BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("counting payloads by data key: %w", err)
	}
	return out, nil
}

// Reseal implements datakey.Table: it seals under the current key up to
// limit payload bodies that are not, in id order after cursor, in one
// transaction. A body that does not open is counted and left alone.
func (s *Store) Reseal(ctx context.Context, cursor string, limit int) (seal.Batch, error) {
	var b seal.Batch
	cur := s.db.Keyring.Current()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		b = seal.Batch{}
		rows, err := tx.QueryContext(ctx, s.db.Dialect.Rebind(
			`SELECT id, key_id, body FROM source_payloads WHERE id > ? AND key_id <> ? ORDER BY id LIMIT ?`), cursor, cur, limit)
		if err != nil {
			return fmt.Errorf("reading payloads to re-seal: %w", err)
		}
		type row struct {
			id, keyID string
			body      []byte
		}
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.keyID, &r.body); err != nil {
				rows.Close()
				return fmt.Errorf("reading payloads to re-seal: %w", err)
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading payloads to re-seal: %w", err)
		}
		if len(todo) == limit {
			b.Next = todo[len(todo)-1].id
		}
		upd := s.db.Dialect.Rebind(`UPDATE source_payloads SET body = ?, key_id = ? WHERE id = ? AND key_id = ?`)
		for _, r := range todo {
			plain, err := s.openBody(r.id, r.keyID, r.body)
			if err != nil {
				b.Failed++
				b.Err = fmt.Errorf("payload %s: %w", r.id, err)
				continue
			}
			body, keyID := s.sealBody(r.id, plain)
			if _, err := tx.ExecContext(ctx, upd, body, keyID, r.id, r.keyID); err != nil {
				return fmt.Errorf("re-sealing payload %s: %w", r.id, err)
			}
			b.Moved++
		}
		return nil
	})
	return b, err
}
