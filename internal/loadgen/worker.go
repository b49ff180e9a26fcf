package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// responseMax caps how much of an answer a client reads.
const responseMax = 16 << 20

// counts are one worker's tallies. The worker adds to them and the progress
// reporter reads them at the same time, hence the atomics.
type counts struct {
	accepted, duplicates, rejected atomic.Int64
	throttled, errors, requests    atomic.Int64
	sent                           atomic.Int64
}

// addTo adds c to the counts of res.
func (c *counts) addTo(res *Result) {
	res.Accepted += int(c.accepted.Load())
	res.Duplicates += int(c.duplicates.Load())
	res.Rejected += int(c.rejected.Load())
	res.Throttled += int(c.throttled.Load())
	res.Errors += int(c.errors.Load())
	res.Requests += int(c.requests.Load())
	res.Sent += int(c.sent.Load())
}

// buffer is a request body buffer that a worker reuses once no transport
// goroutine can read it any more. A body may still be read after RoundTrip
// returns: the transport writes it from another goroutine and may still be
// doing so when an early answer arrives. That goroutine reads a body only
// while writing a request, which happens once per connection attempt and
// ends with the WroteRequest trace hook, so the trace in the context of the
// buffer's requests counts attempts (GetConn) and finished writes. Bodies are
// plain *bytes.Readers so that the transport writes headers and body in one
// go instead of flushing the headers first.
type buffer struct {
	b             []byte
	req           *http.Request // copied for each request over b; never sent itself
	sent          int           // requests sent over b; only the worker touches it
	conns, writes atomic.Int64
}

// newBuffer returns an empty buffer with room for size bytes whose request
// template is a copy of base.
func newBuffer(base *http.Request, size int) *buffer {
	buf := &buffer{b: make([]byte, 0, size)}
	trace := &httptrace.ClientTrace{
		GetConn:      func(string) { buf.conns.Add(1) },
		WroteRequest: func(httptrace.WroteRequestInfo) { buf.writes.Add(1) },
	}
	buf.req = base.WithContext(httptrace.WithClientTrace(base.Context(), trace))
	// GetBody lets the transport resend a request on a fresh connection when
	// a reused one failed before anything was written. The transport calls
	// it from RoundTrip, in the worker's goroutine.
	buf.req.GetBody = func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.b)), nil
	}
	return buf
}

// reusable reports whether every write of every request over b has ended.
// A round tripper that calls no trace hooks never lets a buffer be reused.
func (b *buffer) reusable() bool {
	if b.sent == 0 {
		return true
	}
	conns := b.conns.Load()
	return conns > 0 && b.writes.Load() == conns
}

// batchResponse is the part of a batch answer that the worker reads.
type batchResponse struct {
	Results []batchResult `json:"results"`
}

// batchResult is the outcome of one event in a batch.
type batchResult struct {
	Status    int  `json:"status"`
	Duplicate bool `json:"duplicate"`
}

// worker is one client: it claims units of the plan and sends their requests
// one at a time over its connection.
type worker struct {
	counts counts
	hist   Histogram

	client *http.Client
	plan   *plan
	next   *atomic.Int64 // next unit to claim, shared by all workers
	batch  bool
	live   *liveness // nil records nothing

	base    *http.Request // template for the requests of every buffer
	buf     *buffer
	resp    []byte
	limit   io.LimitedReader
	decoded batchResponse
}

// newWorker returns a worker that sends copies of tmpl with client.
func newWorker(client *http.Client, tmpl *http.Request, pl *plan, next *atomic.Int64, batch bool) *worker {
	return &worker{
		client: client,
		base:   tmpl,
		plan:   pl,
		next:   next,
		batch:  batch,
		buf:    newBuffer(tmpl, 1024),
		resp:   make([]byte, 0, 512),
	}
}

// run claims and sends units until none are left or ctx is done.
func (w *worker) run(ctx context.Context) {
	units := w.plan.units()
	for ctx.Err() == nil {
		k := w.next.Add(1) - 1
		if k >= units {
			return
		}
		first, second := w.plan.unit(k)
		if !w.send(ctx, first) {
			return
		}
		if second.n > 0 && !w.send(ctx, second) {
			return
		}
	}
}

// send sends the request for s until it has a final outcome, retrying after
// each 429. It returns false when ctx ended the run first.
func (w *worker) send(ctx context.Context, s span) bool {
	if !w.buf.reusable() {
		w.buf = newBuffer(w.base, cap(w.buf.b))
	}
	w.buf.b = s.appendBody(w.buf.b[:0], w.batch)

	for {
		req := *w.buf.req
		req.Body = io.NopCloser(bytes.NewReader(w.buf.b))
		req.ContentLength = int64(len(w.buf.b))
		w.buf.sent++
		start := time.Now()
		resp, err := w.client.Do(&req)
		if err == nil {
			err = w.readResponse(resp)
		}
		if err != nil && ctx.Err() != nil {
			return false // cut short by the end of the run, not a failure
		}
		w.counts.requests.Add(1)
		if err != nil {
			// A transport failure: the events were not answered, so they
			// do not count as sent.
			w.counts.errors.Add(1)
			if w.live != nil {
				w.live.failed(w.live.since(), err)
			}
			return true
		}
		if w.live != nil {
			w.live.answered(w.live.since())
		}
		w.hist.Record(time.Since(start))

		if resp.StatusCode == http.StatusTooManyRequests {
			w.counts.throttled.Add(1)
			if !wait(ctx, retryDelay(resp.Header.Get("Retry-After"), time.Now())) {
				return false
			}
			continue
		}
		switch {
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			w.counts.errors.Add(1)
			return true
		case w.batch:
			if !w.tallyBatch(s.n) {
				return true
			}
		case resp.StatusCode == http.StatusOK:
			w.counts.duplicates.Add(1)
		default:
			w.counts.accepted.Add(1)
		}
		w.counts.sent.Add(s.n)
		return true
	}
}

// readResponse reads the whole answer into w.resp and closes it.
func (w *worker) readResponse(resp *http.Response) error {
	defer resp.Body.Close()
	w.limit = io.LimitedReader{R: resp.Body, N: responseMax}
	w.resp = w.resp[:0]
	for {
		if len(w.resp) == cap(w.resp) {
			w.resp = append(w.resp, 0)[:len(w.resp)]
		}
		n, err := w.limit.Read(w.resp[len(w.resp):cap(w.resp)])
		w.resp = w.resp[:len(w.resp)+n]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// tallyBatch counts the outcomes in a 2xx batch answer for n events; an
// answer that does not hold n results counts as an error, and tallyBatch
// returns false.
func (w *worker) tallyBatch(n int64) bool {
	w.decoded.Results = w.decoded.Results[:0]
	if err := json.Unmarshal(w.resp, &w.decoded); err != nil || int64(len(w.decoded.Results)) != n {
		w.counts.errors.Add(1)
		return false
	}
	var accepted, duplicates, rejected int64
	for _, r := range w.decoded.Results {
		switch {
		case r.Status == http.StatusAccepted:
			accepted++
		case r.Status == http.StatusOK || r.Duplicate && r.Status >= 200 && r.Status <= 299:
			duplicates++
		default:
			rejected++
		}
	}
	w.counts.accepted.Add(accepted)
	w.counts.duplicates.Add(duplicates)
	w.counts.rejected.Add(rejected)
	return true
}

// retryDelay returns how long to wait after a 429 with the given Retry-After
// header: its seconds or HTTP date, capped at one second.
func retryDelay(header string, now time.Time) time.Duration {
	header = strings.TrimSpace(header)
	d := throttleDelayDefault
	if secs, err := strconv.Atoi(header); err == nil {
		d = time.Duration(min(max(secs, 0), 1)) * time.Second
	} else if at, err := http.ParseTime(header); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), throttleDelayMax)
}

// wait waits for d and reports whether ctx was still live afterwards.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
