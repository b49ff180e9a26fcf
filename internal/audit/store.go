package audit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/sqldb"
)

var (
	// ErrNotFound is returned by Last when no entry has the action. It is
	// sqldb.ErrNotFound.
	ErrNotFound = sqldb.ErrNotFound
	// ErrBadCursor is returned by List for a cursor it did not make.
	ErrBadCursor = errors.New("invalid audit cursor")
	// ErrNoSigner is returned by Append on a store opened for reading
	// only.
	ErrNoSigner = errors.New("audit store has no signing key")
	// ErrInvalid is returned by Append for a record without actor or
	// action, or whose details are not a JSON object.
	ErrInvalid = errors.New("invalid audit record")
)

// Store is the audit trail in the database. It is safe for concurrent use.
type Store struct {
	db     *sqldb.DB
	signer *Signer
	now    func() time.Time
}

// StoreOptions are optional settings of a Store.
type StoreOptions struct {
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

// NewStore returns the audit trail of db, signing new entries with signer.
// A nil signer makes a store that lists and verifies but refuses to
// append.
func NewStore(db *sqldb.DB, signer *Signer, opts *StoreOptions) *Store {
	s := &Store{db: db, signer: signer, now: time.Now}
	if opts != nil && opts.Now != nil {
		s.now = opts.Now
	}
	return s
}

// Record is what a caller appends; the store adds the sequence number,
// time, chain hash and signature.
type Record struct {
	// Actor is who did it: key:<name>, cli:<os user> or system.
	Actor string
	// Action is what was done, one of the Action constants or another
	// stable dotted name.
	Action string
	// Subject is what it was done to; may be empty.
	Subject string
	// Details are the particulars, marshalled as a JSON object (a struct
	// or map; nil is {}).
	Details any
}

const (
	qBumpHead   = `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`
	qSetHead    = `UPDATE audit_head SET hash = ? WHERE id = 1`
	qReadHead   = `SELECT seq, hash FROM audit_head WHERE id = 1`
	qReadAnchor = `SELECT seq, hash FROM audit_anchor WHERE id = 1`
	qInsert     = `INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	entryCols   = `seq, at, actor, action, subject, details, prev_hash, hash, key_id, signature`
	qChainPage  = `SELECT ` + entryCols + ` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`
	qLastAction = `SELECT ` + entryCols + ` FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1`
)

// Append records r in a transaction of its own.
func (s *Store) Append(ctx context.Context, r Record) (*Entry, error) {
	var e *Entry
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = s.AppendTx(ctx, tx, r)
		return err
	})
	return e, err
}

// AppendTx records r in tx, so that the entry commits with the change it
// records, or not at all. Appends are serialised: the head row it updates
// first stays locked until tx ends (on SQLite the single writer does the
// same), so keep tx short once it has appended.
func (s *Store) AppendTx(ctx context.Context, tx *sql.Tx, r Record) (*Entry, error) {
	if s.signer == nil {
		return nil, ErrNoSigner
	}
	if r.Actor == "" || r.Action == "" {
		return nil, fmt.Errorf("%w: actor and action are required", ErrInvalid)
	}
	details, err := marshalDetails(r.Details)
	if err != nil {
		return nil, err
	}
	d := s.db.Dialect
	e := &Entry{Time: time.UnixMicro(s.now().UnixMicro()).UTC(), Actor: r.Actor, Action: r.Action, Subject: r.Subject,
		Details: details, KeyID: s.signer.ID()}
	if err := tx.QueryRowContext(ctx, d.Rebind(qBumpHead)).Scan(&e.Seq, &e.PrevHash); err != nil {
		return nil, fmt.Errorf("appending to the audit trail: %w", err)
	}
	e.Hash = e.CanonicalHash()
	raw, _ := hex.DecodeString(e.Hash)
	e.Signature = hex.EncodeToString(s.signer.sign(raw))
	if _, err := tx.ExecContext(ctx, d.Rebind(qInsert), e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Subject,
		string(e.Details), e.PrevHash, e.Hash, e.KeyID, e.Signature); err != nil {
		return nil, fmt.Errorf("appending to the audit trail: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.Rebind(qSetHead), e.Hash); err != nil {
		return nil, fmt.Errorf("appending to the audit trail: %w", err)
	}
	return e, nil
}

func marshalDetails(v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage(`{}`), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: details: %v", ErrInvalid, err)
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: details must be a JSON object", ErrInvalid)
	}
	return b, nil
}

// ListParams filter and page List.
type ListParams struct {
	// Action keeps entries of this action only; a value ending in "."
	// (such as "key.") keeps every action with that prefix.
	Action string
	// Actor keeps entries of this actor only.
	Actor string
	// Since keeps entries recorded at or after it.
	Since time.Time
	// Limit is the page size, 1 to 1000. Defaults to 100.
	Limit int
	// Cursor is the next cursor of the previous page.
	Cursor string
}

// List returns entries newest first, and the cursor of the next page ("" on
// the last page).
func (s *Store) List(ctx context.Context, p ListParams) ([]Entry, string, error) {
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var where []string
	var args []any
	if p.Cursor != "" {
		before, err := strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || before < 1 {
			return nil, "", ErrBadCursor
		}
		where, args = append(where, "seq < ?"), append(args, before)
	}
	if a, ok := strings.CutSuffix(p.Action, "."); ok && a != "" {
		where, args = append(where, "substr(action, 1, ?) = ?"), append(args, len(p.Action), p.Action)
	} else if p.Action != "" {
		where, args = append(where, "action = ?"), append(args, p.Action)
	}
	if p.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, p.Actor)
	}
	if !p.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, p.Since.UnixMicro())
	}
	q := `SELECT ` + entryCols + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing audit entries: %w", err)
	}
	list, err := scanEntries(rows)
	if err != nil {
		return nil, "", fmt.Errorf("listing audit entries: %w", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = strconv.FormatInt(list[limit-1].Seq, 10)
	}
	return list, next, nil
}

// Last returns the newest entry of an action, or ErrNotFound.
func (s *Store) Last(ctx context.Context, action string) (*Entry, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Dialect.Rebind(qLastAction), action)
	if err != nil {
		return nil, fmt.Errorf("reading the last %s entry: %w", action, err)
	}
	list, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("reading the last %s entry: %w", action, err)
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return &list[0], nil
}

func scanEntries(rows *sql.Rows) ([]Entry, error) {
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var details string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &details, &e.PrevHash, &e.Hash, &e.KeyID, &e.Signature); err != nil {
			return nil, err
		}
		e.Time = time.UnixMicro(at).UTC()
		e.Details = json.RawMessage(details)
		out = append(out, e)
	}
	return out, rows.Err()
}
