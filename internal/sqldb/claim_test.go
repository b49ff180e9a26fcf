package sqldb_test

import (
	"errors"
	"testing"

	"github.com/waybill/waybill/internal/sqldb"
)

// TestClaimDir claims a data directory before its database is opened: a
// serve on the same directory, opened after, cannot claim it, and can once
// it is released.
func TestClaimDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	release, err := sqldb.ClaimDir(dir)
	if err != nil {
		t.Fatalf("ClaimDir: %v", err)
	}
	if _, err := sqldb.ClaimDir(dir); !errors.Is(err, sqldb.ErrInUse) {
		t.Fatalf("second ClaimDir: got %v, want ErrInUse", err)
	}
	db, err := sqldb.Open(t.Context(), sqldb.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Claim(t.Context()); !errors.Is(err, sqldb.ErrInUse) {
		t.Fatalf("Claim of the database in a claimed directory: got %v, want ErrInUse", err)
	}
	if err := release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	release2, err := db.Claim(t.Context())
	if err != nil {
		t.Fatalf("Claim after the directory's release: %v", err)
	}
	if err := release2(); err != nil {
		t.Fatal(err)
	}
}
