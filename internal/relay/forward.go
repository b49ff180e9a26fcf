package relay

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
)

// Forwarding states, as Status.State reports them.
const (
	StateIdle         = "idle"         // nothing to forward, the hub answered last
	StateForwarding   = "forwarding"   // sending the backlog
	StateRetrying     = "retrying"     // the last attempt failed; waiting to retry
	StateUnauthorized = "unauthorized" // the hub refused the upstream key
	StateStopped      = "stopped"      // not running
)

// Defaults of ForwarderOptions.
const (
	BatchDefault         = 500
	MinBackoffDefault    = 500 * time.Millisecond
	MaxBackoffDefault    = time.Minute
	TimeoutDefault       = 30 * time.Second
	ProbeIntervalDefault = 15 * time.Second
)

// ForwarderOptions configures a Forwarder.
type ForwarderOptions struct {
	// Upstream is the hub's base URL, such as https://hub.example.com.
	Upstream string
	// KeyFunc returns the upstream API key (scope events:write on the
	// hub). It is called before every request, so a key file replaced
	// on disk is used from the next request on.
	KeyFunc func() (string, error)
	// Batch is the most events sent in one request, from 1 to 1000 (the
	// hub's intake.max_batch_events bounds it too: a batch the hub finds
	// too large is halved). Defaults to BatchDefault.
	Batch int
	// MinBackoff and MaxBackoff bound the wait before a retry, which
	// doubles from MinBackoff with each failure in a row, with jitter.
	// Default to MinBackoffDefault and MaxBackoffDefault.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds each request to the hub. Defaults to TimeoutDefault.
	Timeout time.Duration
	// ProbeInterval is how often an idle forwarder checks that the hub
	// answers (GET /healthz), so that waybill_relay_upstream_up stays
	// current. Defaults to ProbeIntervalDefault.
	ProbeInterval time.Duration
	// Client sends the requests; nil is a client of its own.
	Client     *http.Client
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Forwarder sends the relay's pending events to the hub. Run must be
// running for it to make progress; Wake tells it there is more to send.
type Forwarder struct {
	db      *sqldb.DB
	events  *intake.Store
	backlog *intake.Backlog
	opts    ForwarderOptions
	logger  *slog.Logger
	client  *http.Client
	wake    chan struct{}

	forwarded, rejected prometheus.Counter
	retries             *prometheus.CounterVec
	up, lastSuccess     prometheus.Gauge

	mu sync.Mutex // guards st
	st liveStatus
}

// liveStatus is the forwarder's state in memory.
type liveStatus struct {
	state       string
	upstreamUp  bool
	lastError   string
	lastSuccess time.Time
	nextAttempt time.Time
}

// NewForwarder returns a Forwarder sending the pending events of events
// (on db) upstream; backlog is decreased as events leave the queue.
func NewForwarder(db *sqldb.DB, events *intake.Store, backlog *intake.Backlog, opts *ForwarderOptions) *Forwarder {
	o := *opts
	o.Upstream = strings.TrimRight(o.Upstream, "/")
	if o.Batch <= 0 {
		o.Batch = BatchDefault
	}
	o.Batch = min(o.Batch, 1000)
	if o.MinBackoff <= 0 {
		o.MinBackoff = MinBackoffDefault
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = MaxBackoffDefault
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.Timeout <= 0 {
		o.Timeout = TimeoutDefault
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = ProbeIntervalDefault
	}
	f := &Forwarder{
		db: db, events: events, backlog: backlog, opts: o, logger: o.Logger, client: o.Client,
		wake: make(chan struct{}, 1),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_relay_forwarded_total",
			Help: "Events the hub accepted from this relay (new or duplicate).",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_relay_rejected_total",
			Help: "Events the hub refused (dead letters, kept with the hub's reason).",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_relay_retries_total",
			Help: "Forwarding attempts that failed and will be retried, by cause (transport, throttled, server, unauthorized, other).",
		}, []string{"cause"}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_relay_upstream_up",
			Help: "1 when the hub answered the last request and accepted the upstream key, else 0.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_relay_last_success_timestamp_seconds",
			Help: "Unix time of the last batch the hub answered; 0 before the first.",
		}),
		st: liveStatus{state: StateIdle},
	}
	if f.logger == nil {
		f.logger = slog.New(slog.DiscardHandler)
	}
	if f.client == nil {
		f.client = &http.Client{}
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(f.forwarded, f.rejected, f.retries, f.up, f.lastSuccess,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "waybill_relay_backlog",
				Help: "Events accepted by the relay and not yet forwarded to the hub.",
			}, func() float64 { return float64(backlog.Load()) }))
	}
	return f
}

// Wake tells the forwarder that events were stored. It never blocks.
func (f *Forwarder) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// outcome is what one attempt to forward a batch came to.
type outcome struct {
	// done are the events the hub answered for, to mark.
	done []intake.Outcome
	// retry, when set, is why the rest must be sent again, after at
	// least retryAfter; cause labels the retries metric.
	retry      error
	retryAfter time.Duration
	cause      string
	// shrink asks for smaller batches: the hub found this one too large.
	shrink bool
}

// Run forwards pending events until ctx ends. It returns nil then; it
// does not fail on errors of the hub or of the database, which it
// retries.
func (f *Forwarder) Run(ctx context.Context) error {
	defer f.setState(func(s *liveStatus) { s.state = StateStopped })
	defer f.client.CloseIdleConnections()
	batch := f.opts.Batch
	failures := 0
	probe := time.NewTimer(0) // probe once at start
	defer probe.Stop()
	for ctx.Err() == nil {
		evs, err := f.events.PendingStored(ctx, batch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			f.logger.ErrorContext(ctx, "reading the relay's queue failed", slog.Any("err", err))
			f.wait(ctx, f.backoff(failures), 0)
			continue
		}
		if len(evs) == 0 {
			f.setState(func(s *liveStatus) {
				if s.state != StateUnauthorized || failures == 0 {
					s.state = StateIdle
				}
			})
			select {
			case <-ctx.Done():
				return nil
			case <-f.wake:
			case <-probe.C:
				f.probe(ctx)
				probe.Reset(f.opts.ProbeInterval)
			}
			continue
		}
		f.setState(func(s *liveStatus) {
			if s.state == StateIdle {
				s.state = StateForwarding
			}
		})
		out := f.send(ctx, evs)
		if len(out.done) > 0 {
			if err := f.mark(ctx, out.done); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				// Sent again later: the hub answers the repeats as
				// duplicates.
				failures++
				f.logger.ErrorContext(ctx, "recording forwarded events failed", slog.Any("err", err))
				f.wait(ctx, f.backoff(failures), 0)
				continue
			}
		}
		switch {
		case out.shrink && batch > 1:
			batch = max(1, batch/2)
			f.logger.WarnContext(ctx, "the hub refused a batch as too large: sending smaller batches", slog.Int("batch", batch))
		case out.retry != nil:
			if ctx.Err() != nil {
				return nil
			}
			failures++
			f.retries.WithLabelValues(out.cause).Inc()
			d := f.backoff(failures)
			if out.cause == StateUnauthorized {
				d = f.opts.MaxBackoff
			}
			f.logRetry(ctx, out, failures)
			f.wait(ctx, d, out.retryAfter)
		default:
			failures = 0
		}
	}
	return nil
}

// logRetry logs a failed attempt: the first of a series and every tenth
// at Warn (an unauthorized key at Error: someone must act), the others at
// Debug, so an outage does not flood the log.
func (f *Forwarder) logRetry(ctx context.Context, out outcome, failures int) {
	attrs := []any{slog.Any("err", out.retry), slog.Int("attempt", failures), slog.Int64("backlog", f.backlog.Load())}
	switch {
	case out.cause == StateUnauthorized:
		f.logger.ErrorContext(ctx, "the hub refused the upstream key: forwarding stopped until it is accepted", attrs...)
	case failures == 1 || failures%10 == 0:
		f.logger.WarnContext(ctx, "forwarding to the hub failed; retrying", attrs...)
	default:
		f.logger.DebugContext(ctx, "forwarding to the hub failed; retrying", attrs...)
	}
}

// backoff is the wait after failures failures in a row: doubling from
// MinBackoff up to MaxBackoff, then drawn between half of it and all of
// it, so that relays cut off together do not come back together.
func (f *Forwarder) backoff(failures int) time.Duration {
	d := f.opts.MinBackoff
	for i := 1; i < failures && d < f.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, f.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// wait waits d, and at least retryAfter, or until ctx ends.
func (f *Forwarder) wait(ctx context.Context, d, retryAfter time.Duration) {
	d = max(d, retryAfter)
	f.setState(func(s *liveStatus) { s.nextAttempt = time.Now().Add(d) })
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	f.setState(func(s *liveStatus) { s.nextAttempt = time.Time{} })
}

// mark records the hub's answers in the queue.
func (f *Forwarder) mark(ctx context.Context, done []intake.Outcome) error {
	err := f.db.InTx(ctx, func(tx *sql.Tx) error { return f.events.MarkTx(ctx, tx, done) })
	if err != nil {
		return err
	}
	var fwd, rej int
	for _, o := range done {
		if o.State == intake.StateApplied {
			fwd++
		} else {
			rej++
		}
	}
	f.backlog.Add(-int64(len(done)))
	f.forwarded.Add(float64(fwd))
	f.rejected.Add(float64(rej))
	return nil
}

// send posts evs as one batch and reads the hub's answer.
func (f *Forwarder) send(ctx context.Context, evs []intake.Stored) outcome {
	key, err := f.opts.KeyFunc()
	if err != nil {
		f.failed(StateUnauthorized, false, err)
		return outcome{retry: err, cause: StateUnauthorized}
	}
	var body bytes.Buffer
	body.WriteByte('[')
	for i, ev := range evs {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(withCorrelation(ev))
	}
	body.WriteByte(']')
	rctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, f.opts.Upstream+"/v1/events", &body)
	if err != nil {
		f.failed(StateRetrying, false, err)
		return outcome{retry: err, cause: "other"}
	}
	req.Header.Set("Content-Type", intake.ContentTypeBatch)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := f.client.Do(req)
	if err != nil {
		err = fmt.Errorf("posting %d events to the hub: %w", len(evs), err)
		f.failed(StateRetrying, false, err)
		return outcome{retry: err, cause: "transport"}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		err = fmt.Errorf("reading the hub's answer: %w", err)
		f.failed(StateRetrying, false, err)
		return outcome{retry: err, cause: "transport"}
	}
	retryAfter := connector.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch st := resp.StatusCode; {
	case st == http.StatusOK:
		return f.answered(evs, raw)
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		err := fmt.Errorf("the hub answered %s", describe(st, raw))
		f.failed(StateUnauthorized, false, err)
		return outcome{retry: err, cause: StateUnauthorized}
	case st == http.StatusTooManyRequests:
		err := fmt.Errorf("the hub answered %s", describe(st, raw))
		f.failed(StateRetrying, true, err)
		return outcome{retry: err, retryAfter: retryAfter, cause: "throttled"}
	case st >= 500 || st == http.StatusRequestTimeout:
		err := fmt.Errorf("the hub answered %s", describe(st, raw))
		f.failed(StateRetrying, false, err)
		return outcome{retry: err, retryAfter: retryAfter, cause: "server"}
	case (st == http.StatusRequestEntityTooLarge || st == http.StatusUnprocessableEntity || st == http.StatusBadRequest) && len(evs) > 1:
		// The batch as a whole: too large for the hub's limits.
		f.succeeded()
		return outcome{shrink: true}
	case st == http.StatusRequestEntityTooLarge || st == http.StatusUnprocessableEntity || st == http.StatusBadRequest:
		// One event the hub cannot take, whatever the batch: a dead
		// letter.
		f.succeeded()
		return outcome{done: []intake.Outcome{{Seq: evs[0].Seq, State: intake.StateRejected, Reason: "the hub answered " + describe(st, raw)}}}
	default:
		// A wrong upstream URL (404) or method: someone must fix the
		// configuration; retried slowly meanwhile.
		err := fmt.Errorf("the hub answered %s", describe(st, raw))
		f.failed(StateRetrying, true, err)
		return outcome{retry: err, retryAfter: f.opts.MaxBackoff, cause: "other"}
	}
}

// answered reads the hub's answer to a batch: the events it took are
// forwarded, those it refused for good are dead letters, and from the
// first one to send again on (should the hub ever answer one so), all
// wait for the next attempt, so that order is kept.
func (f *Forwarder) answered(evs []intake.Stored, raw []byte) outcome {
	var rec intake.BatchReceipt
	if err := json.Unmarshal(raw, &rec); err != nil || len(rec.Results) != len(evs) {
		err := fmt.Errorf("the hub's answer to a batch of %d events is not a batch receipt for them", len(evs))
		f.failed(StateRetrying, true, err)
		return outcome{retry: err, cause: "other"}
	}
	f.succeeded()
	out := outcome{done: make([]intake.Outcome, 0, len(evs))}
	for i, r := range rec.Results {
		ev := evs[i]
		switch {
		case r.Index != i:
			err := fmt.Errorf("the hub's answer lists result %d at position %d", r.Index, i)
			return outcome{done: out.done, retry: err, cause: "other"}
		case r.Status == http.StatusOK || r.Status == http.StatusAccepted:
			reason := "hub event " + r.EventID
			if r.Duplicate {
				reason += " (duplicate)"
			}
			out.done = append(out.done, intake.Outcome{Seq: ev.Seq, State: intake.StateApplied, Reason: reason})
		case r.Status >= 400 && r.Status < 500 && r.Status != http.StatusTooManyRequests && r.Status != http.StatusRequestTimeout:
			reason := "the hub answered " + strconv.Itoa(r.Status)
			if r.Problem != nil {
				reason = "the hub answered " + problemText(r.Status, r.Problem)
			}
			out.done = append(out.done, intake.Outcome{Seq: ev.Seq, State: intake.StateRejected, Reason: reason})
		default:
			err := fmt.Errorf("the hub answered %d for event %s of %s", r.Status, ev.SourceID, ev.Source)
			return outcome{done: out.done, retry: err, cause: "server"}
		}
	}
	return out
}

// probe checks that the hub answers, for the upstream_up gauge.
func (f *Forwarder) probe(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, f.opts.Upstream+"/healthz", nil)
	if err != nil {
		f.failed("", false, err)
		return
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			f.failed("", false, fmt.Errorf("probing the hub: %w", err))
		}
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		f.failed("", false, fmt.Errorf("probing the hub: GET /healthz answered %d", resp.StatusCode))
		return
	}
	f.setState(func(s *liveStatus) {
		if s.state != StateUnauthorized {
			s.upstreamUp, s.lastError = true, ""
		}
	})
	f.syncGauges()
}

// succeeded records an answer from the hub that accepted the key.
func (f *Forwarder) succeeded() {
	f.setState(func(s *liveStatus) {
		s.upstreamUp, s.lastError, s.lastSuccess = true, "", time.Now()
		s.state = StateForwarding
	})
	f.syncGauges()
}

// failed records a failed attempt: state, when not empty, is the new
// state; answered says the hub did answer.
func (f *Forwarder) failed(state string, answered bool, err error) {
	f.setState(func(s *liveStatus) {
		s.upstreamUp = answered && state != StateUnauthorized
		s.lastError = err.Error()
		if state != "" {
			s.state = state
		}
	})
	f.syncGauges()
}

func (f *Forwarder) setState(fn func(s *liveStatus)) {
	f.mu.Lock()
	fn(&f.st)
	f.mu.Unlock()
}

func (f *Forwarder) syncGauges() {
	f.mu.Lock()
	st := f.st
	f.mu.Unlock()
	if st.upstreamUp {
		f.up.Set(1)
	} else {
		f.up.Set(0)
	}
	if !st.lastSuccess.IsZero() {
		f.lastSuccess.Set(float64(st.lastSuccess.UnixMilli()) / 1000)
	}
}

// live returns a copy of the forwarder's state.
func (f *Forwarder) live() liveStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// withCorrelation returns ev's body with its correlation id as the
// correlationid attribute when the body has none, so that the hub keeps
// the id the relay gave (from a header, or new) rather than making
// another. The attribute is not part of the payload hash, so the hub's
// duplicate check is unaffected.
func withCorrelation(ev intake.Stored) []byte {
	var probe struct {
		CorrelationID *string `json:"correlationid"`
	}
	if ev.CorrelationID == "" || len(ev.Body) < 2 || ev.Body[0] != '{' {
		return ev.Body
	}
	if err := json.Unmarshal(ev.Body, &probe); err != nil || probe.CorrelationID != nil {
		return ev.Body
	}
	id, _ := json.Marshal(ev.CorrelationID)
	out := make([]byte, 0, len(ev.Body)+len(id)+18)
	out = append(out, `{"correlationid":`...)
	out = append(out, id...)
	if len(ev.Body) > 2 {
		out = append(out, ',')
	}
	return append(out, ev.Body[1:]...)
}

// describe renders an error answer of the hub on one line: its status and,
// for a problem document, its code and detail.
func describe(status int, raw []byte) string {
	var p problem.Details
	if err := json.Unmarshal(raw, &p); err == nil && p.Code != "" {
		return problemText(status, &p)
	}
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

// problemText renders a problem document on one line, with its field
// errors.
func problemText(status int, p *problem.Details) string {
	s := strconv.Itoa(status) + " " + string(p.Code)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Location+" "+e.Message)
	}
	if len(fields) > 0 {
		s += " (" + strings.Join(fields, "; ") + ")"
	}
	return s
}

// errNoKey reports an empty upstream key file.
var errNoKey = errors.New("the upstream key file is empty")

// KeyFile returns a KeyFunc reading the upstream key from path: its first
// line, trimmed.
func KeyFile(path string) func() (string, error) {
	return func() (string, error) {
		b, err := readSmall(path)
		if err != nil {
			return "", fmt.Errorf("reading the upstream key: %w", err)
		}
		key, _, _ := strings.Cut(string(b), "\n")
		key = strings.TrimSpace(key)
		if key == "" {
			return "", fmt.Errorf("%s: %w", path, errNoKey)
		}
		return key, nil
	}
}
