package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/workflow"
)

func newReconcileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "reconcile", Short: "Reconcile business days with Odoo (docs/reconciliation.md)"}
	run := &cobra.Command{
		Use:   "run --date YYYY-MM-DD [--warehouse W]",
		Short: "Reconcile a day with Odoo now and print its summary; safe differences are healed by a running server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			date, _ := cmd.Flags().GetString("date")
			warehouse, _ := cmd.Flags().GetString("warehouse")
			asJSON, _ := cmd.Flags().GetBool("json")
			if _, _, err := reconcile.Day(date, time.UTC); err != nil {
				return fmt.Errorf("--date %q: must be a day as YYYY-MM-DD, such as 2026-12-03", date)
			}
			db, cfg, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			shipments := workflow.NewStore(db)
			conns, err := hub.BuildConnectors(cfg, hub.ConnectorDeps{Shipments: shipments, Logger: quietLogger()})
			if err != nil {
				return err
			}
			if conns.Odoo != nil {
				defer conns.Odoo.Close()
			}
			// Healing actions go to the queue of the server that owns the
			// database: its connectors run them.
			q, err := jobqueue.New(db, nil, jobqueue.Options{Logger: quietLogger()})
			if err != nil {
				return err
			}
			rc, err := hub.NewReconciler(cfg, &hub.ReconcilerDeps{DB: db, Shipments: shipments, Odoo: conns.Odoo, Jobs: q, Logger: quietLogger()})
			if err != nil {
				return err
			}
			rec, err := rc.Run(cmd.Context(), reconcile.RunParams{Date: date, Warehouse: warehouse})
			if errors.Is(err, reconcile.ErrNoOdoo) {
				return errors.New("no Odoo connector is configured (connectors.odoo.url): there is nothing to reconcile with")
			}
			if err != nil {
				return fmt.Errorf("reconciling %s: %w", date, err)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rec)
			}
			return writeSummary(cmd.OutOrStdout(), rec)
		},
	}
	run.Flags().String("date", "", "the business day, YYYY-MM-DD (required)")
	run.Flags().String("warehouse", "", "only the shipments leaving this location (WH takes WH/Stock)")
	run.Flags().Bool("json", false, "print the whole record as JSON")
	_ = run.MarkFlagRequired("date")
	storageFlags(run)
	cmd.AddCommand(run, newInventoryCmd())
	return cmd
}

func newInventoryCmd() *cobra.Command {
	inv := &cobra.Command{
		Use:   "inventory [--warehouse W]",
		Short: "Check the inventory with Odoo now and print its summary; missing returns and scraps are healed by a running server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			warehouse, _ := cmd.Flags().GetString("warehouse")
			asJSON, _ := cmd.Flags().GetBool("json")
			if strings.ContainsAny(warehouse, "\x00\n") || len(warehouse) > 100 {
				return errors.New("--warehouse: must be one line of at most 100 bytes, such as WH")
			}
			db, cfg, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			shipments := workflow.NewStore(db)
			conns, err := hub.BuildConnectors(cfg, hub.ConnectorDeps{Shipments: shipments, Logger: quietLogger()})
			if err != nil {
				return err
			}
			if conns.Odoo != nil {
				defer conns.Odoo.Close()
			}
			// Healing actions go to the queue of the server that owns the
			// database: its connectors run them.
			q, err := jobqueue.New(db, nil, jobqueue.Options{Logger: quietLogger()})
			if err != nil {
				return err
			}
			rc, err := hub.NewReconciler(cfg, &hub.ReconcilerDeps{DB: db, Shipments: shipments, Odoo: conns.Odoo, Jobs: q, Logger: quietLogger()})
			if err != nil {
				return err
			}
			chk, err := rc.RunInventory(cmd.Context(), reconcile.InventoryParams{Warehouse: warehouse})
			if errors.Is(err, reconcile.ErrNoOdoo) {
				return errors.New("no Odoo connector is configured (connectors.odoo.url): there is no inventory to check")
			}
			if err != nil {
				return fmt.Errorf("checking the inventory: %w", err)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(chk)
			}
			return writeInventorySummary(cmd.OutOrStdout(), chk)
		},
	}
	inv.Flags().String("warehouse", "", "only the shipments and pickings leaving this location (WH takes WH/Stock)")
	inv.Flags().Bool("json", false, "print the whole check as JSON")
	storageFlags(inv)
	return inv
}

// writeInventorySummary prints an inventory check on one screen: counts
// by type, what was healed and what waits for operations.
func writeInventorySummary(w io.Writer, chk *reconcile.InventoryCheck) error {
	where := ""
	if chk.Warehouse != "" {
		where = " of " + chk.Warehouse
	}
	healed, open := 0, 0
	for _, d := range chk.Differences {
		if d.Healed != "" {
			healed++
		}
		if d.Review != nil && d.Review.Status == reconcile.ReviewOpen {
			open++
		}
	}
	fmt.Fprintf(w, "inventory check %s%s: %s\n", chk.ID, where, chk.State)
	fmt.Fprintf(w, "%d shipments compared, %d differences, %d healed, %d for operations, %d Odoo calls\n",
		chk.Shipments, len(chk.Differences), healed, open, chk.OdooCalls)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTYPE\tCOUNT")
	for _, t := range reconcile.InventoryTypes() {
		fmt.Fprintf(tw, "%s\t%d\n", t, chk.Counts[t])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if open > 0 {
		fmt.Fprintf(w, "\ndecide with POST /v1/inventory-checks/%s/decision (scope review:write)\n", chk.ID)
	}
	return nil
}

// writeSummary prints a reconciliation on one screen: counts by type,
// what was healed, what waits for finance, and the customers' totals.
func writeSummary(w io.Writer, rec *reconcile.Record) error {
	where := ""
	if rec.Warehouse != "" {
		where = " (" + rec.Warehouse + ")"
	}
	healed, open := 0, 0
	for _, d := range rec.Differences {
		if d.Healed != "" {
			healed++
		}
		if d.Review != nil && d.Review.Status == reconcile.ReviewOpen {
			open++
		}
	}
	fmt.Fprintf(w, "reconciliation %s of %s%s: %s\n", rec.ID, rec.Date, where, rec.State)
	fmt.Fprintf(w, "%d shipments compared, %d differences, %d healed, %d for finance, %d Odoo calls\n",
		rec.Shipments, len(rec.Differences), healed, open, rec.OdooCalls)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTYPE\tCOUNT")
	for _, t := range reconcile.Types() {
		fmt.Fprintf(tw, "%s\t%d\n", t, rec.Counts[t])
	}
	if len(rec.Totals) > 0 {
		fmt.Fprintln(tw, "\nCUSTOMER\tSHIPMENTS\tRATED\tINVOICED SERVICES\tINVOICE TOTAL\tINVOICES")
		for _, c := range rec.Totals {
			fmt.Fprintf(tw, "%s\t%d\t%s %s\t%s\t%s\t%d\n", firstLine(c.Customer, 40), c.Shipments, c.Rated, c.Currency, c.InvoicedServices, c.InvoiceTotal, c.Invoices)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if open > 0 {
		fmt.Fprintf(w, "\ndecide with POST /v1/reconciliations/%s/decision (scope finance:approve)\n", rec.ID)
	}
	return nil
}
