package changes

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// The kinds of file under change control.
const (
	KindRules   = "rules"
	KindSources = "sources"
	KindMapping = "mapping"
)

// The names of the single-file slots; a mapping's name is "mapping:" and
// its path.
const (
	NameRules   = "billing.rules_file"
	NameSources = "intake.sources_file"
)

// The statuses of a change.
const (
	// StatusPending waits for approval; the hub does not use it.
	StatusPending = "pending"
	// StatusApproved is in force, or was until a newer one was approved.
	StatusApproved = "approved"
	// StatusRejected was refused; the same content is not proposed again.
	StatusRejected = "rejected"
	// StatusSuperseded was pending when the file changed again, or went
	// back to the approved content.
	StatusSuperseded = "superseded"
)

// Audit actions of the change workflow.
const (
	ActionProposed   = "change.proposed"
	ActionApproved   = "change.approved"
	ActionRejected   = "change.rejected"
	ActionSuperseded = "change.superseded"
)

var (
	// ErrNotFound is returned for an unknown change id.
	ErrNotFound = sqldb.ErrNotFound
	// ErrNotPending is returned when approving or rejecting a change that
	// is no longer pending.
	ErrNotPending = errors.New("change is not pending")
	// ErrSamePerson is returned when the proposer approves their own
	// change while the two-person rule holds.
	ErrSamePerson = errors.New("the proposer of a change cannot approve it")
	// ErrInvalid is returned when approving a change whose file does not
	// load.
	ErrInvalid = errors.New("change does not load")
)

// Change is one version of a file under change control.
type Change struct {
	ID string `json:"id"`
	// Name is the slot: billing.rules_file, intake.sources_file or
	// mapping:<path>.
	Name string `json:"name"`
	// Kind is rules, sources or mapping.
	Kind string `json:"kind"`
	// Path is where the file was read.
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// Size is the content's length in bytes.
	Size   int    `json:"size"`
	Status string `json:"status" enum:"pending,approved,rejected,superseded"`
	// Proposer is who proposed it: system for a file changed before a
	// start-up, cli:<user> or the --proposer of a command.
	Proposer   string    `json:"proposer"`
	ProposedAt time.Time `json:"proposed_at"`
	// BaseID is the approved change this one would replace; empty for the
	// first version.
	BaseID string `json:"base_id,omitempty"`
	// Problem says why the file does not load; such a change cannot be
	// approved.
	Problem string `json:"problem,omitempty"`
	// WhatIf is a rules change tried on recently billed shipments.
	WhatIf    *WhatIf    `json:"what_if,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	// Content is the file's content; only Get fills it.
	Content []byte `json:"-"`
}

// Options configure a Store.
type Options struct {
	// Audit records every step. Required.
	Audit *audit.Store
	// AllowSelfApproval lets a proposer approve their own change.
	AllowSelfApproval bool
	// Sample returns the shipments a rules change is tried on; nil tries
	// none.
	Sample func(ctx context.Context, n int) ([]*shipment.Shipment, error)
	// WhatIfShipments is how many shipments Sample is asked for. Defaults
	// to 50.
	WhatIfShipments int
	// Environ is the environment source profiles read secrets from.
	Environ []string
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

// Store keeps the versions of the files under change control.
type Store struct {
	db   *sqldb.DB
	opts Options
}

// NewStore returns the change store of db.
func NewStore(db *sqldb.DB, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WhatIfShipments <= 0 {
		opts.WhatIfShipments = 50
	}
	return &Store{db: db, opts: opts}
}

const (
	changeCols    = `id, name, kind, path, sha256, length(content), status, proposer, proposed_at, base_id, problem, what_if, decided_by, decided_at, reason`
	qInsert       = `INSERT INTO config_changes (id, name, kind, path, sha256, content, status, proposer, proposed_at, base_id, problem, what_if, decided_by, decided_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qLatest       = `SELECT ` + changeCols + ` FROM config_changes WHERE name = ? AND status = 'approved' ORDER BY decided_at DESC, proposed_at DESC LIMIT 1`
	qBySHA        = `SELECT count(*) FROM config_changes WHERE name = ? AND sha256 = ? AND status IN ('pending', 'rejected')`
	qPendingOf    = `SELECT id FROM config_changes WHERE name = ? AND status = 'pending'`
	qSupersede    = `UPDATE config_changes SET status = 'superseded', decided_by = ?, decided_at = ? WHERE id = ?`
	qGet          = `SELECT ` + changeCols + `, content FROM config_changes WHERE id = ?`
	qDecide       = `UPDATE config_changes SET status = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ? AND status = 'pending'`
	qContentOf    = `SELECT content FROM config_changes WHERE id = ?`
	qListAll      = `SELECT ` + changeCols + ` FROM config_changes ORDER BY proposed_at DESC, id DESC`
	qListByStatus = `SELECT ` + changeCols + ` FROM config_changes WHERE status = ? ORDER BY proposed_at DESC, id DESC`
)

// File is a file under change control as read now.
type File struct {
	Name    string
	Kind    string
	Path    string
	Content []byte
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sync brings one file's record up to date with its content now, and
// returns the approved version. The first version of a name is approved
// implicitly. A content that differs from the approved one becomes a
// pending change proposed by proposer, unless the same content is already
// pending or was rejected; a file back at its approved content supersedes
// what was pending.
func (s *Store) sync(ctx context.Context, f File, proposer string, check func(File) error, whatIf func(ctx context.Context, approved []byte, f File) (*WhatIf, error)) (*Change, error) {
	d := s.db.Dialect
	hash := sum(f.Content)
	approved, err := s.latest(ctx, s.db.DB, f.Name)
	if err != nil {
		return nil, err
	}
	if approved != nil && approved.SHA256 == hash {
		return approved, s.db.InTx(ctx, func(tx *sql.Tx) error { return s.supersedePending(ctx, tx, f.Name, "", "system") })
	}
	if approved != nil {
		var n int
		if err := s.db.QueryRowContext(ctx, d.Rebind(qBySHA), f.Name, hash).Scan(&n); err != nil {
			return nil, fmt.Errorf("reading changes of %s: %w", f.Name, err)
		}
		if n > 0 {
			return approved, nil
		}
	}
	c := &Change{ID: uuid.Must(uuid.NewV7()).String(), Name: f.Name, Kind: f.Kind, Path: f.Path, SHA256: hash, Size: len(f.Content),
		Proposer: proposer, ProposedAt: time.UnixMicro(s.opts.Now().UnixMicro()).UTC(), Content: f.Content}
	if err := check(f); err != nil {
		c.Problem = strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	if approved == nil {
		// The first version: approved implicitly, as before change control.
		c.Status, c.Proposer, c.DecidedBy, c.Reason = StatusApproved, "system", "system", "first version: approved implicitly"
		c.DecidedAt = &c.ProposedAt
	} else {
		c.Status, c.BaseID = StatusPending, approved.ID
		if c.Problem == "" && whatIf != nil {
			if c.WhatIf, err = whatIf(ctx, approved.Content, f); err != nil {
				return nil, err
			}
		}
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.supersedePending(ctx, tx, f.Name, c.ID, proposer); err != nil {
			return err
		}
		if err := s.insert(ctx, tx, c); err != nil {
			return err
		}
		action, actor := ActionProposed, c.Proposer
		details := map[string]any{"name": c.Name, "kind": c.Kind, "path": c.Path, "sha256": c.SHA256, "base_id": c.BaseID}
		if c.Status == StatusApproved {
			action, details["implicit"] = ActionApproved, true
		}
		if c.Problem != "" {
			details["problem"] = c.Problem
		}
		if c.WhatIf != nil {
			details["what_if"] = map[string]any{"sampled": c.WhatIf.Sampled, "changed": c.WhatIf.Changed}
		}
		_, err := s.opts.Audit.AppendTx(ctx, tx, audit.Record{Actor: actor, Action: action, Subject: c.ID, Details: details})
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.Status == StatusApproved {
		return c, nil
	}
	return approved, nil
}

// supersedePending marks the pending changes of name, but keep, superseded.
func (s *Store) supersedePending(ctx context.Context, tx *sql.Tx, name, keep, actor string) error {
	d := s.db.Dialect
	rows, err := tx.QueryContext(ctx, d.Rebind(qPendingOf), name)
	if err != nil {
		return fmt.Errorf("reading pending changes of %s: %w", name, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if id == keep {
			continue
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(qSupersede), actor, s.opts.Now().UnixMicro(), id); err != nil {
			return fmt.Errorf("superseding change %s: %w", id, err)
		}
		if _, err := s.opts.Audit.AppendTx(ctx, tx, audit.Record{Actor: actor, Action: ActionSuperseded, Subject: id,
			Details: map[string]string{"name": name}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insert(ctx context.Context, tx *sql.Tx, c *Change) error {
	whatIf := ""
	if c.WhatIf != nil {
		b, err := json.Marshal(c.WhatIf)
		if err != nil {
			return err
		}
		whatIf = string(b)
	}
	var decidedAt int64
	if c.DecidedAt != nil {
		decidedAt = c.DecidedAt.UnixMicro()
	}
	if _, err := tx.ExecContext(ctx, s.db.Dialect.Rebind(qInsert), c.ID, c.Name, c.Kind, c.Path, c.SHA256, c.Content, c.Status,
		c.Proposer, c.ProposedAt.UnixMicro(), c.BaseID, c.Problem, whatIf, c.DecidedBy, decidedAt, c.Reason); err != nil {
		return fmt.Errorf("recording change of %s: %w", c.Name, err)
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// latest returns the approved version of name in force, with its content,
// or nil.
func (s *Store) latest(ctx context.Context, q querier, name string) (*Change, error) {
	rows, err := q.QueryContext(ctx, s.db.Dialect.Rebind(qLatest), name)
	if err != nil {
		return nil, fmt.Errorf("reading the approved %s: %w", name, err)
	}
	list, err := scanChanges(rows, false)
	if err != nil {
		return nil, fmt.Errorf("reading the approved %s: %w", name, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	c := &list[0]
	if err := q.QueryRowContext(ctx, s.db.Dialect.Rebind(qContentOf), c.ID).Scan(&c.Content); err != nil {
		return nil, fmt.Errorf("reading the approved %s: %w", name, err)
	}
	return c, nil
}

// Get returns a change with its content.
func (s *Store) Get(ctx context.Context, id string) (*Change, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Dialect.Rebind(qGet), id)
	if err != nil {
		return nil, fmt.Errorf("reading change %s: %w", id, err)
	}
	list, err := scanChanges(rows, true)
	if err != nil {
		return nil, fmt.Errorf("reading change %s: %w", id, err)
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return &list[0], nil
}

// List returns the changes with a status (all when empty), newest first,
// without their content.
func (s *Store) List(ctx context.Context, status string) ([]Change, error) {
	q, args := qListAll, []any{}
	if status != "" {
		q, args = qListByStatus, []any{status}
	}
	rows, err := s.db.QueryContext(ctx, s.db.Dialect.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("listing changes: %w", err)
	}
	list, err := scanChanges(rows, false)
	if err != nil {
		return nil, fmt.Errorf("listing changes: %w", err)
	}
	if list == nil {
		list = []Change{}
	}
	return list, nil
}

// Approve puts a pending change in force (at the hub's next start) and
// records it. The approver must not be the proposer unless self-approval
// is allowed, and the file must load.
func (s *Store) Approve(ctx context.Context, id, approver, reason string) (*Change, error) {
	return s.decide(ctx, id, StatusApproved, approver, reason)
}

// Reject refuses a pending change and records it; the same content is not
// proposed again.
func (s *Store) Reject(ctx context.Context, id, rejecter, reason string) (*Change, error) {
	return s.decide(ctx, id, StatusRejected, rejecter, reason)
}

func (s *Store) decide(ctx context.Context, id, status, actor, reason string) (*Change, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Status != StatusPending:
		return nil, fmt.Errorf("%w: change %s is %s", ErrNotPending, id, c.Status)
	case status == StatusApproved && c.Problem != "":
		return nil, fmt.Errorf("%w: %s", ErrInvalid, c.Problem)
	case status == StatusApproved && !s.opts.AllowSelfApproval && actor == c.Proposer:
		return nil, fmt.Errorf("%w: %s proposed change %s; another person must approve it", ErrSamePerson, actor, id)
	}
	now := time.UnixMicro(s.opts.Now().UnixMicro()).UTC()
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Dialect.Rebind(qDecide), status, actor, now.UnixMicro(), reason, id)
		if err != nil {
			return fmt.Errorf("deciding change %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: change %s was decided meanwhile", ErrNotPending, id)
		}
		action := ActionApproved
		if status == StatusRejected {
			action = ActionRejected
		}
		_, err = s.opts.Audit.AppendTx(ctx, tx, audit.Record{Actor: actor, Action: action, Subject: id,
			Details: map[string]string{"name": c.Name, "sha256": c.SHA256, "proposer": c.Proposer, "reason": reason}})
		return err
	})
	if err != nil {
		return nil, err
	}
	c.Status, c.DecidedBy, c.DecidedAt, c.Reason = status, actor, &now, reason
	return c, nil
}

func scanChanges(rows *sql.Rows, withContent bool) ([]Change, error) {
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var proposedAt, decidedAt int64
		var whatIf string
		dest := []any{&c.ID, &c.Name, &c.Kind, &c.Path, &c.SHA256, &c.Size, &c.Status, &c.Proposer, &proposedAt, &c.BaseID,
			&c.Problem, &whatIf, &c.DecidedBy, &decidedAt, &c.Reason}
		if withContent {
			dest = append(dest, &c.Content)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		c.ProposedAt = time.UnixMicro(proposedAt).UTC()
		if decidedAt != 0 {
			t := time.UnixMicro(decidedAt).UTC()
			c.DecidedAt = &t
		}
		if whatIf != "" {
			c.WhatIf = &WhatIf{}
			if err := json.Unmarshal([]byte(whatIf), c.WhatIf); err != nil {
				return nil, fmt.Errorf("decoding the what-if of change %s: %w", c.ID, err)
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
