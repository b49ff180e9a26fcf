package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/source/verify"
	"github.com/waybill/waybill/internal/subscription"
)

// subscriptionService opens the subscriptions of the configured database.
// Deliveries are the running serve's: a change made here reaches it
// within seconds.
func subscriptionService(cmd *cobra.Command) (*subscription.Service, func(), error) {
	db, cfg, err := commandDB(cmd)
	if err != nil {
		return nil, nil, err
	}
	sc := cfg.Subscriptions
	s := subscription.New(db, subscription.Options{
		Targets:       subscription.Targets{AllowPrivate: sc.AllowPrivateTargets, AllowHTTP: sc.AllowHTTP},
		SecretOverlap: sc.SecretOverlap,
	})
	return s, func() { db.Close() }, nil
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func newSubscriptionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "subscriptions", Short: "Manage the endpoints events are delivered to, signed as Standard Webhooks"}
	filterFlags := func(c *cobra.Command) {
		c.Flags().String("url", "", "the endpoint URL (https; http and private addresses only where configured)")
		c.Flags().String("events", "", "comma-separated event types or patterns, such as shipment.* or shipment.delivered,invoice.*")
		c.Flags().String("customer-filter", "", "only the shipments of this customer ref")
		c.Flags().String("warehouse", "", "only the shipments leaving this warehouse (its ref or name)")
		c.Flags().String("carrier", "", "only the shipments of this carrier (SCAC or ref)")
		c.Flags().String("filter", "", "a CEL expression over shipment and event that must be true, such as shipment.destination.country == \"DE\"")
		c.Flags().String("description", "", "what the endpoint is for")
		c.Flags().String("redact", "", "comma-separated data members left out of what is sent, such as charges,amount")
		c.Flags().Float64("rate", 0, "most deliveries a second to the endpoint, per replica (default subscriptions.rate_limit)")
		storageFlags(c)
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Subscribe an endpoint; the signing secret is printed once, as the last line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			sub := &subscription.Subscription{}
			sub.URL, _ = f.GetString("url")
			events, _ := f.GetString("events")
			sub.EventTypes = splitList(events)
			sub.Filter.Customer, _ = f.GetString("customer-filter")
			sub.Filter.Warehouse, _ = f.GetString("warehouse")
			sub.Filter.Carrier, _ = f.GetString("carrier")
			sub.Filter.Expression, _ = f.GetString("filter")
			sub.Description, _ = f.GetString("description")
			redact, _ := f.GetString("redact")
			sub.Redact = splitList(redact)
			sub.RateLimit, _ = f.GetFloat64("rate")
			sub.Owner, _ = f.GetString("owner")
			s, closeFn, err := subscriptionService(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			created, secret, err := s.Create(cmd.Context(), "", sub)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created subscription %s to %s for %s\n", created.ID, created.URL, strings.Join(created.EventTypes, ","))
			fmt.Fprintln(out, "the receiver verifies signatures with this secret; store it now: it cannot be shown again")
			fmt.Fprintln(out, secret)
			return recordAudit(cmd, audit.ActionSubscriptionCreated, created.ID, map[string]any{"url": created.URL, "owner": created.Owner, "event_types": created.EventTypes})
		},
	}
	filterFlags(create)
	create.Flags().String("owner", "", "the customer ref of a customer's subscription: it receives only that customer's shipments")
	_ = create.MarkFlagRequired("url")
	_ = create.MarkFlagRequired("events")

	list := &cobra.Command{
		Use:   "list",
		Short: "List subscriptions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, closeFn, err := subscriptionService(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			owner, _ := cmd.Flags().GetString("owner")
			all, err := s.List(cmd.Context(), owner)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tOWNER\tURL\tEVENTS\tENABLED\tFAILING SINCE\tDESCRIPTION")
			for _, sub := range all {
				failing := "-"
				if sub.FailingSince != nil {
					failing = sub.FailingSince.Format(time.RFC3339)
				}
				enabled := "yes"
				if !sub.Enabled {
					enabled = "no: " + sub.DisabledReason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sub.ID, orDash(sub.Owner), sub.URL, strings.Join(sub.EventTypes, ","), enabled, failing, sub.Description)
			}
			return tw.Flush()
		},
	}
	list.Flags().String("owner", "", "only this customer's subscriptions")
	storageFlags(list)

	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a subscription and its recent deliveries, as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, closeFn, err := subscriptionService(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			sub, err := s.Get(cmd.Context(), "", args[0])
			if err != nil {
				return err
			}
			attempts, err := s.Attempts(cmd.Context(), "", args[0], 20)
			if err != nil {
				return err
			}
			counts, err := s.Counts(cmd.Context(), "", args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"subscription": sub, "messages": counts, "attempts": attempts})
		},
	}
	storageFlags(get)

	update := &cobra.Command{
		Use:   "update ID",
		Short: "Change a subscription, or enable or disable it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			p := &subscription.Patch{}
			str := func(name string) *string {
				if !f.Changed(name) {
					return nil
				}
				v, _ := f.GetString(name)
				return &v
			}
			p.URL, p.Description = str("url"), str("description")
			if v := str("events"); v != nil {
				l := splitList(*v)
				p.EventTypes = &l
			}
			if v := str("redact"); v != nil {
				l := splitList(*v)
				p.Redact = &l
			}
			if f.Changed("rate") {
				v, _ := f.GetFloat64("rate")
				p.RateLimit = &v
			}
			if f.Changed("customer-filter") || f.Changed("warehouse") || f.Changed("carrier") || f.Changed("filter") {
				fl := &subscription.Filter{}
				fl.Customer, _ = f.GetString("customer-filter")
				fl.Warehouse, _ = f.GetString("warehouse")
				fl.Carrier, _ = f.GetString("carrier")
				fl.Expression, _ = f.GetString("filter")
				p.Filter = fl
			}
			enable, _ := f.GetBool("enable")
			disable, _ := f.GetBool("disable")
			switch {
			case enable && disable:
				return errors.New("--enable and --disable together")
			case enable:
				p.Enabled = &enable
			case disable:
				off := false
				p.Enabled = &off
			}
			s, closeFn, err := subscriptionService(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			sub, err := s.Update(cmd.Context(), "", args[0], p)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updated subscription %s (enabled %t)\n", sub.ID, sub.Enabled)
			return recordAudit(cmd, audit.ActionSubscriptionUpdated, sub.ID, map[string]any{"url": sub.URL, "enabled": sub.Enabled, "event_types": sub.EventTypes})
		},
	}
	filterFlags(update)
	update.Flags().Bool("enable", false, "enable the subscription (after it was disabled)")
	update.Flags().Bool("disable", false, "disable the subscription: its messages wait")

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a subscription and what waits to be delivered to it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, closeFn, err := subscriptionService(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := s.Delete(cmd.Context(), "", args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted subscription %s\n", args[0])
			return recordAudit(cmd, audit.ActionSubscriptionDeleted, args[0], nil)
		},
	}
	storageFlags(del)

	rotate := &cobra.Command{
		Use:   "rotate-secret ID",
		Short: "Give a subscription a new signing secret, printed once as the last line; the old one keeps signing for subscriptions.secret_overlap",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, closeFn, err := subscriptionService(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			secret, until, err := s.RotateSecret(cmd.Context(), "", args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rotated the secret of %s; the previous one also signs until %s\n", args[0], until.Format(time.RFC3339))
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return recordAudit(cmd, audit.ActionSubscriptionSecretRotated, args[0], map[string]any{"previous_until": until})
		},
	}
	storageFlags(rotate)

	replay := &cobra.Command{
		Use:   "replay ID --since TIME",
		Short: "Send again what a subscription was sent, or was to be sent, since a time",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sinceFlag, _ := cmd.Flags().GetString("since")
			since, err := time.Parse(time.RFC3339, sinceFlag)
			if err != nil {
				return fmt.Errorf("--since %q: want an RFC 3339 time, such as 2026-12-01T00:00:00Z", sinceFlag)
			}
			s, closeFn, err := subscriptionService(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			n, err := s.Replay(cmd.Context(), "", args[0], since)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d messages of %s will be sent again\n", n, args[0])
			return recordAudit(cmd, audit.ActionSubscriptionReplayed, args[0], map[string]any{"since": since, "messages": n})
		},
	}
	replay.Flags().String("since", "", "RFC 3339 time: messages written since then are sent again")
	_ = replay.MarkFlagRequired("since")
	storageFlags(replay)

	cmd.AddCommand(create, list, get, update, del, rotate, replay)
	return cmd
}

func newWebhooksCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Tools for receivers of Waybill's webhooks"}
	v := &cobra.Command{
		Use:   "verify --secret whsec_…",
		Short: "Say whether a delivery is authentic: reads the HTTP request (headers, blank line, body) from stdin, or the body alone with --id, --timestamp and --signature",
		Long: `Checks a Standard Webhooks signature as a receiver must: the signature of one of the
secrets over webhook-id.webhook-timestamp.body, and the timestamp within the tolerance of now.
Give the request as it arrived, such as one saved with nc -l, or the body with the three headers
as flags. Exits 0 when authentic, 1 when not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			secrets, _ := f.GetStringSlice("secret")
			tolerance, _ := f.GetDuration("tolerance")
			raw, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 16<<20))
			if err != nil {
				return err
			}
			h, body := http.Header{}, raw
			id, _ := f.GetString("id")
			if id != "" {
				ts, _ := f.GetString("timestamp")
				sig, _ := f.GetString("signature")
				h.Set("webhook-id", id)
				h.Set("webhook-timestamp", ts)
				h.Set("webhook-signature", sig)
			} else {
				req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
				if err != nil {
					return fmt.Errorf("stdin is not an HTTP request (give the body alone with --id, --timestamp and --signature): %w", err)
				}
				if body, err = io.ReadAll(req.Body); err != nil {
					return fmt.Errorf("reading the request body: %w", err)
				}
				h = req.Header
			}
			vf, err := verify.New(verify.KindStandard, secrets, verify.Options{Tolerance: tolerance})
			if err != nil {
				return err
			}
			if err := vf.Verify(h, body, time.Now()); err != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "not authentic: %v\n", err)
				return exitError(1)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "authentic: message %s, signed at %s\n", h.Get("webhook-id"), h.Get("webhook-timestamp"))
			return nil
		},
	}
	v.Flags().StringSlice("secret", nil, "the subscription's signing secret (whsec_…); repeat during a rotation")
	v.Flags().Duration("tolerance", 5*time.Minute, "how far the signed timestamp may be from now")
	v.Flags().String("id", "", "the webhook-id header, when stdin is the body alone")
	v.Flags().String("timestamp", "", "the webhook-timestamp header, when stdin is the body alone")
	v.Flags().String("signature", "", "the webhook-signature header, when stdin is the body alone")
	_ = v.MarkFlagRequired("secret")
	v.MarkFlagsRequiredTogether("id", "timestamp", "signature")
	cmd.AddCommand(v)
	return cmd
}
