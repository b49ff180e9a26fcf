package hub

import (
	"context"
	"log/slog"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/datakey"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/sqldb"
)

// EncryptionOptions are the key settings of cfg's encryption section, as
// datakey takes them.
func EncryptionOptions(cfg config.Config, logger *slog.Logger) datakey.Options {
	e := cfg.Encryption
	return datakey.Options{Enabled: e.Enabled, KeyFile: e.KeyFile, Key: e.Key.Reveal(), DataDir: cfg.Storage.DataDir, Logger: logger}
}

// SetupEncryption resolves the key-encryption key of cfg's encryption
// section, creates the first data key when there is none, and sets
// db.Keyring (left nil when encryption is off). It returns a Reencryptor
// over every table with sealed values, nil when encryption is off.
// Commands that read or write sealed values call it right after opening
// the database, as New does.
func SetupEncryption(ctx context.Context, db *sqldb.DB, cfg config.Config, opts datakey.ReencryptorOptions) (*datakey.Reencryptor, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w, err := datakey.Setup(ctx, db, EncryptionOptions(cfg, logger))
	if err != nil {
		return nil, err
	}
	if w == nil {
		logger.WarnContext(ctx, "encryption at rest is off (encryption.enabled: false): payloads, events, job arguments "+
			"and dead letters are stored in plaintext; not for production")
		return nil, nil
	}
	logger.InfoContext(ctx, "encryption at rest is on", slog.String("key_id", db.Keyring.Current()), slog.String("kek", w.ID()))
	return datakey.NewReencryptor(db, w, SealedTables(db), opts), nil
}

// SealedTables lists the tables of db that hold sealed values, for
// re-encryption and waybill keys data-key-status.
func SealedTables(db *sqldb.DB) []datakey.Table {
	return []datakey.Table{
		source.NewStore(db),
		intake.NewStore(db, nil),
		jobqueue.NewJobArgs(db),
		jobqueue.NewDeadLetters(db),
	}
}
