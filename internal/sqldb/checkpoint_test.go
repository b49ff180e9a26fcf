package sqldb_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
)

// TestCheckpointBesideWriter writes a few hundred pages, fewer than the
// writer's own checkpoint threshold, and requires them to reach the
// database file anyway: the checkpointer copies the log beside the writer.
// Without it the file would not grow until the last connection closed.
func TestCheckpointBesideWriter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := sqldb.Open(t.Context(), sqldb.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	size := func() int64 {
		st, err := os.Stat(filepath.Join(dir, sqldb.SQLiteFile))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE blobs (b TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	before := size()
	row := strings.Repeat("x", 3000) // about a page each
	for i := range 300 {
		if err := db.InTx(t.Context(), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(context.Background(), "INSERT INTO blobs (b) VALUES (?)", row)
			return err
		}); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	poll.Until(t, "the log copied into the database file", func() bool { return size() >= before+300*3000 })
}
