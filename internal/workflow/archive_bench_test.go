package workflow_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/archive"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// BenchmarkArchivedHistory measures intake and shipment lookups on a
// database with H shipments' history, before and after that history moved
// to the archive, against a fresh database (the baseline) measured in
// alternate rounds with it, so that a machine's changing load falls on
// both alike. Intake is the writer as the committer drives it (groups of
// 1,000 parsed shipment.planned events applied in the transaction that
// stores them, parsing left out); a lookup is a shipment by reference
// and its timeline, among the shipments of the round. The history's
// events are made the way intake makes them, then dated 200 days back;
// the archive runs with a retention of 90 days (on PostgreSQL, statistics
// are taken after the load, as autovacuum would). It reports the medians of
// each phase's events/s and µs per lookup, and their ratios to the
// baseline's (1 is flat). H is $WAYBILL_BENCH_HISTORY (100,000 by
// default). SQLite with synchronous FULL as shipped, and PostgreSQL when
// WAYBILL_TEST_POSTGRES_URL is set. Run:
//
//	WAYBILL_BENCH_HISTORY=1000000 go test ./internal/workflow -run '^$' -bench ArchivedHistory -benchtime 1x -timeout 60m
func BenchmarkArchivedHistory(b *testing.B) {
	history := 100_000
	if s := os.Getenv("WAYBILL_BENCH_HISTORY"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("WAYBILL_BENCH_HISTORY=%q: want a number of at least 1000", s)
		}
		history = v
	}
	const group, groups, lookups, rounds = 1000, 5, 500, 9
	run := func(b *testing.B, open func() sqldb.Options) {
		base := newBenchDB(b, open())
		hist := newBenchDB(b, open())
		ctx := b.Context()
		// phase alternates rounds on the baseline and the history and
		// returns the medians of each one's events/s and µs per lookup.
		phase := func() (baseRate, baseLookup, rate, lookup float64) {
			var br, bl, hr, hl []float64
			for range rounds {
				r, l := base.round(b, groups, lookups)
				br, bl = append(br, r), append(bl, l)
				r, l = hist.round(b, groups, lookups)
				hr, hl = append(hr, r), append(hl, l)
			}
			return median(br), median(bl), median(hr), median(hl)
		}
		b.ResetTimer()
		for range history / group {
			hist.storeEvents(b, hist.parse(b, group))
		}
		if _, err := hist.db.ExecContext(ctx, hist.db.Dialect.Rebind(`UPDATE events SET accepted_at = accepted_at - ?`),
			int64(200*24*time.Hour/time.Microsecond)); err != nil {
			b.Fatal(err)
		}
		// PostgreSQL plans by statistics that autovacuum's analyze keeps a
		// minute or so behind a bulk load; without them, a shipment's
		// timeline is read by a parallel scan of every event. Take them
		// now, as a running server would have them.
		for _, d := range []*benchDB{base, hist} {
			if d.db.Dialect.Engine == sqldb.Postgres {
				if _, err := d.db.ExecContext(ctx, `ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
		}
		hotBaseRate, hotBaseLookup, hotRate, hotLookup := phase()
		a, err := archive.New(archive.Options{DB: hist.db, Dir: filepath.Join(b.TempDir(), "archive"), Retention: 90 * 24 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		rep, err := a.Once(ctx)
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		if got := rep.Rows[archive.KindEvents]; got != int64(history) {
			b.Fatalf("archived %d events, want %d", got, history)
		}
		archBaseRate, archBaseLookup, archRate, archLookup := phase()
		b.StopTimer()
		b.ReportMetric(hotRate/hotBaseRate, "hot-intake-ratio")
		b.ReportMetric(hotLookup/hotBaseLookup, "hot-lookup-ratio")
		b.ReportMetric(archRate, "archived-events/s")
		b.ReportMetric(archBaseRate, "baseline-events/s")
		b.ReportMetric(archLookup, "archived-lookup-µs")
		b.ReportMetric(archBaseLookup, "baseline-lookup-µs")
		b.ReportMetric(archRate/archBaseRate, "archived-intake-ratio")
		b.ReportMetric(archLookup/archBaseLookup, "archived-lookup-ratio")
		b.ReportMetric(float64(history)/took.Seconds(), "archive-events/s")
		b.ReportMetric(0, "ns/op")
	}
	b.Run(fmt.Sprintf("sqlite/%d", history), func(b *testing.B) {
		run(b, func() sqldb.Options { return sqldb.Options{DataDir: b.TempDir(), Synchronous: "full"} })
	})
	if os.Getenv(sqldbtest.PostgresURLEnv) != "" {
		b.Run(fmt.Sprintf("postgres/%d", history), func(b *testing.B) {
			run(b, func() sqldb.Options { return sqldb.Options{DatabaseURL: sqldbtest.PostgresSchemaURL(b), MaxConns: 8} })
		})
	}
}

// benchDB is one database of BenchmarkArchivedHistory and the number of
// events made for it.
type benchDB struct {
	*bundle
	n int
}

func newBenchDB(b *testing.B, opts sqldb.Options) *benchDB {
	db := openBench(b, opts)
	return &benchDB{bundle: setup(b, db, workflow.Options{Logger: slog.New(slog.DiscardHandler)})}
}

// parse makes n shipment.planned events for new shipments.
func (d *benchDB) parse(b *testing.B, n int) []*intake.Event {
	evs := make([]*intake.Event, n)
	for i := range evs {
		d.n++
		raw := ev{id: fmt.Sprintf("e-%d", d.n), typ: "shipment.planned", subject: fmt.Sprintf("tms:S%d", d.n),
			data: planned("Acme Retail", `"order":"SO-`+fmt.Sprint(d.n)+`"`)}.raw(b)
		p, err := d.parser.Parse(raw, intake.Hints{})
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = p
	}
	return evs
}

// storeEvents stores and applies evs, as intake does.
func (d *benchDB) storeEvents(b *testing.B, evs []*intake.Event) {
	res, err := d.events.AppendApply(b.Context(), evs, d.proc.ApplyInTx)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil || r.Duplicate {
			b.Fatalf("storing an event: %+v", r)
		}
	}
}

// round stores groups of 1,000 new events, then looks up shipments among
// them, and returns events/s and µs per lookup.
func (d *benchDB) round(b *testing.B, groups, lookups int) (float64, float64) {
	first := d.n + 1
	var took time.Duration
	for range groups {
		evs := d.parse(b, 1000)
		t0 := time.Now()
		d.storeEvents(b, evs)
		took += time.Since(t0)
	}
	rng := rand.New(rand.NewPCG(1, uint64(first)))
	t0 := time.Now()
	for range lookups {
		sh, err := d.store.Get(b.Context(), fmt.Sprintf("tms:S%d", first+rng.IntN(groups*1000)))
		if err != nil {
			b.Fatal(err)
		}
		tl, err := d.events.Timeline(b.Context(), sh.ID)
		if err != nil || len(tl) != 1 {
			b.Fatalf("timeline of %s: %d events, %v", sh.ID, len(tl), err)
		}
	}
	return float64(groups*1000) / took.Seconds(), float64(time.Since(t0).Microseconds()) / float64(lookups)
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}
