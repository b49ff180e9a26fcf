package feeds_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/feeds"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

const src = "/carriers/vdbt"

// clock is the monitor's clock; events get their real accepted time, so
// tests set the clock around time.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type world struct {
	db     *sqldb.DB
	events *intake.Store
	v      *event.Validator
	n      int
}

func newWorld(t *testing.T, db *sqldb.DB) *world {
	v, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return &world{db: db, events: intake.NewStore(db, &intake.Backlog{}), v: v}
}

// out puts a shipment out for delivery.
func (w *world) out(t *testing.T) {
	t.Helper()
	w.n++
	q := w.db.Dialect.Rebind(`INSERT INTO shipments (id, state, blocked_reason, doc, version, created_at, updated_at) VALUES (?, 'in_transit', '', '{}', 1, 0, 0)`)
	if _, err := w.db.ExecContext(t.Context(), q, fmt.Sprintf("0193f0d2-6c1e-7a4b-9f2d-%012d", w.n)); err != nil {
		t.Fatal(err)
	}
}

// pod stores a proof of delivery from source.
func (w *world) pod(t *testing.T, source string) {
	t.Helper()
	w.n++
	raw := fmt.Sprintf(`{"specversion":"1.0","id":"pod-%d","source":%q,"type":"shipment.delivered","subject":"tms:%d","time":"2026-11-26T12:00:00Z",`+
		`"data":{"pod":{"signer":"A","signed_at":"2026-11-26T12:00:00Z","lines":[{"line_id":"1","quantity":{"value":"1","unit":"C62"}}]}}}`, w.n, source, w.n)
	ev, err := intake.Parse([]byte(raw), w.v, intake.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.events.Append(t.Context(), []*intake.Event{ev}); err != nil {
		t.Fatal(err)
	}
}

// monitor watches src with 30 minutes of allowed silence, in operating
// hours from one hour before base to three hours after it.
func monitor(t *testing.T, db *sqldb.DB, c *clock, base time.Time, hoursFrom, hoursTo time.Duration) *feeds.Monitor {
	t.Helper()
	return monitorWith(t, db, c, base, hoursFrom, hoursTo, nil)
}

// monitorWith is monitor with a recovery hook.
func monitorWith(t *testing.T, db *sqldb.DB, c *clock, base time.Time, hoursFrom, hoursTo time.Duration,
	onRecover func(ctx context.Context, source string, from, to time.Time)) *feeds.Monitor {
	t.Helper()
	mins := func(d time.Duration) int {
		x := base.Add(d).UTC()
		return x.Hour()*60 + x.Minute()
	}
	m, err := feeds.New(feeds.Options{DB: db, Sources: []string{src}, MaxSilence: 30 * time.Minute,
		From: mins(hoursFrom), To: mins(hoursTo), Location: time.UTC, RecoveryEvents: 2, Now: c.now, OnRecover: onRecover})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func check(t *testing.T, m *feeds.Monitor, c *clock, at time.Time, wantHeld bool) {
	t.Helper()
	c.t = at
	if err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if held, why := m.Held(src); held != wantHeld {
		t.Fatalf("at %s: held %v (%s), want %v", at.Format(time.TimeOnly), held, why, wantHeld)
	}
}

func TestSilenceHoldsThenRecovers(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db)
		base := time.Now()
		c := &clock{t: base.Add(-40 * time.Minute)}
		type window struct {
			source   string
			from, to time.Time
		}
		var recovered []window
		m := monitorWith(t, db, c, base, -time.Hour, 3*time.Hour, func(_ context.Context, source string, from, to time.Time) {
			recovered = append(recovered, window{source, from, to})
		})
		w.out(t)
		check(t, m, c, base.Add(-40*time.Minute), false)
		check(t, m, c, base.Add(-15*time.Minute), false) // 25 min quiet: allowed
		check(t, m, c, base.Add(-5*time.Minute), true)   // 35 min: silent
		if _, why := m.Held(src); why == "" {
			t.Error("a hold without a reason")
		}
		if st := m.Statuses(); len(st) != 1 || !st[0].Silent {
			t.Errorf("statuses %+v", st)
		}
		w.pod(t, "/carriers/other") // another source does not help
		w.pod(t, src)               // one proof is not a recovery
		check(t, m, c, base.Add(time.Second), true)
		if len(recovered) != 0 {
			t.Fatalf("recovery reported while still silent: %+v", recovered)
		}
		w.pod(t, src)
		check(t, m, c, base.Add(2*time.Second), false)
		// The silence began when the watch started (no proof before it)
		// and ended at the recovery.
		if len(recovered) != 1 || recovered[0].source != src || !recovered[0].from.Equal(base.Add(-40*time.Minute)) || !recovered[0].to.Equal(base.Add(2*time.Second)) {
			t.Errorf("recovery window: got %+v, want %s from %s to %s", recovered, src, base.Add(-40*time.Minute), base.Add(2*time.Second))
		}
	})
}

func TestSilenceOnlyCountsWhileWatched(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		t.Run("nothing out for delivery", func(t *testing.T) {
			w := newWorld(t, db)
			_ = w
			base := time.Now()
			c := &clock{t: base.Add(-2 * time.Hour)}
			m := monitor(t, db, c, base, -3*time.Hour, 3*time.Hour)
			check(t, m, c, base.Add(-2*time.Hour), false)
			check(t, m, c, base, false)
		})
		t.Run("outside operating hours", func(t *testing.T) {
			w := newWorld(t, db)
			w.out(t)
			base := time.Now()
			c := &clock{t: base.Add(-2 * time.Hour)}
			// Hours end 20 minutes before base: the night does not count,
			// and the clock starts again when the hours begin.
			m := monitor(t, db, c, base, -6*time.Hour, -20*time.Minute)
			check(t, m, c, base.Add(-2*time.Hour), false)
			check(t, m, c, base, false)
		})
	})
}
