package reconcile

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// inventoryDoc is what the doc column of inventory_checks holds.
type inventoryDoc struct {
	Since           time.Time      `json:"since"`
	Counts          map[Type]int   `json:"counts"`
	Differences     []Difference   `json:"differences"`
	OdooCalls       int            `json:"odoo_calls"`
	OdooCallsByRead map[string]int `json:"odoo_calls_by_read"`
}

const checkColumns = `id, warehouse, state, shipments, doc, decided_by, decided_at, reason, created_at, updated_at`

func encodeCheck(chk *InventoryCheck) (string, error) {
	raw, err := json.Marshal(inventoryDoc{Since: chk.Since, Counts: chk.Counts, Differences: chk.Differences, OdooCalls: chk.OdooCalls, OdooCallsByRead: chk.OdooCallsByRead})
	if err != nil {
		return "", fmt.Errorf("encoding the inventory check: %w", err)
	}
	return string(raw), nil
}

func (r *Reconciler) insertCheck(ctx context.Context, tx *sql.Tx, chk *InventoryCheck) error {
	raw, err := encodeCheck(chk)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, r.opts.DB.Dialect.Rebind(`INSERT INTO inventory_checks (id, warehouse, state, shipments, differences, doc, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), chk.ID, chk.Warehouse, chk.State, chk.Shipments, len(chk.Differences), raw, chk.CreatedAt.UnixMicro(), chk.UpdatedAt.UnixMicro())
	return err
}

func scanCheck(row rowScanner) (*InventoryCheck, error) {
	var (
		chk              InventoryCheck
		raw              string
		decidedAt        sql.NullInt64
		created, updated int64
	)
	err := row.Scan(&chk.ID, &chk.Warehouse, &chk.State, &chk.Shipments, &raw, &chk.DecidedBy, &decidedAt, &chk.Reason, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading an inventory check: %w", err)
	}
	var d inventoryDoc
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return nil, fmt.Errorf("decoding inventory check %s: %w", chk.ID, err)
	}
	chk.Since, chk.Counts, chk.Differences, chk.OdooCalls, chk.OdooCallsByRead = d.Since, d.Counts, d.Differences, d.OdooCalls, d.OdooCallsByRead
	if chk.Differences == nil {
		chk.Differences = []Difference{}
	}
	if decidedAt.Valid {
		t := time.UnixMicro(decidedAt.Int64).UTC()
		chk.DecidedAt = &t
	}
	chk.CreatedAt, chk.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return &chk, nil
}

// InventoryCheck returns an inventory check by id.
func (r *Reconciler) InventoryCheck(ctx context.Context, id string) (*InventoryCheck, error) {
	return scanCheck(r.opts.DB.Reader.QueryRowContext(ctx, r.opts.DB.Dialect.Rebind(`SELECT `+checkColumns+` FROM inventory_checks WHERE id = ?`), id))
}

// InventoryChecks returns inventory checks newest first and the cursor of
// the next page ("" when this is the last).
func (r *Reconciler) InventoryChecks(ctx context.Context, p ListParams) ([]*InventoryCheck, string, error) {
	return page(ctx, r.opts.DB, "inventory checks", "inventory_checks", checkColumns, p, scanCheck,
		func(c *InventoryCheck) (time.Time, string) { return c.CreatedAt, c.ID })
}

// InventoryCounts returns the differences of the newest inventory check
// by type, every type of [InventoryTypes] included (all 0 before the
// first check). It feeds waybill_kpi_inventory_mismatches.
func (r *Reconciler) InventoryCounts(ctx context.Context) (map[Type]int, error) {
	out := inventoryCounts(nil)
	list, _, err := r.InventoryChecks(ctx, ListParams{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(list) == 1 {
		for t, n := range list[0].Counts {
			if _, ok := out[t]; ok {
				out[t] = n
			}
		}
	}
	return out, nil
}

// DecideInventory records the operations' decision on an inventory check
// (Approve: the differences are dealt with; Reject: they are not
// differences) and closes its open reviews. Deciding again the same way
// returns the check as it stands (repeat reports that); deciding
// otherwise gives ErrDecided.
func (r *Reconciler) DecideInventory(ctx context.Context, p DecideParams) (chk *InventoryCheck, repeat bool, err error) {
	if p.Decision != Approve && p.Decision != Reject {
		return nil, false, fmt.Errorf("%w: decision %q is not approve or reject", ErrInvalid, p.Decision)
	}
	chk, err = r.InventoryCheck(ctx, p.ID)
	if err != nil {
		return nil, false, err
	}
	state := StateApproved
	if p.Decision == Reject {
		state = StateRejected
	}
	if chk.State != StateOpen {
		if chk.State == state {
			return chk, true, nil
		}
		return chk, false, fmt.Errorf("%w: %s is %s by %s", ErrDecided, chk.ID, chk.State, chk.DecidedBy)
	}
	for i := range chk.Differences {
		if rv := chk.Differences[i].Review; rv != nil && rv.Status == ReviewOpen {
			rv.Status = state
		}
	}
	raw, err := encodeCheck(chk)
	if err != nil {
		return nil, false, err
	}
	now := r.opts.Now().UTC().Truncate(time.Microsecond) // as stored
	var n int64
	err = r.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, r.opts.DB.Dialect.Rebind(`UPDATE inventory_checks SET state = ?, doc = ?, decided_by = ?, decided_at = ?, reason = ?, updated_at = ?
WHERE id = ? AND state = 'open'`), state, raw, p.Actor, now.UnixMicro(), p.Reason, now.UnixMicro(), chk.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("recording the decision on inventory check %s: %w", chk.ID, err)
	}
	if n == 0 { // decided meanwhile
		return r.DecideInventory(ctx, p)
	}
	out, err := r.InventoryCheck(ctx, chk.ID)
	return out, false, err
}
