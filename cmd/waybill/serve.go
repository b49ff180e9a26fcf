package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hub: HTTP API, event processing and outbound jobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			sandbox, _ := cmd.Flags().GetBool("sandbox")
			return serve(cmd.Context(), cfg, sandbox)
		},
	}
	cmd.Flags().String("addr", "", "listen address (default 127.0.0.1:8080)")
	cmd.Flags().Bool("sandbox", false, "run as a local sandbox: embedded SQLite and a ready-made API key")
	storageFlags(cmd)
	return cmd
}

func serve(ctx context.Context, cfg config.Config, sandbox bool) error {
	logger := newLogger(cfg, os.Stderr)
	if sandbox {
		if cfg.Storage.DatabaseURL != "" {
			return fmt.Errorf("--sandbox runs on the embedded SQLite database: drop --database")
		}
		logger.WarnContext(ctx, "sandbox mode: local SQLite and a ready-made admin key; no Odoo connection is configured in this build")
	}
	h, err := hub.New(ctx, cfg, hub.Opts{Logger: logger, Version: version})
	if err != nil {
		return err
	}
	if sandbox {
		if err := sandboxKey(ctx, h.Keys, cfg, logger); err != nil {
			h.Close()
			return err
		}
	}
	return h.Run(ctx)
}

// sandboxKey makes sure a sandbox has an admin key a newcomer can use: it is
// kept in the data directory and printed at start-up.
func sandboxKey(ctx context.Context, keys *apikey.Store, cfg config.Config, logger *slog.Logger) error {
	if cfg.Storage.DatabaseURL != "" {
		return nil
	}
	path := filepath.Join(cfg.Storage.DataDir, "sandbox.key")
	if b, err := os.ReadFile(path); err == nil {
		key := strings.TrimSpace(string(b))
		if _, err := keys.Verify(ctx, key); err == nil {
			logger.InfoContext(ctx, "sandbox API key (all scopes) read from "+path, slog.String("key", key))
			return nil
		}
	}
	secret, _, err := keys.Create(ctx, "sandbox", []apikey.Scope{apikey.Admin})
	if err != nil {
		return fmt.Errorf("creating the sandbox key: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("saving the sandbox key: %w", err)
	}
	logger.InfoContext(ctx, "sandbox API key (all scopes) created and saved to "+path, slog.String("key", secret))
	return nil
}
