package sqldb_test

import (
	"testing"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func TestStart(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		for _, tc := range []struct {
			scope, key string
			first      bool
		}{
			{"odoo.invoice", "WB-1", true},
			{"odoo.invoice", "WB-1", false},
			{"odoo.invoice", "WB-2", true},
			{"other", "WB-1", true},
			{"odoo.invoice", "WB-2", false},
		} {
			first, err := db.Start(t.Context(), tc.scope, tc.key)
			if err != nil {
				t.Fatalf("Start(%s, %s): %v", tc.scope, tc.key, err)
			}
			if first != tc.first {
				t.Errorf("Start(%s, %s) = %t, want %t", tc.scope, tc.key, first, tc.first)
			}
		}
	})
}
