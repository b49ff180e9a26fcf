package odoosim

import (
	"sync"
	"time"
)

// Fault is a kind of injected failure.
type Fault int

// Fault kinds.
const (
	FaultHTTP500         Fault = iota + 1 // reply HTTP 500 with an HTML body, as a proxy would
	FaultHTTP503                          // reply 503 with Retry-After: 1
	FaultReset                            // hijack and close the connection before doing anything
	FaultSerialization                    // JSON-RPC/JSON-2 error psycopg2.errors.SerializationFailure; nothing committed
	FaultDropAfterCommit                  // perform the call and commit its effect, then close the connection without replying
)

// String names the fault.
func (f Fault) String() string {
	switch f {
	case FaultHTTP500:
		return "http_500"
	case FaultHTTP503:
		return "http_503"
	case FaultReset:
		return "reset"
	case FaultSerialization:
		return "serialization"
	case FaultDropAfterCommit:
		return "drop_after_commit"
	}
	return "unknown"
}

type injection struct {
	model, method string
	left          int
	fault         Fault
}

// Faults holds injected failures. It is safe for concurrent use. Each injection applies to the
// next n matching RPC calls (model/method "" matches any) and injections are consumed in order.
// For service calls (common.login, db.list) the model is the service name.
type Faults struct {
	mu      sync.Mutex
	queue   []*injection
	latency time.Duration
}

// Inject queues a fault for the next n calls matching model and method.
func (f *Faults) Inject(model, method string, n int, fault Fault) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, &injection{model: model, method: method, left: n, fault: fault})
}

// SetLatency sets a delay added before every RPC.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// Clear removes all injections and the latency.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = nil
	f.latency = 0
}

// take consumes the first injection matching model and method, if any.
func (f *Faults) take(model, method string) Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, in := range f.queue {
		if (in.model == "" || in.model == model) && (in.method == "" || in.method == method) {
			in.left--
			if in.left <= 0 {
				f.queue = append(f.queue[:i:i], f.queue[i+1:]...)
			}
			return in.fault
		}
	}
	return 0
}

func (f *Faults) delay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}
