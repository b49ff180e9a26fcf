package verify

import (
	"fmt"
	"testing"
	"time"
)

// TestMemorySeenWindow checks that an id is remembered through its until,
// inclusive, forgotten after it, and recorded afresh then.
func TestMemorySeenWindow(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 11, 13, 22, 0, 0, 0, time.UTC)
	until := base.Add(time.Minute)
	after := until.Add(time.Nanosecond)
	now := base
	m := &MemorySeen{NowFunc: func() time.Time { return now }}
	for _, s := range []struct {
		name   string
		now    time.Time
		source string
		id     string
		until  time.Time
		want   bool
	}{
		{"first", base, "src", "a", until, false},
		{"repeat", base, "src", "a", until, true},
		{"other id", base, "src", "b", until, false},
		{"same id, other source", base, "other", "a", until, false},
		{"at until", until, "src", "a", until, true},
		{"after until", after, "src", "a", after.Add(time.Minute), false},
		{"recorded again", after, "src", "a", after.Add(time.Minute), true},
	} {
		// Sequential on purpose: each step depends on the ones before.
		now = s.now
		got, err := m.Seen(t.Context(), s.source, s.id, s.until)
		if err != nil {
			t.Fatalf("%s: Seen: %v", s.name, err)
		}
		if got != s.want {
			t.Fatalf("%s: Seen: got %v, want %v", s.name, got, s.want)
		}
	}
}

// TestMemorySeenSweep checks that expired records are dropped as new ones
// arrive, so memory does not grow without bound.
func TestMemorySeenSweep(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 11, 13, 22, 0, 0, 0, time.UTC)
	m := &MemorySeen{NowFunc: func() time.Time { return now }}
	for i := range 10_000 {
		now = now.Add(time.Second)
		if seen, err := m.Seen(t.Context(), "src", fmt.Sprint(i), now.Add(10*time.Second)); err != nil || seen {
			t.Fatalf("Seen(%d): got (%v, %v), want (false, nil)", i, seen, err)
		}
	}
	m.mu.Lock()
	n := len(m.until)
	m.mu.Unlock()
	if n > 2*memorySweepMin {
		t.Errorf("got %d records after sweeping, want at most %d", n, 2*memorySweepMin)
	}
}
