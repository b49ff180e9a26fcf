package console

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/feeds"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/kpi"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/server"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/workflow"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console"

// cookieName is the session cookie's name.
const cookieName = "waybill_console"

// SessionTTLDefault is how long a sign-in lasts when Options.SessionTTL is
// zero.
const SessionTTLDefault = 12 * time.Hour

// Margins works out a shipment's margin (freight.Auditor).
type Margins interface {
	Margin(ctx context.Context, sh *shipment.Shipment) (freight.Margin, error)
}

// Options are what the console reads and where it sends its actions.
type Options struct {
	DB        *sqldb.DB
	Keys      *apikey.Store
	Shipments *workflow.Store
	Events    *intake.Store
	// DeadLetters lists dead letters; nil leaves the page empty.
	DeadLetters *jobqueue.DeadLetters
	// KPIs are the business metrics; nil leaves the KPI page empty.
	KPIs *kpi.KPIs
	// Jobs lists a shipment's outbound jobs and a connector's recent ones;
	// nil leaves them out.
	Jobs *jobqueue.Queue
	// Payloads is the store of source payloads; nil leaves the payload
	// pages empty.
	Payloads *source.Store
	// Feeds is the proof-of-delivery feed watch; nil when there is none.
	Feeds FeedStatuses
	// FeedObjective is how long a watched feed may stay silent
	// (billing.pod_max_silence).
	FeedObjective time.Duration
	// Metrics is the hub's Prometheus registry, read for the connectors'
	// counters and the Odoo breaker; nil leaves them out.
	Metrics prometheus.Gatherer
	// Connectors maps each outbound connector's name to the action kinds
	// it serves.
	Connectors map[string][]string
	// API is the HTTP API's handler. Actions are sent through it with the
	// session's key (server.WithSessionKey).
	API http.Handler
	// OdooURL is Odoo's base URL, for links to its own form views; empty
	// leaves the links out.
	OdooURL string
	// OdooSystem is the system name of Odoo's references (connectors.odoo.system).
	OdooSystem string
	// JobsUI serves River's own job UI (jobqueue.UI) under JobsPrefix, to
	// sessions of admin keys; nil leaves it out, and JobsPrefix then says
	// that this server has none.
	JobsUI http.Handler
	// Audit records the changes made through JobsUI; nil records none.
	Audit *audit.Store
	// Margins works out shipments' margins (the freight audit); nil
	// leaves the margin out.
	Margins Margins
	// SessionTTL is how long a sign-in lasts; zero means SessionTTLDefault.
	SessionTTL time.Duration
	Logger     *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// FeedStatuses is the proof-of-delivery feed watch as the console shows
// it; *feeds.Monitor implements it.
type FeedStatuses interface {
	Statuses() []feeds.Status
}

// Console serves the web console.
type Console struct {
	opts     Options
	sessions *sessions
	pages    map[string]*template.Template
	handler  http.Handler
	logger   *slog.Logger
}

// New parses the console's templates and builds its routes.
func New(opts Options) (*Console, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = SessionTTLDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{opts: opts, logger: opts.Logger, pages: map[string]*template.Template{},
		sessions: &sessions{db: opts.DB, ttl: opts.SessionTTL, now: opts.Now}}
	for _, page := range []string{"login", "overview", "shipment", "reviews", "deadletters", "confirm", "error", "kpis",
		"exceptions", "feeds", "payloads", "payload", "jobs"} {
		t, err := template.New(page).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing the console's %s page: %w", page, err)
		}
		c.pages[page] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET "+Prefix+"/login", c.serveLogin)
	mux.HandleFunc("POST "+Prefix+"/login", c.signIn)
	mux.Handle("POST "+Prefix+"/logout", c.authed("", c.signOut))
	mux.Handle("GET "+Prefix+"/{$}", c.authed(apikey.ShipmentsRead, c.serveOverview))
	mux.Handle("GET "+Prefix+"/find", c.authed(apikey.ShipmentsRead, c.find))
	mux.Handle("GET "+Prefix+"/shipments/{id}", c.authed(apikey.ShipmentsRead, c.serveShipment))
	mux.Handle("GET "+Prefix+"/kpis", c.authed(apikey.ShipmentsRead, c.serveKPIs))
	mux.Handle("GET "+Prefix+"/reviews", c.authed(apikey.ShipmentsRead, c.serveReviews))
	mux.Handle("POST "+Prefix+"/reviews/{id}/decision", c.authed(apikey.ReviewWrite, c.decide))
	mux.Handle("GET "+Prefix+"/dead-letters", c.authed(apikey.Admin, c.serveDeadLetters))
	mux.Handle("POST "+Prefix+"/dead-letters/replay", c.authed(apikey.Admin, c.replay))
	mux.Handle("GET "+Prefix+"/exceptions", c.authed(apikey.ShipmentsRead, c.serveExceptions))
	mux.Handle("GET "+Prefix+"/feeds", c.authed(apikey.ShipmentsRead, c.serveFeeds))
	mux.Handle("GET "+Prefix+"/payloads", c.authed(apikey.Admin, c.servePayloads))
	mux.Handle("GET "+Prefix+"/payloads/{id}", c.authed(apikey.Admin, c.servePayload))
	mux.Handle("POST "+Prefix+"/payloads/{id}/replay", c.authed(apikey.Admin, c.replayPayload))
	mux.Handle(JobsPrefix+"/", c.jobs())
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, http.StatusNotFound, "There is no console page at "+r.URL.Path+".")
	})
	mux.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	c.handler = headers(http.NewCrossOriginProtection().Handler(mux))
	return c, nil
}

// Handler returns the console's handler, for the paths under Prefix.
func (c *Console) Handler() http.Handler { return c.handler }

// csp is the console's Content-Security-Policy.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// jobsCSP is the policy of River UI's pages, under JobsPrefix: the
// console's, but with inline styles allowed. River UI's script writes
// <style> elements at run time (its toasts' CSS-in-JS, goober, and its
// theme switch), and they carry no nonce or hash a policy could name.
// Scripts stay 'self' only: River UI also probes whether it may eval (zod
// tries new Function once), and, refused, goes on without it.
const jobsCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the headers every console answer carries.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, JobsPrefix+"/") {
			h.Set("Content-Security-Policy", jobsCSP)
		} else {
			h.Set("Content-Security-Policy", csp)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// viewer is who a page is rendered for.
type viewer struct {
	Key     *apikey.Key
	CSRF    string
	session *session
	token   string
}

// Can reports whether the viewer's key has scope.
func (v *viewer) Can(scope string) bool { return v != nil && v.Key.Has(apikey.Scope(scope)) }

type viewerKey struct{}

func viewerFrom(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey{}).(*viewer)
	return v
}

// authed admits requests of a live session whose key is still valid and
// has scope (any valid key when scope is empty), and checks the CSRF
// token of every POST. A request without a session is sent to sign in.
func (c *Console) authed(scope apikey.Scope, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.admit(w, r)
		if !ok {
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			got := r.PostFormValue("csrf")
			if subtle.ConstantTimeCompare([]byte(got), []byte(v.CSRF)) != 1 {
				c.fail(w, r, v, http.StatusForbidden, "This form has expired or did not come from the console. Reload the page and try again.")
				return
			}
		}
		if scope != "" && !v.Key.Has(scope) {
			c.fail(w, r, v, http.StatusForbidden, fmt.Sprintf("Your key (%s) lacks the %s scope this needs.", v.Key.Name, scope))
			return
		}
		next(w, r.WithContext(withViewer(r.Context(), v)))
	})
}

// admit returns the viewer of r's live session whose key is still valid.
// Without one it answers (sending the person to sign in, or saying what
// failed) and reports false.
func (c *Console) admit(w http.ResponseWriter, r *http.Request) (*viewer, bool) {
	w.Header().Set("Cache-Control", "no-store")
	cookie, _ := r.Cookie(cookieName)
	token := ""
	if cookie != nil {
		token = cookie.Value
	}
	sess, err := c.sessions.get(r.Context(), token)
	if errors.Is(err, errNoSession) {
		c.toLogin(w, r, "")
		return nil, false
	}
	if err != nil {
		c.fail(w, r, nil, http.StatusServiceUnavailable, "The console cannot read its sessions now. Try again shortly.")
		c.logger.ErrorContext(r.Context(), "reading a console session failed", slog.Any("err", err))
		return nil, false
	}
	key, err := c.opts.Keys.Current(r.Context(), sess.KeyID)
	switch {
	case errors.Is(err, apikey.ErrRevoked), errors.Is(err, apikey.ErrExpired), errors.Is(err, apikey.ErrUnknown):
		_ = c.sessions.revoke(r.Context(), token)
		c.clearCookie(w, r)
		c.toLogin(w, r, "The key you signed in with is no longer valid: sign in again with a valid key.")
		return nil, false
	case err != nil:
		c.fail(w, r, nil, http.StatusServiceUnavailable, "The console cannot check your key now. Try again shortly.")
		c.logger.ErrorContext(r.Context(), "checking a console session's key failed", slog.Any("err", err))
		return nil, false
	}
	return &viewer{Key: key, CSRF: sess.CSRF, session: sess, token: token}, true
}

func withViewer(ctx context.Context, v *viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

func (c *Console) toLogin(w http.ResponseWriter, r *http.Request, msg string) {
	if isJobsAPI(r) {
		failJSON(w, http.StatusUnauthorized, cmp.Or(msg, "You are signed out of the console: sign in again."))
		return
	}
	if r.Method == http.MethodGet && msg == "" {
		http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusUnauthorized)
	c.render(w, r, "login", nil, map[string]any{"Error": msg})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func (c *Console) serveLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, "login", nil, map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps a post-sign-in destination only when it is a console page.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix + "/"
	}
	return next
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	presented := strings.TrimSpace(r.PostFormValue("key"))
	next := safeNext(r.PostFormValue("next"))
	key, err := c.opts.Keys.Verify(r.Context(), presented)
	msg := ""
	switch {
	case presented == "":
		msg = "Enter an API key."
	case errors.Is(err, apikey.ErrRevoked):
		msg = "This key has been revoked."
	case errors.Is(err, apikey.ErrExpired):
		msg = "This key has expired: ask for a new one."
	case errors.Is(err, apikey.ErrMalformed), errors.Is(err, apikey.ErrUnknown):
		msg = "This is not a valid API key."
	case err != nil:
		c.logger.ErrorContext(r.Context(), "verifying a console sign-in failed", slog.Any("err", err))
		msg = "Keys cannot be checked now. Try again shortly."
	}
	if msg != "" {
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, r, "login", nil, map[string]any{"Error": msg, "Next": next})
		return
	}
	token, sess, err := c.sessions.create(r.Context(), key.ID)
	if err != nil {
		c.logger.ErrorContext(r.Context(), "starting a console session failed", slog.Any("err", err))
		w.WriteHeader(http.StatusServiceUnavailable)
		c.render(w, r, "login", nil, map[string]any{"Error": "You cannot be signed in now. Try again shortly.", "Next": next})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: Prefix, Expires: sess.ExpiresAt, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	c.logger.InfoContext(r.Context(), "console sign-in", slog.String(apikey.AttrKeyID, key.ID), slog.String(apikey.AttrKeyName, key.Name))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if err := c.sessions.revoke(r.Context(), v.token); err != nil {
		c.fail(w, r, v, http.StatusServiceUnavailable, "You could not be signed out now. Try again shortly.")
		return
	}
	c.clearCookie(w, r)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// render writes page with data, for v (nil before sign-in).
func (c *Console) render(w http.ResponseWriter, r *http.Request, page string, v *viewer, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["Viewer"] = v
	data["Page"] = page
	data["Now"] = c.opts.Now()
	data["JobsUI"] = c.opts.JobsUI != nil
	var buf bytes.Buffer
	if err := c.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		c.logger.ErrorContext(r.Context(), "rendering a console page failed", slog.String("page", page), slog.Any("err", err))
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// fail renders the error page with status and msg.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	if isJobsAPI(r) {
		failJSON(w, status, msg)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	c.render(w, r, "error", v, map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg})
}

// callAPI sends one request through the API's handler as the viewer's key
// and returns the status and body. A problem answer comes back as err,
// with its detail.
func (c *Console) callAPI(ctx context.Context, v *viewer, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(server.WithSessionKey(ctx, v.Key.ID), method, path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	c.opts.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		var p problem.Details
		if json.Unmarshal(rec.body.Bytes(), &p) == nil && p.Detail != "" {
			return rec.status, rec.body.Bytes(), &apiError{status: rec.status, detail: p.Detail}
		}
		return rec.status, rec.body.Bytes(), &apiError{status: rec.status, detail: http.StatusText(rec.status)}
	}
	return rec.status, rec.body.Bytes(), nil
}

// apiError is a refusal of the API, shown to the person as it is.
type apiError struct {
	status int
	detail string
}

func (e *apiError) Error() string { return e.detail }

// recorder is the response of an API call made in process.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
