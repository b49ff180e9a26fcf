package hub_test

import (
	"errors"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestOneServePerDatabase starts a second hub on the database of a running
// one: it must refuse to start rather than process events a second time.
func TestOneServePerDatabase(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		setup(t, opts, nil) // running until the test ends
		cfg := config.Default()
		cfg.Server.Addr = "127.0.0.1:0"
		cfg.Storage.DatabaseURL = config.Secret(opts.DatabaseURL)
		cfg.Storage.DataDir = opts.DataDir
		cfg.Encryption.Key = testKEK(opts)
		cfg.Jobs.SoftStopTimeout = time.Second
		h, err := hub.New(t.Context(), cfg, hub.Options{})
		if err == nil {
			h.Close()
			t.Fatal("a second hub started on the same database")
		}
		if !errors.Is(err, sqldb.ErrInUse) {
			t.Fatalf("second hub: got %v, want ErrInUse", err)
		}
	})
}
