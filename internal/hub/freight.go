package hub

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/console"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/server"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// FreightDeps are what [NewFreightAuditor] builds on.
type FreightDeps struct {
	DB *sqldb.DB
	// Jobs enqueues the vendor bills of approved invoices; nil bills
	// nothing.
	Jobs       freight.JobInserter
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// NewFreightAuditor builds the freight auditor of cfg, or returns nil when
// freight_audit.cost_rules_file is empty. A cost rules file that does not
// load is an error.
func NewFreightAuditor(cfg config.Config, deps *FreightDeps) (*freight.Auditor, error) {
	fa := cfg.FreightAudit
	if fa.CostRulesFile == "" {
		return nil, nil
	}
	rules, err := rating.Load(fa.CostRulesFile)
	if err != nil {
		return nil, fmt.Errorf("freight_audit.cost_rules_file: %w", err)
	}
	tol, err := FreightTolerances(fa.Tolerances)
	if err != nil {
		return nil, err
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return freight.New(freight.Options{DB: deps.DB, Rules: rules, Tolerances: tol, Jobs: deps.Jobs,
		Logger: logger.With(slog.String("component", "freight")), Registerer: deps.Registerer})
}

// FreightTolerances turns freight_audit.tolerances into the auditor's.
func FreightTolerances(entries []config.FreightTolerance) (freight.Tolerances, error) {
	out := make(freight.Tolerances, 0, len(entries))
	for _, e := range entries {
		t := freight.Tolerance{Type: e.Type}
		for _, b := range []struct {
			text string
			dst  **big.Rat
		}{{e.Abs, &t.Abs}, {e.Percent, &t.Percent}} {
			if b.text == "" {
				continue
			}
			r, ok := new(big.Rat).SetString(b.text)
			if !ok || r.Sign() < 0 {
				return nil, fmt.Errorf("freight_audit.tolerances: entry %q: %q is not a non-negative decimal", e.String(), b.text)
			}
			*b.dst = r
		}
		out = append(out, t)
	}
	return out, nil
}

// billed records the vendor bill Odoo made of an approved carrier invoice
// on its audit.
func (h *Hub) billed(ctx context.Context, _ *connector.Action, req shipment.CarrierBill, bill odoo.VendorBill) error {
	if h.Freight == nil {
		return nil
	}
	number := bill.Name
	if number == "/" {
		number = ""
	}
	return h.Freight.RecordBill(ctx, req.AuditID, freight.Bill{System: h.cfg.Connectors.Odoo.System, ID: bill.ID, Number: number,
		State: bill.State, At: time.Now().UTC().Truncate(time.Microsecond)})
}

// freightService is the freight auditor for the API, nil when the audit
// is off (an untyped nil, so the server sees none).
func (h *Hub) freightService() server.Freight {
	if h.Freight == nil {
		return nil
	}
	return h.Freight
}

// consoleMargins is the freight auditor for the console's margins, nil
// when the audit is off.
func (h *Hub) consoleMargins() console.Margins {
	if h.Freight == nil {
		return nil
	}
	return h.Freight
}
