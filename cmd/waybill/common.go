package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/sqldb"
)

// storageFlags adds --data and --database to a command.
func storageFlags(cmd *cobra.Command) {
	cmd.Flags().String("data", "", "data directory of the embedded SQLite database (default ./waybill-data)")
	cmd.Flags().String("database", "", "PostgreSQL URL (postgres://…) to use instead of SQLite")
}

// loadConfig loads the configuration file and environment, then applies the
// command-line flags that override them.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	if path == "" {
		path = os.Getenv(config.EnvConfigFile)
	}
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		return cfg, err
	}
	if f := cmd.Flags().Lookup("data"); f != nil && f.Changed {
		cfg.Storage.DataDir = f.Value.String()
	}
	if f := cmd.Flags().Lookup("database"); f != nil && f.Changed {
		cfg.Storage.DatabaseURL = config.Secret(f.Value.String())
	}
	if f := cmd.Flags().Lookup("addr"); f != nil && f.Changed {
		cfg.Server.Addr = f.Value.String()
	}
	return cfg, cfg.Validate()
}

// openDB opens and migrates the configured database.
// commandDB loads the configuration and opens (and migrates) its database
// for a command that reads or writes it; the caller closes it.
func commandDB(cmd *cobra.Command) (*sqldb.DB, config.Config, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, cfg, err
	}
	db, err := openDB(cmd.Context(), cfg, quietLogger())
	return db, cfg, err
}

// commandActor is who runs a command, for the record: the --actor flag, or
// cli:$USER.
func commandActor(cmd *cobra.Command) string {
	if actor, _ := cmd.Flags().GetString("actor"); actor != "" {
		return actor
	}
	name := os.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = "uid-" + strconv.Itoa(os.Getuid())
	}
	return "cli:" + name
}

func openDB(ctx context.Context, cfg config.Config, logger *slog.Logger) (*sqldb.DB, error) {
	db, err := sqldb.Open(ctx, sqldb.Options{
		DataDir:     cfg.Storage.DataDir,
		DatabaseURL: cfg.Storage.DatabaseURL.Reveal(),
		Synchronous: cfg.Storage.SQLiteSynchronous,
		MaxConns:    cfg.Storage.PostgresMaxConns,
	})
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, logger); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.CheckEnvironment(ctx, cfg.Server.Environment); err != nil {
		db.Close()
		return nil, err
	}
	if err := encryptDB(ctx, db, cfg, logger); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func newLogger(cfg config.Config, w *os.File) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if cfg.Log.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	// Records carry the request's correlation id and, for an authenticated
	// request, its API key (key_id, key_name, key_label).
	return slog.New(correlation.NewHandler(apikey.NewLogHandler(h)))
}

// oneLine renders an error on one line: joined errors are separated by
// "; ".
func oneLine(err error) string {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		var parts []string
		for _, e := range multi.Unwrap() {
			parts = append(parts, oneLine(e))
		}
		return strings.Join(parts, "; ")
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// quietLogger is for short-lived commands: warnings and errors only, on
// stderr.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func openDBNoMigrate(cmd *cobra.Command, cfg config.Config) (*sqldb.DB, error) {
	return sqldb.Open(cmd.Context(), sqldb.Options{
		DataDir:     cfg.Storage.DataDir,
		DatabaseURL: cfg.Storage.DatabaseURL.Reveal(),
		Synchronous: cfg.Storage.SQLiteSynchronous,
		MaxConns:    cfg.Storage.PostgresMaxConns,
	})
}
