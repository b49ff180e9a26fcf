package hub_test

import (
	"errors"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestOneServePerDatabase starts a second hub on the database of a running
// one. On SQLite it must refuse to start rather than process events a
// second time. On PostgreSQL it starts as a second replica, which leaves
// applying events to the first while the first holds the lease.
func TestOneServePerDatabase(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		first := setup(t, opts, nil) // running until the test ends
		cfg := config.Default()
		cfg.Server.Addr = "127.0.0.1:0"
		cfg.Storage.DatabaseURL = config.Secret(opts.DatabaseURL)
		cfg.Storage.DataDir = opts.DataDir
		cfg.Encryption.Key = testKEK(opts)
		cfg.Jobs.SoftStopTimeout = time.Second
		h, err := hub.New(t.Context(), cfg, hub.Options{})
		if opts.DatabaseURL == "" {
			if err == nil {
				h.Close()
				t.Fatal("a second hub started on the same SQLite database")
			}
			if !errors.Is(err, sqldb.ErrInUse) {
				t.Fatalf("second hub: got %v, want ErrInUse", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("second replica: %v", err)
		}
		defer h.Close()
		if h.Replica() == first.hub.Replica() {
			t.Errorf("both replicas are %s", h.Replica())
		}
		poll.Until(t, "the first replica to hold the lease", first.hub.LeaseHeld)
		if h.LeaseHeld() {
			t.Error("the second replica holds the lease too")
		}
	})
}

// TestEnvironmentSeparation starts a prod hub, then a test configuration
// on the same database: it refuses to start, and the prod hub accepts only
// prod keys.
func TestEnvironmentSeparation(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		cfg := config.Default()
		cfg.Server.Addr = "127.0.0.1:0"
		cfg.Storage.DatabaseURL = config.Secret(opts.DatabaseURL)
		cfg.Storage.DataDir = opts.DataDir
		cfg.Encryption.Key = testKEK(opts)
		cfg.Jobs.SoftStopTimeout = time.Second
		cfg.Server.Environment = "prod"
		h, err := hub.New(t.Context(), cfg, hub.Options{})
		if err != nil {
			t.Fatal(err)
		}
		prodKey, k, err := h.Keys.Create(t.Context(), "prod-client", []apikey.Scope{apikey.EventsWrite})
		if err != nil || k.Label != "prod" {
			t.Fatalf("a key of the prod hub: label %q, %v; want prod", k.Label, err)
		}
		testKey, _, err := h.Keys.CreateWith(t.Context(), &apikey.CreateParams{Name: "test-client", Scopes: []apikey.Scope{apikey.EventsWrite}, Label: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Keys.Verify(t.Context(), prodKey); err != nil {
			t.Errorf("prod key on the prod hub: %v", err)
		}
		if _, err := h.Keys.Verify(t.Context(), testKey); !errors.Is(err, apikey.ErrUnknown) {
			t.Errorf("test key on the prod hub: got %v, want ErrUnknown", err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		cfg.Server.Environment = "test"
		h, err = hub.New(t.Context(), cfg, hub.Options{})
		if err == nil {
			h.Close()
			t.Fatal("a test configuration started on the prod database")
		}
		if !errors.Is(err, sqldb.ErrEnvironment) {
			t.Errorf("test configuration on the prod database: got %v, want ErrEnvironment", err)
		}
	})
}
