package sqldb_test

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestPairProbe looks up 1,200 pairs, more than one SQLite statement
// takes, of which every third is stored under the kind asked for and
// every third under another kind: exactly the first are found, with their
// value, on both engines.
func TestPairProbe(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE probe_keys (a TEXT NOT NULL, b TEXT NOT NULL, kind TEXT NOT NULL, v TEXT NOT NULL, PRIMARY KEY (a, kind, b))`); err != nil {
			t.Fatal(err)
		}
		in := db.Dialect.NewInsert(`INSERT INTO probe_keys (a, b, kind, v)`, []string{"text", "text", "text", "text"}, "")
		var values []any
		var as, bs []string
		want := map[string]string{}
		for i := range 1200 {
			a, b := fmt.Sprintf("sys-%d", i%7), fmt.Sprintf("id-%d", i)
			as, bs = append(as, a), append(bs, b)
			switch i % 3 {
			case 0:
				values = append(values, a, b, "shipment", fmt.Sprint("v", i))
				want[a+"/"+b] = fmt.Sprint("v", i)
			case 1:
				values = append(values, a, b, "order", "other kind")
			}
		}
		q, args := in.Statement(values)
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
		probe := sqldb.PairProbe{Table: "probe_keys", ColA: "a", ColB: "b", Cols: []string{"v"}, Where: "kind = ?", Args: []any{"shipment"}}
		got := map[string]string{}
		err := probe.Run(ctx, db.Dialect, db.DB, as, bs, func(rows *sql.Rows) error {
			var a, b, v string
			if err := rows.Scan(&a, &b, &v); err != nil {
				return err
			}
			got[a+"/"+b] = v
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("found (-want +got):\n%s", diff)
		}
		if err := probe.Run(ctx, db.Dialect, db.DB, as, bs[:1], nil); err == nil {
			t.Error("uneven keys: got nil error")
		}
	})
}
