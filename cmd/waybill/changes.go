package main

import (
	"context"
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

	"github.com/waybill/waybill/internal/changes"
	"github.com/waybill/waybill/internal/hub"
)

func newChangesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "changes",
		Short: "List, show, approve and reject changes of rating rules, source profiles and JSON mappings",
		Long: "The rules file, the sources file and the JSON mappings it names are under change control: the hub runs with\n" +
			"their approved versions, and a changed file waits, pending, until someone other than its proposer approves it.\n" +
			"Every changes command first reads the configured files, so a file edited since the last start is proposed\n" +
			"by --proposer (default cli:$USER). An approved change takes effect at the hub's next start.",
	}
	cmd.PersistentFlags().String("proposer", "", "who proposes files changed since the last start, for the record (default cli:$USER)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List changes, newest first (pending ones by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			status, _ := cmd.Flags().GetString("status")
			if status != "" && status != "all" && !slices.Contains(statuses, status) {
				return fmt.Errorf("--status %q: must be pending, approved, rejected, superseded or all", status)
			}
			if status == "all" {
				status = ""
			}
			asJSON, _ := cmd.Flags().GetBool("json")
			store, closeFn, err := changeStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			all, err := store.List(cmd.Context(), status)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				for _, c := range all {
					if err := enc.Encode(c); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tPROPOSER\tPROPOSED\tWHAT-IF\tPROBLEM")
			for _, c := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Status, c.Proposer, c.ProposedAt.Format(time.RFC3339),
					whatIfSummary(c.WhatIf), orNone(firstLine(c.Problem, 80)))
			}
			return tw.Flush()
		},
	}
	list.Flags().String("status", changes.StatusPending, "only changes in this status: pending, approved, rejected, superseded, or all")
	list.Flags().Bool("json", false, "print one JSON object per line")
	storageFlags(list)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a change: its file, its status and, for rules, the what-if on recently billed shipments",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, _ := cmd.Flags().GetBool("json")
			content, _ := cmd.Flags().GetBool("content")
			store, closeFn, err := changeStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			c, err := store.Get(cmd.Context(), args[0])
			if err != nil {
				return changeCLIError(err, args[0])
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(struct {
					*changes.Change
					Content string `json:"content"`
				}{c, string(c.Content)})
			}
			writeChange(out, c)
			if content {
				fmt.Fprintf(out, "\n%s", c.Content)
			}
			return nil
		},
	}
	show.Flags().Bool("json", false, "print the change as JSON, its content included")
	show.Flags().Bool("content", false, "print the file's content too")
	storageFlags(show)

	decide := func(use, short, done string, fn func(s *changes.Store) func(ctx context.Context, id, actor, reason string) (*changes.Change, error)) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				reason, _ := cmd.Flags().GetString("reason")
				store, closeFn, err := changeStore(cmd)
				if err != nil {
					return err
				}
				defer closeFn()
				ch, err := fn(store)(cmd.Context(), args[0], cliUser(), reason)
				if err != nil {
					return changeCLIError(err, args[0])
				}
				fmt.Fprintf(cmd.OutOrStdout(), "change %s (%s) %s by %s%s\n", ch.ID, ch.Name, ch.Status, ch.DecidedBy, done)
				return nil
			},
		}
		c.Flags().String("reason", "", "why, for the record")
		storageFlags(c)
		return c
	}
	approve := decide("approve", "Approve a pending change (not your own); it takes effect at the hub's next start",
		"; it takes effect at the hub's next start", func(s *changes.Store) func(context.Context, string, string, string) (*changes.Change, error) {
			return s.Approve
		})
	reject := decide("reject", "Reject a pending change; the same content is not proposed again", "",
		func(s *changes.Store) func(context.Context, string, string, string) (*changes.Change, error) {
			return s.Reject
		})
	cmd.AddCommand(list, show, approve, reject)
	return cmd
}

var statuses = []string{changes.StatusPending, changes.StatusApproved, changes.StatusRejected, changes.StatusSuperseded}

// cliUser is who runs a command: cli:$USER.
func cliUser() string { return "cli:" + os.Getenv("USER") }

// changeStore opens the change store and reads the configured files, so
// that a file changed since the last start is proposed now.
func changeStore(cmd *cobra.Command) (*changes.Store, func(), error) {
	db, cfg, err := commandDB(cmd)
	if err != nil {
		return nil, nil, err
	}
	trail, err := hub.OpenAudit(cmd.Context(), cfg, db, quietLogger())
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	store := hub.OpenChanges(cfg, db, trail)
	proposer, _ := cmd.Flags().GetString("proposer")
	if proposer == "" {
		proposer = cliUser()
	}
	if _, err := store.Load(cmd.Context(), hub.ChangePaths(cfg), proposer); err != nil {
		db.Close()
		return nil, nil, err
	}
	return store, func() { db.Close() }, nil
}

func changeCLIError(err error, id string) error {
	if errors.Is(err, changes.ErrNotFound) {
		return fmt.Errorf("no change %s", id)
	}
	return err
}

func whatIfSummary(w *changes.WhatIf) string {
	if w == nil {
		return "-"
	}
	return fmt.Sprintf("%d of %d changed", w.Changed, w.Sampled)
}

// writeChange prints a change and its what-if report for people.
func writeChange(w io.Writer, c *changes.Change) {
	fmt.Fprintf(w, "change    %s\n", c.ID)
	fmt.Fprintf(w, "name      %s (%s)\n", c.Name, c.Kind)
	fmt.Fprintf(w, "file      %s, %d bytes, sha256 %s\n", c.Path, c.Size, c.SHA256)
	fmt.Fprintf(w, "status    %s\n", c.Status)
	fmt.Fprintf(w, "proposed  %s by %s\n", c.ProposedAt.Format(time.RFC3339), c.Proposer)
	if c.BaseID != "" {
		fmt.Fprintf(w, "replaces  %s\n", c.BaseID)
	}
	if c.DecidedAt != nil {
		fmt.Fprintf(w, "decided   %s by %s", c.DecidedAt.Format(time.RFC3339), c.DecidedBy)
		if c.Reason != "" {
			fmt.Fprintf(w, ": %s", c.Reason)
		}
		fmt.Fprintln(w)
	}
	if c.Problem != "" {
		fmt.Fprintf(w, "problem   %s (it cannot be approved)\n", c.Problem)
	}
	wi := c.WhatIf
	if wi == nil {
		return
	}
	fmt.Fprintf(w, "what-if   rules %s → %s on the %d most recently billed shipments: %d charged differently\n",
		wi.OldVersion, wi.NewVersion, wi.Sampled, wi.Changed)
	if wi.Sampled == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHIPMENT\tOLD TOTAL\tNEW TOTAL\tDIFFERENCE")
	for _, s := range wi.Shipments {
		diff := "same"
		if s.Changed {
			diff = totalsDiff(s.Old, s.New)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ShipmentID, ratingTotal(s.Old), ratingTotal(s.New), diff)
	}
	tw.Flush()
	for _, s := range wi.Shipments {
		if !s.Changed {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", s.ShipmentID)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  \tRULE\tCODE\tAMOUNT\tCALCULATION")
		for _, side := range []struct {
			mark string
			r    changes.WhatIfRating
		}{{"-", s.Old}, {"+", s.New}} {
			if side.r.Error != "" {
				fmt.Fprintf(tw, "  %s\terror\t\t\t%s\n", side.mark, firstLine(side.r.Error, 100))
			}
			for _, l := range side.r.Lines {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", side.mark, l.RuleID, l.Code, l.Amount, firstLine(l.Calculation, 80))
			}
		}
		tw.Flush()
	}
}

func ratingTotal(r changes.WhatIfRating) string {
	if r.Error != "" {
		return "error"
	}
	if len(r.Totals) == 0 {
		return "nothing"
	}
	parts := make([]string, len(r.Totals))
	for i, m := range r.Totals {
		parts[i] = m.String()
	}
	return strings.Join(parts, " + ")
}

// totalsDiff is new minus old per currency, or "changed" when a side
// failed or the currencies differ.
func totalsDiff(old, new changes.WhatIfRating) string {
	if old.Error != "" || new.Error != "" || len(old.Totals) != len(new.Totals) {
		return "changed"
	}
	var parts []string
	for i, n := range new.Totals {
		o := old.Totals[i]
		neg, err := o.Neg()
		if err != nil || o.Currency != n.Currency {
			return "changed"
		}
		d, err := n.Add(neg)
		if err != nil {
			return "changed"
		}
		s := d.String()
		if d.Minor > 0 {
			s = "+" + s
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "changed"
	}
	return strings.Join(parts, " ")
}
