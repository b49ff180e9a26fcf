package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/loadgen"
	"github.com/waybill/waybill/internal/source"
)

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database schema (serve also does this at start-up)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			db, err := openDBNoMigrate(cmd, cfg)
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := db.Migrate(cmd.Context(), quietLogger())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, v := range res.RiverVersions {
				fmt.Fprintf(out, "applied river migration %d\n", v)
			}
			for _, p := range res.Applied {
				fmt.Fprintf(out, "applied %s\n", p)
			}
			fmt.Fprintf(out, "%s: schema version %d\n", db.Location, res.Version)
			return nil
		},
	}
	storageFlags(cmd)
	return cmd
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Check the configuration file and WAYBILL_* environment without starting anything",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err == nil && cfg.Intake.SourcesFile != "" {
				// The source profiles are part of the configuration.
				var ps *source.Profiles
				if ps, err = source.LoadFile(cfg.Intake.SourcesFile, os.Environ()); err == nil {
					_, err = source.ParseFolders(cfg.Intake.EDIDirs, ps)
				}
			}
			if err != nil {
				for _, line := range strings.Split(oneLine(err), "; ") {
					fmt.Fprintln(cmd.ErrOrStderr(), line)
				}
				return exitError(1)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
			return nil
		},
	}, &cobra.Command{
		Use:   "example",
		Short: "Print a commented configuration file with every key at its default",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprint(cmd.OutOrStdout(), config.Example()) },
	})
	return cmd
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys, and the data keys of encryption at rest"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key; the key is printed once, as the last line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := keyCreateParams(cmd)
			if err != nil {
				return err
			}
			keys, closeFn, err := keyStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			secret, key, err := keys.CreateWith(cmd.Context(), p)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created key %s (%s) with scopes %s\n", key.ID, key.Name, joinScopes(key.Scopes))
			fmt.Fprintf(out, "label %s, expires %s, rate limit %s\n", orDash(key.Label), keyTime(key.ExpiresAt, "never"), keyLimit(key, keys.DefaultLimit))
			fmt.Fprintln(out, "store it now: it cannot be shown again")
			fmt.Fprintln(out, secret)
			return recordAudit(cmd, audit.ActionKeyCreated, key.ID, map[string]any{"name": key.Name, "scopes": key.Scopes})
		},
	}
	create.Flags().String("name", "", "name of the key (who or what uses it); no active key may have it already")
	create.Flags().String("scopes", "", "comma-separated scopes: "+strings.ReplaceAll(joinScopes(apikey.Scopes()), ",", ", "))
	create.Flags().String("label", "", "the key's environment, such as prod or test (a-z, 0-9, up to 16); it starts the key (default server.key_label_default)")
	create.Flags().String("customer", "", "the customer ref the key belongs to: it then manages and receives only that customer's subscriptions")
	create.Flags().Duration("expires-in", 0, "the key stops working after this long, such as 720h")
	create.Flags().String("expires-at", "", "the key stops working at this time (RFC 3339, such as 2027-01-31T00:00:00Z)")
	create.Flags().Float64("rate", 0, "the key's own rate limit in requests a second; 0 is unlimited (default server.key_rate and server.key_burst)")
	create.Flags().Int("burst", 0, "requests the key may send at once; needs --rate (default --rate rounded up)")
	create.MarkFlagsMutuallyExclusive("expires-in", "expires-at")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("scopes")
	storageFlags(create)

	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, closeFn, err := keyStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			all, err := keys.List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tLABEL\tSCOPES\tCREATED\tEXPIRES\tRATE LIMIT\tLAST USED\tREVOKED")
			for _, k := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, orDash(k.Label), joinScopes(k.Scopes),
					k.CreatedAt.Format(time.RFC3339), keyTime(k.ExpiresAt, "never"), keyLimit(&k, keys.DefaultLimit),
					keyTime(k.LastUsedAt, "never"), keyTime(k.RevokedAt, "-"))
			}
			return tw.Flush()
		},
	}
	storageFlags(list)

	revoke := &cobra.Command{
		Use:   "revoke ID|NAME",
		Short: "Revoke an API key (running servers refuse it within seconds)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, closeFn, err := keyStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			k, err := keys.Revoke(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked key %s (%s, label %s)\n", k.ID, k.Name, orDash(k.Label))
			return recordAudit(cmd, audit.ActionKeyRevoked, k.ID, map[string]any{"name": k.Name})
		},
	}
	storageFlags(revoke)
	cmd.AddCommand(create, list, revoke)
	cmd.AddCommand(dataKeyCmds()...)
	return cmd
}

func joinScopes(s []apikey.Scope) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ",")
}

// keyStore opens the key table with the configuration's default label and
// rate limit.
func keyStore(cmd *cobra.Command) (*apikey.Store, func(), error) {
	db, cfg, err := commandDB(cmd)
	if err != nil {
		return nil, nil, err
	}
	s := apikey.NewStore(db)
	s.DefaultLabel = hub.KeyLabel(cfg.Server)
	s.DefaultLimit = apikey.Limit{Rate: float64(cfg.Server.KeyRate), Burst: cfg.Server.KeyBurst}
	return s, func() { db.Close() }, nil
}

// keyCreateParams reads the flags of keys create.
func keyCreateParams(cmd *cobra.Command) (*apikey.CreateParams, error) {
	f := cmd.Flags()
	name, _ := f.GetString("name")
	scopesFlag, _ := f.GetString("scopes")
	scopes, err := apikey.ParseScopes(scopesFlag)
	if err != nil {
		return nil, err
	}
	p := &apikey.CreateParams{Name: name, Scopes: scopes}
	p.Label, _ = f.GetString("label")
	p.Customer, _ = f.GetString("customer")
	if in, _ := f.GetDuration("expires-in"); f.Changed("expires-in") {
		if in <= 0 {
			return nil, fmt.Errorf("--expires-in %s: want a positive duration, such as 720h", in)
		}
		p.ExpiresAt = time.Now().Add(in)
	}
	if at, _ := f.GetString("expires-at"); at != "" {
		if p.ExpiresAt, err = time.Parse(time.RFC3339, at); err != nil {
			return nil, fmt.Errorf("--expires-at %q: want an RFC 3339 time, such as 2027-01-31T00:00:00Z", at)
		}
	}
	burst, _ := f.GetInt("burst")
	switch rate, _ := f.GetFloat64("rate"); {
	case f.Changed("rate"):
		p.Limit = &apikey.Limit{Rate: rate, Burst: burst}
	case f.Changed("burst"):
		return nil, errors.New("--burst needs --rate")
	}
	return p, nil
}

// keyTime formats an optional time of a key, or none when it is nil.
func keyTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.RFC3339)
}

// keyLimit describes k's rate limit, marking the server default.
func keyLimit(k *apikey.Key, def apikey.Limit) string {
	if k.Limit == nil {
		return def.String() + " (default)"
	}
	return k.Limit.String()
}

func newDeadLettersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dead-letters", Short: "Inspect and replay outbound jobs that failed for good"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, _, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			asJSON, _ := cmd.Flags().GetBool("json")
			dead := jobqueue.NewDeadLetters(db)
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if !asJSON {
				fmt.Fprintln(tw, "ID\tKIND\tSHIPMENT\tATTEMPTS\tREPLAYS\tCREATED\tERROR")
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			cursor := ""
			for {
				page, next, err := dead.List(cmd.Context(), 500, cursor)
				if err != nil {
					return err
				}
				for _, dl := range page {
					if asJSON {
						if err := enc.Encode(dl); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", dl.ID, dl.Kind, dl.ShipmentID, dl.Attempts, len(dl.Replays),
						dl.CreatedAt.Format(time.RFC3339), firstLine(dl.Error, 80))
				}
				if next == "" {
					break
				}
				cursor = next
			}
			return tw.Flush()
		},
	}
	list.Flags().Bool("json", false, "print one JSON object per line")
	storageFlags(list)

	replay := &cobra.Command{
		Use:   "replay ID",
		Short: "Replay a dead letter as a new job with the current configuration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, _, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			// The job is for the server that owns the database: its
			// connectors (a sandbox's simulators among them) decide how it
			// runs, not this command's configuration.
			q, err := jobqueue.New(db, nil, jobqueue.Options{Logger: quietLogger()})
			if err != nil {
				return err
			}
			actor := commandActor(cmd)
			dl, rep, err := q.Replay(cmd.Context(), args[0], actor)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "replayed %s as job %d (replay %s by %s); a running server will work it\n", args[0], rep.JobID, rep.ID, rep.Actor)
			return recordAudit(cmd, audit.ActionDeadLetterReplayed, dl.ID, map[string]any{"kind": dl.Kind, "shipment_id": dl.ShipmentID,
				"replay_id": rep.ID, "job_id": rep.JobID})
		},
	}
	replay.Flags().String("actor", "", "who replays it, for the record (default cli:$USER)")
	storageFlags(replay)
	cmd.AddCommand(list, replay)
	return cmd
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func newLoadgenCmd() *cobra.Command {
	p := &loadgen.Params{}
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Drive a running server with events and report throughput and latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p.Progress = cmd.ErrOrStderr()
			res, err := loadgen.Run(cmd.Context(), p)
			if res != nil {
				res.WriteSummary(cmd.OutOrStdout())
			}
			return err
		},
	}
	cmd.Flags().StringVar(&p.URL, "url", "http://127.0.0.1:8080", "base URL of the server")
	cmd.Flags().StringVar(&p.Key, "key", os.Getenv("WAYBILL_KEY"), "API key with events:write (default $WAYBILL_KEY)")
	cmd.Flags().IntVar(&p.Clients, "clients", 64, "concurrent connections")
	cmd.Flags().IntVar(&p.Events, "events", 100000, "events to send")
	cmd.Flags().IntVar(&p.Batch, "batch", 1, "events per request (1 = single-event requests)")
	cmd.Flags().StringVar(&p.Mix, "mix", "planned", "planned (each event a new shipment) or lifecycle (planned then reserved)")
	cmd.Flags().DurationVar(&p.Duration, "duration", 0, "stop after this long (0 = when all events are sent)")
	return cmd
}
