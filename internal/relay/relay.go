package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
)

// Defaults of Options.
const (
	ListenDefault          = "127.0.0.1:8090"
	MaxBacklogDefault      = 1_000_000
	ShutdownTimeoutDefault = 10 * time.Second
)

// Options configures a Relay.
type Options struct {
	// Database is the relay's own database: on a site, the embedded
	// SQLite store in a data directory of its own.
	Database sqldb.Options
	// Listen is the address local clients post to. Defaults to
	// ListenDefault; port 0 picks a free port.
	Listen string
	// Forward configures forwarding to the hub; Upstream and KeyFunc are
	// required.
	Forward ForwarderOptions
	// MaxBacklog is the number of events waiting to be forwarded above
	// which the relay answers 429 (with Retry-After) instead of storing
	// more. Defaults to MaxBacklogDefault.
	MaxBacklog int64
	// MaxBatch and MaxBody bound local requests as the hub's
	// intake.max_batch_events and intake.max_body_bytes do; GroupCommit is
	// intake.group_commit_max. Zero takes the hub's defaults (1000, 8 MiB,
	// 1000).
	MaxBatch, GroupCommit int
	MaxBody               int64
	// Window bounds event times as the hub's intake.max_event_age and
	// intake.max_event_lead do.
	Window intake.TimeWindow
	// ShutdownTimeout bounds the HTTP shutdown. Defaults to
	// ShutdownTimeoutDefault.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// Relay is an assembled site relay: intake on its own database and a
// forwarder to the hub.
type Relay struct {
	// DB is the relay's database, Events its events table (the queue) and
	// Keys the API keys of its local clients.
	DB     *sqldb.DB
	Events *intake.Store
	Keys   *apikey.Store
	// Forwarder sends the queue to the hub.
	Forwarder *Forwarder

	opts      Options
	logger    *slog.Logger
	backlog   *intake.Backlog
	committer *intake.Committer
	reg       *prometheus.Registry
	httpSrv   *http.Server
	ln        net.Listener
	release   func() error
}

// New opens, migrates and claims the relay's database, builds intake and
// the forwarder, and listens on opts.Listen. Call Run to serve, or Close
// to give up.
func New(ctx context.Context, opts Options) (*Relay, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	r := &Relay{opts: o, logger: o.Logger, backlog: &intake.Backlog{}, reg: prometheus.NewRegistry()}
	db, err := sqldb.Open(ctx, o.Database)
	if err != nil {
		return nil, err
	}
	r.DB = db
	if r.release, err = db.Claim(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := r.build(ctx); err != nil {
		r.closeDB()
		return nil, err
	}
	return r, nil
}

func (o Options) validate() error {
	var errs []error
	if o.Forward.Upstream == "" {
		errs = append(errs, errors.New("relay: the upstream hub URL is required"))
	} else if _, err := parseUpstream(o.Forward.Upstream); err != nil {
		errs = append(errs, err)
	}
	if o.Forward.KeyFunc == nil {
		errs = append(errs, errors.New("relay: the upstream key is required"))
	}
	if o.Forward.Batch < 0 || o.Forward.Batch > 1000 {
		errs = append(errs, fmt.Errorf("relay: batch must be from 1 to 1000, not %d", o.Forward.Batch))
	}
	if o.MaxBacklog < 0 {
		errs = append(errs, fmt.Errorf("relay: max backlog must be positive, not %d", o.MaxBacklog))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Listen == "" {
		o.Listen = ListenDefault
	}
	if o.MaxBacklog == 0 {
		o.MaxBacklog = MaxBacklogDefault
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.GroupCommit <= 0 {
		o.GroupCommit = 1000
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = ShutdownTimeoutDefault
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (r *Relay) build(ctx context.Context) error {
	o, logger := r.opts, r.logger
	if _, err := r.DB.Migrate(ctx, logger); err != nil {
		return err
	}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	validator, err := event.NewValidator()
	if err != nil {
		return fmt.Errorf("loading event schemas: %w", err)
	}
	r.Events = intake.NewStore(r.DB, r.backlog)
	n, err := r.Events.CountPending(ctx)
	if err != nil {
		return err
	}
	r.backlog.Set(n)
	r.Keys = apikey.NewStore(r.DB)
	r.Keys.Logger = logger
	fwd := o.Forward
	fwd.Logger, fwd.Registerer = logger, r.reg
	r.Forwarder = NewForwarder(r.DB, r.Events, r.backlog, &fwd)
	r.committer = intake.NewCommitter(r.Events, &intake.CommitterOptions{
		MaxGroup: o.GroupCommit, NotifyFunc: r.Forwarder.Wake, Logger: logger, Registerer: r.reg,
	})
	events := intake.NewHandler(validator, r.committer, r.backlog, &intake.HandlerOptions{
		MaxBacklog: o.MaxBacklog, MaxBatch: o.MaxBatch, MaxBody: o.MaxBody, Window: o.Window,
		Logger: logger, Registerer: r.reg,
	})
	mux := http.NewServeMux()
	mux.Handle("POST /v1/events", r.requireKey(events))
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /v1/relay/status", r.serveStatus)
	r.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	r.ln, err = net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.Listen, err)
	}
	return nil
}

// Addr is the address the relay listens on.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// URL is the relay's base URL.
func (r *Relay) URL() string { return "http://" + r.Addr() }

// Close releases what New acquired, for a relay that never ran.
func (r *Relay) Close() error {
	r.ln.Close()
	return r.closeDB()
}

func (r *Relay) closeDB() error {
	return errors.Join(r.release(), r.DB.Close())
}

// Run serves until ctx ends, then stops intake (the HTTP server, then the
// committer, which writes what is queued), stops the forwarder and closes
// the database. An event the relay acknowledged is on disk; one whose
// batch was in flight to the hub is sent again at the next start.
func (r *Relay) Run(ctx context.Context) error {
	defer r.closeDB()
	r.logger.InfoContext(ctx, "relay listening", slog.String("addr", r.Addr()), slog.String("upstream", r.opts.Forward.Upstream),
		slog.Int64("backlog", r.backlog.Load()))
	intakeCtx, stopIntake := context.WithCancel(context.WithoutCancel(ctx))
	defer stopIntake()
	fwdCtx, stopForwarder := context.WithCancel(context.WithoutCancel(ctx))
	defer stopForwarder()
	var intakeG, fwdG errgroup.Group
	intakeG.Go(func() error { return r.committer.Run(intakeCtx) })
	intakeG.Go(func() error { return r.Keys.Run(intakeCtx) })
	fwdG.Go(func() error { return r.Forwarder.Run(fwdCtx) })
	serveErr := make(chan error, 1)
	go func() {
		err := r.httpSrv.Serve(r.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		serveErr <- err
	}()
	var runErr error
	select {
	case <-ctx.Done():
		r.logger.Info("relay shutting down")
	case runErr = <-serveErr:
		r.logger.Error("http server stopped", slog.Any("err", runErr))
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), r.opts.ShutdownTimeout)
	defer cancel()
	if err := r.httpSrv.Shutdown(shutCtx); err != nil {
		r.logger.Warn("http shutdown incomplete", slog.Any("err", err))
		r.httpSrv.Close()
	}
	stopIntake()
	if err := intakeG.Wait(); err != nil && !errors.Is(err, context.Canceled) && runErr == nil {
		runErr = err
	}
	stopForwarder()
	if err := fwdG.Wait(); err != nil && runErr == nil {
		runErr = err
	}
	r.logger.Info("relay stopped", slog.Int64("backlog", r.backlog.Load()))
	return runErr
}

// requireKey admits requests that carry one of the relay's API keys with
// scope events:write, answering as the hub does otherwise.
func (r *Relay) requireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok {
			token, ok = strings.CutPrefix(req.Header.Get("Authorization"), "bearer ")
		}
		unauthorized := func(detail string) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="waybill-relay"`)
			problem.Write(w, req, (&problem.Details{Status: http.StatusUnauthorized, Code: problem.CodeUnauthorized, Detail: detail}).Fill())
		}
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			unauthorized("missing API key: send Authorization: Bearer <key> with a key of this relay (waybill relay keys create)")
			return
		}
		key, err := r.Keys.Verify(req.Context(), token)
		switch {
		case errors.Is(err, apikey.ErrRevoked):
			unauthorized("API key revoked")
			return
		case errors.Is(err, apikey.ErrExpired):
			unauthorized("API key expired")
			return
		case errors.Is(err, apikey.ErrMalformed), errors.Is(err, apikey.ErrUnknown):
			unauthorized("invalid API key: local clients use a key of this relay, not of the hub")
			return
		case err != nil:
			r.logger.ErrorContext(req.Context(), "verifying API key failed", slog.Any("err", err))
			problem.Write(w, req, (&problem.Details{Status: http.StatusServiceUnavailable, Code: problem.CodeStorageUnavailable, Detail: "cannot verify the API key now"}).Fill())
			return
		}
		if wait, ok := r.Keys.Allow(key); !ok {
			secs := max(int64(math.Ceil(wait.Seconds())), 1)
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			problem.Write(w, req, (&problem.Details{Status: http.StatusTooManyRequests, Code: problem.CodeRateLimited,
				Detail: fmt.Sprintf("API key %s is over its rate limit: retry after %d s", key.ID, secs)}).Fill())
			return
		}
		if !key.Has(apikey.EventsWrite) {
			problem.Write(w, req, (&problem.Details{Status: http.StatusForbidden, Code: problem.CodeForbidden,
				Detail: fmt.Sprintf("this key lacks the %s scope", apikey.EventsWrite)}).Fill())
			return
		}
		next.ServeHTTP(w, req.WithContext(apikey.NewContext(req.Context(), key)))
	})
}

// readSmall reads a small file, such as a key file.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<10))
}
