package tmssim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/connector/webhook"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/event"
)

// PathDispatches is the path releases are POSTed to.
const PathDispatches = "/dispatches"

// StepDefault is the pace the sandbox uses between lifecycle events: fast
// enough to watch a shipment move, slow enough to see each state.
const StepDefault = 200 * time.Millisecond

// ErrClosed is the cause of the cancellation of every lifecycle still
// running when the simulator closes, and is returned by Server.Up after
// Close.
var ErrClosed = errors.New("tms simulator closed")

const (
	// maxBody is the largest release accepted.
	maxBody = 4 << 20
	// sendTimeout bounds one POST of an event to Waybill.
	sendTimeout = 10 * time.Second
	// retryMin and retryMax bound the back-off between attempts to send an
	// event; retryAfterMax caps the wait a Retry-After header may ask for.
	retryMin      = 100 * time.Millisecond
	retryMax      = 5 * time.Second
	retryAfterMax = 30 * time.Second
	// signatureTolerance is how far a signature's timestamp may be from now.
	signatureTolerance = 5 * time.Minute
)

// Options configures a simulator.
type Options struct {
	// Waybill is the base URL of the Waybill intake events are sent to,
	// such as http://127.0.0.1:8080; events go to {Waybill}/v1/events.
	// Required.
	Waybill string
	// Key is the API key (scope events:write) sent as "Authorization:
	// Bearer <Key>". Empty sends no Authorization header.
	Key string
	// Secret, when set, is the tms connector's signing secret: a release
	// without a valid Waybill-Signature is refused with 401. Empty accepts
	// unsigned releases.
	Secret string
	// Step is the real-time delay between two lifecycle events of one
	// release. 0 sends them immediately one after another; StepDefault
	// (200ms) is the sandbox's pace.
	Step time.Duration
	// Seed makes the made-up assignments, signers, seals and positions
	// reproducible: the same seed and dispatch id give the same values.
	Seed int64
	// Logger receives the simulator's logs. Nil discards them.
	Logger *slog.Logger
	// Scenario decides what happens to each accepted release. It is called
	// once per release, from the handling request's goroutine, and must be
	// safe for concurrent use. Nil delivers everything in full
	// (FullDelivery).
	Scenario func(r Release) Plan
	// SkipAssignedEvent leaves dispatch.assigned out of every lifecycle: the
	// assignment then reaches Waybill only through the reply to the
	// release, for a hub that reports it itself.
	SkipAssignedEvent bool
}

// Release is a dispatch the simulator accepted.
type Release struct {
	// Key is the release's Idempotency-Key (its dispatch id when the
	// header was missing).
	Key string
	// Dispatch is the payload, as decoded.
	Dispatch tms.Dispatch
	// CorrelationID is the request's X-Correlation-ID header.
	CorrelationID string
	// Attempt is the Waybill-Attempt header of the request that was
	// accepted, or 0.
	Attempt int
	// AcceptedAt is when the release was accepted: the start of its
	// simulated timeline.
	AcceptedAt time.Time
	// Requests counts the requests that carried Key: 1 plus the repeats.
	Requests int
	// Assignment is what the simulator replied. It is zero in the Release
	// a Scenario receives.
	Assignment tms.Assignment
}

// SentEvent is one lifecycle event whose sending has ended.
type SentEvent struct {
	// DispatchID is the dispatch the event belongs to.
	DispatchID string
	// ID, Type, Subject and Time are the event's CloudEvents attributes;
	// Time is simulated.
	ID      string
	Type    event.Type
	Subject string
	Time    time.Time
	// Data is the event's data; Body the whole event as sent.
	Data json.RawMessage
	Body json.RawMessage
	// Status is the last HTTP status Waybill answered, or 0 when no answer
	// came.
	Status int
	// Attempts counts the POSTs made.
	Attempts int
	// Duplicate reports that Waybill already had the event (200), or held
	// another event under the same id (409).
	Duplicate bool
	// Failed reports that Waybill refused the event for good (a 4xx other
	// than 409 and 429) or that the simulator closed first; Err says why.
	Failed bool
	Err    string
}

// release is the simulator's record of one accepted release.
type release struct {
	Release
	sum    [sha256.Size]byte
	status int
	reply  []byte
}

// Sim is the TMS simulator as an http.Handler. Build it with [New]; serve
// it yourself or through [Start]. It is safe for concurrent use.
type Sim struct {
	events       string
	key          string
	secret       string
	step         time.Duration
	seed         int64
	log          *slog.Logger
	scenario     func(Release) Plan
	skipAssigned bool
	faults       *Faults
	transport    *http.Transport
	client       *http.Client

	ctx    context.Context // parent of every lifecycle; cancelled by Close
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // running lifecycles

	mu       sync.Mutex // guards the fields below
	closed   bool
	releases map[string]*release
	order    []string
	sent     []SentEvent
	updates  []tms.Dispatch // dispatch.update requests accepted, in order
}

// New returns a simulator for opts. It fails when opts.Waybill is not an
// absolute http or https URL. Close it when done.
func New(opts Options) (*Sim, error) {
	u, err := url.Parse(opts.Waybill)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("creating tms simulator: waybill url %q is not an absolute http or https url", opts.Waybill)
	}
	if opts.Step < 0 {
		return nil, fmt.Errorf("creating tms simulator: step %v is negative", opts.Step)
	}
	s := &Sim{
		events:       strings.TrimSuffix(opts.Waybill, "/") + "/v1/events",
		key:          opts.Key,
		secret:       opts.Secret,
		step:         opts.Step,
		seed:         opts.Seed,
		log:          opts.Logger,
		scenario:     opts.Scenario,
		skipAssigned: opts.SkipAssignedEvent,
		faults:       newFaults(),
		releases:     map[string]*release{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.scenario == nil {
		s.scenario = FullDelivery()
	}
	s.transport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: sendTimeout,
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConnsPerHost:   16,
	}
	s.client = &http.Client{Transport: s.transport, Timeout: sendTimeout}
	// The Sim owns its lifecycles and ends them in Close: their context
	// has no parent to inherit a cancellation from.
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	return s, nil
}

// Faults returns the simulator's fault injections.
func (s *Sim) Faults() *Faults { return s.faults }

// Releases returns every accepted release, in acceptance order.
func (s *Sim) Releases() []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Release, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.releases[k].Release)
	}
	return out
}

// Sent returns every lifecycle event whose sending has ended, in the order
// it ended. Events of one release are in lifecycle order.
func (s *Sim) Sent() []SentEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Close stops every running lifecycle (the event being sent, if any, is
// recorded as failed) and waits for them. Releases received afterwards are
// answered 503. It is idempotent.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel(ErrClosed)
	s.wg.Wait()
	s.transport.CloseIdleConnections()
	return nil
}

// ServeHTTP serves POST /dispatches; every other path is 404 and every
// other method 405, with a JSON error.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != PathDispatches {
		writeError(w, http.StatusNotFound, "not_found", "no such path: releases go to POST "+PathDispatches, nil)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "releases are POSTed", nil)
		return
	}
	s.release(w, r)
}

func (s *Sim) release(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fault, latency := s.faults.take()
	switch fault {
	case FaultHTTP500:
		writeError(w, http.StatusInternalServerError, "internal_error", "simulated failure", nil)
		return
	case FaultHTTP503:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "simulated outage: retry later", nil)
		return
	case FaultReset:
		abort(w)
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("a release is at most %d bytes", maxBody), nil)
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "reading body: "+err.Error(), nil)
		return
	}
	// The delay comes after the body is read: from then on the server
	// notices a client that hangs up, and nothing is accepted for it.
	if fault == FaultLatency && !sleep(ctx, latency) {
		return
	}
	if s.secret != "" {
		if err := webhook.Verify(s.secret, r.Header.Get(tms.HeaderSignature), body, signatureTolerance, time.Now()); err != nil {
			writeError(w, http.StatusUnauthorized, "bad_signature", err.Error(), nil)
			return
		}
	}
	d, problems := decodeDispatch(body)
	key := r.Header.Get(tms.HeaderIdempotencyKey)
	switch {
	case d == nil:
	case key == "":
		key = d.DispatchID
	case d.DispatchID != "" && d.DispatchID != key:
		problems = append(problems, fmt.Sprintf("dispatch_id %q differs from the Idempotency-Key header %q", d.DispatchID, key))
	}
	if len(problems) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_dispatch", "the dispatch is not valid", problems)
		return
	}
	sum := sha256.Sum256(body)

	if d.Update {
		s.update(w, r, d)
		return
	}
	if s.repeat(w, r, key, sum, fault) {
		return
	}
	attempt, _ := strconv.Atoi(r.Header.Get(tms.HeaderAttempt))
	rel := &release{
		Release: Release{
			Key:           key,
			Dispatch:      *d,
			CorrelationID: r.Header.Get(correlation.Header),
			Attempt:       attempt,
			AcceptedAt:    time.Now().Truncate(time.Second),
			Requests:      1,
		},
		sum:    sum,
		status: http.StatusCreated,
	}
	// The scenario is caller code: it runs without the lock held.
	rnd := rng(s.seed, d.DispatchID)
	plan, tl := resolve(s.scenario(rel.Release), &rel.Release, rel.AcceptedAt, rnd)
	events, err := build(&rel.Release, plan, tl, rnd, s.skipAssigned)
	if err == nil {
		rel.Assignment = *plan.Assignment
		rel.reply, err = encode(struct {
			DispatchID string `json:"dispatch_id"`
			Status     string `json:"status"`
			tms.Assignment
		}{DispatchID: d.DispatchID, Status: "accepted", Assignment: rel.Assignment})
	}
	if err != nil {
		s.log.ErrorContext(ctx, "tmssim cannot build the lifecycle of a release", slog.String("shipment_id", d.ShipmentID), slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "internal_error", "building the lifecycle failed", nil)
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "closed", "the simulator is closed", nil)
		return
	}
	if _, ok := s.releases[key]; ok {
		// A concurrent request with the same key won the race.
		s.mu.Unlock()
		s.repeat(w, r, key, sum, fault)
		return
	}
	s.releases[key] = rel
	s.order = append(s.order, key)
	s.wg.Add(1)
	s.mu.Unlock()
	go s.run(rel.Dispatch.DispatchID, rel.Dispatch.ShipmentID, events)

	s.log.InfoContext(ctx, "tmssim accepted a release",
		slog.String("shipment_id", d.ShipmentID), slog.String("dispatch_id", d.DispatchID),
		slog.String(correlation.AttrKey, rel.CorrelationID), slog.Int("events", len(events)))
	if fault == FaultDropAfterAccept {
		abort(w)
		return
	}
	writeJSON(w, rel.status, rel.reply)
}

// update takes an updated dispatch of a shipment released before: the
// plan of a real TMS would change; the simulator records it and answers
// 200. An update of a shipment it never saw is 404. Updates are idempotent
// by dispatch id.
func (s *Sim) update(w http.ResponseWriter, r *http.Request, d *tms.Dispatch) {
	s.mu.Lock()
	known := false
	for _, rel := range s.releases {
		if rel.Dispatch.ShipmentID == d.ShipmentID {
			known = true
			break
		}
	}
	if known && !slices.ContainsFunc(s.updates, func(u tms.Dispatch) bool { return u.DispatchID == d.DispatchID }) {
		s.updates = append(s.updates, *d)
	}
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusNotFound, "unknown_shipment", "no release of shipment "+d.ShipmentID+" to update", nil)
		return
	}
	s.log.InfoContext(r.Context(), "tmssim took a dispatch update", slog.String("shipment_id", d.ShipmentID), slog.String("reason", d.UpdateReason))
	reply, _ := encode(map[string]string{"dispatch_id": d.DispatchID, "status": "updated"})
	writeJSON(w, http.StatusOK, reply)
}

// Updates returns the dispatch updates accepted, in order.
func (s *Sim) Updates() []tms.Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.updates)
}

// repeat answers a request whose key was already accepted, as the first
// request was answered, and reports whether it did.
func (s *Sim) repeat(w http.ResponseWriter, r *http.Request, key string, sum [sha256.Size]byte, fault Fault) bool {
	s.mu.Lock()
	rel, ok := s.releases[key]
	if !ok {
		s.mu.Unlock()
		return false
	}
	if rel.sum != sum {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "idempotency_conflict", "Idempotency-Key "+key+" was used with another dispatch", nil)
		return true
	}
	rel.Requests++
	status, reply := rel.status, rel.reply
	s.mu.Unlock()
	s.log.InfoContext(r.Context(), "tmssim answered a repeated release", slog.String("dispatch_id", key))
	if fault == FaultDropAfterAccept {
		abort(w)
		return true
	}
	w.Header().Set("Idempotent-Replayed", "true")
	writeJSON(w, status, reply)
	return true
}

// decodeDispatch decodes and checks a release body, reporting every problem.
func decodeDispatch(body []byte) (*tms.Dispatch, []string) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var d tms.Dispatch
	if err := dec.Decode(&d); err != nil {
		return nil, []string{"body: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, []string{"body: data after the dispatch object"}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if d.DispatchID == "" {
		bad("dispatch_id: required")
	}
	switch {
	case d.ShipmentID == "":
		bad("shipment_id: required")
	case len(d.ShipmentID) > 200:
		bad("shipment_id: longer than 200 characters")
	case strings.ContainsAny(d.ShipmentID, " \t\r\n"):
		bad("shipment_id: must not contain white space")
	}
	if len(d.Lines) == 0 {
		bad("lines: at least one line required")
	}
	seen := map[string]bool{}
	reserved := false
	for i, l := range d.Lines {
		switch {
		case l.LineID == "":
			bad("lines[%d].line_id: required", i)
		case seen[l.LineID]:
			bad("lines[%d].line_id: %q appears twice", i, l.LineID)
		}
		seen[l.LineID] = true
		if l.Quantity.Unit() == "" {
			bad("lines[%d].quantity: required", i)
		}
		if l.Reserved != nil {
			reserved = true
			if l.Reserved.Sign() < 0 {
				bad("lines[%d].reserved: negative", i)
			}
		}
		for j, lot := range l.Lots {
			if lot.Lot == "" {
				bad("lines[%d].lots[%d].lot: required", i, j)
			}
			if lot.Quantity.Unit() == "" {
				bad("lines[%d].lots[%d].quantity: required", i, j)
			}
		}
	}
	if len(d.Lines) > 0 && !reserved {
		bad("lines: nothing reserved on any line, nothing to load")
	}
	return &d, problems
}

// writeJSON writes a JSON body.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError writes {"error": code, "message": msg, "problems": [...]}.
func writeError(w http.ResponseWriter, status int, code, msg string, problems []string) {
	body, _ := encode(struct {
		Error    string   `json:"error"`
		Message  string   `json:"message"`
		Problems []string `json:"problems,omitempty"`
	}{code, msg, problems})
	writeJSON(w, status, body)
}

// abort closes the client connection without a reply, with a TCP reset
// where possible.
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// sleep waits d, or until ctx ends; it reports whether the wait was full.
func sleep(ctx context.Context, d time.Duration) bool {
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
