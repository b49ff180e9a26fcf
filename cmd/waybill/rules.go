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
			"know are ignored. Nothing is read from or written to a database.",
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
			charges, err := rs.Rate(rating.FactsFrom(sh))
			if err != nil {
				return fmt.Errorf("rating shipment %s: %w", shipmentPath, err)
			}
			totals, err := chargeTotals(charges)
			if err != nil {
				return err
			}
			if asJSON {
				return writeChargesJSON(cmd.OutOrStdout(), rulesPath, rs, sh, charges, totals)
			}
			return writeChargesTable(cmd.OutOrStdout(), rulesPath, rs, sh, charges, totals)
		},
	}
	test.Flags().String("rules", "", "rules file (YAML)")
	test.Flags().String("shipment", "", "shipment file (JSON)")
	test.Flags().Bool("json", false, "print the charges as JSON")
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

func writeChargesJSON(w io.Writer, rulesPath string, rs *rating.Rules, sh *shipment.Shipment, charges []rating.Charge, totals []money.Money) error {
	out := struct {
		Rules        string          `json:"rules"`
		RulesVersion string          `json:"rules_version"`
		ShipmentID   string          `json:"shipment_id,omitempty"`
		Charges      []rating.Charge `json:"charges"`
		Totals       []money.Money   `json:"totals"`
	}{rulesPath, rs.Version(), sh.ID, charges, totals}
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
