package apikey

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// LastUseInterval is the least time between two writes of one key's last
// use: a key in constant use costs one UPDATE a minute, not one a request.
const LastUseInterval = time.Minute

// useRetryInterval is how long Run waits after a failed write before it
// tries again.
const useRetryInterval = 5 * time.Second

// useState is what a Store remembers of one key's use.
type useState struct {
	// noted is the last use queued for writing, in Unix microseconds; 0
	// when none has been.
	noted atomic.Int64
}

// noteUse records that key id was used at now, for Run to write, unless a
// use less than LastUseInterval earlier is already queued or written. It
// takes no lock on the common path: a key in use takes the usesMu lock
// once a minute.
func (s *Store) noteUse(id string, now time.Time) {
	v, ok := s.uses.Load(id)
	if !ok {
		v, _ = s.uses.LoadOrStore(id, &useState{})
	}
	u := v.(*useState)
	t := now.UTC().Truncate(time.Microsecond).UnixMicro()
	old := u.noted.Load()
	if old != 0 && t-old < LastUseInterval.Microseconds() {
		return
	}
	if !u.noted.CompareAndSwap(old, t) {
		return // another request noted it
	}
	s.usesMu.Lock()
	s.pendingUses[id] = t
	s.usesMu.Unlock()
	select {
	case s.useSignal <- struct{}{}:
	default:
	}
}

// Run writes the last-use times Verify notes, off the request path, until
// ctx ends; then it writes what is pending once more and returns nil. A
// failed write is logged and retried a few seconds later. Run at most one
// Run per Store. Without Run, last uses are not recorded.
func (s *Store) Run(ctx context.Context) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.flushUses(fctx); err != nil {
				logger.WarnContext(fctx, "recording API key use failed", slog.Any("err", err))
			}
			cancel()
			return nil
		case <-s.useSignal:
		case <-retry:
		}
		retry = nil
		if err := s.flushUses(ctx); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "recording API key use failed", slog.Any("err", err))
			retry = time.After(useRetryInterval)
		}
	}
}

// flushUses writes the pending last-use times in one transaction. On
// failure they stay pending, unless a newer use replaced them.
func (s *Store) flushUses(ctx context.Context) error {
	s.usesMu.Lock()
	batch := s.pendingUses
	s.pendingUses = make(map[string]int64, len(batch))
	s.usesMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		for id, t := range batch {
			if _, err := tx.ExecContext(ctx, s.q.touch, t, id, t); err != nil {
				return interpretError(err)
			}
		}
		return nil
	})
	if err != nil {
		s.usesMu.Lock()
		for id, t := range batch {
			if cur, ok := s.pendingUses[id]; !ok || cur < t {
				s.pendingUses[id] = t
			}
		}
		s.usesMu.Unlock()
		return fmt.Errorf("writing the last use of %d keys: %w", len(batch), err)
	}
	s.useWrites.Add(uint64(len(batch)))
	return nil
}
