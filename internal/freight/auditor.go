package freight

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// Errors callers branch on.
var (
	// ErrNotFound: no audit has the id.
	ErrNotFound = sqldb.ErrNotFound
	// ErrDecided: the audit is not in review: approved (by itself or by
	// a person) or disputed already, otherwise than asked.
	ErrDecided = errors.New("freight audit already decided")
	// ErrInvalid: a bad decision, reason, state or cursor.
	ErrInvalid = errors.New("invalid freight audit parameters")
)

// JobInserter enqueues the vendor bill of an approved invoice in the
// transaction that records the approval (jobqueue.Queue).
type JobInserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, actions []connector.Action) error
}

// Options configures an [Auditor].
type Options struct {
	DB *sqldb.DB
	// Rules are the cost rules. Required.
	Rules *rating.Rules
	// Tolerances are the tolerances per charge type.
	Tolerances Tolerances
	// Jobs enqueues vendor bills; nil bills nothing.
	Jobs JobInserter
	// Now defaults to time.Now.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Auditor audits carrier freight invoices, keeps the audits in the
// freight_audits table and takes finance's decisions. It is the connector
// of shipment.ActionFreightAudit: Waybill carries that action out itself.
// It is safe for concurrent use.
type Auditor struct {
	opts     Options
	outcomes *prometheus.CounterVec
}

// New returns an Auditor. It registers waybill_freight_audits_total on
// opts.Registerer when set.
func New(opts Options) (*Auditor, error) {
	if opts.DB == nil || opts.Rules == nil {
		return nil, errors.New("freight: a database and cost rules are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Auditor{opts: opts, outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waybill_freight_audits_total",
		Help: "Carrier freight invoices audited, by outcome: approved_auto (within tolerance), review (a person must decide), approved and disputed (decided by a person).",
	}, []string{"outcome"})}
	for _, o := range []string{OutcomeApprovedAuto, OutcomeReview, OutcomeApproved, OutcomeDisputed} {
		a.outcomes.WithLabelValues(o)
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(a.outcomes); err != nil {
			return nil, fmt.Errorf("registering the freight audit metrics: %w", err)
		}
	}
	return a, nil
}

// SetJobs sets the job inserter the vendor bills go through, for a hub
// that builds the auditor before its job queue. Call it before the first
// Deliver or Decide.
func (a *Auditor) SetJobs(jobs JobInserter) { a.opts.Jobs = jobs }

// Name returns "freight".
func (a *Auditor) Name() string { return "freight" }

// Deliver audits the carrier invoice that action act's event reported: it
// rates the expected cost, compares per charge type and records the
// audit, approved (and its vendor bill enqueued in the same transaction)
// or in review. The audit is unique per carrier and invoice number, so a
// retry finds it done, and a later report of the same invoice is recorded
// as a repeat.
func (a *Auditor) Deliver(ctx context.Context, act *connector.Action) error {
	if err := act.Validate(); err != nil {
		return connector.Permanent(err)
	}
	if act.Kind != shipment.ActionFreightAudit {
		return connector.Permanent(fmt.Errorf("freight: action %s is not a freight audit", act.Kind))
	}
	var sh shipment.Shipment
	if err := json.Unmarshal(act.Payload, &sh); err != nil || sh.ID == "" {
		return connector.Permanent(fmt.Errorf("freight audit: payload is not a shipment: %v", err))
	}
	ci := carrierInvoice(&sh, act.EventID)
	charges := invoiceCharges(&sh, act.EventID)
	if ci == nil || len(charges) == 0 {
		return connector.Permanent(fmt.Errorf("freight audit: event %s reported no carrier invoice on shipment %s", act.EventID, sh.ID))
	}
	now := a.opts.Now().UTC().Truncate(time.Microsecond) // as stored
	au := &Audit{ID: uuid.Must(uuid.NewV7()).String(), ShipmentID: sh.ID, CarrierKey: shipment.CarrierKey(ci.Carrier), Carrier: costShipment(&sh, act.EventID, ci.Carrier).Carrier,
		InvoiceNumber: ci.Number, InvoiceDate: ci.Date, EventID: act.EventID, CorrelationID: act.CorrelationID,
		Charges: charges, ExpectedCharges: []rating.Charge{}, RulesVersion: a.opts.Rules.Version(), CreatedAt: now, UpdatedAt: now}
	au.Reported = total(charges, func(c shipment.Charge) money.Money { return c.Amount })
	a.assess(au, &sh)
	inserted := false
	err := a.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if inserted, err = a.insert(ctx, tx, au); err != nil || inserted {
			if err == nil && au.State == StateApproved {
				err = a.enqueueBill(ctx, tx, au, act.CorrelationID)
			}
			return err
		}
		prev, err := scanAudit(tx.QueryRowContext(ctx, a.opts.DB.Dialect.Rebind(`SELECT `+auditColumns+` FROM freight_audits WHERE carrier = ? AND invoice_number = ?`), au.CarrierKey, au.InvoiceNumber))
		if err != nil {
			return err
		}
		if prev.EventID == act.EventID || slices.ContainsFunc(prev.Repeats, func(r Repeat) bool { return r.EventID == act.EventID }) {
			return nil // audited already: this is a retry
		}
		prev.Repeats = append(prev.Repeats, Repeat{EventID: act.EventID, ShipmentID: sh.ID, At: now})
		prev.UpdatedAt = now
		return a.update(ctx, tx, prev, "")
	})
	if err != nil {
		return fmt.Errorf("recording the audit of carrier invoice %s %s: %w", au.CarrierKey, au.InvoiceNumber, err)
	}
	if !inserted {
		return nil
	}
	outcome := OutcomeReview
	if au.State == StateApproved {
		outcome = OutcomeApprovedAuto
	}
	a.outcomes.WithLabelValues(outcome).Inc()
	a.opts.Logger.InfoContext(ctx, "carrier invoice audited", slog.String("audit_id", au.ID), slog.String("shipment_id", sh.ID),
		slog.String("carrier", au.CarrierKey), slog.String("invoice_number", au.InvoiceNumber), slog.String("outcome", outcome))
	return nil
}

// assess rates the expected cost of au's invoice and decides: approved
// when every charge type is within tolerance, else review with the
// reason.
func (a *Auditor) assess(au *Audit, sh *shipment.Shipment) {
	review := func(reason string) {
		au.State, au.ReviewReason, au.OwnerRole = StateReview, reason, FinanceRole
	}
	expected, err := a.opts.Rules.Rate(rating.FactsFrom(costShipment(sh, au.EventID, au.Carrier)))
	if err != nil {
		au.Lines, _, _ = Compare(au.Charges, nil, a.opts.Tolerances)
		review("the expected cost could not be rated: " + err.Error())
		return
	}
	au.ExpectedCharges = expected
	au.Expected = total(expected, func(c rating.Charge) money.Money { return c.Amount })
	lines, within, reason := Compare(au.Charges, expected, a.opts.Tolerances)
	au.Lines = lines
	switch {
	case len(expected) == 0:
		review(fmt.Sprintf("no cost rule rates carrier %s for this shipment (rules version %s): add one for its SCAC or ref", carrierText(au.Carrier), a.opts.Rules.Version()))
	case !within:
		review("outside tolerance: " + reason)
	default:
		au.State, au.AutoApproved = StateApproved, true
	}
}

func carrierText(c *shipment.Carrier) string {
	if c == nil {
		return "(unknown: the invoice and the shipment name none)"
	}
	var parts []string
	if c.SCAC != "" {
		parts = append(parts, "SCAC "+c.SCAC)
	}
	if c.Ref != "" {
		parts = append(parts, "ref "+c.Ref)
	}
	if c.Name != "" {
		parts = append(parts, c.Name)
	}
	if len(parts) == 0 {
		return "(unknown: the invoice and the shipment name none)"
	}
	return strings.Join(parts, ", ")
}

// enqueueBill enqueues the vendor bill of approved audit au in tx.
func (a *Auditor) enqueueBill(ctx context.Context, tx *sql.Tx, au *Audit, correlationID string) error {
	if a.opts.Jobs == nil {
		return nil
	}
	payload, err := json.Marshal(au.billRequest())
	if err != nil {
		return fmt.Errorf("encoding the vendor bill of audit %s: %w", au.ID, err)
	}
	key := "freight/" + au.ID + "/" + shipment.ActionVendorBillCreate
	if correlationID == "" {
		correlationID = au.CorrelationID
	}
	if correlationID == "" {
		correlationID = key
	}
	return a.opts.Jobs.InsertTx(ctx, tx, []connector.Action{{Kind: shipment.ActionVendorBillCreate, ShipmentID: au.ShipmentID,
		EventID: au.EventID, CorrelationID: correlationID, IdempotencyKey: key, Payload: payload}})
}

// DecideParams is finance's decision on an audit in review.
type DecideParams struct {
	ID string
	// Decision is approve or dispute.
	Decision string
	Actor    string
	// Reason is why; required to dispute.
	Reason string
	// CorrelationID goes on the vendor bill action of an approval.
	CorrelationID string
}

// Decide records finance's decision on an audit in review. Approving
// enqueues its vendor bill in the transaction that records the approval;
// disputing bills nothing. Deciding again the same way returns the audit
// as it stands (repeat reports that); deciding otherwise, or deciding an
// audit approved by itself, gives ErrDecided.
func (a *Auditor) Decide(ctx context.Context, p DecideParams) (au *Audit, repeat bool, err error) {
	switch {
	case p.Decision != Approve && p.Decision != Dispute:
		return nil, false, fmt.Errorf("%w: decision %q is not approve or dispute", ErrInvalid, p.Decision)
	case p.Decision == Dispute && strings.TrimSpace(p.Reason) == "":
		return nil, false, fmt.Errorf("%w: a dispute needs a reason", ErrInvalid)
	}
	state := StateApproved
	if p.Decision == Dispute {
		state = StateDisputed
	}
	var out *Audit
	err = a.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanAudit(tx.QueryRowContext(ctx, a.opts.DB.Dialect.Rebind(`SELECT `+auditColumns+` FROM freight_audits WHERE id = ?`), p.ID))
		if err != nil {
			return err
		}
		out = cur
		if cur.State != StateReview {
			if cur.State == state && !cur.AutoApproved {
				repeat = true
				return nil
			}
			by := cur.DecidedBy
			if cur.AutoApproved {
				by = "itself, within tolerance"
			}
			return fmt.Errorf("%w: audit %s is %s by %s", ErrDecided, cur.ID, cur.State, by)
		}
		now := a.opts.Now().UTC().Truncate(time.Microsecond)
		cur.State, cur.Decision, cur.DecidedBy, cur.DecidedAt, cur.DecisionReason, cur.UpdatedAt = state, p.Decision, p.Actor, &now, p.Reason, now
		if err := a.update(ctx, tx, cur, StateReview); err != nil {
			return err
		}
		if state == StateApproved {
			return a.enqueueBill(ctx, tx, cur, p.CorrelationID)
		}
		return nil
	})
	switch {
	case errors.Is(err, errChanged): // decided meanwhile
		return a.Decide(ctx, p)
	case errors.Is(err, ErrDecided):
		return out, false, err
	case errors.Is(err, ErrNotFound):
		return nil, false, err
	case err != nil:
		return nil, false, fmt.Errorf("recording the decision on freight audit %s: %w", p.ID, err)
	}
	if !repeat {
		outcome := OutcomeApproved
		if state == StateDisputed {
			outcome = OutcomeDisputed
		}
		a.outcomes.WithLabelValues(outcome).Inc()
	}
	return out, repeat, nil
}

// RecordBill records the vendor bill the ERP made of audit id. Recording
// the same bill again changes nothing but its number and state.
func (a *Auditor) RecordBill(ctx context.Context, id string, b Bill) error {
	err := a.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanAudit(tx.QueryRowContext(ctx, a.opts.DB.Dialect.Rebind(`SELECT `+auditColumns+` FROM freight_audits WHERE id = ?`), id))
		if err != nil {
			return err
		}
		if cur.Bill != nil && cur.Bill.System == b.System && cur.Bill.ID == b.ID && cur.Bill.Number == b.Number && cur.Bill.State == b.State {
			return nil
		}
		if b.At.IsZero() {
			b.At = a.opts.Now().UTC().Truncate(time.Microsecond)
		}
		if cur.Bill != nil && cur.Bill.System == b.System && cur.Bill.ID == b.ID {
			b.At = cur.Bill.At
		}
		cur.Bill = &b
		cur.UpdatedAt = a.opts.Now().UTC().Truncate(time.Microsecond)
		return a.update(ctx, tx, cur, "")
	})
	if err != nil {
		return fmt.Errorf("recording the vendor bill of freight audit %s: %w", id, err)
	}
	return nil
}

// Get returns an audit by id.
func (a *Auditor) Get(ctx context.Context, id string) (*Audit, error) {
	return scanAudit(a.opts.DB.Reader.QueryRowContext(ctx, a.opts.DB.Dialect.Rebind(`SELECT `+auditColumns+` FROM freight_audits WHERE id = ?`), id))
}

// ShipmentAudits returns the audits of a shipment's carrier invoices,
// oldest first.
func (a *Auditor) ShipmentAudits(ctx context.Context, shipmentID string) ([]*Audit, error) {
	rows, err := a.opts.DB.Reader.QueryContext(ctx, a.opts.DB.Dialect.Rebind(`SELECT `+auditColumns+` FROM freight_audits WHERE shipment_id = ? ORDER BY created_at, id`), shipmentID)
	if err != nil {
		return nil, fmt.Errorf("listing the freight audits of shipment %s: %w", shipmentID, err)
	}
	return collect(rows)
}

// ListParams selects a page of audits.
type ListParams struct {
	// State, when set, keeps the audits in that state.
	State string
	// ShipmentID, when set, keeps the audits of that shipment.
	ShipmentID string
	// Limit is the page size, 1..500.
	Limit int
	// Cursor continues after the page that returned it.
	Cursor string
}

// List returns audits newest first and the cursor of the next page (""
// when this is the last).
func (a *Auditor) List(ctx context.Context, p ListParams) ([]*Audit, string, error) {
	if p.Limit < 1 || p.Limit > 500 {
		return nil, "", fmt.Errorf("%w: limit %d is not 1..500", ErrInvalid, p.Limit)
	}
	if p.State != "" && p.State != StateApproved && p.State != StateReview && p.State != StateDisputed {
		return nil, "", fmt.Errorf("%w: state %q is not approved, review or disputed", ErrInvalid, p.State)
	}
	beforeAt, beforeID := int64(1<<62), ""
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		at, id, ok := strings.Cut(string(b), "/")
		var n int64
		if _, serr := fmt.Sscan(at, &n); err != nil || !ok || serr != nil || id == "" {
			return nil, "", fmt.Errorf("%w: cursor", ErrInvalid)
		}
		beforeAt, beforeID = n, id
	}
	q := `SELECT ` + auditColumns + ` FROM freight_audits WHERE (created_at < ? OR (created_at = ? AND id < ?))`
	args := []any{beforeAt, beforeAt, beforeID}
	if p.State != "" {
		q += ` AND state = ?`
		args = append(args, p.State)
	}
	if p.ShipmentID != "" {
		q += ` AND shipment_id = ?`
		args = append(args, p.ShipmentID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := a.opts.DB.Reader.QueryContext(ctx, a.opts.DB.Dialect.Rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing freight audits: %w", err)
	}
	out, err := collect(rows)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		last := out[len(out)-1]
		next = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d/%s", last.CreatedAt.UnixMicro(), last.ID))
	}
	return out, next, nil
}

// Margin returns the margin of sh, from the audits of its carrier
// invoices.
func (a *Auditor) Margin(ctx context.Context, sh *shipment.Shipment) (Margin, error) {
	audits, err := a.ShipmentAudits(ctx, sh.ID)
	if err != nil {
		return Margin{}, err
	}
	return MarginOf(sh, audits), nil
}
