package kpi

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// invoicedSlack widens the window of invoiced shipments read by when they
// last changed: a shipment is written when its invoice is recorded, which
// is at or after the invoice's time unless the clocks disagree.
const invoicedSlack = time.Hour

// queries are the statements the KPIs run, rebound for the engine.
type queries struct {
	// inProgress reads the shipments the snapshot looks into, on the state
	// index: waiting for release, on the way, delivered and not invoiced,
	// under an exception. Invoiced, closed, cancelled, returned and
	// planned shipments, the bulk of the table, are not read.
	inProgress string
	// invoicedSince reads the invoiced and closed shipments that changed since
	// a time, on the partial index shipments_invoiced.
	invoicedSince string
	// exception reads the shipments under an exception.
	exception string
}

func newQueries(d sqldb.Dialect) queries {
	return queries{
		inProgress:    d.Rebind(`SELECT id, doc FROM shipments WHERE state IN ('reserved', 'short', 'loaded', 'in_transit', 'delayed', 'arrived', 'delivered', 'exception')`),
		invoicedSince: d.Rebind(`SELECT id, doc FROM shipments WHERE state IN ('invoiced', 'closed') AND updated_at >= ?`),
		exception:     d.Rebind(`SELECT id, doc FROM shipments WHERE state = 'exception'`),
	}
}

// reader is the read pool.
type reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (q queries) open(ctx context.Context, db reader, fn func(*doc) error) error {
	return scan(ctx, db, "reading shipments in progress", q.inProgress, nil, fn)
}

func (q queries) invoiced(ctx context.Context, db reader, since time.Time, fn func(*doc) error) error {
	return scan(ctx, db, "reading invoiced shipments", q.invoicedSince, []any{since.Add(-invoicedSlack).UnixMicro()}, fn)
}

func (q queries) underException(ctx context.Context, db reader, fn func(*doc) error) error {
	return scan(ctx, db, "reading shipments under an exception", q.exception, nil, fn)
}

// scan runs query and calls fn with each shipment document it returns.
func scan(ctx context.Context, db reader, what, query string, args []any, fn func(*doc) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var id string
	// The document is decoded where the driver holds it, not copied.
	var raw sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &raw); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		var d doc
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("%s: decoding shipment %s: %w", what, id, err)
		}
		if err := fn(&d); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// doc is the part of a shipment document (shipment.Shipment) the KPIs
// read: decoding only these fields keeps a snapshot cheap.
type doc struct {
	State       shipment.State `json:"state"`
	ResumeState shipment.State `json:"resume_state"`
	Lines       []struct {
		Reserved  *quantity.Quantity `json:"reserved"`
		Loaded    *quantity.Quantity `json:"loaded"`
		Delivered *quantity.Quantity `json:"delivered"`
	} `json:"lines"`
	Milestones []struct {
		Type string    `json:"type"`
		At   time.Time `json:"at"`
		Late bool      `json:"late"`
	} `json:"milestones"`
	POD *struct {
		SignedAt time.Time `json:"signed_at"`
		Source   string    `json:"source"`
	} `json:"pod"`
	Exceptions []struct {
		Category  shipment.ExceptionCategory `json:"category"`
		Status    shipment.ExceptionStatus   `json:"status"`
		OwnerRole string                     `json:"owner_role"`
		OpenedAt  time.Time                  `json:"opened_at"`
	} `json:"exceptions"`
	Charges []struct {
		Amount money.Money `json:"amount"`
		Source string      `json:"source"`
	} `json:"charges"`
	Reviews []struct {
		Kind     string    `json:"kind"`
		Status   string    `json:"status"`
		OpenedAt time.Time `json:"opened_at"`
	} `json:"reviews"`
	Invoice *struct {
		At time.Time `json:"at"`
	} `json:"invoice"`
	Billable  bool      `json:"billable"`
	CreatedAt time.Time `json:"created_at"`
}

// current is the state the shipment counts in: under an open exception,
// the state the exception interrupted.
func (d *doc) current() shipment.State {
	if d.State == shipment.Exception && d.ResumeState != "" {
		return d.ResumeState
	}
	return d.State
}

// lastMilestone is the time of the last milestone of type t applied in
// order, or zero.
func (d *doc) lastMilestone(t event.Type) time.Time {
	var at time.Time
	for _, m := range d.Milestones {
		if m.Type == string(t) && !m.Late && m.At.After(at) {
			at = m.At
		}
	}
	return at
}

// reservedAt is when the shipment was last reserved.
func (d *doc) reservedAt() time.Time {
	if at := d.lastMilestone(event.InventoryReserved); !at.IsZero() {
		return at
	}
	return d.CreatedAt
}

// shortSince is when the shortage began: its open review, or the last
// reservation when a partial one made it short.
func (d *doc) shortSince() time.Time {
	var since time.Time
	for _, r := range d.Reviews {
		if r.Kind == shipment.ReviewShortage && r.Status == shipment.ReviewOpen && (since.IsZero() || r.OpenedAt.Before(since)) {
			since = r.OpenedAt
		}
	}
	if !since.IsZero() {
		return since
	}
	return d.reservedAt()
}

// deliveredAt is when the proof of delivery was signed.
func (d *doc) deliveredAt() time.Time {
	if d.POD != nil && !d.POD.SignedAt.IsZero() {
		return d.POD.SignedAt
	}
	if at := d.lastMilestone(event.ShipmentDelivered); !at.IsZero() {
		return at
	}
	return d.CreatedAt
}

// openReview reports whether a review is open on the shipment.
func (d *doc) openReview() bool {
	for _, r := range d.Reviews {
		if r.Status == shipment.ReviewOpen {
			return true
		}
	}
	return false
}

// ratedValue is the shipment's rated charges, one amount per charge.
func (d *doc) ratedValue() []money.Money {
	var out []money.Money
	for _, c := range d.Charges {
		if c.Source == shipment.ChargeRated {
			out = append(out, c.Amount)
		}
	}
	return out
}

// mismatches reports whether some line was loaded other than reserved, and
// whether some line was delivered other than loaded.
func (d *doc) mismatches() (loaded, delivered bool) {
	for _, l := range d.Lines {
		if l.Loaded != nil && !same(l.Loaded, l.Reserved) {
			loaded = true
		}
		if l.Delivered != nil && !same(l.Delivered, l.Loaded) {
			delivered = true
		}
	}
	return loaded, delivered
}

// same reports whether b is known and equal to a (in the same unit).
func same(a, b *quantity.Quantity) bool {
	if b == nil {
		return false
	}
	c, err := a.Cmp(*b)
	return err == nil && c == 0
}

// podToInvoice is the time from the proof of delivery to the invoice; zero
// for a shipment without either, or invoiced before it was signed.
func (d *doc) podToInvoice() time.Duration {
	if d.Invoice == nil {
		return 0
	}
	return max(d.Invoice.At.Sub(d.deliveredAt()), 0)
}

// latency is podToInvoice for a shipment invoiced in (since, now].
func (d *doc) latency(since, now time.Time) (time.Duration, bool) {
	if d.Invoice == nil || !d.Invoice.At.After(since) || d.Invoice.At.After(now) {
		return 0, false
	}
	return d.podToInvoice(), true
}
