package kpi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// Defaults of Options.
const (
	ReleaseDelayDefault  = 30 * time.Minute
	ShortageAgeDefault   = 30 * time.Minute
	UnbilledAfterDefault = 4 * time.Hour
	CacheForDefault      = 15 * time.Second
)

// Age buckets of open exceptions.
const (
	AgeUnder4h  = "0-4h"
	Age4hTo24h  = "4-24h"
	AgeOver24h  = "over-24h"
	bucket4h    = 4 * time.Hour
	bucket24h   = 24 * time.Hour
	latencyOver = 24 * time.Hour
)

// AgeBuckets lists the age buckets of open exceptions, youngest first.
func AgeBuckets() []string { return []string{AgeUnder4h, Age4hTo24h, AgeOver24h} }

// Other is the label of a category, owner role or currency outside the
// bounded set.
const Other = "other"

// Options are the thresholds of the KPIs.
type Options struct {
	// ReleaseDelay is how long a fully reserved shipment may wait for its
	// dispatch release before it counts as delayed. Defaults to 30m.
	ReleaseDelay time.Duration
	// ShortageAge is how long a shortage may last before it counts.
	// Defaults to 30m.
	ShortageAge time.Duration
	// UnbilledAfter is how long after its proof of delivery a delivered
	// shipment may go without an invoice before it counts as unbilled.
	// Defaults to 4h.
	UnbilledAfter time.Duration
	// CacheFor is how long a snapshot is reused. Defaults to 15s.
	CacheFor time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// InventoryCountsFunc returns the differences of the newest inventory
	// check with Odoo by type (reconcile.Reconciler.InventoryCounts), every
	// type included; nil leaves them out of the snapshot.
	InventoryCountsFunc func(ctx context.Context) (map[string]int, error)
}

// InventoryDoneVsLoaded is the inventory difference type counted as
// Mismatches.OdooDoneVsLoaded (reconcile.DoneVsLoaded).
const InventoryDoneVsLoaded = "done_vs_loaded"

// Feeds tells whether invoicing of the shipments a proof-of-delivery source
// delivered holds because the source is silent; *feeds.Monitor is one.
type Feeds interface {
	Held(source string) (bool, string)
}

// KPIs computes the business metrics from a database. Build it with New.
type KPIs struct {
	db    *sqldb.DB
	feeds Feeds
	opts  Options
	q     queries

	computing sync.Mutex // held while a snapshot is computed, so callers share one
	cached    atomic.Pointer[Snapshot]
	running   atomic.Bool // Run keeps the snapshot fresh
}

// New returns the KPIs of db with the thresholds of opts (zero fields take
// their defaults). feeds is the proof-of-delivery silence watch, or nil
// when there is none: then no revenue is held by feed silence.
func New(db *sqldb.DB, opts Options, feeds Feeds) *KPIs {
	if opts.ReleaseDelay <= 0 {
		opts.ReleaseDelay = ReleaseDelayDefault
	}
	if opts.ShortageAge <= 0 {
		opts.ShortageAge = ShortageAgeDefault
	}
	if opts.UnbilledAfter <= 0 {
		opts.UnbilledAfter = UnbilledAfterDefault
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = CacheForDefault
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &KPIs{db: db, feeds: feeds, opts: opts, q: newQueries(db.Dialect)}
}

// Snapshot is every KPI at one moment. It is read-only: snapshots are
// shared between callers while cached.
type Snapshot struct {
	// At is when it was computed.
	At time.Time `json:"at"`
	// ReservedNotReleased counts the shipments fully reserved longer than
	// Options.ReleaseDelay and not released for dispatch.
	ReservedNotReleased Aged `json:"reserved_not_released"`
	// Shortages counts the shipments short for longer than
	// Options.ShortageAge.
	Shortages Aged `json:"shortages"`
	// Unbilled counts the shipments delivered longer than
	// Options.UnbilledAfter ago and not invoiced.
	Unbilled Aged `json:"unbilled"`
	// UnbilledValue is the rated value of the Unbilled shipments, one
	// amount per currency, by currency code.
	UnbilledValue []money.Money `json:"unbilled_value"`
	// Mismatches counts the shipments not yet invoiced whose quantities do
	// not match from one step to the next, and the done pickings of the
	// newest inventory check whose quantities are not the loaded ones.
	Mismatches Mismatches `json:"mismatches"`
	// Inventory is the newest inventory check's differences by type
	// (reconcile.InventoryTypes); nil without Options.InventoryCountsFunc.
	Inventory map[string]int `json:"inventory,omitempty"`
	// OpenExceptions counts the open exceptions by category, owner role
	// and age bucket; only groups with at least one are listed, in
	// category, role and bucket order.
	OpenExceptions []ExceptionGroup `json:"open_exceptions"`
	// Invoices24h is how many shipments were invoiced in the last 24 hours.
	Invoices24h int `json:"invoices_24h"`
	// PODToInvoiceP50 and PODToInvoiceP95 are the nearest-rank percentiles
	// of the time from proof of delivery to invoice over those invoices;
	// zero when there were none.
	PODToInvoiceP50 time.Duration `json:"pod_to_invoice_p50"`
	PODToInvoiceP95 time.Duration `json:"pod_to_invoice_p95"`
	// HeldByReview is the rated value, per currency, of the delivered
	// shipments whose invoice waits for an open review, and
	// HeldByReviewShipments how many they are (with a value or not).
	HeldByReview          []money.Money `json:"held_by_review"`
	HeldByReviewShipments int           `json:"held_by_review_shipments"`
	// HeldByFeedSilence is the rated value, per currency, of the billable
	// shipments whose invoice holds because their proof-of-delivery feed
	// is silent, and HeldByFeedSilenceShipments how many they are.
	HeldByFeedSilence          []money.Money `json:"held_by_feed_silence"`
	HeldByFeedSilenceShipments int           `json:"held_by_feed_silence_shipments"`
}

// Aged is a count of shipments over a threshold and the age of the oldest
// of them; zero when none is.
type Aged struct {
	Count  int           `json:"count"`
	Oldest time.Duration `json:"oldest"`
}

func (a *Aged) add(age time.Duration) {
	a.Count++
	a.Oldest = max(a.Oldest, age)
}

// Mismatches counts shipments with a quantity that changed where it should
// not have.
type Mismatches struct {
	// LoadedVsReserved: some line loaded other than reserved (less is
	// allowed by the workflow, and still worth a look).
	LoadedVsReserved int `json:"loaded_vs_reserved"`
	// DeliveredVsLoaded: some line delivered other than loaded.
	DeliveredVsLoaded int `json:"delivered_vs_loaded"`
	// OdooDoneVsLoaded is the newest inventory check's done_vs_loaded
	// differences: a SKU of a picking done in Odoo with another quantity
	// than Waybill loaded. 0 before the first check.
	OdooDoneVsLoaded int `json:"odoo_done_vs_loaded"`
}

// ExceptionGroup is a number of open exceptions of one category and owner
// role in one age bucket.
type ExceptionGroup struct {
	Category  string `json:"category"`
	OwnerRole string `json:"owner_role"`
	// Age is AgeUnder4h, Age4hTo24h or AgeOver24h.
	Age   string `json:"age"`
	Count int    `json:"count"`
}

// Snapshot returns the KPIs, computed at most Options.CacheFor ago; while
// Run keeps them fresh, at most twice that, so that a view or a scrape
// never waits for a computation Run is about to make.
func (k *KPIs) Snapshot(ctx context.Context) (*Snapshot, error) {
	if s := k.cached.Load(); k.fresh(s, k.opts.Now()) {
		return s, nil
	}
	k.computing.Lock()
	defer k.computing.Unlock()
	now := k.opts.Now()
	if s := k.cached.Load(); k.fresh(s, now) {
		return s, nil // computed while this call waited
	}
	s, err := k.compute(ctx, now)
	if err != nil {
		return nil, err
	}
	k.cached.Store(s)
	return s, nil
}

func (k *KPIs) fresh(s *Snapshot, now time.Time) bool {
	maxAge := k.opts.CacheFor
	if k.running.Load() {
		maxAge *= 2
	}
	return s != nil && !now.Before(s.At) && now.Sub(s.At) < maxAge
}

// Run computes a snapshot every Options.CacheFor until ctx ends, so that
// Snapshot, the /metrics scrape and the console answer from a fresh one
// without reading the database themselves. A failed computation is
// reported to logf (nil: dropped) and tried again at the next tick;
// Snapshot then computes on its own once the last one is too old.
func (k *KPIs) Run(ctx context.Context, logf func(error)) error {
	k.running.Store(true)
	defer k.running.Store(false)
	tick := time.NewTicker(k.opts.CacheFor)
	defer tick.Stop()
	for {
		k.computing.Lock()
		s, err := k.compute(ctx, k.opts.Now())
		if err == nil {
			k.cached.Store(s)
		}
		k.computing.Unlock()
		if err != nil && ctx.Err() == nil && logf != nil {
			logf(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Forget drops the snapshot at hand, so that the next Snapshot computes
// one (for benchmarks and tests).
func (k *KPIs) Forget() { k.cached.Store(nil) }

// compute reads the shipments and works the snapshot out.
func (k *KPIs) compute(ctx context.Context, now time.Time) (*Snapshot, error) {
	s := &Snapshot{At: now}
	var unbilled, review, feed sums
	exceptions := map[ExceptionGroup]int{}
	var latencies []time.Duration
	since := now.Add(-latencyOver)
	err := k.q.open(ctx, k.db.Reader, func(d *doc) error {
		cur := d.current()
		switch cur {
		case shipment.Reserved:
			if age := now.Sub(d.reservedAt()); age > k.opts.ReleaseDelay {
				s.ReservedNotReleased.add(age)
			}
		case shipment.Short:
			if age := now.Sub(d.shortSince()); age > k.opts.ShortageAge {
				s.Shortages.add(age)
			}
		case shipment.Delivered:
			if d.Invoice != nil {
				break
			}
			value := d.ratedValue()
			if age := now.Sub(d.deliveredAt()); age > k.opts.UnbilledAfter {
				s.Unbilled.add(age)
				unbilled.add(value)
			}
			if d.openReview() {
				s.HeldByReviewShipments++
				review.add(value)
			} else if d.Billable && d.POD != nil && k.feeds != nil {
				if held, _ := k.feeds.Held(d.POD.Source); held {
					s.HeldByFeedSilenceShipments++
					feed.add(value)
				}
			}
		}
		if cur == shipment.Loaded || cur == shipment.InTransit || cur == shipment.Delayed || cur == shipment.Arrived || cur == shipment.Delivered {
			loaded, delivered := d.mismatches()
			if loaded {
				s.Mismatches.LoadedVsReserved++
			}
			if delivered {
				s.Mismatches.DeliveredVsLoaded++
			}
		}
		for _, e := range d.Exceptions {
			if e.Status != shipment.ExceptionOpen {
				continue
			}
			exceptions[ExceptionGroup{Category: categoryLabel(e.Category), OwnerRole: roleLabel(e.OwnerRole), Age: AgeBucket(now.Sub(e.OpenedAt))}]++
		}
		// A shipment invoiced and then under an exception is read here,
		// not with the invoiced ones.
		if lat, ok := d.latency(since, now); ok {
			latencies = append(latencies, lat)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = k.q.invoiced(ctx, k.db.Reader, since, func(d *doc) error {
		if lat, ok := d.latency(since, now); ok {
			latencies = append(latencies, lat)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if k.opts.InventoryCountsFunc != nil {
		if s.Inventory, err = k.opts.InventoryCountsFunc(ctx); err != nil {
			return nil, fmt.Errorf("reading the newest inventory check: %w", err)
		}
		s.Mismatches.OdooDoneVsLoaded = s.Inventory[InventoryDoneVsLoaded]
	}
	s.Invoices24h = len(latencies)
	s.PODToInvoiceP50, s.PODToInvoiceP95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
	s.OpenExceptions = groups(exceptions)
	if s.UnbilledValue, err = unbilled.result(); err != nil {
		return nil, err
	}
	if s.HeldByReview, err = review.result(); err != nil {
		return nil, err
	}
	if s.HeldByFeedSilence, err = feed.result(); err != nil {
		return nil, err
	}
	return s, nil
}

// Day is one day of the daily series.
type Day struct {
	// Date is the day's midnight, UTC.
	Date time.Time `json:"date"`
	// Invoices is how many shipments were invoiced that day.
	Invoices int `json:"invoices"`
	// PODToInvoiceP50 and PODToInvoiceP95 are the nearest-rank
	// percentiles of the time from proof of delivery to invoice over that
	// day's invoices; zero when there were none.
	PODToInvoiceP50 time.Duration `json:"pod_to_invoice_p50"`
	PODToInvoiceP95 time.Duration `json:"pod_to_invoice_p95"`
}

// MaxDays is the most days Daily gives.
const MaxDays = 366

// ErrBadDays is returned by Daily for a number of days outside 1..MaxDays.
var ErrBadDays = errors.New("days must be 1 to 366")

// Daily returns the invoices and POD-to-invoice percentiles of each of the
// last days days (UTC), today last; today counts up to now. It is not
// cached.
func (k *KPIs) Daily(ctx context.Context, days int) ([]Day, error) {
	if days < 1 || days > MaxDays {
		return nil, fmt.Errorf("daily KPIs of %d days: %w", days, ErrBadDays)
	}
	now := k.opts.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(days - 1))
	out := make([]Day, days)
	lat := make([][]time.Duration, days)
	for i := range out {
		out[i].Date = first.AddDate(0, 0, i)
	}
	collect := func(d *doc) error {
		if d.Invoice == nil || d.Invoice.At.Before(first) || d.Invoice.At.After(now) {
			return nil
		}
		at := d.Invoice.At.UTC()
		i := int(time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC).Sub(first) / (24 * time.Hour))
		if i < 0 || i >= days {
			return nil
		}
		lat[i] = append(lat[i], d.podToInvoice())
		return nil
	}
	if err := k.q.invoiced(ctx, k.db.Reader, first, collect); err != nil {
		return nil, err
	}
	if err := k.q.underException(ctx, k.db.Reader, collect); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Invoices = len(lat[i])
		out[i].PODToInvoiceP50, out[i].PODToInvoiceP95 = percentile(lat[i], 0.5), percentile(lat[i], 0.95)
	}
	return out, nil
}

// percentile is the nearest-rank q-quantile of ds (sorted in place); zero
// for none.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// AgeBucket is the age bucket (AgeBuckets) of an exception open for age.
func AgeBucket(age time.Duration) string {
	switch {
	case age < bucket4h:
		return AgeUnder4h
	case age < bucket24h:
		return Age4hTo24h
	}
	return AgeOver24h
}

// groups lists the exception counts in category, role and bucket order.
func groups(m map[ExceptionGroup]int) []ExceptionGroup {
	out := make([]ExceptionGroup, 0, len(m))
	for g, n := range m {
		g.Count = n
		out = append(out, g)
	}
	rank := map[string]int{}
	for i, b := range AgeBuckets() {
		rank[b] = i
	}
	slices.SortFunc(out, func(a, b ExceptionGroup) int {
		if a.Category != b.Category {
			return cmpString(a.Category, b.Category)
		}
		if a.OwnerRole != b.OwnerRole {
			return cmpString(a.OwnerRole, b.OwnerRole)
		}
		return rank[a.Age] - rank[b.Age]
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// categoryLabel is c, or Other for a category the workflow does not know.
func categoryLabel(c shipment.ExceptionCategory) string {
	if slices.Contains(shipment.ExceptionCategories(), c) {
		return string(c)
	}
	return Other
}

// roleLabel is role when it is one the workflow gives exceptions by
// default (shipment.OwnerRole), Other when a sender named another.
func roleLabel(role string) string {
	for _, c := range shipment.ExceptionCategories() {
		if shipment.OwnerRole(c) == role {
			return role
		}
	}
	return Other
}

// CurrencyLabel is code when it has the form of an ISO 4217 code (three
// upper-case letters), Other otherwise.
func CurrencyLabel(code string) string {
	if len(code) != 3 {
		return Other
	}
	for i := range 3 {
		if code[i] < 'A' || code[i] > 'Z' {
			return Other
		}
	}
	return code
}

// sums adds amounts per currency, exactly.
type sums struct {
	m   map[string]money.Money
	err error
}

func (s *sums) add(ms []money.Money) {
	for _, m := range ms {
		if s.m == nil {
			s.m = map[string]money.Money{}
		}
		cur, ok := s.m[m.Currency]
		if !ok {
			s.m[m.Currency] = m
			continue
		}
		sum, err := cur.Add(m)
		if err != nil {
			s.err = errors.Join(s.err, err)
			continue
		}
		s.m[m.Currency] = sum
	}
}

// result returns the sums by currency code.
func (s *sums) result() ([]money.Money, error) {
	if s.err != nil {
		return nil, fmt.Errorf("adding rated values: %w", s.err)
	}
	out := make([]money.Money, 0, len(s.m))
	for _, m := range s.m {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b money.Money) int { return cmpString(a.Currency, b.Currency) })
	return out, nil
}
