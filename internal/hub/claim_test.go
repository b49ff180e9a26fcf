package hub_test

import (
	"errors"
	"testing"
	"time"

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
