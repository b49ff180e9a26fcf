package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/relay"
	"github.com/waybill/waybill/internal/sqldb"
)

// relayDataDirDefault is the relay's data directory when --data-dir is
// not given: apart from a hub's ./waybill-data on the same machine.
const relayDataDirDefault = "./waybill-relay-data"

func newRelayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay --upstream URL --key-file FILE",
		Short: "Run a site relay: local intake that keeps working offline and forwards to the hub",
		Long: "Accepts POST /v1/events from the site's devices with the hub's validation and dedupe, stores each event in its\n" +
			"own SQLite database before answering, and forwards them to the hub at --upstream in order, retrying with\n" +
			"back-off through outages. Local clients use the relay's own keys (waybill relay keys create). The hub's\n" +
			"intake limits (intake.* in the configuration) apply locally too. See docs/relay.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			upstream, _ := cmd.Flags().GetString("upstream")
			keyFile, _ := cmd.Flags().GetString("key-file")
			listen, _ := cmd.Flags().GetString("listen")
			batch, _ := cmd.Flags().GetInt("batch")
			minBackoff, _ := cmd.Flags().GetDuration("min-backoff")
			maxBackoff, _ := cmd.Flags().GetDuration("max-backoff")
			timeout, _ := cmd.Flags().GetDuration("timeout")
			maxBacklog, _ := cmd.Flags().GetInt64("max-backlog")
			if batch < 1 || batch > 1000 {
				return fmt.Errorf("--batch %d: from 1 to 1000", batch)
			}
			if minBackoff <= 0 || maxBackoff < minBackoff {
				return fmt.Errorf("--min-backoff %s, --max-backoff %s: both positive, the first not above the second", minBackoff, maxBackoff)
			}
			if maxBacklog < 1 {
				return fmt.Errorf("--max-backlog %d: at least 1", maxBacklog)
			}
			keyFunc := relay.KeyFile(keyFile)
			if _, err := keyFunc(); err != nil {
				return err
			}
			logger := newLogger(cfg, os.Stderr)
			r, err := relay.New(cmd.Context(), relay.Options{
				Database: sqldb.Options{DataDir: relayDataDir(cmd), Synchronous: cfg.Storage.SQLiteSynchronous},
				Listen:   listen,
				Forward: relay.ForwarderOptions{
					Upstream: upstream, KeyFunc: keyFunc, Batch: batch,
					MinBackoff: minBackoff, MaxBackoff: maxBackoff, Timeout: timeout,
				},
				MaxBacklog: maxBacklog, MaxBatch: cfg.Intake.MaxBatchEvents, GroupCommit: cfg.Intake.GroupCommitMax,
				MaxBody:         int64(cfg.Intake.MaxBodyBytes),
				Window:          intake.TimeWindow{Past: cfg.Intake.MaxEventAge, Future: cfg.Intake.MaxEventLead},
				ShutdownTimeout: cfg.Server.ShutdownTimeout,
				Logger:          logger,
			})
			if err != nil {
				return err
			}
			return r.Run(cmd.Context())
		},
	}
	cmd.Flags().String("upstream", "", "the hub's base URL, such as https://hub.example.com")
	cmd.Flags().String("key-file", "", "file holding the hub API key (scope events:write) the relay forwards with; read again before each request")
	cmd.Flags().String("listen", relay.ListenDefault, "address local clients post to")
	cmd.Flags().Int("batch", relay.BatchDefault, "most events forwarded in one request (1 to 1000)")
	cmd.Flags().Duration("min-backoff", relay.MinBackoffDefault, "first wait before retrying the hub; doubles with each failure in a row")
	cmd.Flags().Duration("max-backoff", relay.MaxBackoffDefault, "longest wait before retrying the hub")
	cmd.Flags().Duration("timeout", relay.TimeoutDefault, "deadline of each request to the hub")
	cmd.Flags().Int64("max-backlog", relay.MaxBacklogDefault, "events waiting for the hub above which local clients get 429")
	_ = cmd.MarkFlagRequired("upstream")
	_ = cmd.MarkFlagRequired("key-file")
	relayDataFlag(cmd)
	cmd.AddCommand(newRelayStatusCmd(), newRelayKeysCmd())
	return cmd
}

func relayDataFlag(cmd *cobra.Command) {
	cmd.Flags().String("data-dir", relayDataDirDefault, "the relay's data directory (its SQLite database)")
}

func relayDataDir(cmd *cobra.Command) string {
	dir, _ := cmd.Flags().GetString("data-dir")
	return dir
}

// openRelayDB opens a relay's database for a command; migrate is for
// commands that write to it.
func openRelayDB(cmd *cobra.Command, migrate bool) (*sqldb.DB, error) {
	dir := relayDataDir(cmd)
	if !migrate {
		if _, err := os.Stat(filepath.Join(dir, sqldb.SQLiteFile)); err != nil {
			return nil, fmt.Errorf("no relay database in %s: start the relay there first, or give --data-dir", dir)
		}
	}
	db, err := sqldb.Open(cmd.Context(), sqldb.Options{DataDir: dir})
	if err != nil {
		return nil, err
	}
	if migrate {
		if _, err := db.Migrate(cmd.Context(), quietLogger()); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

func newRelayStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a relay's backlog, forwarding state and dead letters",
		Long: "Reads the relay's database (--data-dir) for its queue and dead letters, and asks the running relay\n" +
			"(GET /v1/relay/status at --listen) for its forwarding state. Exits 1 when events are waiting and the\n" +
			"relay is not running, or cannot forward (the hub refuses its key).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, _ := cmd.Flags().GetBool("json")
			listen, _ := cmd.Flags().GetString("listen")
			n, _ := cmd.Flags().GetInt("dead-letters")
			db, err := openRelayDB(cmd, false)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := relay.ReadStatus(cmd.Context(), intake.NewStore(db, &intake.Backlog{}), max(n, 0))
			if err != nil {
				return err
			}
			liveErr := relay.FetchLive(cmd.Context(), "http://"+listen, st)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				writeRelayStatus(cmd.OutOrStdout(), st, liveErr)
			}
			if (st.Backlog > 0 && !st.Running) || st.State == relay.StateUnauthorized {
				return exitError(1)
			}
			return nil
		},
	}
	relayDataFlag(cmd)
	cmd.Flags().String("listen", relay.ListenDefault, "address of the running relay")
	cmd.Flags().Bool("json", false, "print the status as JSON")
	cmd.Flags().Int("dead-letters", 20, "how many of the latest dead letters to list")
	return cmd
}

func writeRelayStatus(w io.Writer, st *relay.Status, liveErr error) {
	at := func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format(time.RFC3339) + " (" + time.Since(*t).Round(time.Second).String() + " ago)"
	}
	if st.Running {
		fmt.Fprintf(w, "relay:      running, forwarding to %s\n", st.Upstream)
		up := "up"
		if !st.UpstreamUp {
			up = "down"
		}
		fmt.Fprintf(w, "state:      %s (hub %s)\n", st.State, up)
		if st.LastError != "" {
			fmt.Fprintf(w, "last error: %s\n", st.LastError)
		}
		fmt.Fprintf(w, "last hub answer: %s\n", at(st.LastSuccess))
	} else {
		fmt.Fprintf(w, "relay:      not running (%s)\n", oneLine(liveErr))
	}
	oldest := ""
	if st.OldestPending != nil {
		oldest = ", oldest accepted " + at(st.OldestPending)
	}
	fmt.Fprintf(w, "backlog:    %d%s\n", st.Backlog, oldest)
	fmt.Fprintf(w, "forwarded:  %d, last %s\n", st.Forwarded, at(st.LastForwarded))
	fmt.Fprintf(w, "rejected:   %d\n", st.Rejected)
	if len(st.DeadLetters) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "REJECTED\tSOURCE\tID\tTYPE\tSUBJECT\tREASON")
		for _, d := range st.DeadLetters {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.RejectedAt.UTC().Format(time.RFC3339), d.Source, d.SourceID, d.Type, d.Subject, d.Reason)
		}
		tw.Flush()
	}
}

func newRelayKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the API keys local clients use with a relay"}
	create := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a relay key (scope events:write); the key is printed once, as the last line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, _ := cmd.Flags().GetString("name")
			db, err := openRelayDB(cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			secret, key, err := apikey.NewStore(db).Create(cmd.Context(), name, []apikey.Scope{apikey.EventsWrite})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created relay key %s (%s) with scope %s\n", key.ID, key.Name, apikey.EventsWrite)
			fmt.Fprintln(out, "store it now: it cannot be shown again")
			fmt.Fprintln(out, secret)
			return nil
		},
	}
	create.Flags().String("name", "", "name of the key (which device or tool uses it)")
	_ = create.MarkFlagRequired("name")
	relayDataFlag(create)
	list := &cobra.Command{
		Use:   "list",
		Short: "List relay keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openRelayDB(cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			all, err := apikey.NewStore(db).List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
			for _, k := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.CreatedAt.Format(time.RFC3339), keyTime(k.LastUsedAt, "never"), keyTime(k.RevokedAt, "-"))
			}
			return tw.Flush()
		},
	}
	relayDataFlag(list)
	revoke := &cobra.Command{
		Use:   "revoke ID|NAME",
		Short: "Revoke a relay key; a running relay refuses it within seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := openRelayDB(cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			k, err := apikey.NewStore(db).Revoke(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked relay key %s (%s)\n", k.ID, k.Name)
			return nil
		},
	}
	relayDataFlag(revoke)
	cmd.AddCommand(create, list, revoke)
	return cmd
}
