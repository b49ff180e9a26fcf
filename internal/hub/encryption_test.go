package hub_test

import (
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
)

// pgKEK is the key-encryption key of hub tests on PostgreSQL, which needs
// one configured (SQLite creates its own in the data directory).
var pgKEK = config.Secret(seal.FormatKEK(seal.NewKey()))

// testKEK is the encryption.key of a hub test on opts' engine: pgKEK on
// PostgreSQL, none on SQLite.
func testKEK(opts sqldb.Options) config.Secret {
	if opts.DatabaseURL != "" {
		return pgKEK
	}
	return ""
}
