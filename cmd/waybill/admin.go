package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/loadgen"
	"github.com/waybill/waybill/internal/shipment"
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
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key; the key is printed once, as the last line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, _ := cmd.Flags().GetString("name")
			scopesFlag, _ := cmd.Flags().GetString("scopes")
			scopes, err := apikey.ParseScopes(scopesFlag)
			if err != nil {
				return err
			}
			keys, closeFn, err := keyStore(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			secret, key, err := keys.Create(cmd.Context(), name, scopes)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created key %s (%s) with scopes %s\n", key.ID, key.Name, joinScopes(key.Scopes))
			fmt.Fprintln(out, "store it now: it cannot be shown again")
			fmt.Fprintln(out, secret)
			return nil
		},
	}
	create.Flags().String("name", "", "name of the key (who or what uses it)")
	create.Flags().String("scopes", "", "comma-separated scopes: events:write, shipments:read, admin")
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
			fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
			for _, k := range all {
				revoked := "-"
				if k.RevokedAt != nil {
					revoked = k.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, joinScopes(k.Scopes), k.CreatedAt.Format(time.RFC3339), revoked)
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
			fmt.Fprintf(cmd.OutOrStdout(), "revoked key %s (%s)\n", k.ID, k.Name)
			return nil
		},
	}
	storageFlags(revoke)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func joinScopes(s []apikey.Scope) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ",")
}

func keyStore(cmd *cobra.Command) (*apikey.Store, func(), error) {
	db, _, err := commandDB(cmd)
	if err != nil {
		return nil, nil, err
	}
	return apikey.NewStore(db), func() { db.Close() }, nil
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
			db, cfg, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			conns, err := hub.BuildConnectors(cfg, hub.ConnectorDeps{Shipments: shipment.NewStore(db), Version: version})
			if err != nil {
				return err
			}
			q, err := jobqueue.New(db, conns.Registry, jobqueue.Opts{Logger: quietLogger()})
			if err != nil {
				return err
			}
			actor := commandActor(cmd)
			_, rep, err := q.Replay(cmd.Context(), args[0], actor)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "replayed %s as job %d (replay %s by %s); a running server will work it\n", args[0], rep.JobID, rep.ID, rep.Actor)
			return nil
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
