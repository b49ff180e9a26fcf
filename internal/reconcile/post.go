package reconcile

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
)

// errDecidedMeanwhile: the record was decided by someone else while an
// approval was posting its drafts.
var errDecidedMeanwhile = errors.New("reconciliation decided meanwhile")

// postDrafts returns the invoices of rec the approval posted, sorted. When
// post is set it posts the day's draft invoices first; the ids it is about
// to post are written to the open record (rec.Posted) before Odoo posts
// them. So an approval that dies between Odoo posting and the decision
// being recorded lists them when it is retried, and posts none twice: it
// posts drafts only. Without post (a rejection), it keeps those of
// rec.Posted that an earlier approval did post. It returns
// errDecidedMeanwhile when the record is no longer open.
func (r *Reconciler) postDrafts(ctx context.Context, rec *Record, post bool) ([]int, error) {
	if !post && len(rec.Posted) == 0 {
		return nil, nil
	}
	if r.opts.Odoo == nil {
		return nil, ErrNoOdoo
	}
	cl, err := r.opts.Odoo(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to odoo: %w", err)
	}
	refs := rec.InvoiceRefs
	if !post {
		refs = nil
	}
	var lastErr error
	for range 2 {
		drafts, posted, err := cl.InvoicesToPost(ctx, refs, rec.Posted)
		if err != nil {
			return nil, err
		}
		if len(drafts) == 0 {
			return posted, nil
		}
		if !isSubset(drafts, rec.Posted) {
			rec.Posted = union(rec.Posted, drafts)
			if err := r.savePosting(ctx, rec); err != nil {
				return nil, err
			}
		}
		err = cl.PostInvoices(ctx, drafts)
		if errors.Is(err, odoo.ErrUser) {
			// One was posted (or changed) meanwhile: look again.
			lastErr = err
			continue
		}
		if err != nil {
			return nil, err
		}
		return union(posted, drafts), nil
	}
	return nil, lastErr
}

// savePosting writes rec.Posted to the record while it is open.
func (r *Reconciler) savePosting(ctx context.Context, rec *Record) error {
	raw, err := json.Marshal(doc{Counts: rec.Counts, Differences: rec.Differences, Totals: rec.Totals, OdooCalls: rec.OdooCalls, Posted: rec.Posted, InvoiceRefs: rec.InvoiceRefs, Runs: rec.Runs})
	if err != nil {
		return fmt.Errorf("encoding the reconciliation: %w", err)
	}
	now := r.opts.Now().UTC().Truncate(time.Microsecond) // as stored
	var n int64
	err = r.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, r.opts.DB.Dialect.Rebind(`UPDATE reconciliations SET doc = ?, updated_at = ? WHERE id = ? AND state = 'open'`),
			string(raw), now.UnixMicro(), rec.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("recording the invoices %s posts: %w", rec.ID, err)
	}
	if n == 0 {
		return errDecidedMeanwhile
	}
	return nil
}

func isSubset(a, b []int) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// union returns the sorted ids of a and b, each once.
func union(a, b []int) []int {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
