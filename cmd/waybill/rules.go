package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
)

// maxShipmentFileBytes bounds the shipment file rules test reads.
const maxShipmentFileBytes = 16 << 20

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Check rating rules and try them on a shipment (no database needed)"}

	check := &cobra.Command{
		Use:   "check",
		Short: "Compile a rules file and report every problem in it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("rules")
			rs, err := loadRules(cmd, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: version %s, %d rules: ok\n", path, rs.Version(), rs.Len())
			return nil
		},
	}
	check.Flags().String("rules", "", "rules file (YAML)")
	_ = check.MarkFlagRequired("rules")

	test := &cobra.Command{
		Use:   "test",
		Short: "Rate a shipment read from a JSON file and print the charges",
		Long: "Rate a shipment read from a JSON file and print the charges.\n\n" +
			"The file holds a canonical shipment, as GET /v1/shipments/{id} returns it; fields it does not\n" +
			"know are ignored. Nothing is read from or written to a database.\n\n" +
			"With --cost the file is a cost rules file (freight_audit.cost_rules_file) and the shipment is\n" +
			"rated as the freight audit rates a carrier invoice: the invoice's carrier, without Waybill's\n" +
			"rated charges or the invoice's own. --invoice picks the carrier invoice (by default the last\n" +
			"one on the shipment) and prints its comparison with the expected cost per charge type, under\n" +
			"the --tolerance entries (freight_audit.tolerances syntax; by default the configuration's).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rulesPath, _ := cmd.Flags().GetString("rules")
			shipmentPath, _ := cmd.Flags().GetString("shipment")
			asJSON, _ := cmd.Flags().GetBool("json")
			rs, err := loadRules(cmd, rulesPath)
			if err != nil {
				return err
			}
			sh, err := readShipment(shipmentPath)
			if err != nil {
				return err
			}
			cost, _ := cmd.Flags().GetBool("cost")
			facts := rating.FactsFrom(sh)
			var audited *costAudit
			if cost {
				if audited, err = costInvoice(cmd, sh); err != nil {
					return err
				}
				facts = freight.CostFacts(sh, audited.eventID)
			}
			charges, err := rs.Rate(facts)
			if err != nil {
				return fmt.Errorf("rating shipment %s: %w", shipmentPath, err)
			}
			totals, err := chargeTotals(charges)
			if err != nil {
				return err
			}
			if audited != nil && audited.eventID != "" {
				audited.lines, audited.within, audited.reason = freight.Compare(audited.charges, charges, audited.tolerances)
			}
			if asJSON {
				return writeChargesJSON(cmd.OutOrStdout(), rulesPath, rs, sh, charges, totals, audited)
			}
			if err := writeChargesTable(cmd.OutOrStdout(), rulesPath, rs, sh, charges, totals); err != nil {
				return err
			}
			return writeComparison(cmd.OutOrStdout(), audited)
		},
	}
	test.Flags().String("rules", "", "rules file (YAML)")
	test.Flags().String("shipment", "", "shipment file (JSON)")
	test.Flags().Bool("json", false, "print the charges as JSON")
	test.Flags().Bool("cost", false, "the rules are cost rules: rate the shipment as the freight audit does")
	test.Flags().String("invoice", "", "with --cost: the carrier invoice number to compare (default the shipment's last)")
	test.Flags().StringArray("tolerance", nil, "with --cost: a tolerance entry, such as \"type=default abs=1.00 percent=2\" (repeatable; default the configuration's default)")
	_ = test.MarkFlagRequired("rules")
	_ = test.MarkFlagRequired("shipment")

	cmd.AddCommand(check, test)
	return cmd
}

// loadRules loads a rules file. Problems in the file are printed one per
// line on stderr, like a compiler, and the command exits with status 1;
// any other error is returned.
func loadRules(cmd *cobra.Command, path string) (*rating.Rules, error) {
	rs, err := rating.Load(path)
	if err == nil {
		return rs, nil
	}
	var pe *rating.ParseError
	if !errors.As(err, &pe) {
		return nil, err
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			fmt.Fprintln(cmd.ErrOrStderr(), strings.ReplaceAll(e.Error(), "\n", " "))
		}
	} else {
		fmt.Fprintln(cmd.ErrOrStderr(), oneLine(err))
	}
	return nil, exitError(1)
}

// readShipment reads one canonical shipment from a JSON file.
func readShipment(path string) (*shipment.Shipment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading shipment: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxShipmentFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading shipment: %w", err)
	}
	if len(data) > maxShipmentFileBytes {
		return nil, fmt.Errorf("reading shipment %s: larger than %d bytes", path, maxShipmentFileBytes)
	}
	var sh *shipment.Shipment
	if err := json.Unmarshal(data, &sh); err != nil {
		return nil, fmt.Errorf("decoding shipment %s: %w", path, err)
	}
	if sh == nil {
		return nil, fmt.Errorf("decoding shipment %s: the file holds null, not a shipment", path)
	}
	return sh, nil
}

// chargeTotals sums the charges per currency, in the order currencies
// first appear.
func chargeTotals(charges []rating.Charge) ([]money.Money, error) {
	var totals []money.Money
	for _, c := range charges {
		i := slices.IndexFunc(totals, func(m money.Money) bool { return m.Currency == c.Amount.Currency })
		if i < 0 {
			totals = append(totals, c.Amount)
			continue
		}
		sum, err := totals[i].Add(c.Amount)
		if err != nil {
			return nil, fmt.Errorf("totalling charges: %w", err)
		}
		totals[i] = sum
	}
	return totals, nil
}

// costAudit is the carrier invoice rules test --cost compares, and the
// comparison.
type costAudit struct {
	eventID, number string
	charges         []shipment.Charge
	tolerances      freight.Tolerances
	lines           []freight.Line
	within          bool
	reason          string
}

// costInvoice picks the carrier invoice --invoice names, else the
// shipment's last; none is fine when the flag is not given.
func costInvoice(cmd *cobra.Command, sh *shipment.Shipment) (*costAudit, error) {
	number, _ := cmd.Flags().GetString("invoice")
	entries, _ := cmd.Flags().GetStringArray("tolerance")
	tol := config.FreightToleranceDefaults()
	if len(entries) > 0 {
		tol = tol[:0]
		for _, e := range entries {
			var ft config.FreightTolerance
			if err := ft.UnmarshalText([]byte(e)); err != nil {
				return nil, fmt.Errorf("--tolerance: %w", err)
			}
			tol = append(tol, ft)
		}
	}
	tolerances, err := hub.FreightTolerances(tol)
	if err != nil {
		return nil, err
	}
	out := &costAudit{tolerances: tolerances}
	for _, ci := range sh.CarrierInvoices {
		if number == "" || ci.Number == number {
			out.eventID, out.number = ci.EventID, ci.Number
		}
	}
	if number != "" && out.eventID == "" {
		return nil, fmt.Errorf("shipment %s has no carrier invoice %s", orDash(sh.ID), number)
	}
	for _, c := range sh.Charges {
		if c.EventID == out.eventID && out.eventID != "" && c.Source != shipment.ChargeRated {
			out.charges = append(out.charges, c)
		}
	}
	return out, nil
}

// writeComparison writes the comparison of the carrier invoice with the
// expected cost, if there is one.
func writeComparison(w io.Writer, a *costAudit) error {
	if a == nil || a.eventID == "" {
		return nil
	}
	fmt.Fprintf(w, "\ncarrier invoice %s\n", a.number)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tCURRENCY\tBILLED\tEXPECTED\tDIFFERENCE\tPERCENT\tALLOWED\tWITHIN")
	for _, l := range a.lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%t\n", l.Type, l.Currency, l.Reported, l.Expected, l.Difference, orDash(l.Percent), l.Allowed, l.Within)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if a.within {
		fmt.Fprintln(w, "within tolerance: approved by itself")
	} else {
		fmt.Fprintln(w, "review: "+a.reason)
	}
	return nil
}

func writeChargesJSON(w io.Writer, rulesPath string, rs *rating.Rules, sh *shipment.Shipment, charges []rating.Charge, totals []money.Money, a *costAudit) error {
	type comparison struct {
		InvoiceNumber string         `json:"invoice_number"`
		Lines         []freight.Line `json:"lines"`
		Within        bool           `json:"within"`
		Reason        string         `json:"reason,omitempty"`
	}
	out := struct {
		Rules        string          `json:"rules"`
		RulesVersion string          `json:"rules_version"`
		ShipmentID   string          `json:"shipment_id,omitempty"`
		Charges      []rating.Charge `json:"charges"`
		Totals       []money.Money   `json:"totals"`
		Comparison   *comparison     `json:"comparison,omitempty"`
	}{Rules: rulesPath, RulesVersion: rs.Version(), ShipmentID: sh.ID, Charges: charges, Totals: totals}
	if a != nil && a.eventID != "" {
		out.Comparison = &comparison{InvoiceNumber: a.number, Lines: a.lines, Within: a.within, Reason: a.reason}
	}
	if out.Charges == nil {
		out.Charges = []rating.Charge{}
	}
	if out.Totals == nil {
		out.Totals = []money.Money{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeChargesTable(w io.Writer, rulesPath string, rs *rating.Rules, sh *shipment.Shipment, charges []rating.Charge, totals []money.Money) error {
	customer := "unknown customer"
	if sh.Customer != nil && sh.Customer.Ref != "" {
		customer = "customer " + sh.Customer.Ref
	}
	fmt.Fprintf(w, "rules %s version %s; shipment %s (%s)\n", rulesPath, rs.Version(), orDash(sh.ID), customer)
	if len(charges) == 0 {
		fmt.Fprintln(w, "no charges")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tCODE\tTYPE\tQUANTITY\tAMOUNT\tEVIDENCE\tCALCULATION")
	for _, c := range charges {
		qty := "-"
		if c.Quantity != nil {
			qty = c.Quantity.Value + " " + c.Quantity.Unit
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.RuleID, c.Code, c.Type, qty, c.Amount, evidenceText(c.Facts), c.Calculation)
	}
	for _, t := range totals {
		fmt.Fprintf(tw, "TOTAL\t\t\t\t%s\n", t)
	}
	return tw.Flush()
}

// evidenceText writes a charge's facts as name=value pairs in name order;
// collections are written as compact JSON.
func evidenceText(facts map[string]any) string {
	names := make([]string, 0, len(facts))
	for name := range facts {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		var v string
		switch x := facts[name].(type) {
		case string:
			v = x
			if strings.ContainsAny(x, " \t\n\"=") || x == "" {
				v = fmt.Sprintf("%q", x)
			}
		case time.Time:
			v = x.UTC().Format(time.RFC3339)
		case map[string]any, []any:
			b, err := json.Marshal(x)
			if err != nil {
				v = fmt.Sprint(x)
			} else {
				v = string(b)
			}
		default:
			v = fmt.Sprint(x)
		}
		parts = append(parts, name+"="+v)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
