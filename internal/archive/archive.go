package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/sqldb"
)

// Defaults of Options.
const (
	// IntervalDefault is how often Run archives.
	IntervalDefault = time.Hour
)

// Options configure an Archiver.
type Options struct {
	// DB is the hot database. Required.
	DB *sqldb.DB
	// Dir is the archive directory. Required.
	Dir string
	// Retention is how old a row must be to move: rows of UTC days that
	// ended at least Retention ago. Required, positive.
	Retention time.Duration
	// Interval is how often Run archives. Defaults to IntervalDefault.
	Interval time.Duration
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// Logger receives a line per run; nil discards.
	Logger *slog.Logger
	// Registerer receives the archive's metrics; nil registers none.
	Registerer prometheus.Registerer
	// AfterWriteFunc, when set, is called after each file is written and
	// recorded in the manifest and before its rows are deleted; an error
	// stops the run there, as a crash would. For tests.
	AfterWriteFunc func(e FileEntry) error
}

// Archiver moves old rows to the archive directory. It is safe for
// concurrent use; runs are serialised (see the package doc).
type Archiver struct {
	opts   Options
	movers []mover
	mu     sync.Mutex

	rows    *prometheus.CounterVec
	lastRun prometheus.Gauge
	fails   prometheus.Counter
}

// New returns an Archiver.
func New(opts Options) (*Archiver, error) {
	if opts.DB == nil || opts.Dir == "" {
		return nil, errors.New("archive: a database and a directory are required")
	}
	if opts.Retention <= 0 {
		return nil, fmt.Errorf("archive: retention %s: must be positive", opts.Retention)
	}
	if opts.Interval <= 0 {
		opts.Interval = IntervalDefault
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Archiver{opts: opts,
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_archive_rows_total",
			Help: "Rows moved from the database to the history archive, by kind."}, []string{"kind"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{Name: "waybill_archive_last_run_timestamp_seconds",
			Help: "When the last archive run that succeeded ended, Unix seconds."}),
		fails: prometheus.NewCounter(prometheus.CounterOpts{Name: "waybill_archive_failures_total",
			Help: "Archive runs that failed; the next run picks up where it stopped."}),
	}
	for _, k := range Kinds {
		m, err := newMover(opts.DB, k)
		if err != nil {
			return nil, err
		}
		a.movers = append(a.movers, m)
		a.rows.WithLabelValues(k)
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(a.rows); err != nil {
			return nil, err
		}
		if err := opts.Registerer.Register(a.lastRun); err != nil {
			return nil, err
		}
		if err := opts.Registerer.Register(a.fails); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Report is what one run moved.
type Report struct {
	// Rows counts the rows deleted from the database, by kind.
	Rows map[string]int64
	// Files are the files written.
	Files []FileEntry
}

// Run archives every Interval until ctx is done, starting now. A failed
// run is logged and counted; the next one picks up where it stopped.
func (a *Archiver) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rep, err := a.Once(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			a.opts.Logger.WarnContext(ctx, "archiving failed; the next run goes on from there", slog.Any("err", err))
		case len(rep.Files) > 0:
			a.opts.Logger.InfoContext(ctx, "history archived", slog.Int("files", len(rep.Files)),
				slog.Int64("events", rep.Rows[KindEvents]), slog.Int64("payloads", rep.Rows[KindPayloads]), slog.Int64("audit", rep.Rows[KindAudit]))
		}
		t.Reset(a.opts.Interval)
	}
}

// Cutoff is the end of the newest day whose rows move at now: the start
// of the UTC day Retention before now.
func Cutoff(now time.Time, retention time.Duration) time.Time {
	return startOfDay(now.Add(-retention))
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Once runs once: first it finishes what an earlier run or a restore left
// (files whose rows are still in the database), then it archives each
// kind's days older than the retention.
func (a *Archiver) Once(ctx context.Context) (Report, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rep := Report{Rows: map[string]int64{}}
	err := a.once(ctx, &rep)
	for k, n := range rep.Rows {
		a.rows.WithLabelValues(k).Add(float64(n))
	}
	if err != nil {
		a.fails.Inc()
		return rep, err
	}
	a.lastRun.Set(float64(a.opts.Now().Unix()))
	return rep, nil
}

func (a *Archiver) once(ctx context.Context, rep *Report) error {
	dir := a.opts.Dir
	unlock, err := lockDir(dir)
	if err != nil {
		return fmt.Errorf("locking the archive %s: %w", dir, err)
	}
	defer unlock()
	man, err := readManifest(dir)
	if err != nil {
		return err
	}
	// Finish files whose rows were not all deleted.
	for i := range man.Files {
		e := &man.Files[i]
		if e.Purged {
			continue
		}
		m, err := newMover(a.opts.DB, e.Kind)
		if err != nil {
			return err
		}
		if err := a.purge(ctx, man, e, m, rep); err != nil {
			return err
		}
	}
	cutoff := Cutoff(a.opts.Now(), a.opts.Retention).UnixMicro()
	for _, m := range a.movers {
		from := int64(-1 << 62)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			at, ok, err := m.next(ctx, from, cutoff)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			day := startOfDay(time.UnixMicro(at))
			end := min(day.Add(24*time.Hour).UnixMicro(), cutoff)
			n, err := a.archiveDay(ctx, man, m, day, end, rep)
			if err != nil {
				return err
			}
			if n == 0 && m.kind() == KindAudit {
				break
			}
			from = end
		}
	}
	return nil
}

// archiveDay writes the day's file, records it, and deletes its rows.
func (a *Archiver) archiveDay(ctx context.Context, man *Manifest, m mover, day time.Time, end int64, rep *Report) (int64, error) {
	dayText := day.Format(dayLayout)
	part := man.nextPart(m.kind(), dayText)
	name := fileName(m.kind(), dayText, part)
	e, err := writeDay(filepath.Join(a.opts.Dir, name), func(w *dayWriter) error {
		return m.scan(ctx, day.UnixMicro(), end, w)
	})
	if err != nil {
		return 0, fmt.Errorf("archiving %s of %s: %w", m.kind(), dayText, err)
	}
	if e.Rows == 0 {
		// Nothing after all (made final meanwhile, or a race): no file.
		if err := os.Remove(filepath.Join(a.opts.Dir, name)); err != nil {
			return 0, fmt.Errorf("removing an empty archive file: %w", err)
		}
		return 0, nil
	}
	e.Kind, e.Day, e.Part, e.File, e.ArchivedAt = m.kind(), dayText, part, name, a.opts.Now().UTC()
	man.Files = append(man.Files, e)
	if m.kind() == KindAudit {
		// The anchor moves with the rows; the manifest records where it
		// will be once they are deleted.
		if seq, err := strconv.ParseInt(e.LastKey, 10, 64); err == nil && (man.AuditAnchor == nil || seq > man.AuditAnchor.Seq) {
			man.AuditAnchor = &Anchor{Seq: seq, Hash: e.LastHash}
		}
	}
	if err := man.write(a.opts.Dir); err != nil {
		return 0, err
	}
	rep.Files = append(rep.Files, e)
	if a.opts.AfterWriteFunc != nil {
		if err := a.opts.AfterWriteFunc(e); err != nil {
			return 0, err
		}
	}
	return e.Rows, a.purge(ctx, man, man.entry(e.File), m, rep)
}

// purge deletes the rows e's file holds from the database, after checking
// the file against its checksum, and marks e purged in the manifest.
func (a *Archiver) purge(ctx context.Context, man *Manifest, e *FileEntry, m mover, rep *Report) error {
	err := readLines(a.opts.Dir, *e, pageSize, func(lines [][]byte) error {
		n, err := m.purge(ctx, lines)
		rep.Rows[m.kind()] += n
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting the archived rows of %s: %w", e.File, err)
	}
	e.Purged = true
	return man.write(a.opts.Dir)
}
