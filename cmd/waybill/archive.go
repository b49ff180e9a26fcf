package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/archive"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
)

func newArchiveCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "archive", Short: "Move old history to the archive, and list, search, restore and verify it (docs/archive.md)"}

	run := &cobra.Command{
		Use:   "run",
		Short: "Archive now: move final events, payloads and audit entries older than archive.retention",
		Long: "Moves rows of UTC days that ended at least archive.retention ago to the archive directory, as serve does\n" +
			"every archive.interval when archive.enabled is set. Safe beside a running serve.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, cfg, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			a, err := archive.New(archive.Options{DB: db, Dir: archiveDir(cmd, cfg), Retention: cfg.Archive.Retention, Logger: quietLogger()})
			if err != nil {
				return err
			}
			rep, err := a.Once(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "archived %d files: %d events, %d payloads, %d audit entries\n", len(rep.Files),
				rep.Rows[archive.KindEvents], rep.Rows[archive.KindPayloads], rep.Rows[archive.KindAudit])
			return nil
		},
	}
	storageFlags(run)
	archiveDirFlag(run)

	list := &cobra.Command{
		Use:   "list",
		Short: "List the archive's files: kind, day, rows, size, and whether the file matches its checksum",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := archiveFilter(cmd)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			files, err := archive.List(archiveDir(cmd, cfg), f)
			if err != nil {
				return err
			}
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				for _, s := range files {
					if err := enc.Encode(struct {
						archive.FileEntry
						ChecksumOK bool `json:"checksum_ok"`
					}{s.FileEntry, s.Err == nil}); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tDAY\tPART\tROWS\tBYTES\tSHA256\tCHECKSUM\tIN DATABASE")
			bad := 0
			for _, s := range files {
				ok := "ok"
				if s.Err != nil {
					ok, bad = "FAILED", bad+1
				}
				inDB := "no"
				if !s.Purged {
					inDB = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Kind, s.Day, s.Part, s.Rows, s.Bytes, s.SHA256[:16], ok, inDB)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if bad > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d files do not match their checksums: run waybill archive verify\n", bad)
				return exitError(1)
			}
			return nil
		},
	}
	filterFlags(list)
	list.Flags().Bool("json", false, "print one JSON object per file")

	search := &cobra.Command{
		Use:   "search",
		Short: "Print the archived rows of a kind that match, as JSON lines",
		Long: "Reads the archive files of --kind in the day range (all days by default) and prints each matching row as\n" +
			"one JSON line. Events match on --id (the event id), --source, --source-id, --correlation and --shipment;\n" +
			"payloads on --id, --source, --correlation and --source-id (an event made from it); audit entries on --id\n" +
			"(the seq or the subject). Bodies print as stored: sealed when encryption is on.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := archiveFilter(cmd)
			if err != nil {
				return err
			}
			if f.Kind == "" {
				return errors.New("--kind is required: events, payloads or audit")
			}
			q := archive.Query{Filter: f}
			fl := cmd.Flags()
			q.ID, _ = fl.GetString("id")
			q.Source, _ = fl.GetString("source")
			q.SourceID, _ = fl.GetString("source-id")
			q.CorrelationID, _ = fl.GetString("correlation")
			q.ShipmentID, _ = fl.GetString("shipment")
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			n := 0
			err = archive.Search(cmd.Context(), archiveDir(cmd, cfg), q, func(r archive.Row) error {
				n++
				return enc.Encode(r)
			})
			if errors.Is(err, archive.ErrNoCriteria) {
				return errors.New("give at least one of --id, --source, --source-id, --correlation or --shipment")
			}
			if err != nil {
				return err
			}
			if n == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no archived rows match")
			}
			return nil
		},
	}
	filterFlags(search)
	search.Flags().String("id", "", "event id, payload id, or audit seq or subject")
	search.Flags().String("source", "", "source")
	search.Flags().String("source-id", "", "the source's event id")
	search.Flags().String("correlation", "", "correlation id")
	search.Flags().String("shipment", "", "shipment id (events)")

	restore := &cobra.Command{
		Use:   "restore",
		Short: "Put a day's archived rows of a kind back into the database",
		Long: "Inserts the rows of every archive file of --kind and --day back into the database; rows already there stay\n" +
			"as they are, so restoring twice changes nothing. The archive keeps the files, and the next archive run moves\n" +
			"the rows out again. Recorded in the audit trail as archive.restored.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kind, _ := cmd.Flags().GetString("kind")
			if kind == "" {
				return errors.New("--kind is required: events, payloads or audit")
			}
			dayText, _ := cmd.Flags().GetString("day")
			day, err := parseDay("--day", dayText)
			if err != nil {
				return err
			}
			if day.IsZero() {
				return errors.New("--day is required, such as 2026-09-01")
			}
			db, cfg, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := archive.Restore(cmd.Context(), db, archiveDir(cmd, cfg), kind, day, time.Now())
			if err != nil {
				return err
			}
			subject := kind + "/" + day.Format(time.DateOnly)
			if err := recordAudit(cmd, audit.ActionArchiveRestored, subject, map[string]any{"files": len(rep.Files), "rows": rep.Rows}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %d rows of %s from %d files; the next archive run moves them out again\n", rep.Rows, subject, len(rep.Files))
			return nil
		},
	}
	storageFlags(restore)
	archiveDirFlag(restore)
	restore.Flags().String("kind", "", "events, payloads or audit")
	restore.Flags().String("day", "", "the UTC day, such as 2026-09-01")
	restore.Flags().String("actor", "", "who restores, for the audit trail (default cli:$USER)")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every archive file against its checksum, and the archived audit chain up to the database's anchor",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			rep, err := archive.Verify(cmd.Context(), db, archiveDir(cmd, cfg), kf.Ring)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "archive broken: "+oneLine(err))
				return exitError(1)
			}
			anchor := "none"
			if rep.Anchor != nil {
				anchor = fmt.Sprintf("seq %d hash %s", rep.Anchor.Seq, rep.Anchor.Hash)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d files, %d archived audit entries, anchor %s\n", rep.Files, rep.AuditEntries, anchor)
			return nil
		},
	}
	storageFlags(verify)
	archiveDirFlag(verify)
	verify.Flags().String("key", "", "key file to verify with (default audit.signing_key_file, else audit-signing.key in the data directory); public keys suffice")

	cmd.AddCommand(run, list, search, restore, verify)
	return cmd
}

func archiveDirFlag(cmd *cobra.Command) {
	cmd.Flags().String("dir", "", "archive directory (default archive.dir, else archive in the data directory)")
}

// filterFlags adds the flags of archiveFilter, the storage flags (for the
// default archive directory; the database is not opened) and --dir.
func filterFlags(cmd *cobra.Command) {
	cmd.Flags().String("kind", "", "events, payloads or audit (default all)")
	cmd.Flags().String("from", "", "first UTC day, such as 2026-09-01")
	cmd.Flags().String("to", "", "last UTC day, such as 2026-09-30")
	storageFlags(cmd)
	archiveDirFlag(cmd)
}

func archiveFilter(cmd *cobra.Command) (archive.Filter, error) {
	var f archive.Filter
	f.Kind, _ = cmd.Flags().GetString("kind")
	switch f.Kind {
	case "", archive.KindEvents, archive.KindPayloads, archive.KindAudit:
	default:
		return f, fmt.Errorf("--kind %q: want events, payloads or audit", f.Kind)
	}
	var err error
	from, _ := cmd.Flags().GetString("from")
	if f.From, err = parseDay("--from", from); err != nil {
		return f, err
	}
	to, _ := cmd.Flags().GetString("to")
	if f.To, err = parseDay("--to", to); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, fmt.Errorf("--to %s is before --from %s", to, from)
	}
	return f, nil
}

// parseDay parses a UTC day; "" is the zero time.
func parseDay(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want a day, such as 2026-09-01", flag, s)
	}
	return t, nil
}

// archiveDir is --dir, else the configured archive directory.
func archiveDir(cmd *cobra.Command, cfg config.Config) string {
	if d, _ := cmd.Flags().GetString("dir"); d != "" {
		return d
	}
	return cfg.Archive.Path(cfg.Storage.DataDir)
}
