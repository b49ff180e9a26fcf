package intake

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/waybill/waybill/internal/seal"
)

// An event's body is sealed in text form, bound to the event's id; its
// header carries the data key id, so the events table needs no key id
// column. Plaintext bodies (JSON) never start with a seal header.
func bodyPlace(id string) string { return seal.Place("events", "body", id) }

// seal returns the stored form of ev's body: sealed when the database has
// a keyring, the JSON itself otherwise.
func (s *Store) seal(ev *Event) string {
	if ev.sealed != "" {
		return ev.sealed
	}
	return s.db.Keyring.SealText(ev.Body, bodyPlace(ev.ID))
}

// sealAhead seals the bodies of evs for seal to find, on the caller's
// goroutine: the cipher work of a request is done beside the writer, not
// in its transaction. A key rotated meanwhile is harmless: the body is
// sealed with the key before it, which stays readable (data keys are
// never deleted) and which the next re-encryption pass moves it off.
func (s *Store) sealAhead(evs []*Event) {
	for _, ev := range evs {
		ev.sealed = s.db.Keyring.SealText(ev.Body, bodyPlace(ev.ID))
	}
}

// openBody returns the JSON of a stored event body.
func (s *Store) openBody(id, stored string) ([]byte, error) {
	return s.db.Keyring.OpenText(stored, bodyPlace(id))
}

// SealedTable implements datakey.Table.
func (s *Store) SealedTable() string { return "events" }

// CountByKey implements datakey.Table: events by the data key of their
// body, "" for plaintext.
func (s *Store) CountByKey(ctx context.Context) (map[string]int64, error) {
	out, err := s.db.CountGroups(ctx, `SELECT CASE WHEN substr(body, 1, 4) = 'wb1:' THEN substr(body, 5, 16) ELSE '' END AS key_id, COUNT(*)
FROM events GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("counting events by data key: %w", err)
	}
	return out, nil
}

// Reseal implements datakey.Table: it seals under the current key up to
// limit event bodies that are not, in acceptance order after cursor, in
// one transaction. A body that does not open is counted and left alone.
func (s *Store) Reseal(ctx context.Context, cursor string, limit int) (seal.Batch, error) {
	var b seal.Batch
	after := int64(0)
	if cursor != "" {
		var err error
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return b, fmt.Errorf("re-sealing events: bad cursor %q", cursor)
		}
	}
	kr := s.db.Keyring
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		b = seal.Batch{}
		rows, err := tx.QueryContext(ctx, s.db.Dialect.Rebind(
			`SELECT seq, id, body FROM events WHERE seq > ? AND substr(body, 1, ?) <> ? ORDER BY seq LIMIT ?`),
			after, seal.HeaderLen, seal.Header(kr.Current()), limit)
		if err != nil {
			return fmt.Errorf("reading events to re-seal: %w", err)
		}
		type row struct {
			seq      int64
			id, body string
		}
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.seq, &r.id, &r.body); err != nil {
				rows.Close()
				return fmt.Errorf("reading events to re-seal: %w", err)
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading events to re-seal: %w", err)
		}
		if len(todo) == limit {
			b.Next = strconv.FormatInt(todo[len(todo)-1].seq, 10)
		}
		upd := s.db.Dialect.Rebind(`UPDATE events SET body = ? WHERE seq = ?`)
		for _, r := range todo {
			plain, err := s.openBody(r.id, r.body)
			if err != nil {
				b.Failed++
				b.Err = fmt.Errorf("event %s: %w", r.id, err)
				continue
			}
			v := kr.SealText(plain, bodyPlace(r.id))
			if _, err := tx.ExecContext(ctx, upd, v, r.seq); err != nil {
				return fmt.Errorf("re-sealing event %s: %w", r.id, err)
			}
			b.Moved++
		}
		return nil
	})
	return b, err
}
