package tmssim

import (
	"sync"
	"time"
)

// Fault is a kind of failure injected into the handling of a release.
type Fault int

// Fault kinds.
const (
	// FaultHTTP500 answers 500 with a JSON error, before reading the body.
	// Nothing is accepted.
	FaultHTTP500 Fault = iota + 1
	// FaultHTTP503 answers 503 with "Retry-After: 1", before reading the
	// body. Nothing is accepted.
	FaultHTTP503
	// FaultReset closes the connection (with a TCP reset where possible)
	// before reading the body. Nothing is accepted, but the client cannot
	// tell: to it the outcome is unknown.
	FaultReset
	// FaultDropAfterAccept handles the release normally (it is accepted and
	// its lifecycle starts; a repeat is deduplicated), then closes the
	// connection without replying.
	FaultDropAfterAccept
	// FaultLatency waits the latency set with Faults.SetLatency (default
	// LatencyDefault) before handling the release normally. A client that
	// gives up meanwhile leaves nothing accepted.
	FaultLatency
)

// LatencyDefault is the delay of a FaultLatency injection until
// Faults.SetLatency sets another.
const LatencyDefault = time.Second

// String names the fault.
func (f Fault) String() string {
	switch f {
	case FaultHTTP500:
		return "http_500"
	case FaultHTTP503:
		return "http_503"
	case FaultReset:
		return "reset"
	case FaultDropAfterAccept:
		return "drop_after_accept"
	case FaultLatency:
		return "latency"
	}
	return "unknown"
}

type injection struct {
	left  int
	fault Fault
}

// Faults holds injected failures. Each injection applies to the next n
// requests to POST /dispatches, repeats included, and injections are
// consumed in the order they were queued. It is safe for concurrent use.
type Faults struct {
	mu      sync.Mutex
	queue   []*injection
	latency time.Duration
}

func newFaults() *Faults { return &Faults{latency: LatencyDefault} }

// Inject queues fault for the next n releases. n below 1 does nothing.
func (f *Faults) Inject(n int, fault Fault) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, &injection{left: n, fault: fault})
}

// SetLatency sets the delay of FaultLatency injections.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// Clear removes every queued injection and restores LatencyDefault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = nil
	f.latency = LatencyDefault
}

// take consumes one use of the first queued injection, if any, and returns
// its fault and the current latency.
func (f *Faults) take() (Fault, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) == 0 {
		return 0, f.latency
	}
	in := f.queue[0]
	in.left--
	if in.left <= 0 {
		f.queue = f.queue[1:]
	}
	return in.fault, f.latency
}
