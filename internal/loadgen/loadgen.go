package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Mixes of event types that Params.Mix selects.
const (
	// MixPlanned sends only shipment.planned, each for a new subject.
	MixPlanned = "planned"
	// MixLifecycle sends shipment.planned and then inventory.reserved for
	// each subject, in that order and through the same client.
	MixLifecycle = "lifecycle"
)

// Defaults that Params.WithDefaults applies to zero fields.
const (
	ClientsDefault = 64
	EventsDefault  = 100_000
	BatchDefault   = 1
	MixDefault     = MixPlanned
)

// Limits that Params.Validate enforces.
const (
	ClientsMax = 4096
	BatchMax   = 1000
)

// RequestTimeout bounds each request made by the HTTP client that Run builds
// when Params.HTTPClient is nil.
const RequestTimeout = 30 * time.Second

// throttleDelayDefault is how long a client waits after a 429 without a
// usable Retry-After; throttleDelayMax caps every wait.
const (
	throttleDelayDefault = 100 * time.Millisecond
	throttleDelayMax     = time.Second
)

// ErrTooManyErrors is wrapped by the error Run returns, along with its
// Result, when more than 1% of requests ended in an error.
var ErrTooManyErrors = errors.New("too many failed requests")

// ErrServerGone is wrapped by the error Run returns, along with its Result,
// when the server stopped answering: every request failed at the transport
// level (connection refused or reset, timeout) for GoneAfter, or no request
// of the run was answered at all.
var ErrServerGone = errors.New("server gone")

// GoneAfter is how long every request must fail at the transport level, with
// no answer in between, before Run stops with ErrServerGone.
const GoneAfter = time.Second

// progressInterval is the time between two progress lines.
const progressInterval = time.Second

// Params configures Run. Zero fields take the defaults above.
type Params struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080; events go to
	// URL + "/v1/events". Required; absolute http or https.
	URL string
	// Key is the API key with the events:write scope, sent as a bearer
	// token. Required.
	Key string
	// Clients is the number of concurrent connections, 1 to 4096. Defaults
	// to 64.
	Clients int
	// Events is the total number of events to send, at least 1. Defaults to
	// 100000.
	Events int
	// Batch is the number of events per request, 1 to 1000; 1 sends
	// single-event requests, more sends batches. Defaults to 1.
	Batch int
	// Mix is MixPlanned or MixLifecycle. Defaults to MixPlanned.
	Mix string
	// Duration caps the run time; 0 means no cap.
	Duration time.Duration
	// Progress receives one line per second while the run lasts and one at
	// its end: elapsed time, events sent, accepted events per second so far
	// and errors. Nil means no progress lines.
	Progress io.Writer
	// HTTPClient sends the requests. Nil means a client with a transport
	// tuned for Clients keep-alive HTTP/1.1 connections, no compression,
	// no redirects and RequestTimeout per request.
	HTTPClient *http.Client
}

// ParamError reports one invalid Params field.
type ParamError struct {
	Field  string // name of the Params field, e.g. "Clients"
	Reason string
}

// Error implements error.
func (e *ParamError) Error() string {
	return "invalid loadgen params: " + e.Field + " " + e.Reason
}

// WithDefaults returns a copy of p with defaults applied to zero fields.
func (p *Params) WithDefaults() *Params {
	q := *p
	if q.Clients == 0 {
		q.Clients = ClientsDefault
	}
	if q.Events == 0 {
		q.Events = EventsDefault
	}
	if q.Batch == 0 {
		q.Batch = BatchDefault
	}
	if q.Mix == "" {
		q.Mix = MixDefault
	}
	return &q
}

// Validate reports every invalid field of p, each as a *ParamError, joined
// with errors.Join. Call it after WithDefaults.
func (p *Params) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ParamError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if p.URL == "" {
		bad("URL", "is required")
	} else if u, err := url.Parse(p.URL); err != nil {
		bad("URL", "is not a URL: %v", err)
	} else if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		bad("URL", "must be an absolute http or https URL, got %q", p.URL)
	}
	if p.Key == "" {
		bad("Key", "is required")
	}
	if p.Clients < 1 || p.Clients > ClientsMax {
		bad("Clients", "must be between 1 and %d, got %d", ClientsMax, p.Clients)
	}
	if p.Events < 1 {
		bad("Events", "must be at least 1, got %d", p.Events)
	}
	if p.Batch < 1 || p.Batch > BatchMax {
		bad("Batch", "must be between 1 and %d, got %d", BatchMax, p.Batch)
	}
	if p.Mix != MixPlanned && p.Mix != MixLifecycle {
		bad("Mix", "must be %q or %q, got %q", MixPlanned, MixLifecycle, p.Mix)
	}
	if p.Duration < 0 {
		bad("Duration", "must not be negative, got %v", p.Duration)
	}
	return errors.Join(errs...)
}

// Latencies summarizes request durations.
type Latencies struct {
	P50, P90, P99, Max time.Duration
}

// Result is what a run measured.
type Result struct {
	// RunID is the run's UUIDv7; events carry source "loadgen/<RunID>".
	RunID string
	// Accepted, Duplicates and Rejected count events answered 202, answered
	// 200, and rejected inside a batch answer.
	Accepted, Duplicates, Rejected int
	// Throttled counts 429 answers; each was retried.
	Throttled int
	// Errors counts requests that failed: a non-2xx answer other than 429,
	// an unreadable batch answer or a transport error.
	Errors int
	// Requests counts HTTP requests that were answered or failed, retries
	// included; requests cut short by the end of the run are not counted.
	Requests int
	// Sent counts events whose request got a 2xx answer: Accepted,
	// Duplicates and Rejected together. The events of failed requests are
	// not counted.
	Sent int
	// Elapsed is the wall time from the first request to the end of the run,
	// or to the last answer when the server went away.
	Elapsed time.Duration
	// EventsPerSecond is Accepted+Duplicates per second of Elapsed.
	EventsPerSecond float64
	// RequestLatency summarizes the duration of every answered request,
	// from sending it to reading its whole answer.
	RequestLatency Latencies
}

// Run sends p.Events events to p.URL and measures the answers; see the
// package documentation. It returns a *ParamError (joined) for invalid
// params. When ctx is cancelled or p.Duration passes, Run stops sending,
// abandons requests in flight and returns what it measured with a nil error.
// When the server is gone (see ErrServerGone) it stops the same way and
// returns the Result with an error wrapping ErrServerGone; otherwise, when
// more than 1% of requests failed, it returns the Result and an error
// wrapping ErrTooManyErrors. Progress lines, when asked for, are all written
// before Run returns.
func Run(ctx context.Context, p *Params) (*Result, error) {
	if p == nil {
		p = &Params{}
	}
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	endpoint, err := url.JoinPath(p.URL, "v1/events")
	if err != nil {
		return nil, fmt.Errorf("building endpoint URL: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("generating run ID: %w", err)
	}
	runID := id.String()

	client := p.HTTPClient
	if client == nil {
		tr := newTransport(p.Clients, p.Batch)
		defer tr.CloseIdleConnections()
		client = &http.Client{
			Transport: tr,
			Timeout:   RequestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if p.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Duration)
		defer cancel()
	}

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	pl, err := newPlan(runID, p, time.Now().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	contentType := "application/cloudevents+json"
	if p.Batch > 1 {
		contentType = "application/cloudevents-batch+json"
	}
	tmpl, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	tmpl.Header.Set("Authorization", "Bearer "+p.Key)
	tmpl.Header.Set("Content-Type", contentType)
	tmpl.Header.Set("Accept", "application/json, application/problem+json")
	tmpl.Header.Set("User-Agent", "waybill-loadgen")

	var next atomic.Int64
	start := time.Now()
	live := newLiveness(start, GoneAfter, stop)
	workers := make([]*worker, min(int64(p.Clients), pl.units()))
	for i := range workers {
		workers[i] = newWorker(client, tmpl, pl, &next, p.Batch > 1)
		workers[i].live = live
	}

	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(ctx) })
	}
	// The progress reporter is stopped and waited for before the last
	// line is written, so that no line comes after the run's end.
	var progress sync.WaitGroup
	stopProgress := make(chan struct{})
	if p.Progress != nil {
		progress.Go(func() { reportProgress(p.Progress, start, progressInterval, workers, stopProgress) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProgress)
	progress.Wait()

	goneErr := live.gone(context.Cause(ctx))
	if goneErr != nil && live.answers.Load() > 0 {
		elapsed = time.Duration(live.lastAnswer.Load())
	}
	res := &Result{RunID: runID, Elapsed: elapsed}
	var hist Histogram
	for _, w := range workers {
		w.counts.addTo(res)
		hist.Merge(&w.hist)
	}
	if p.Progress != nil {
		writeProgress(p.Progress, elapsed, res)
	}
	if elapsed > 0 {
		res.EventsPerSecond = float64(res.Accepted+res.Duplicates) / elapsed.Seconds()
	}
	res.RequestLatency = Latencies{
		P50: hist.Quantile(0.50),
		P90: hist.Quantile(0.90),
		P99: hist.Quantile(0.99),
		Max: hist.Max(),
	}
	if goneErr != nil {
		return res, goneErr
	}
	if res.Errors*100 > res.Requests {
		return res, fmt.Errorf("%w: %d of %d requests (%.2f%%), more than 1%%",
			ErrTooManyErrors, res.Errors, res.Requests, 100*float64(res.Errors)/float64(res.Requests))
	}
	return res, nil
}

// newTransport returns a transport for clients keep-alive HTTP/1.1
// connections to one host.
func newTransport(clients, batch int) *http.Transport {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	writeBuffer := 0 // the transport's default, 4 KB, fits a single event
	if batch > 1 {
		writeBuffer = 64 << 10
	}
	return &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          clients,
		MaxIdleConnsPerHost:   clients,
		MaxConnsPerHost:       clients,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       writeBuffer,
		Protocols:             protocols,
	}
}

// reportProgress writes a progress line every interval until stop is
// closed.
func reportProgress(w io.Writer, start time.Time, interval time.Duration, workers []*worker, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			select {
			case <-stop:
				return // the run ended while the tick waited
			default:
			}
			var res Result
			for _, wk := range workers {
				wk.counts.addTo(&res)
			}
			writeProgress(w, now.Sub(start), &res)
		}
	}
}

// writeProgress writes one progress line for res after elapsed.
func writeProgress(w io.Writer, elapsed time.Duration, res *Result) {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(res.Accepted+res.Duplicates) / elapsed.Seconds()
	}
	fmt.Fprintf(w, "elapsed %s  sent %d  accepted/s %.0f  errors %d\n",
		elapsed.Round(time.Second), res.Sent, rate, res.Errors)
}

// WriteSummary writes r for people: throughput, latency and counts.
func (r *Result) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "run %s: %d events in %s, %.0f events/s\n",
		r.RunID, r.Sent, r.Elapsed.Round(time.Millisecond), r.EventsPerSecond)
	l := r.RequestLatency
	fmt.Fprintf(w, "request latency: p50 %s  p90 %s  p99 %s  max %s\n",
		roundLatency(l.P50), roundLatency(l.P90), roundLatency(l.P99), roundLatency(l.Max))
	fmt.Fprintf(w, "accepted %d  duplicates %d  rejected %d  throttled %d  errors %d  requests %d\n",
		r.Accepted, r.Duplicates, r.Rejected, r.Throttled, r.Errors, r.Requests)
}

// roundLatency keeps about three significant digits of d.
func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
