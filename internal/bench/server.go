package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"time"
)

// Defaults that New applies to zero Options fields.
const (
	AddrDefault     = "127.0.0.1:0"
	MaxBodyDefault  = 8 << 20
	MaxBatchDefault = 1000
	// GroupMaxDefault is the most events one transaction commits.
	GroupMaxDefault = 10_000
)

// closeTimeout bounds shutting down: requests in flight, then the store.
const closeTimeout = 30 * time.Second

// Content types POST /v1/events takes, as Waybill's intake does.
const (
	contentTypeCloudEvent = "application/cloudevents+json"
	contentTypeJSON       = "application/json"
	contentTypeBatch      = "application/cloudevents-batch+json"
)

// Options configures a ceiling server.
type Options struct {
	// Addr is the TCP address to listen on. Defaults to 127.0.0.1:0, a free
	// loopback port.
	Addr string
	// DataDir is the directory of the SQLite database (file SQLiteFile).
	// Exactly one of DataDir and DatabaseURL is required.
	DataDir string
	// DatabaseURL is a postgres:// URL; the server then stores events in
	// its table ceiling_events (in the URL's search_path).
	DatabaseURL string
	// MaxBody is the largest request body read, in bytes. Defaults to 8 MiB.
	MaxBody int64
	// MaxBatch is the most events a batch may hold. Defaults to 1000.
	MaxBatch int
	// GroupMax is the most events one transaction commits. Defaults to
	// 10000.
	GroupMax int
	// Logger receives failures to store; nil discards them.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with defaults applied.
func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = AddrDefault
	}
	if o.MaxBody <= 0 {
		o.MaxBody = MaxBodyDefault
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = MaxBatchDefault
	}
	if o.GroupMax <= 0 {
		o.GroupMax = GroupMaxDefault
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate reports whether o names exactly one store.
func (o *Options) validate() error {
	if (o.DataDir == "") == (o.DatabaseURL == "") {
		return errors.New("ceiling server: set exactly one of the data directory and the database URL")
	}
	return nil
}

// Server is a ceiling server: see the package documentation.
type Server struct {
	opts    Options
	store   store
	ln      net.Listener
	httpSrv *http.Server
	writes  chan *write
}

// write is one request's events on their way to the writer, and the channel
// (buffered) that gets the outcome of their commit.
type write struct {
	records []Record
	done    chan error
}

// New opens the store that opts name, creating its table, and listens on
// opts.Addr. Call Run to serve, or Close to give up.
func New(ctx context.Context, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, &opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("ceiling server: %w", err)
	}
	s := &Server{opts: opts, store: st, ln: ln, writes: make(chan *write, 1024)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", s.serveEvents)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ready"}`+"\n")
	})
	s.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return s, nil
}

// URL is the server's base URL; events go to URL + "/v1/events".
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close releases what New acquired, for a server that never ran.
func (s *Server) Close() error {
	return errors.Join(s.ln.Close(), s.store.close())
}

// Run serves until ctx is done, then stops taking requests, lets those in
// flight finish (their events committed), and closes the store. It returns
// only after its goroutines have exited.
func (s *Server) Run(ctx context.Context) error {
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		s.commit(context.WithoutCancel(ctx))
	}()
	serveErr := make(chan error, 1)
	go func() {
		err := s.httpSrv.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		serveErr <- err
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErr:
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if err := s.httpSrv.Shutdown(shutCtx); err != nil {
		s.httpSrv.Close()
		runErr = errors.Join(runErr, fmt.Errorf("ceiling server: shutting down: %w", err))
	}
	if ctx.Err() != nil {
		if err := <-serveErr; err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	// No handler runs any more: nothing sends to writes.
	close(s.writes)
	<-committed
	return errors.Join(runErr, s.store.close())
}

// commit is the writer: it takes the first queued write, whatever else is
// queued by then (up to GroupMax events), commits them in one transaction
// and answers each. It returns when writes is closed and drained.
func (s *Server) commit(ctx context.Context) {
	var group []*write
	var records []Record
	for first := range s.writes {
		group, records = append(group[:0], first), append(records[:0], first.records...)
	drain:
		for len(records) < s.opts.GroupMax {
			select {
			case w, ok := <-s.writes:
				if !ok {
					break drain
				}
				group, records = append(group, w), append(records, w.records...)
			default:
				break drain
			}
		}
		err := s.store.insert(ctx, records)
		if err != nil {
			s.opts.Logger.ErrorContext(ctx, "storing events failed", slog.Int("events", len(records)), slog.Any("err", err))
		}
		for _, w := range group {
			w.done <- err
		}
		clear(records) // drop the bodies
	}
}

// submit queues records for the writer and waits for their commit.
func (s *Server) submit(ctx context.Context, records []Record) error {
	w := &write{records: records, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-w.done
}

// receipt answers an accepted single event, as Waybill's does.
type receipt struct {
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
}

// batchResult is one event's outcome in a batch answer.
type batchResult struct {
	Index     int    `json:"index"`
	Status    int    `json:"status"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
}

// batchReceipt answers a batch, as Waybill's does.
type batchReceipt struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Rejected   int           `json:"rejected"`
	Results    []batchResult `json:"results"`
}

// eventID is the one attribute of an event the server reads.
type eventID struct {
	ID string `json:"id"`
}

// serveEvents serves POST /v1/events: it reads each event's id, stores the
// events and answers 202 (a single event) or 200 with a result per event
// (a batch) once they are committed.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	batch := mt == contentTypeBatch
	if !batch && mt != contentTypeCloudEvent && mt != contentTypeJSON {
		writeProblem(w, http.StatusUnsupportedMediaType, "Content-Type must be "+contentTypeCloudEvent+", "+contentTypeJSON+" or "+contentTypeBatch)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		writeProblem(w, http.StatusRequestEntityTooLarge, "reading the request body: "+err.Error())
		return
	}
	var raws []json.RawMessage
	if batch {
		if err := json.Unmarshal(body, &raws); err != nil {
			writeProblem(w, http.StatusBadRequest, "a batch must be a JSON array of CloudEvents")
			return
		}
		if len(raws) == 0 || len(raws) > s.opts.MaxBatch {
			writeProblem(w, http.StatusUnprocessableEntity, fmt.Sprintf("a batch holds 1 to %d events, not %d", s.opts.MaxBatch, len(raws)))
			return
		}
	} else {
		raws = []json.RawMessage{body}
	}
	records := make([]Record, len(raws))
	for i, raw := range raws {
		var e eventID
		if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" {
			writeProblem(w, http.StatusUnprocessableEntity, fmt.Sprintf("event %d: not a CloudEvent with an id", i))
			return
		}
		records[i] = Record{ID: e.ID, Body: raw}
	}
	if err := s.submit(r.Context(), records); err != nil {
		if r.Context().Err() == nil {
			writeProblem(w, http.StatusServiceUnavailable, "the events could not be stored: retry later")
		}
		return
	}
	if !batch {
		writeJSON(w, http.StatusAccepted, receipt{EventID: records[0].ID})
		return
	}
	out := batchReceipt{Accepted: len(records), Results: make([]batchResult, len(records))}
	for i, rec := range records {
		out.Results[i] = batchResult{Index: i, Status: http.StatusAccepted, EventID: rec.ID}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem answers an RFC 9457 problem, as Waybill's API does.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail,
	})
}
