package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/datakey"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
)

// encryptDB gives db the keyring of cfg's encryption section, so a
// command reads and writes sealed values as the server does.
func encryptDB(ctx context.Context, db *sqldb.DB, cfg config.Config, logger *slog.Logger) error {
	_, err := hub.SetupEncryption(ctx, db, cfg, datakey.ReencryptorOptions{Logger: logger})
	return err
}

// dataKeyCmds are the keys subcommands of encryption at rest.
func dataKeyCmds() []*cobra.Command {
	rotate := &cobra.Command{
		Use:   "rotate-data-key",
		Short: "Start a new data key for encryption at rest; older values stay readable and are re-encrypted in the background",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, cfg, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			w, err := datakey.Wrapper(cmd.Context(), db, hub.EncryptionOptions(cfg, quietLogger()))
			if err != nil {
				return err
			}
			if w == nil {
				return errors.New("encryption is off (encryption.enabled: false): there is no data key to rotate")
			}
			k, err := datakey.Rotate(cmd.Context(), db, w)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "data key %s is current; a running server seals with it within %s and moves older rows to it in the background (see waybill keys data-key-status)\n",
				k.ID, datakey.RefreshIntervalDefault)
			return nil
		},
	}
	storageFlags(rotate)

	status := &cobra.Command{
		Use:   "data-key-status",
		Short: "List the data keys and how many rows of each table are sealed under each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, _, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			keys, tables, err := datakey.Status(cmd.Context(), db, hub.SealedTables(db))
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tCREATED\tKEK\tCURRENT")
			for _, k := range keys {
				cur := "-"
				if k.Current {
					cur = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.CreatedAt.Format(time.RFC3339), k.KEKID, cur)
			}
			fmt.Fprintln(tw, "\nTABLE\tKEY\tROWS\t")
			pending := int64(0)
			for _, t := range tables {
				ids := make([]string, 0, len(t.Rows))
				for id := range t.Rows {
					ids = append(ids, id)
				}
				sort.Strings(ids)
				for _, id := range ids {
					name := id
					if id == "" {
						name = "(plaintext)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t\n", t.Table, name, t.Rows[id])
					if db.Keyring != nil && id != db.Keyring.Current() {
						pending += t.Rows[id]
					}
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if db.Keyring != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "\n%d rows not yet under the current key %s\n", pending, db.Keyring.Current())
			}
			return nil
		},
	}
	storageFlags(status)

	newKEK := &cobra.Command{
		Use:   "new-kek [--out FILE]",
		Short: "Make a key-encryption key for encryption.key_file or WAYBILL_ENCRYPTION_KEY",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, _ := cmd.Flags().GetString("out")
			if out == "" {
				fmt.Fprint(cmd.OutOrStdout(), seal.FormatKEK(seal.NewKey()))
				return nil
			}
			if _, err := seal.CreateKEKFile(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote a key-encryption key to %s (mode 0600): keep it safe, the data is unreadable without it\n", out)
			return nil
		},
	}
	newKEK.Flags().String("out", "", "write the key to this new file (mode 0600) instead of printing it")

	rewrap := &cobra.Command{
		Use:   "rewrap-data-keys --new-key-file FILE",
		Short: "Wrap every data key with another key-encryption key; then restart every process with it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, cfg, err := commandDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			from, err := datakey.Wrapper(cmd.Context(), db, hub.EncryptionOptions(cfg, nil))
			if err != nil {
				return err
			}
			if from == nil {
				return errors.New("encryption is off (encryption.enabled: false): there are no data keys to rewrap")
			}
			path, _ := cmd.Flags().GetString("new-key-file")
			key, err := seal.ReadKEKFile(path)
			if err != nil {
				return err
			}
			to, err := seal.NewLocalKEK(key)
			if err != nil {
				return err
			}
			n, err := datakey.Rewrap(cmd.Context(), db, from, to)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d data keys are wrapped by %s now: set encryption.key_file to %s and restart every process\n", n, to.ID(), path)
			return nil
		},
	}
	rewrap.Flags().String("new-key-file", "", "the new key-encryption key (waybill keys new-kek --out FILE)")
	_ = rewrap.MarkFlagRequired("new-key-file")
	storageFlags(rewrap)
	return []*cobra.Command{rotate, status, newKEK, rewrap}
}
