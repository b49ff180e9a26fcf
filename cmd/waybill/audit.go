package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/hub"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "List and verify the audit trail of decisions and changes"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the whole audit trail: hashes, links, gaps and signatures; prints the head hash to keep elsewhere",
		Long: "Walks the audit trail from its first entry: each entry's hash must match its content, its prev_hash the\n" +
			"entry before, its seq follow without a gap, and its signature verify with the key file's keys. Prints\n" +
			"\"ok: N entries, last seq S, head hash H\", or names the first bad entry and exits 1. Keep the head hash\n" +
			"somewhere the database's users cannot write, and pass it back with --anchor S:H: entries removed from\n" +
			"the end are caught only that way.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var anchors []audit.Anchor
			flags, _ := cmd.Flags().GetStringArray("anchor")
			for _, f := range flags {
				a, err := audit.ParseAnchor(f)
				if err != nil {
					return err
				}
				anchors = append(anchors, a)
			}
			db, cfg, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			path, _ := cmd.Flags().GetString("key")
			if path == "" {
				path = audit.KeyOptions{File: cfg.Audit.SigningKeyFile, DataDir: cfg.Storage.DataDir}.Path()
			}
			if path == "" {
				return errors.New("no signing key file to verify with: set audit.signing_key_file or pass --key")
			}
			kf, err := audit.ReadKeyFile(path)
			if err != nil {
				return err
			}
			rep, err := audit.NewStore(db, nil, nil).Verify(cmd.Context(), kf.Ring, anchors...)
			var broken *audit.BrokenError
			if errors.As(err, &broken) {
				fmt.Fprintln(cmd.ErrOrStderr(), "audit trail broken: "+broken.Error())
				return exitError(1)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), rep.String())
			return nil
		},
	}
	verify.Flags().StringArray("anchor", nil, "SEQ:HASH recorded earlier (a head hash); the entry must still be there with that hash (repeatable)")
	verify.Flags().String("key", "", "key file to verify with (default audit.signing_key_file, else audit-signing.key in the data directory); public keys suffice")
	storageFlags(verify)

	list := &cobra.Command{
		Use:   "list",
		Short: "List audit entries, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			p := audit.ListParams{Limit: 500}
			p.Action, _ = f.GetString("action")
			p.Actor, _ = f.GetString("actor")
			limit, _ := f.GetInt("limit")
			if limit < 1 {
				return fmt.Errorf("--limit %d: want at least 1", limit)
			}
			if since, _ := f.GetString("since"); since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return fmt.Errorf("--since %q: want an RFC 3339 time, such as 2026-12-01T00:00:00Z", since)
				}
				p.Since = t
			}
			asJSON, _ := f.GetBool("json")
			db, _, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			store := audit.NewStore(db, nil, nil)
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if !asJSON {
				fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tSUBJECT\tDETAILS")
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for n := 0; n < limit; {
				p.Limit = min(500, limit-n)
				page, next, err := store.List(cmd.Context(), p)
				if err != nil {
					return err
				}
				for _, e := range page {
					if asJSON {
						if err := enc.Encode(e); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339), e.Actor, e.Action, orNone(e.Subject), firstLine(string(e.Details), 100))
				}
				n += len(page)
				if next == "" {
					break
				}
				p.Cursor = next
			}
			return tw.Flush()
		},
	}
	list.Flags().String("action", "", "only this action, such as key.created; ending in a dot (key.) for every action with that prefix")
	list.Flags().String("actor", "", "only this actor, such as key:ops or cli:alice")
	list.Flags().String("since", "", "only entries at or after this time (RFC 3339)")
	list.Flags().Int("limit", 100, "at most this many entries")
	list.Flags().Bool("json", false, "print one JSON object per line")
	storageFlags(list)
	cmd.AddCommand(verify, list)
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// recordAudit appends what a command did to the audit trail of its
// database, as commandActor. Call it once the action is done.
func recordAudit(cmd *cobra.Command, action, subject string, details any) error {
	db, cfg, err := commandDB(cmd)
	if err != nil {
		return fmt.Errorf("recording %s in the audit trail: %w", action, err)
	}
	defer db.Close()
	store, err := hub.OpenAudit(cmd.Context(), cfg, db, quietLogger())
	if err != nil {
		return fmt.Errorf("recording %s in the audit trail: %w", action, err)
	}
	if _, err := store.Append(cmd.Context(), audit.Record{Actor: commandActor(cmd), Action: action, Subject: subject, Details: details}); err != nil {
		return fmt.Errorf("recording %s in the audit trail: %w", action, err)
	}
	return nil
}
