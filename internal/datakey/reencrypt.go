package datakey

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
)

// Table is a table holding sealed values, as re-encryption and Status see
// it. Each store with sealed values implements it on its own SQL.
// Implementations must be safe for concurrent use with the store's other
// methods.
type Table interface {
	// SealedTable names the table.
	SealedTable() string
	// CountByKey counts the table's values by the data key they are
	// sealed under; "" counts plaintext ones.
	CountByKey(ctx context.Context) (map[string]int64, error)
	// Reseal seals under the current key up to limit values that are not
	// sealed under it, from cursor on ("" from the start), in one short
	// transaction, each in its own row.
	Reseal(ctx context.Context, cursor string, limit int) (seal.Batch, error)
}

// RefreshIntervalDefault is how often a Reencryptor looks for a data key
// rotated by another process.
const RefreshIntervalDefault = 5 * time.Second

// RecheckIntervalDefault is how often a Reencryptor counts the rows left
// under older keys when nothing changed.
const RecheckIntervalDefault = time.Hour

// progressEvery is how often a long re-encryption pass logs its progress.
const progressEvery = 10 * time.Second

// BatchSizeDefault is how many rows one re-encryption transaction moves.
const BatchSizeDefault = 100

// Reencryptor keeps a database's keyring current and moves every sealed
// value to the current key. Run it once per server.
type Reencryptor struct {
	db      *sqldb.DB
	wrapper seal.KeyWrapper
	tables  []Table
	opts    ReencryptorOptions
	pending *prometheus.GaugeVec
	// passes receives one value after each completed pass; tests read it.
	passes chan struct{}
}

// ReencryptorOptions tunes a Reencryptor. Zero values take the defaults.
type ReencryptorOptions struct {
	// RefreshInterval is how often the data keys are reloaded when another
	// process has rotated them. Defaults to RefreshIntervalDefault.
	RefreshInterval time.Duration
	// RecheckInterval is how often a pass runs when no key changed.
	// Defaults to RecheckIntervalDefault.
	RecheckInterval time.Duration
	// BatchSize is the rows per transaction. Defaults to BatchSizeDefault.
	BatchSize int
	// Pause is the wait between two batches, which keeps re-encryption
	// from crowding out intake on SQLite's single writer. Defaults to 0.
	Pause      time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// NewReencryptor returns a Reencryptor of db (whose Keyring Setup set)
// over tables.
func NewReencryptor(db *sqldb.DB, w seal.KeyWrapper, tables []Table, opts ReencryptorOptions) *Reencryptor {
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = RefreshIntervalDefault
	}
	if opts.RecheckInterval <= 0 {
		opts.RecheckInterval = RecheckIntervalDefault
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = BatchSizeDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Reencryptor{db: db, wrapper: w, tables: tables, opts: opts, passes: make(chan struct{}, 1),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "waybill_encryption_rows_pending",
			Help: "Values at rest not yet sealed under the current data key (older keys or plaintext), by table.",
		}, []string{"table"})}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(r.pending)
	}
	return r
}

// Passes is signalled after each completed re-encryption pass (buffered
// by one); for tests that wait for one.
func (r *Reencryptor) Passes() <-chan struct{} { return r.passes }

// Run re-encrypts at start, then reloads the keys every RefreshInterval
// and runs a pass when the current key changed or RecheckInterval passed.
// It returns when ctx is done, after the batch in flight. A failing pass
// is logged and tried again later; Run returns no error of its own.
func (r *Reencryptor) Run(ctx context.Context) error {
	log := r.opts.Logger
	seq, _ := NewStore(r.db).LatestSeq(ctx)
	lastPass := time.Time{}
	tick := time.NewTicker(r.opts.RefreshInterval)
	defer tick.Stop()
	for {
		if time.Since(lastPass) >= r.opts.RecheckInterval {
			r.pass(ctx)
			lastPass = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		n, err := NewStore(r.db).LatestSeq(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "checking for a new data key", slog.Any("err", err))
			}
			continue
		}
		if n == seq {
			continue
		}
		kr, err := Load(ctx, r.db, r.wrapper, log)
		if err != nil {
			log.ErrorContext(ctx, "loading rotated data keys: still sealing with the old key", slog.Any("err", err))
			continue
		}
		r.db.Keyring.Adopt(kr)
		seq = n
		log.InfoContext(ctx, "data key rotated: new values are sealed under it", slog.String("key_id", kr.Current()))
		lastPass = time.Time{} // a pass now
	}
}

// pass moves every table's values to the current key.
func (r *Reencryptor) pass(ctx context.Context) {
	log := r.opts.Logger
	cur := r.db.Keyring.Current()
	for _, t := range r.tables {
		name := t.SealedTable()
		counts, err := t.CountByKey(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "re-encryption: counting rows", slog.String("table", name), slog.Any("err", err))
			}
			return
		}
		left := pendingOf(counts, cur)
		r.pending.WithLabelValues(name).Set(float64(left))
		if left == 0 {
			continue
		}
		log.InfoContext(ctx, "re-encryption started", slog.String("table", name), slog.String("key_id", cur), slog.Int64("rows_pending", left))
		moved, failed := 0, 0
		cursor := ""
		lastLog := time.Now()
		for {
			b, err := t.Reseal(ctx, cursor, r.opts.BatchSize)
			if err != nil {
				if ctx.Err() == nil {
					log.WarnContext(ctx, "re-encryption: batch failed; trying again later", slog.String("table", name), slog.Any("err", err))
				}
				return
			}
			moved += b.Moved
			failed += b.Failed
			if b.Err != nil {
				log.ErrorContext(ctx, "re-encryption: rows that do not open are left as they are", slog.String("table", name),
					slog.Int("rows", b.Failed), slog.Any("err", b.Err))
			}
			r.pending.WithLabelValues(name).Set(float64(max(left-int64(moved), 0)))
			if time.Since(lastLog) >= progressEvery {
				lastLog = time.Now()
				log.InfoContext(ctx, "re-encryption progress", slog.String("table", name), slog.Int("rows_moved", moved),
					slog.Int64("rows_pending", max(left-int64(moved), 0)))
			}
			if b.Next == "" {
				break
			}
			cursor = b.Next
			if r.opts.Pause > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(r.opts.Pause):
				}
			}
		}
		if counts, err := t.CountByKey(ctx); err == nil {
			r.pending.WithLabelValues(name).Set(float64(pendingOf(counts, cur)))
		}
		log.InfoContext(ctx, "re-encryption done", slog.String("table", name), slog.String("key_id", cur),
			slog.Int("rows_moved", moved), slog.Int("rows_failed", failed))
	}
	select {
	case r.passes <- struct{}{}:
	default:
	}
}

func pendingOf(counts map[string]int64, cur string) int64 {
	var n int64
	for id, c := range counts {
		if id != cur {
			n += c
		}
	}
	return n
}

// TableStatus is one table's row counts by data key.
type TableStatus struct {
	Table string
	// Rows counts values by data key id; "" counts plaintext ones.
	Rows map[string]int64
}

// KeyStatus is one data key and whether it is current.
type KeyStatus struct {
	Key
	Current bool
}

// Status lists the data keys and counts each table's rows by key.
func Status(ctx context.Context, db *sqldb.DB, tables []Table) ([]KeyStatus, []TableStatus, error) {
	keys, err := NewStore(db).List(ctx)
	if err != nil {
		return nil, nil, err
	}
	ks := make([]KeyStatus, len(keys))
	for i, k := range keys {
		ks[i] = KeyStatus{Key: k, Current: i == len(keys)-1}
	}
	var ts []TableStatus
	for _, t := range tables {
		c, err := t.CountByKey(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("counting %s: %w", t.SealedTable(), err)
		}
		ts = append(ts, TableStatus{Table: t.SealedTable(), Rows: c})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Table < ts[j].Table })
	return ks, ts, nil
}
