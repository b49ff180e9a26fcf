// Package feeds watches the proof-of-delivery feeds for silence. A carrier
// app that stops sending proofs of delivery while trucks are out is a
// failure of its own: deliveries go unrecorded, and shipments it delivered
// earlier may have exceptions nobody reported. While a watched source is
// silent, invoicing of the shipments it delivered holds, instead of
// billing blindly; once the feed has sent enough proofs again, the held
// invoices go out by themselves.
//
// A source is silent when, during operating hours and with shipments out
// for delivery (in transit, delayed or arrived), it has sent no proof of
// delivery for longer than the allowed silence. The silence clock starts
// again whenever the watch does not apply (outside the hours, or nothing
// out), so a quiet night does not count. It recovers after a number of
// proofs since the breach, the last one recent (hysteresis).
package feeds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/sqldb"
)

// Options configure a Monitor.
type Options struct {
	DB *sqldb.DB
	// Sources are the event sources watched.
	Sources []string
	// MaxSilence is the longest silence allowed; zero disables the monitor.
	MaxSilence time.Duration
	// From and To are the operating hours in minutes after midnight in
	// Location; To before From spans midnight.
	From, To int
	Location *time.Location
	// RecoveryEvents is how many proofs a silent source must send before
	// it counts as recovered.
	RecoveryEvents int
	// Interval is how often the feeds are checked; zero picks a quarter of
	// MaxSilence, between 1s and 30s.
	Interval time.Duration
	// OnRecover, when set, is called after a silent source recovers, with
	// the window its silence covered: from its last proof of delivery (or
	// when the watch last started) to the recovery. Reconciliation of that
	// window hangs here.
	OnRecover func(ctx context.Context, source string, from, to time.Time)
	// Now is the clock; nil is time.Now.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Status is the state of one watched feed.
type Status struct {
	Source string `json:"source"`
	// Silent reports a breach: invoicing of the source's shipments holds.
	Silent bool `json:"silent"`
	// Since is when the current state began.
	Since time.Time `json:"since"`
	// LastPOD is when the last proof of delivery from the source was
	// accepted; zero when none was.
	LastPOD time.Time `json:"last_pod,omitzero"`
}

type feed struct {
	Status
	clock time.Time // when the silence clock last (re)started
	quiet time.Time // when the current breach's silence began
}

// Monitor watches the feeds. It is safe for concurrent use.
type Monitor struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	mu    sync.Mutex
	feeds map[string]*feed

	silent   *prometheus.GaugeVec
	breaches *prometheus.CounterVec
}

// New returns a Monitor; it checks nothing until Check or Run.
func New(opts Options) (*Monitor, error) {
	if opts.DB == nil || opts.MaxSilence <= 0 || len(opts.Sources) == 0 {
		return nil, errors.New("feeds: a database, sources and a positive silence are required")
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.RecoveryEvents < 1 {
		opts.RecoveryEvents = 1
	}
	if opts.Interval <= 0 {
		opts.Interval = min(max(opts.MaxSilence/4, time.Second), 30*time.Second)
	}
	m := &Monitor{
		opts:  opts,
		log:   opts.Logger,
		now:   opts.Now,
		feeds: make(map[string]*feed),
		silent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "waybill_pod_feed_silent", Help: "1 while a watched proof-of-delivery source is silent and invoicing of its shipments holds.",
		}, []string{"source"}),
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_pod_feed_breaches_total", Help: "Times a watched proof-of-delivery source went silent.",
		}, []string{"source"}),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	start := m.now()
	for _, s := range opts.Sources {
		m.feeds[s] = &feed{Status: Status{Source: s, Since: start}, clock: start}
		m.silent.WithLabelValues(s).Set(0)
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{m.silent, m.breaches} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("registering feed metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Run checks the feeds every Interval until ctx is done.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		if err := m.Check(ctx); err != nil && ctx.Err() == nil {
			m.log.WarnContext(ctx, "checking proof-of-delivery feeds failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Held reports whether invoicing of shipments delivered by source holds,
// and why.
func (m *Monitor) Held(source string) (bool, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.feeds[source]
	if !ok || !f.Silent {
		return false, ""
	}
	return true, fmt.Sprintf("invoicing holds: proof-of-delivery feed %s silent since %s", source, f.Since.UTC().Format(time.RFC3339))
}

// Statuses returns the state of every watched feed, in source order.
func (m *Monitor) Statuses() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.feeds))
	for _, f := range m.feeds {
		out = append(out, f.Status)
	}
	slices.SortFunc(out, func(a, b Status) int {
		if a.Source < b.Source {
			return -1
		}
		if a.Source > b.Source {
			return 1
		}
		return 0
	})
	return out
}

// Check evaluates every feed once.
func (m *Monitor) Check(ctx context.Context) error {
	now := m.now()
	out, err := m.outForDelivery(ctx)
	if err != nil {
		return err
	}
	applies := out > 0 && m.inHours(now)
	for _, src := range m.opts.Sources {
		last, err := m.lastPOD(ctx, src)
		if err != nil {
			return err
		}
		m.mu.Lock()
		f := m.feeds[src]
		f.LastPOD = last
		silent := f.Silent
		since := f.Since
		m.mu.Unlock()
		if !silent {
			m.checkHealthy(ctx, f, now, last, applies)
			continue
		}
		n, newest, err := m.podsSince(ctx, src, since)
		if err != nil {
			return err
		}
		if n >= m.opts.RecoveryEvents && now.Sub(newest) <= m.opts.MaxSilence/2 {
			m.mu.Lock()
			f.Silent, f.Since, f.clock = false, now, now
			quiet := f.quiet
			m.mu.Unlock()
			m.silent.WithLabelValues(src).Set(0)
			m.log.InfoContext(ctx, "proof-of-delivery feed recovered: held invoices go out", slog.String("source", src), slog.Int("pods_since_breach", n))
			if m.opts.OnRecover != nil {
				m.opts.OnRecover(ctx, src, quiet, now)
			}
		}
	}
	return nil
}

func (m *Monitor) checkHealthy(ctx context.Context, f *feed, now, last time.Time, applies bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !applies {
		f.clock = now // a quiet spell outside the watch does not count
		return
	}
	quietSince := f.clock
	if last.After(quietSince) {
		quietSince = last
	}
	if now.Sub(quietSince) <= m.opts.MaxSilence {
		return
	}
	f.Silent, f.Since, f.quiet = true, now, quietSince
	m.silent.WithLabelValues(f.Source).Set(1)
	m.breaches.WithLabelValues(f.Source).Inc()
	m.log.ErrorContext(ctx, "proof-of-delivery feed silent: invoicing of its shipments holds",
		slog.String("source", f.Source), slog.Duration("silent_for", now.Sub(quietSince).Truncate(time.Second)),
		slog.Duration("allowed", m.opts.MaxSilence))
}

func (m *Monitor) inHours(t time.Time) bool {
	lt := t.In(m.opts.Location)
	min := lt.Hour()*60 + lt.Minute()
	from, to := m.opts.From, m.opts.To
	if from < to {
		return min >= from && min < to
	}
	return min >= from || min < to
}

func (m *Monitor) outForDelivery(ctx context.Context) (int, error) {
	var n int
	err := m.opts.DB.Reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM shipments WHERE state IN ('in_transit', 'delayed', 'arrived')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting shipments out for delivery: %w", err)
	}
	return n, nil
}

func (m *Monitor) lastPOD(ctx context.Context, source string) (time.Time, error) {
	var at sql.NullInt64
	q := m.opts.DB.Dialect.Rebind(`SELECT MAX(accepted_at) FROM events WHERE source = ? AND type = 'shipment.delivered'`)
	if err := m.opts.DB.Reader.QueryRowContext(ctx, q, source).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("reading the last proof of delivery of %s: %w", source, err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return time.UnixMicro(at.Int64).UTC(), nil
}

func (m *Monitor) podsSince(ctx context.Context, source string, since time.Time) (int, time.Time, error) {
	var n int
	var at sql.NullInt64
	q := m.opts.DB.Dialect.Rebind(`SELECT COUNT(*), MAX(accepted_at) FROM events WHERE source = ? AND type = 'shipment.delivered' AND accepted_at > ?`)
	if err := m.opts.DB.Reader.QueryRowContext(ctx, q, source, since.UnixMicro()).Scan(&n, &at); err != nil {
		return 0, time.Time{}, fmt.Errorf("counting proofs of delivery of %s: %w", source, err)
	}
	if !at.Valid {
		return 0, time.Time{}, nil
	}
	return n, time.UnixMicro(at.Int64).UTC(), nil
}
