package sqldb_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func TestCheckEnvironment(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		if err := db.CheckEnvironment(ctx, ""); err != nil {
			t.Fatalf("no environment on a database of none: %v", err)
		}
		if err := db.CheckEnvironment(ctx, "prod"); err != nil {
			t.Fatalf("the first environment: %v", err)
		}
		if err := db.CheckEnvironment(ctx, "prod"); err != nil {
			t.Fatalf("the same environment again: %v", err)
		}
		err := db.CheckEnvironment(ctx, "test")
		if !errors.Is(err, sqldb.ErrEnvironment) || !strings.Contains(err.Error(), `belongs to environment "prod", and this configuration is for "test"`) {
			t.Errorf("another environment: got %v", err)
		}
		err = db.CheckEnvironment(ctx, "")
		if !errors.Is(err, sqldb.ErrEnvironment) || !strings.Contains(err.Error(), "set server.environment: prod") {
			t.Errorf("no environment on a prod database: got %v", err)
		}
	})
}
