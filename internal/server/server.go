package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/changes"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/subscription"
	"github.com/waybill/waybill/internal/trackpage"
	"github.com/waybill/waybill/internal/workflow"
)

// Deps are what the API serves.
type Deps struct {
	DB        *sqldb.DB
	Keys      *apikey.Store
	Intake    http.Handler
	Events    *intake.Store
	Shipments *workflow.Store
	// Jobs may be nil when no job queue runs (dead-letter routes then answer
	// from the table, and replay is refused).
	Jobs        *jobqueue.Queue
	DeadLetters *jobqueue.DeadLetters
	Gatherer    prometheus.Gatherer
	// Feeds reports the proof-of-delivery feeds; nil when none is watched.
	Feeds Feeds
	// Emitter stores events Waybill produces itself, such as review
	// decisions; nil refuses decisions.
	Emitter *intake.Emitter
	// OdooHook enables POST /v1/sources/odoo/webhook; nil leaves it out.
	OdooHook *OdooHook
	// Sources receives the payloads of source profiles on
	// /v1/sources/{source}/webhooks and /edi; nil leaves them out.
	Sources *source.Receiver
	// Audit records decisions, replays and key changes made over the API,
	// and serves GET /v1/audit; nil records nothing and lists no entry.
	Audit *audit.Store
	// Changes serves /v1/changes, the approval of changed rules, profiles
	// and mappings; nil leaves the routes out.
	Changes *changes.Store
	// Reconciler serves /v1/reconciliations, the end-of-day
	// reconciliation with Odoo; nil leaves the routes out.
	Reconciler *reconcile.Reconciler
	// Freight serves /v1/freight-audits and the shipments' margins; nil
	// (the freight audit off) leaves them out.
	Freight Freight
	// Subscriptions serves /v1/subscriptions; nil leaves the routes out.
	Subscriptions *subscription.Service
	// Tracking serves the public tracking pages (GET /track/{token}) and
	// the tracking-links API; nil (tracking_page off) leaves them out.
	Tracking *trackpage.Service
	// Console serves the web console under /console; nil leaves it out.
	Console http.Handler
	// MaxBodyBytes bounds source payloads. Defaults to 8 MiB.
	MaxBodyBytes int
	Logger       *slog.Logger
	Version      string
}

// quantitySchema is the JSON form of a quantity.Quantity, as its
// MarshalJSON writes it, for the OpenAPI document.
type quantitySchema struct {
	Value string `json:"value" pattern:"^-?[0-9]+(\\.[0-9]+)?$" example:"12.5" doc:"The exact decimal value, as text"`
	Unit  string `json:"unit" example:"KGM" doc:"UN/ECE Recommendation 20 unit code, such as C62 (piece), KGM, LBR, MTQ"`
}

// schemaName names the OpenAPI schema of a Go type: huma's default name,
// prefixed with Reconciliation for the types of package reconcile, Freight
// for those of package freight and Rating for those of package rating.
func schemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.PkgPath() == reflect.TypeFor[reconcile.Record]().PkgPath() && !strings.HasPrefix(name, "Reconciliation") {
		return "Reconciliation" + name
	}
	if t.PkgPath() == reflect.TypeFor[freight.Audit]().PkgPath() && !strings.HasPrefix(name, "Freight") {
		return "Freight" + name
	}
	if t.PkgPath() == reflect.TypeFor[rating.Charge]().PkgPath() && !strings.HasPrefix(name, "Rating") {
		return "Rating" + name
	}
	return name
}

// Server is the HTTP API.
type Server struct {
	deps     Deps
	mux      *http.ServeMux
	api      huma.API
	draining atomic.Bool
	logger   *slog.Logger
}

var hookErrors sync.Once

// New builds the API and its routes.
func New(d Deps) *Server {
	hookErrors.Do(func() {
		huma.NewError = newHumaError
		huma.NewErrorWithContext = newHumaErrorWithContext
	})
	s := &Server{deps: d, mux: http.NewServeMux(), logger: d.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	cfg := huma.DefaultConfig("Waybill", d.Version)
	cfg.Info.Description = "Integration hub for Odoo-centred logistics: durable, idempotent event intake, shipment state with gates, and a transactional outbox."
	cfg.OpenAPIPath = ""
	cfg.DocsPath = ""
	cfg.SchemasPath = ""
	// No $schema members or describedBy links: the schemas live in the
	// OpenAPI document (GET /v1/openapi.json), not at URLs of their own.
	cfg.CreateHooks = nil
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer":    {Type: "http", Scheme: "bearer", Description: "An API key made with `waybill keys create`."},
		"odooToken": {Type: "apiKey", In: "query", Name: "token", Description: "The shared secret of connectors.odoo.webhook_token."},
		"webhookSignature": {Type: "apiKey", In: "header", Name: "webhook-signature",
			Description: "The source's HMAC signature over the raw body, as its vendor defines it: X-Hmac-Signature (EasyPost), aftership-hmac-sha256 (AfterShip), or webhook-id/webhook-timestamp/webhook-signature (Standard Webhooks). Secrets come from the source profile."},
	}
	// The reconciliation's types share names with the shipment's (Review,
	// Evidence): they are named Reconciliation… in the document.
	cfg.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", schemaName)
	// Quantities marshal themselves: tell the schema generator their form.
	cfg.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[quantity.Quantity](), reflect.TypeFor[quantitySchema]())
	// JSON bodies must be UTF-8: encoding/json would turn a bad byte into
	// U+FFFD and store text the client never sent.
	strict := huma.DefaultJSONFormat
	strict.Unmarshal = unmarshalUTF8
	cfg.Formats = map[string]huma.Format{"application/json": strict, "json": strict}
	s.api = humago.New(s.mux, cfg)
	s.api.UseMiddleware(s.loggerMiddleware, s.authMiddleware)

	s.registerReadRoutes()
	s.registerEventRoutes()
	s.registerAdminRoutes()
	s.registerIntake()
	s.registerSources()
	s.registerProfiles()
	s.registerReviewRoutes()
	s.registerFeedRoutes()
	s.registerAuditRoutes()
	s.registerChangeRoutes()
	s.registerReconcileRoutes()
	s.registerFreightRoutes()
	s.registerInventoryRoutes()
	s.registerSubscriptionRoutes()
	s.registerTrackingRoutes()

	s.mux.Handle("GET /v1/openapi.json", s.requireScope("", http.HandlerFunc(s.serveOpenAPI)))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	if d.Gatherer != nil {
		// A collector that cannot read the database (the jobs gauge, the
		// business KPIs) must not hide every other metric: what was
		// gathered is served, and the failure is logged.
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{
			ErrorHandling: promhttp.ContinueOnError,
			ErrorLog:      slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		}))
	}
	if d.Console != nil {
		s.mux.Handle("/console", d.Console)
		s.mux.Handle("/console/", d.Console)
	}
	s.mux.HandleFunc("/", s.serveNoRoute)
	return s
}

// routeMethods are the methods the API's routes use, in Allow order.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// serveNoRoute answers what no route takes: 405 with Allow when the path
// has routes for other methods, 404 otherwise.
func (s *Server) serveNoRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range routeMethods {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		problem.Write(w, r, &problem.Details{Status: http.StatusNotFound, Code: problem.CodeNotFound, Detail: "no route " + r.Method + " " + r.URL.Path})
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	problem.Write(w, r, &problem.Details{Status: http.StatusMethodNotAllowed, Code: problem.CodeMethodNotAllowed,
		Detail: fmt.Sprintf("%s %s: the route takes %s", r.Method, r.URL.Path, strings.Join(allow, ", "))})
}

// Handler returns the root handler with correlation and recovery
// middleware.
func (s *Server) Handler() http.Handler {
	return s.recoverer(s.correlate(refuseBadText(s.mux)))
}

// refuseBadText answers 400 to a request whose path or query holds a NUL
// character or invalid UTF-8, before any route sees it: ids and filters go
// to the database, which cannot hold such text (PostgreSQL refuses it, and
// SQLite would alter it).
func refuseBadText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		where := ""
		if badText(r.URL.Path) {
			where = "path"
		} else {
			for k, vs := range r.URL.Query() {
				if badText(k) || slices.ContainsFunc(vs, badText) {
					where = "query." + strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "")
					break
				}
			}
		}
		if where != "" {
			problem.Write(w, r, (&problem.Details{Status: http.StatusBadRequest, Code: problem.CodeBadRequest,
				Detail: "the request's " + where + " holds a NUL character or invalid UTF-8",
				Errors: []problem.FieldError{{Location: where, Message: "must be valid UTF-8 without NUL characters"}}}).Fill())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unmarshalUTF8 is json.Unmarshal refusing a body that is not UTF-8.
func unmarshalUTF8(data []byte, v any) error {
	if !utf8.Valid(data) {
		return errors.New("the body is not valid UTF-8")
	}
	return json.Unmarshal(data, v)
}

func badText(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }

// API returns the huma API (for the OpenAPI document).
func (s *Server) API() huma.API { return s.api }

// Drain marks the server as stopping: /readyz answers 503 from now on.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		problem.Write(w, r, &problem.Details{Status: http.StatusServiceUnavailable, Code: problem.CodeShuttingDown, Detail: "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.DB.PingContext(ctx); err != nil {
		problem.Write(w, r, &problem.Details{Status: http.StatusServiceUnavailable, Code: problem.CodeStorageUnavailable, Detail: "database unreachable"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ready"}` + "\n"))
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, err := json.MarshalIndent(s.api.OpenAPI(), "", "  ")
	if err != nil {
		problem.Write(w, r, &problem.Details{Status: 500, Code: problem.CodeInternal, Detail: "rendering the OpenAPI document"})
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
	w.Write(b)
}

// correlate puts the request's correlation id (X-Correlation-ID, else the
// traceparent's trace id) in its context so log lines carry it.
func (s *Server) correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(correlation.Header)
		if !correlation.Valid(id) {
			id = correlation.FromTraceparent(r.Header.Get("traceparent"))
		}
		if id != "" {
			r = r.WithContext(correlation.With(r.Context(), id))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.ErrorContext(r.Context(), "request panicked", slog.String("path", r.URL.Path), slog.Any("panic", v))
				problem.Write(w, r, &problem.Details{Status: 500, Code: problem.CodeInternal, Detail: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// keyFrom returns the authenticated key of a request.
func keyFrom(ctx context.Context) *apikey.Key { return apikey.FromContext(ctx) }

// authenticate checks the bearer key, its rate limit and its scope, in that
// order. It returns a problem when access is refused, and sets the headers
// that go with it through setHeader: WWW-Authenticate on 401, Retry-After
// (whole seconds, at least 1) on 429.
func (s *Server) authenticate(ctx context.Context, header string, scope apikey.Scope, setHeader func(name, value string)) (*apikey.Key, *problem.Details) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(header, "bearer ")
	}
	unauthorized := func(detail string) (*apikey.Key, *problem.Details) {
		setHeader("WWW-Authenticate", `Bearer realm="waybill"`)
		return nil, &problem.Details{Status: http.StatusUnauthorized, Code: problem.CodeUnauthorized, Detail: detail}
	}
	var key *apikey.Key
	var err error
	if id, session := ctx.Value(sessionKeyContextKey{}).(string); session && header == "" {
		key, err = s.deps.Keys.Current(ctx, id)
	} else if !ok || strings.TrimSpace(token) == "" {
		return unauthorized("missing API key: send Authorization: Bearer <key>")
	} else {
		key, err = s.deps.Keys.Verify(ctx, strings.TrimSpace(token))
	}
	switch {
	case errors.Is(err, apikey.ErrRevoked):
		return unauthorized("API key revoked")
	case errors.Is(err, apikey.ErrExpired):
		return unauthorized("API key expired: ask for a new one (waybill keys create)")
	case errors.Is(err, apikey.ErrMalformed), errors.Is(err, apikey.ErrUnknown):
		return unauthorized("invalid API key")
	case err != nil:
		s.logger.ErrorContext(ctx, "verifying API key failed", slog.Any("err", err))
		return nil, &problem.Details{Status: 503, Code: problem.CodeStorageUnavailable, Detail: "cannot verify the API key now"}
	}
	if wait, ok := s.deps.Keys.Allow(key); !ok {
		secs := max(int64(math.Ceil(wait.Seconds())), 1)
		setHeader("Retry-After", strconv.FormatInt(secs, 10))
		limit := s.deps.Keys.DefaultLimit
		if key.Limit != nil {
			limit = *key.Limit
		}
		return nil, &problem.Details{Status: http.StatusTooManyRequests, Code: problem.CodeRateLimited,
			Detail: fmt.Sprintf("API key %s is over its rate limit of %s: retry after %d s", key.ID, limit, secs)}
	}
	if scope != "" && !key.Has(scope) {
		return nil, &problem.Details{Status: 403, Code: problem.CodeForbidden, Detail: fmt.Sprintf("this key lacks the %s scope", scope)}
	}
	return key, nil
}

type sessionKeyContextKey struct{}

// WithSessionKey returns a copy of ctx with which a request to the Handler
// that carries no Authorization header acts as the key with id keyID,
// whose secret was verified earlier: the web console signs in with a key
// and then sends its actions through the API this way. The key's current
// state (revoked, expired), rate limit and scopes are checked on every
// request exactly as for a bearer key. Only code in this process can set
// it: no request header or body reaches it.
func WithSessionKey(ctx context.Context, keyID string) context.Context {
	return context.WithValue(ctx, sessionKeyContextKey{}, keyID)
}

// requireScope wraps a plain handler with authentication. An empty scope
// admits any valid key.
func (s *Server) requireScope(scope apikey.Scope, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, p := s.authenticate(r.Context(), r.Header.Get("Authorization"), scope, w.Header().Set)
		if p != nil {
			problem.Write(w, r, p)
			return
		}
		next.ServeHTTP(w, r.WithContext(apikey.NewContext(r.Context(), key)))
	})
}

const scopeMeta = "scope"

type loggerContextKey struct{}

// loggerMiddleware hands the server's logger to newHumaErrorWithContext,
// which huma calls without the server at hand.
func (s *Server) loggerMiddleware(ctx huma.Context, next func(huma.Context)) {
	next(huma.WithValue(ctx, loggerContextKey{}, s.logger))
}

func (s *Server) authMiddleware(ctx huma.Context, next func(huma.Context)) {
	var anyOf []apikey.Scope
	switch v := ctx.Operation().Metadata[scopeMeta].(type) {
	case apikey.Scope:
		anyOf = []apikey.Scope{v}
	case []apikey.Scope:
		anyOf = v
	default:
		next(ctx)
		return
	}
	scope := apikey.Scope("")
	if len(anyOf) == 1 {
		scope = anyOf[0]
	}
	key, p := s.authenticate(ctx.Context(), ctx.Header("Authorization"), scope, ctx.SetHeader)
	if p == nil && len(anyOf) > 1 && !slices.ContainsFunc(anyOf, key.Has) {
		p = &problem.Details{Status: http.StatusForbidden, Code: problem.CodeForbidden, Detail: fmt.Sprintf("this key lacks one of the scopes %s", joinScopes(anyOf))}
	}
	if p != nil {
		p.Fill()
		p.Instance = ctx.URL().Path
		ctx.SetHeader("Content-Type", problem.ContentType)
		ctx.SetStatus(p.Status)
		json.NewEncoder(ctx.BodyWriter()).Encode(p)
		return
	}
	next(huma.WithContext(ctx, apikey.NewContext(ctx.Context(), key)))
}

// opAnyOf builds a huma operation that a key with any of scopes may call.
func opAnyOf(id, method, path, summary string, scopes []apikey.Scope, tags ...string) huma.Operation {
	o := op(id, method, path, summary, "", tags...)
	o.Security = nil
	for _, sc := range scopes {
		o.Security = append(o.Security, map[string][]string{"bearer": {string(sc)}})
	}
	o.Metadata[scopeMeta] = scopes
	return o
}

func joinScopes(scopes []apikey.Scope) string {
	parts := make([]string, len(scopes))
	for i, sc := range scopes {
		parts[i] = string(sc)
	}
	return strings.Join(parts, ", ")
}

// scopeRoles lists the scope an operation needs, if any, as the roles of
// its bearer security requirement.
func scopeRoles(scope apikey.Scope) []string {
	if scope == "" {
		return []string{}
	}
	return []string{string(scope)}
}

// op builds a huma operation that needs scope.
func op(id, method, path, summary string, scope apikey.Scope, tags ...string) huma.Operation {
	// Every route may refuse the key (401, 403), throttle it (429) or find
	// the database unavailable (503); one with a path parameter may find
	// nothing there (404).
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	if strings.Contains(path, "{") {
		errs = append(errs, http.StatusNotFound)
	}
	return huma.Operation{
		OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags,
		// OpenAPI 3.1 lets a security requirement of any scheme name the
		// roles it needs: the scope a key must carry.
		Security: []map[string][]string{{"bearer": scopeRoles(scope)}},
		Metadata: map[string]any{scopeMeta: scope},
		Errors:   errs,
	}
}

// newHumaErrorWithContext renders the errors huma raises while serving a
// request. Below 500 it is newHumaError. From 500 up, typically an
// unexpected error a handler returned, the error is logged here, once, with
// the request's correlation id, and left out of the response: its text may
// be a driver's, which never reaches API clients.
func newHumaErrorWithContext(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
	if status < 500 {
		return newHumaError(status, msg, errs...)
	}
	ctx := hctx.Context()
	if logger, ok := ctx.Value(loggerContextKey{}).(*slog.Logger); ok {
		op := ""
		if o := hctx.Operation(); o != nil {
			op = o.OperationID
		}
		logger.ErrorContext(ctx, "request failed", slog.String("operation", op),
			slog.String("path", hctx.URL().Path), slog.Any("err", errors.Join(errs...)))
	}
	return newHumaError(status, msg)
}

// newHumaError renders huma's errors (parameter validation, not found) as
// Waybill problems.
func newHumaError(status int, msg string, errs ...error) huma.StatusError {
	code := problem.CodeBadRequest
	switch status {
	case 401:
		code = problem.CodeUnauthorized
	case 403:
		code = problem.CodeForbidden
	case 404:
		code = problem.CodeNotFound
	case 409:
		code = problem.CodeConflict
	case 413:
		code = problem.CodeTooLarge
	case 415:
		code = problem.CodeUnsupportedMediaType
	case 422:
		code = problem.CodeBadRequest
	case 503:
		code = problem.CodeStorageUnavailable
	default:
		if status >= 500 {
			code = problem.CodeInternal
		}
	}
	if status == 422 {
		status = 400 // huma's 422 is a bad parameter or body, not an invalid event
	}
	if status == 415 {
		// The routes huma serves take JSON, with or without a Content-Type
		// header (huma reads a body without one as JSON). The usual cause
		// is curl -d, which sends application/x-www-form-urlencoded.
		msg = "the body must be JSON: send Content-Type: application/json or none (curl -d sends application/x-www-form-urlencoded unless told otherwise)"
	}
	d := &problem.Details{Status: status, Code: code, Detail: msg}
	for _, e := range errs {
		if e == nil {
			continue
		}
		var ed huma.ErrorDetailer
		if errors.As(e, &ed) {
			det := ed.ErrorDetail()
			d.Errors = append(d.Errors, problem.FieldError{Location: det.Location, Message: det.Message})
			continue
		}
		d.Errors = append(d.Errors, problem.FieldError{Message: e.Error()})
	}
	return d.Fill()
}
