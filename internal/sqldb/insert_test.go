package sqldb_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestInsert writes rows with NULLs, numbers and text through Insert on
// both engines and reads them back as written.
func TestInsert(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE insert_probe (id BIGINT PRIMARY KEY, name TEXT NOT NULL, note TEXT, n INTEGER)`); err != nil {
			t.Fatal(err)
		}
		in := db.Dialect.NewInsert(`INSERT INTO insert_probe (id, name, note, n)`, []string{"bigint", "text", "text", "integer"}, ` ON CONFLICT (id) DO NOTHING`)
		type row struct {
			ID   int64
			Name string
			Note *string
			N    *int64
		}
		note, n := "a note", int64(7)
		want := []row{{1, "one", nil, nil}, {2, "two, with 'quotes' and ünïcode", &note, &n}, {3, "", nil, &n}}
		var values []any
		for _, r := range want {
			var nv, nn any
			if r.Note != nil {
				nv = *r.Note
			}
			if r.N != nil {
				nn = int(*r.N)
			}
			values = append(values, r.ID, r.Name, nv, nn)
		}
		q, args := in.Statement(values)
		for i, wantN := range []int64{3, 0} { // the second time, every row conflicts
			res, err := db.ExecContext(ctx, q, args...)
			if err != nil {
				t.Fatalf("insert %d: %v", i+1, err)
			}
			if k, err := res.RowsAffected(); err != nil || k != wantN {
				t.Errorf("insert %d: %d rows, %v; want %d", i+1, k, err, wantN)
			}
		}
		rows, err := db.QueryContext(ctx, `SELECT id, name, note, n FROM insert_probe ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.ID, &r.Name, &r.Note, &r.N); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rows read back (-written +read):\n%s", diff)
		}
	})
}
