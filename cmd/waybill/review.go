package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/workflow"
)

func newReviewCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "review", Short: "List and decide review items: failed proofs of delivery and exceptions"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the review queue, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			state, _ := cmd.Flags().GetString("state")
			role, _ := cmd.Flags().GetString("owner-role")
			asJSON, _ := cmd.Flags().GetBool("json")
			if state != "" && !slices.Contains(shipment.ReviewStatuses(), state) {
				return fmt.Errorf("--state %q: must be open, approved, rejected or resolved", state)
			}
			db, _, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			store := workflow.NewStore(db)
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if !asJSON {
				fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tSHIPMENT\tOWNER\tAGE\tREASON")
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			now, cursor := time.Now(), ""
			for {
				page, next, err := store.Reviews(cmd.Context(), workflow.ReviewParams{Status: state, OwnerRole: role, Limit: 500, Cursor: cursor})
				if err != nil {
					return err
				}
				for _, it := range page {
					if asJSON {
						if err := enc.Encode(it); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, it.Kind, it.Status, it.ShipmentID, it.OwnerRole,
						shipment.ReviewAge(it.Review, now).Truncate(time.Second), firstLine(it.Reason, 80))
				}
				if next == "" {
					break
				}
				cursor = next
			}
			return tw.Flush()
		},
	}
	list.Flags().String("state", shipment.ReviewOpen, "only items in this state (open, approved, rejected, resolved; empty for all)")
	list.Flags().String("owner-role", "", "only items this role is expected to act on")
	list.Flags().Bool("json", false, "print one JSON object per line")
	storageFlags(list)

	decide := &cobra.Command{
		Use:   "decide ID approve|reject|resolve",
		Short: "Decide a review item; a running server applies it in order with the shipment's events",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, decision := args[0], args[1]
			if !slices.Contains(shipment.Decisions(), decision) {
				return fmt.Errorf("decision %q: must be approve, reject or resolve", decision)
			}
			reason, _ := cmd.Flags().GetString("reason")
			actor := commandActor(cmd)
			db, _, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			it, err := workflow.NewStore(db).GetReview(cmd.Context(), id)
			if errors.Is(err, workflow.ErrNoReview) {
				return fmt.Errorf("no review %s", id)
			}
			if err != nil {
				return err
			}
			if it.Status != shipment.ReviewOpen && it.Decision != decision {
				return fmt.Errorf("review %s is already %s (%s by %s)", id, it.Status, it.Decision, it.Actor)
			}
			raw, err := workflow.DecisionEvent(it, decision, actor, reason, time.Now())
			if err != nil {
				return err
			}
			v, err := event.NewValidator()
			if err != nil {
				return err
			}
			// The CLI is Waybill itself deciding for an operator at the
			// database's own machine.
			ev, err := (&intake.Parser{Validator: v, Internal: true}).Parse(raw, intake.Hints{})
			if err != nil {
				return err
			}
			res, err := intake.NewStore(db, &intake.Backlog{}).Append(cmd.Context(), []*intake.Event{ev})
			if err != nil {
				return err
			}
			if res[0].Duplicate {
				fmt.Fprintf(cmd.OutOrStdout(), "review %s: %s was already submitted as event %s\n", id, decision, res[0].EventID)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "review %s: %s recorded as event %s (correlation %s); a running server applies it\n", id, decision, res[0].EventID, res[0].CorrelationID)
			return recordAudit(cmd, audit.ActionReviewDecided, it.ID, map[string]string{"decision": decision, "reason": reason,
				"kind": it.Kind, "shipment_id": it.ShipmentID, "event_id": res[0].EventID})
		},
	}
	decide.Flags().String("reason", "", "why, for the record")
	decide.Flags().String("actor", "", "who decides, for the record (default cli:$USER)")
	storageFlags(decide)
	cmd.AddCommand(list, decide)
	return cmd
}
