package verify

import (
	"context"
	"sync"
	"time"
)

// Seen remembers webhook ids for replay protection.
//
// Seen reports whether id was already recorded for source and is still
// remembered, and otherwise records it until the time until, inclusive.
// After until the id may be accepted again: by then its signed timestamp is
// out of tolerance, so a replay is rejected anyway. Check and record must be one
// atomic step, so that two concurrent deliveries of one id cannot both get
// false. A non-nil error means the answer is unknown; the verifier then
// fails without deciding. Implementations must be safe for concurrent use.
type Seen interface {
	Seen(ctx context.Context, source, id string, until time.Time) (bool, error)
}

// memorySweepMin is the number of records a MemorySeen holds before it
// starts sweeping expired ones.
const memorySweepMin = 64

// MemorySeen is an in-memory [Seen] for tests and single-process use. The
// zero value is ready to use. It forgets everything when the process ends,
// and does not share state across processes. Expired records are swept as
// new ones arrive, so memory stays proportional to the ids received within
// one tolerance window. Safe for concurrent use.
type MemorySeen struct {
	// NowFunc returns the current time, which decides when a record expires.
	// Tests set it to their injected clock. Defaults to time.Now when nil.
	NowFunc func() time.Time

	mu        sync.Mutex
	until     map[memoryKey]time.Time
	nextSweep int
}

type memoryKey struct {
	source, id string
}

// Seen implements [Seen]. It never returns an error.
func (m *MemorySeen) Seen(_ context.Context, source, id string, until time.Time) (bool, error) {
	now := time.Now()
	if m.NowFunc != nil {
		now = m.NowFunc()
	}
	key := memoryKey{source: source, id: id}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.until == nil {
		m.until = make(map[memoryKey]time.Time)
	}
	if u, ok := m.until[key]; ok && !now.After(u) {
		return true, nil
	}
	m.until[key] = until
	if len(m.until) >= m.nextSweep {
		for k, u := range m.until {
			if now.After(u) {
				delete(m.until, k)
			}
		}
		m.nextSweep = max(2*len(m.until), memorySweepMin)
	}
	return false, nil
}
