package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/odoosim"
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
	cmd.Flags().Bool("sandbox", false, "run as a local sandbox: embedded SQLite, a built-in Odoo simulator and a ready-made API key")
	cmd.Flags().Int("sandbox-odoo-version", 18, "Odoo version the sandbox's simulator behaves as (16 to 19)")
	storageFlags(cmd)
	return cmd
}

func serve(ctx context.Context, cfg config.Config, sandbox bool, odooVersion int) error {
	logger := newLogger(cfg, os.Stderr)
	if sandbox {
		if cfg.Storage.DatabaseURL != "" {
			return fmt.Errorf("--sandbox runs on the embedded SQLite database: drop --database")
		}
		sim, err := startSandboxOdoo(ctx, &cfg, odooVersion, logger)
		if err != nil {
			return err
		}
		defer sim.Close()
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

// startSandboxOdoo starts the Odoo simulator on a loopback port, points the
// Odoo connector at it and gives it a few confirmed sale orders to ship.
// The simulator keeps its records in memory: they start afresh with every
// run, while the hub's own database persists in the data directory.
func startSandboxOdoo(ctx context.Context, cfg *config.Config, odooVersion int, logger *slog.Logger) (*odoosim.Server, error) {
	srv, err := odoosim.Start(odoosim.Options{Version: odooVersion, Logger: logger.With(slog.String("component", "odoosim"))})
	if err != nil {
		return nil, fmt.Errorf("starting the sandbox Odoo: %w", err)
	}
	sim := srv.Sim()
	oc := &cfg.Connectors.Odoo
	if oc.URL != "" {
		logger.WarnContext(ctx, "sandbox mode: connectors.odoo is replaced by the built-in simulator", slog.String("configured_url", oc.URL))
	}
	oc.URL, oc.Database, oc.Login, oc.APIKey, oc.APIKeyFile = srv.URL(), sim.Database(), sim.Login(), config.Secret(sim.APIKey()), ""
	oc.Version, oc.Protocol = 0, ""
	// The walkthrough plans its own shipment for a seeded order; polling
	// would plan the same picking a second time under another id.
	oc.PollInterval = 0
	if cfg.Connectors.Webhook.URL != "" {
		// The simulator takes the Odoo actions; the webhook keeps the rest.
		cfg.Connectors.Webhook.Actions = slices.DeleteFunc(slices.Clone(cfg.Connectors.Webhook.Actions), func(a string) bool {
			return slices.Contains(oc.Actions, a)
		})
	}
	orders, err := seedSandboxOrders(ctx, srv)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("seeding the sandbox Odoo: %w", err)
	}
	logger.WarnContext(ctx, "sandbox mode: local SQLite, a ready-made admin key and a simulated Odoo (in memory, reset at every start); not for production",
		slog.String("odoo_url", srv.URL()), slog.Int("odoo_version", sim.Version()), slog.String("odoo_database", sim.Database()),
		slog.String("odoo_login", sim.Login()), slog.String("odoo_api_key", sim.APIKey()), slog.String("sale_orders", strings.Join(orders, ", ")))
	return srv, nil
}

// seedSandboxOrders confirms sale orders in the simulator, so a newcomer has
// deliveries to plan, load and invoice. It returns them as
// "S00001 (WH/OUT/00001: 5 E-COM07, 2 FURN_7800)".
func seedSandboxOrders(ctx context.Context, srv *odoosim.Server) ([]string, error) {
	sim := srv.Sim()
	cl, err := odoo.New(ctx, odoo.Config{URL: srv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey()})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	demo := sim.Demo()
	type line struct {
		sku string
		qty float64
	}
	plans := [][]line{
		{{"E-COM07", 5}, {"FURN_7800", 2}},
		{{"DESK0005", 3}},
		{{"FURN_0096", 4}, {"E-COM10", 6}},
	}
	var out []string
	for i, plan := range plans {
		p := &odoo.SaleOrderParams{PartnerID: demo.Customers[i%len(demo.Customers)], ClientRef: fmt.Sprintf("SANDBOX-%d", i+1), Confirm: true}
		var desc []string
		for _, l := range plan {
			p.Lines = append(p.Lines, odoo.SaleLine{ProductID: demo.Products[l.sku], Quantity: l.qty})
			desc = append(desc, fmt.Sprintf("%g %s", l.qty, l.sku))
		}
		so, err := cl.EnsureSaleOrder(ctx, p)
		if err != nil {
			return nil, err
		}
		var pickings []string
		for _, id := range so.PickingIDs {
			pk, err := cl.Picking(ctx, id)
			if err != nil {
				return nil, err
			}
			pickings = append(pickings, pk.Name)
		}
		out = append(out, fmt.Sprintf("%s (%s: %s)", so.Name, strings.Join(pickings, ", "), strings.Join(desc, ", ")))
	}
	return out, nil
}
