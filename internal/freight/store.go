package freight

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
)

// errChanged reports an update that found the audit no longer in the
// state it was read in.
var errChanged = errors.New("freight audit changed meanwhile")

// doc is what the doc column holds: the audit but its columns.
type doc struct {
	Carrier         *shipment.Carrier `json:"carrier,omitempty"`
	InvoiceDate     string            `json:"invoice_date,omitempty"`
	CorrelationID   string            `json:"correlation_id,omitempty"`
	AutoApproved    bool              `json:"auto_approved,omitempty"`
	ReviewReason    string            `json:"review_reason,omitempty"`
	OwnerRole       string            `json:"owner_role,omitempty"`
	Reported        *money.Money      `json:"reported,omitempty"`
	Expected        *money.Money      `json:"expected,omitempty"`
	Lines           []Line            `json:"lines"`
	Charges         []shipment.Charge `json:"charges"`
	ExpectedCharges []rating.Charge   `json:"expected_charges"`
	RulesVersion    string            `json:"rules_version,omitempty"`
	Repeats         []Repeat          `json:"repeats,omitempty"`
	Decision        string            `json:"decision,omitempty"`
	Bill            *Bill             `json:"bill,omitempty"`
}

func docOf(a *Audit) doc {
	return doc{Carrier: a.Carrier, InvoiceDate: a.InvoiceDate, CorrelationID: a.CorrelationID, AutoApproved: a.AutoApproved,
		ReviewReason: a.ReviewReason, OwnerRole: a.OwnerRole, Reported: a.Reported, Expected: a.Expected, Lines: a.Lines,
		Charges: a.Charges, ExpectedCharges: a.ExpectedCharges, RulesVersion: a.RulesVersion, Repeats: a.Repeats,
		Decision: a.Decision, Bill: a.Bill}
}

const auditColumns = `id, carrier, invoice_number, shipment_id, event_id, state, doc, decided_by, decided_at, reason, created_at, updated_at`

// insert inserts au unless an audit of its carrier and invoice number
// exists, and reports whether it did.
func (a *Auditor) insert(ctx context.Context, tx *sql.Tx, au *Audit) (bool, error) {
	raw, err := json.Marshal(docOf(au))
	if err != nil {
		return false, fmt.Errorf("encoding freight audit: %w", err)
	}
	res, err := tx.ExecContext(ctx, a.opts.DB.Dialect.Rebind(`INSERT INTO freight_audits (id, carrier, invoice_number, shipment_id, event_id, state, doc, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (carrier, invoice_number) DO NOTHING`),
		au.ID, au.CarrierKey, au.InvoiceNumber, au.ShipmentID, au.EventID, au.State, string(raw), au.CreatedAt.UnixMicro(), au.UpdatedAt.UnixMicro())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// update writes au's state, doc and decision; with from set, only while
// the stored state is from (errChanged otherwise).
func (a *Auditor) update(ctx context.Context, tx *sql.Tx, au *Audit, from string) error {
	raw, err := json.Marshal(docOf(au))
	if err != nil {
		return fmt.Errorf("encoding freight audit %s: %w", au.ID, err)
	}
	var decidedAt any
	if au.DecidedAt != nil {
		decidedAt = au.DecidedAt.UnixMicro()
	}
	q := `UPDATE freight_audits SET state = ?, doc = ?, decided_by = ?, decided_at = ?, reason = ?, updated_at = ? WHERE id = ?`
	args := []any{au.State, string(raw), au.DecidedBy, decidedAt, au.DecisionReason, au.UpdatedAt.UnixMicro(), au.ID}
	if from != "" {
		q += ` AND state = ?`
		args = append(args, from)
	}
	res, err := tx.ExecContext(ctx, a.opts.DB.Dialect.Rebind(q), args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errChanged
	}
	return nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanAudit(row rowScanner) (*Audit, error) {
	var (
		au               Audit
		raw              string
		decidedAt        sql.NullInt64
		created, updated int64
	)
	err := row.Scan(&au.ID, &au.CarrierKey, &au.InvoiceNumber, &au.ShipmentID, &au.EventID, &au.State, &raw, &au.DecidedBy, &decidedAt,
		&au.DecisionReason, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading a freight audit: %w", err)
	}
	var d doc
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return nil, fmt.Errorf("decoding freight audit %s: %w", au.ID, err)
	}
	au.Carrier, au.InvoiceDate, au.CorrelationID, au.AutoApproved, au.ReviewReason, au.OwnerRole = d.Carrier, d.InvoiceDate, d.CorrelationID, d.AutoApproved, d.ReviewReason, d.OwnerRole
	au.Reported, au.Expected, au.Lines, au.Charges, au.ExpectedCharges, au.RulesVersion = d.Reported, d.Expected, d.Lines, d.Charges, d.ExpectedCharges, d.RulesVersion
	au.Repeats, au.Decision, au.Bill = d.Repeats, d.Decision, d.Bill
	if au.Lines == nil {
		au.Lines = []Line{}
	}
	if au.Charges == nil {
		au.Charges = []shipment.Charge{}
	}
	if au.ExpectedCharges == nil {
		au.ExpectedCharges = []rating.Charge{}
	}
	if decidedAt.Valid {
		t := time.UnixMicro(decidedAt.Int64).UTC()
		au.DecidedAt = &t
	}
	au.CreatedAt, au.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return &au, nil
}

func collect(rows *sql.Rows) ([]*Audit, error) {
	defer rows.Close()
	var out []*Audit
	for rows.Next() {
		au, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, au)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading freight audits: %w", err)
	}
	return out, nil
}
