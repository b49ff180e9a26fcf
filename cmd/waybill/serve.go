package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel"

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
			odooVersion, _ := cmd.Flags().GetInt("sandbox-odoo-version")
			if cmd.Flags().Changed("sandbox-odoo-version") && !sandbox {
				return fmt.Errorf("--sandbox-odoo-version needs --sandbox")
			}
			if odooVersion < 16 || odooVersion > 19 {
				return fmt.Errorf("--sandbox-odoo-version %d: the simulator speaks Odoo 16 to 19", odooVersion)
			}
			return serve(cmd.Context(), cfg, sandbox, odooVersion)
		},
	}
	cmd.Flags().String("addr", "", "listen address (default 127.0.0.1:8080)")
	cmd.Flags().Bool("sandbox", false, "run as a local sandbox: embedded SQLite, simulated Odoo and TMS, and a ready-made API key")
	cmd.Flags().Int("sandbox-odoo-version", 18, "Odoo version the sandbox's simulator behaves as (16 to 19)")
	storageFlags(cmd)
	return cmd
}

func serve(ctx context.Context, cfg config.Config, sandbox bool, odooVersion int) error {
	logger := newLogger(cfg, os.Stderr)
	// Spans that cannot be exported are reported once per failure through
	// OpenTelemetry's error handler, the one piece of its global state
	// Waybill sets: they are logged, never fatal.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("exporting traces", slog.Any("err", err))
	}))
	if !sandbox {
		h, err := hub.New(ctx, cfg, hub.Options{Logger: logger, Version: moduleVersion()})
		if err != nil {
			return err
		}
		return h.Run(ctx)
	}
	sb, err := startSandbox(ctx, &cfg, odooVersion, logger)
	if err != nil {
		return err
	}
	defer sb.Close()
	h, err := hub.New(ctx, cfg, hub.Options{Logger: logger, Version: moduleVersion(), Claimed: sb.claim()})
	if err != nil {
		return err
	}
	if err := sb.attach(ctx, h, cfg, logger); err != nil {
		h.Close()
		return err
	}
	return h.Run(ctx)
}
