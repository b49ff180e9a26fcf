package workflow

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// ErrNotFound is returned when a shipment, order or reference does not
// exist.
var ErrNotFound = sqldb.ErrNotFound

// Store owns the shipments, orders and xrefs tables.
type Store struct {
	db *sqldb.DB
	q  struct {
		get, xrefGet, xrefsOf, list, orderGet string
	}
}

// NewStore returns a Store on db.
func NewStore(db *sqldb.DB) *Store {
	s := &Store{db: db}
	d := db.Dialect
	s.q.get = d.Rebind(`SELECT doc FROM shipments WHERE id = ?`)
	s.q.orderGet = d.Rebind(`SELECT doc FROM orders WHERE id = ?`)
	s.q.xrefGet = d.Rebind(`SELECT canonical_id FROM xrefs WHERE system = ? AND kind = ? AND external_id = ?`)
	s.q.xrefsOf = d.Rebind(`SELECT system, kind, external_id FROM xrefs WHERE canonical_id = ? ORDER BY system, kind, external_id`)
	s.q.list = d.Rebind(`SELECT doc FROM shipments WHERE (? = '' OR state = ?) AND id > ? ORDER BY id LIMIT ?`)
	return s
}

// Resolve turns a reference into a canonical id of the given kind.
func (s *Store) Resolve(ctx context.Context, kind, ref string) (string, error) {
	r, err := shipment.ParseRef(ref)
	if err != nil {
		return "", err
	}
	if r.Canonical != "" {
		return r.Canonical, nil
	}
	var id string
	err = s.db.Reader.QueryRowContext(ctx, s.q.xrefGet, r.System, kind, r.ExternalID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s %s: %w", kind, ref, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("resolving %s %s: %w", kind, ref, err)
	}
	return id, nil
}

// Get returns a shipment by reference.
func (s *Store) Get(ctx context.Context, ref string) (*shipment.Shipment, error) {
	return getDoc[shipment.Shipment](ctx, s, shipment.KindShipment, s.q.get, ref)
}

// GetOrder returns an order by reference.
func (s *Store) GetOrder(ctx context.Context, ref string) (*shipment.Order, error) {
	return getDoc[shipment.Order](ctx, s, shipment.KindOrder, s.q.orderGet, ref)
}

// getDoc resolves ref to an object of kind and loads its document with
// query.
func getDoc[T any](ctx context.Context, s *Store, kind, query, ref string) (*T, error) {
	id, err := s.Resolve(ctx, kind, ref)
	if err != nil {
		return nil, err
	}
	var doc string
	err = s.db.Reader.QueryRowContext(ctx, query, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s %s: %w", kind, ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("loading %s %s: %w", kind, ref, err)
	}
	v := new(T)
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return nil, fmt.Errorf("decoding %s %s: %w", kind, id, err)
	}
	return v, nil
}

// Xrefs lists the cross-references of a canonical id.
func (s *Store) Xrefs(ctx context.Context, id string) ([]shipment.Xref, error) {
	rows, err := s.db.Reader.QueryContext(ctx, s.q.xrefsOf, id)
	if err != nil {
		return nil, fmt.Errorf("listing cross-references: %w", err)
	}
	defer rows.Close()
	out := []shipment.Xref{}
	for rows.Next() {
		var x shipment.Xref
		if err := rows.Scan(&x.System, &x.Kind, &x.ExternalID); err != nil {
			return nil, fmt.Errorf("listing cross-references: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// ListParams selects a page of shipments.
type ListParams struct {
	// State filters by state when set.
	State shipment.State
	// Limit is the page size, 1..500.
	Limit int
	// Cursor continues after the page that returned it.
	Cursor string
}

// ErrBadCursor is returned for a cursor this store did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// List returns a page of shipments in creation order and the cursor of the
// next page ("" when this is the last).
func (s *Store) List(ctx context.Context, p ListParams) ([]*shipment.Shipment, string, error) {
	after := ""
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		if _, err := uuid.Parse(string(b)); err != nil {
			return nil, "", ErrBadCursor
		}
		after = string(b)
	}
	rows, err := s.db.Reader.QueryContext(ctx, s.q.list, string(p.State), string(p.State), after, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("listing shipments: %w", err)
	}
	defer rows.Close()
	var out []*shipment.Shipment
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, "", fmt.Errorf("listing shipments: %w", err)
		}
		var sh shipment.Shipment
		if err := json.Unmarshal([]byte(doc), &sh); err != nil {
			return nil, "", fmt.Errorf("decoding shipment: %w", err)
		}
		out = append(out, &sh)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing shipments: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].ID))
	}
	return out, next, nil
}

// queryer is what the processor's batch helpers need: the read pool while
// a batch is prepared, the write transaction while it is committed.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// batchTx is the processor's view of the store for one batch.
type batchTx struct {
	s  *Store
	tx queryer
}

// resolve maps external references of one kind to canonical ids.
func (b batchTx) resolve(ctx context.Context, kind string, refs []shipment.Ref) (map[shipment.Ref]string, error) {
	out := make(map[shipment.Ref]string, len(refs))
	systems, ids := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		systems[i], ids[i] = r.System, r.ExternalID
	}
	probe := sqldb.PairProbe{Table: "xrefs", ColA: "system", ColB: "external_id", Cols: []string{"canonical_id"}, Where: "kind = ?", Args: []any{kind}}
	err := probe.Run(ctx, b.s.db.Dialect, b.tx, systems, ids, func(rows *sql.Rows) error {
		var r shipment.Ref
		var id string
		if err := rows.Scan(&r.System, &r.ExternalID, &id); err != nil {
			return err
		}
		out[r] = id
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("resolving references: %w", err)
	}
	return out, nil
}

// loadDocs loads documents by id from table (shipments or orders).
func loadDocs[T any](ctx context.Context, b batchTx, table string, ids []string) (map[string]*T, error) {
	out := make(map[string]*T, len(ids))
	chunk := 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		q := b.s.db.Dialect.Rebind(`SELECT id, doc FROM ` + table + ` WHERE id IN (` + strings.TrimSuffix(strings.TrimPrefix(sqldb.Placeholders(1, len(part)), "("), ")") + `)`)
		rows, err := b.tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", table, err)
		}
		for rows.Next() {
			var id, doc string
			if err := rows.Scan(&id, &doc); err != nil {
				rows.Close()
				return nil, fmt.Errorf("loading %s: %w", table, err)
			}
			v := new(T)
			if err := json.Unmarshal([]byte(doc), v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("decoding %s %s: %w", table, id, err)
			}
			out[id] = v
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("loading %s: %w", table, err)
		}
	}
	return out, nil
}

// docRows is a table's rows encoded as multi-row upserts, one per chunk.
type docRows struct {
	stmts []docStmt
}

type docStmt struct {
	query string
	args  []any
}

const docChunk = 500

var (
	shipmentColumns = []string{"text", "text", "text", "text", "bigint", "bigint", "bigint", "boolean", "text"}
	orderColumns    = []string{"text", "text", "bigint", "bigint", "bigint"}
	reviewColumns   = []string{"text", "text", "text", "text", "text", "bigint", "bigint", "text"}
)

// encodeShipments bumps each shipment's version and encodes it, outside
// any transaction: the write that follows only binds the results.
func (s *Store) encodeShipments(ships []*shipment.Shipment, now time.Time) (docRows, error) {
	const head = `INSERT INTO shipments (id, state, blocked_reason, doc, version, created_at, updated_at, billable, facets)`
	const upsert = ` ON CONFLICT (id) DO UPDATE SET state = excluded.state, blocked_reason = excluded.blocked_reason, doc = excluded.doc, version = excluded.version, updated_at = excluded.updated_at, billable = excluded.billable, facets = excluded.facets`
	return s.chunked(len(ships), head, shipmentColumns, upsert, func(args []any, i int) ([]any, error) {
		sh := ships[i]
		sh.Version++
		sh.UpdatedAt = now
		doc, err := json.Marshal(sh)
		if err != nil {
			return nil, fmt.Errorf("encoding shipment %s: %w", sh.ID, err)
		}
		return append(args, sh.ID, string(sh.State), sh.BlockedReason, string(doc), sh.Version, sh.CreatedAt.UnixMicro(), now.UnixMicro(), sh.Billable, facets(sh)), nil
	})
}

// encodeOrders is encodeShipments for orders.
func (s *Store) encodeOrders(orders []*shipment.Order, now time.Time) (docRows, error) {
	const head = `INSERT INTO orders (id, doc, version, created_at, updated_at)`
	const upsert = ` ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, version = excluded.version, updated_at = excluded.updated_at`
	return s.chunked(len(orders), head, orderColumns, upsert, func(args []any, i int) ([]any, error) {
		o := orders[i]
		o.Version++
		o.UpdatedAt = now
		doc, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encoding order %s: %w", o.ID, err)
		}
		return append(args, o.ID, string(doc), o.Version, o.CreatedAt.UnixMicro(), now.UnixMicro()), nil
	})
}

// chunked encodes n rows of the columns types (their PostgreSQL types),
// add appending the values of row i to args, as one multi-row insert
// (head, rows, tail: see sqldb.Insert) per docChunk rows.
func (s *Store) chunked(n int, head string, types []string, tail string, add func(args []any, i int) ([]any, error)) (docRows, error) {
	ins := s.db.Dialect.NewInsert(head, types, tail)
	var out docRows
	for start := 0; start < n; start += docChunk {
		end := min(start+docChunk, n)
		args := make([]any, 0, (end-start)*len(types))
		for i := start; i < end; i++ {
			var err error
			if args, err = add(args, i); err != nil {
				return docRows{}, err
			}
		}
		q, args := ins.Statement(args)
		out.stmts = append(out.stmts, docStmt{q, args})
	}
	return out, nil
}

// save writes rows encoded by encodeShipments or encodeOrders.
func (b batchTx) save(ctx context.Context, table string, rows docRows) error {
	for _, st := range rows.stmts {
		if _, err := b.tx.ExecContext(ctx, st.query, st.args...); err != nil {
			return fmt.Errorf("saving %s: %w", table, err)
		}
	}
	return nil
}

type newXref struct {
	ref  shipment.Ref
	kind string
	id   string
	// learned marks a key learned from a partner's message or a
	// reference: one another shipment already holds stays with it.
	learned bool
}

func (b batchTx) addXrefs(ctx context.Context, all []newXref, now time.Time) error {
	var strict, learned []newXref
	for _, x := range all {
		if x.learned {
			learned = append(learned, x)
		} else {
			strict = append(strict, x)
		}
	}
	if err := b.insertXrefs(ctx, strict, now, ""); err != nil {
		return err
	}
	return b.insertXrefs(ctx, learned, now, " ON CONFLICT (system, kind, external_id) DO NOTHING")
}

var xrefColumns = []string{"text", "text", "text", "text", "bigint"}

func (b batchTx) insertXrefs(ctx context.Context, xs []newXref, now time.Time, suffix string) error {
	// In key order: replicas applying other partitions may add some of
	// the same keys at once, and a common order keeps their transactions
	// from deadlocking.
	slices.SortFunc(xs, func(a, b newXref) int {
		return cmp.Or(cmp.Compare(a.ref.System, b.ref.System), cmp.Compare(a.kind, b.kind), cmp.Compare(a.ref.ExternalID, b.ref.ExternalID))
	})
	ins := b.s.db.Dialect.NewInsert(`INSERT INTO xrefs (system, kind, external_id, canonical_id, created_at)`, xrefColumns, suffix)
	for start := 0; start < len(xs); start += docChunk {
		part := xs[start:min(start+docChunk, len(xs))]
		args := make([]any, 0, len(part)*len(xrefColumns))
		for _, x := range part {
			args = append(args, x.ref.System, x.kind, x.ref.ExternalID, x.id, now.UnixMicro())
		}
		q, args := ins.Statement(args)
		if _, err := b.tx.ExecContext(ctx, q, args...); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return fmt.Errorf("adding cross-references: %w", sqldb.ErrConflict)
			}
			return fmt.Errorf("adding cross-references: %w", err)
		}
	}
	return nil
}

// UpdatedBetween returns the shipments last changed in [from, to), in id
// order: those a day's reconciliation compares.
func (s *Store) UpdatedBetween(ctx context.Context, from, to time.Time) ([]*shipment.Shipment, error) {
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(`SELECT doc FROM shipments WHERE updated_at >= ? AND updated_at < ? ORDER BY id`),
		from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("listing shipments changed from %s: %w", from.Format(time.RFC3339), err)
	}
	defer rows.Close()
	var out []*shipment.Shipment
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("listing changed shipments: %w", err)
		}
		var sh shipment.Shipment
		if err := json.Unmarshal([]byte(doc), &sh); err != nil {
			return nil, fmt.Errorf("decoding shipment: %w", err)
		}
		out = append(out, &sh)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing changed shipments: %w", err)
	}
	return out, nil
}
