package archive_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/archive"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// benchEvents is how many events BenchmarkArchive moves:
// $WAYBILL_BENCH_ARCHIVE_EVENTS, 100,000 by default.
func benchEvents(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("WAYBILL_BENCH_ARCHIVE_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("WAYBILL_BENCH_ARCHIVE_EVENTS=%q: want a positive number", s)
		}
		n = v
	}
	return n
}

// BenchmarkArchive archives N final events spread over ten days (SQLite
// with synchronous=FULL as shipped, and PostgreSQL when
// WAYBILL_TEST_POSTGRES_URL is set), then restores every day. It reports
// the rows per second of each and the archive's bytes per event. N is
// $WAYBILL_BENCH_ARCHIVE_EVENTS (100,000 by default). Run:
//
//	WAYBILL_BENCH_ARCHIVE_EVENTS=1000000 go test ./internal/archive -run '^$' -bench Archive -benchtime 1x -timeout 30m
func BenchmarkArchive(b *testing.B) {
	n := benchEvents(b)
	run := func(b *testing.B, opts sqldb.Options) {
		for range b.N {
			b.StopTimer()
			db, err := sqldb.Open(b.Context(), opts)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Migrate(b.Context(), slog.New(slog.DiscardHandler)); err != nil {
				b.Fatal(err)
			}
			start := time.Now().Add(-110 * 24 * time.Hour)
			fillEvents(b, db, n, start)
			dir := filepath.Join(b.TempDir(), "archive")
			a, err := archive.New(archive.Options{DB: db, Dir: dir, Retention: 90 * 24 * time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			rep, err := a.Once(b.Context())
			archiving := time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if got := rep.Rows[archive.KindEvents]; got != int64(n) {
				b.Fatalf("archived %d events, want %d", got, n)
			}
			var bytes int64
			for _, f := range rep.Files {
				bytes += f.Bytes
			}
			files, err := archive.List(dir, archive.Filter{Kind: archive.KindEvents})
			if err != nil {
				b.Fatal(err)
			}
			t0 = time.Now()
			var restored int64
			for _, f := range files {
				day, _ := time.Parse(time.DateOnly, f.Day)
				r, err := archive.Restore(b.Context(), db, dir, archive.KindEvents, day, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				restored += r.Rows
			}
			restoring := time.Since(t0)
			b.StopTimer()
			if restored != int64(n) {
				b.Fatalf("restored %d events, want %d", restored, n)
			}
			b.ReportMetric(float64(n)/archiving.Seconds(), "archived-events/s")
			b.ReportMetric(float64(n)/restoring.Seconds(), "restored-events/s")
			b.ReportMetric(float64(bytes)/float64(n), "archive-bytes/event")
			b.ReportMetric(0, "ns/op")
			db.Close()
		}
	}
	b.Run(fmt.Sprintf("sqlite/%d", n), func(b *testing.B) {
		run(b, sqldb.Options{DataDir: b.TempDir(), Synchronous: "full"})
	})
	if os.Getenv(sqldbtest.PostgresURLEnv) != "" {
		b.Run(fmt.Sprintf("postgres/%d", n), func(b *testing.B) {
			run(b, sqldb.Options{DatabaseURL: sqldbtest.PostgresSchemaURL(b), MaxConns: 8})
		})
	}
}

// fillEvents stores n applied events accepted over ten days from start,
// as intake would have (a sealed-sized body each), and one newer event,
// which stays.
func fillEvents(b *testing.B, db *sqldb.DB, n int, start time.Time) {
	b.Helper()
	const chunk = 1000
	ins := db.Dialect.NewInsert(`INSERT INTO events (id, source, source_id, type, subject, occurred_at, occurred_offset, accepted_at, correlation_id, payload_hash, body, shipment_id, state)`,
		[]string{"text", "text", "text", "text", "text", "bigint", "integer", "bigint", "text", "text", "text", "text", "text"}, "")
	// A sealed body: random to the compressor, as ciphertext is.
	raw := make([]byte, 160)
	step := int64(10*24*time.Hour/time.Microsecond) / int64(n)
	for from := 0; from <= n; from += chunk {
		to := min(from+chunk, n+1)
		args := make([]any, 0, (to-from)*ins.Columns())
		for i := from; i < to; i++ {
			at := start.UnixMicro() + int64(i)*step
			if i == n {
				at = time.Now().UnixMicro()
			}
			rand.Read(raw)
			id := strconv.Itoa(i)
			args = append(args, "ev-"+id, "tms", id, "shipment.planned", "tms:S"+id, at, 0, at, "corr-"+id, "h-"+id,
				"v1.00000000000000a1."+base64.RawURLEncoding.EncodeToString(raw), "S"+id, "accepted")
		}
		q, args := ins.Statement(args)
		if _, err := db.ExecContext(b.Context(), q, args...); err != nil {
			b.Fatal(err)
		}
	}
}
