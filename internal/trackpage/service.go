package trackpage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/workflow"
)

// ErrInvalid is returned for a link request that cannot be met, such as a
// lifetime beyond the maximum.
var ErrInvalid = errors.New("invalid tracking link request")

// Shipments finds shipments by canonical id (workflow.Store). Any error
// hides the page; errors other than workflow.ErrNotFound are logged.
type Shipments interface {
	Get(ctx context.Context, ref string) (*shipment.Shipment, error)
}

// Options configure a Service.
type Options struct {
	DB        *sqldb.DB
	Shipments Shipments
	// Key signs the links; at least MinKeySize bytes.
	Key []byte
	// BaseURL starts the links' url; empty leaves the path alone.
	BaseURL string
	// LinkLifetime is the lifetime of a link whose creator does not give
	// one; MaxLinkLifetime bounds the lifetimes creators give.
	LinkLifetime, MaxLinkLifetime time.Duration
	// Rate and Burst are each client IP address's token bucket.
	Rate  float64
	Burst int
	// CacheMaxAge is the max-age of Cache-Control: private.
	CacheMaxAge time.Duration
	// View holds the time zone, photo and branding settings.
	View ViewOptions
	// NowFunc returns the time; time.Now when nil.
	NowFunc func() time.Time
	Logger  *slog.Logger
}

// Service creates, lists and revokes links, and serves the pages.
type Service struct {
	opts    Options
	signer  *Signer
	store   *Store
	limiter *ipLimiter
	page    *template.Template
	gone    []byte
}

//go:embed templates
var templates embed.FS

// New returns a Service.
func New(opts Options) (*Service, error) {
	signer, err := NewSigner(opts.Key)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.DB == nil || opts.Shipments == nil:
		return nil, errors.New("tracking page: DB and Shipments are required")
	case opts.LinkLifetime <= 0 || opts.MaxLinkLifetime < opts.LinkLifetime:
		return nil, errors.New("tracking page: link lifetime must be positive and at most the maximum")
	case opts.Rate <= 0 || opts.Burst < 1:
		return nil, errors.New("tracking page: rate and burst must be positive")
	}
	if opts.NowFunc == nil {
		opts.NowFunc = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	funcs := template.FuncMap{"inc": func(i int) int { return i + 1 }}
	page, err := template.New("page.html").Funcs(funcs).ParseFS(templates, "templates/page.html", "templates/style.css")
	if err != nil {
		return nil, fmt.Errorf("parsing the tracking page template: %w", err)
	}
	nf, err := template.New("notfound.html").ParseFS(templates, "templates/notfound.html", "templates/style.css")
	if err != nil {
		return nil, fmt.Errorf("parsing the not-found template: %w", err)
	}
	var gone bytes.Buffer
	if err := nf.Execute(&gone, nil); err != nil {
		return nil, fmt.Errorf("rendering the not-found page: %w", err)
	}
	return &Service{opts: opts, signer: signer, store: NewStore(opts.DB), limiter: newIPLimiter(opts.Rate, opts.Burst, opts.NowFunc),
		page: page, gone: gone.Bytes()}, nil
}

// CreateParams are the parameters of Create.
type CreateParams struct {
	// ShipmentID is the shipment's canonical id.
	ShipmentID string
	// ExpiresIn is the link's lifetime; 0 takes the default.
	ExpiresIn time.Duration
	// CreatedBy is the id of the API key that asks.
	CreatedBy string
}

// Created is a new link with its token and url, which are shown once:
// the token is not stored.
type Created struct {
	Link  *Link
	Token string
	URL   string
}

// Create makes a link to the page of shipment p.ShipmentID.
func (s *Service) Create(ctx context.Context, p *CreateParams) (*Created, error) {
	life := p.ExpiresIn
	switch {
	case life == 0:
		life = s.opts.LinkLifetime
	case life < time.Minute:
		return nil, fmt.Errorf("%w: expires_in must be at least 1m", ErrInvalid)
	case life > s.opts.MaxLinkLifetime:
		return nil, fmt.Errorf("%w: expires_in must be at most %s", ErrInvalid, s.opts.MaxLinkLifetime)
	}
	now := s.opts.NowFunc().UTC()
	l := &Link{ID: newLinkID(), ShipmentID: p.ShipmentID, CreatedAt: now.Truncate(time.Microsecond),
		ExpiresAt: now.Add(life).Truncate(time.Second), CreatedBy: p.CreatedBy}
	if err := s.store.Insert(ctx, l); err != nil {
		return nil, err
	}
	token := s.signer.Sign(l.ID, l.ExpiresAt)
	return &Created{Link: l, Token: token, URL: s.opts.BaseURL + "/track/" + token}, nil
}

// List returns the links of shipment shipmentID, newest first, at most
// limit of them.
func (s *Service) List(ctx context.Context, shipmentID string, limit int) ([]*Link, error) {
	return s.store.List(ctx, shipmentID, limit)
}

// Revoke revokes the link with id, at once and for good; revoking it
// again changes nothing. ErrNotFound when there is none.
func (s *Service) Revoke(ctx context.Context, id string) (*Link, error) {
	if !validLinkID(id) {
		return nil, ErrNotFound
	}
	return s.store.Revoke(ctx, id, s.opts.NowFunc().UTC().Truncate(time.Microsecond))
}

// resolve returns the shipment a token leads to, or an error: every
// failure hides the page alike.
func (s *Service) resolve(ctx context.Context, token string) (*shipment.Shipment, error) {
	now := s.opts.NowFunc()
	id, expires, err := s.signer.Verify(token, now)
	if err != nil {
		return nil, err
	}
	l, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !l.Active(now) || !l.ExpiresAt.Equal(expires) {
		return nil, ErrNotFound
	}
	return s.opts.Shipments.Get(ctx, l.ShipmentID)
}

// ServeHTTP serves GET /track/{token} (HTML, or JSON with Accept:
// application/json) and GET /track/{token}.json (JSON).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("Vary", "Accept")
	if wait, ok := s.limiter.allow(clientIP(r)); !ok {
		secs := max(int64(math.Ceil(wait.Seconds())), 1)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
		h.Set("Cache-Control", "no-store")
		problem.Write(w, r, &problem.Details{Status: http.StatusTooManyRequests, Code: problem.CodeRateLimited,
			Detail: fmt.Sprintf("too many requests from this address: retry after %d s", secs), Instance: "/track"})
		return
	}
	token := r.PathValue("token")
	asJSON := false
	if t, ok := strings.CutSuffix(token, ".json"); ok {
		token, asJSON = t, true
	} else {
		asJSON = wantsJSON(r.Header.Get("Accept"))
	}
	sh, err := s.resolve(r.Context(), token)
	if err != nil {
		if !errors.Is(err, ErrBadToken) && !errors.Is(err, ErrNotFound) && !errors.Is(err, workflow.ErrNotFound) && !errors.Is(err, shipment.ErrBadRef) {
			s.opts.Logger.WarnContext(r.Context(), "tracking page unavailable", slog.Any("err", err))
		}
		s.notFound(w, r, asJSON)
		return
	}
	v := NewView(sh, s.opts.View)
	var body []byte
	if asJSON {
		if body, err = json.Marshal(v); err == nil {
			body = append(body, '\n')
		}
		h.Set("Content-Type", "application/json")
	} else {
		var buf bytes.Buffer
		err = s.page.Execute(&buf, pageData{View: v})
		body = buf.Bytes()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", pageCSP)
	}
	if err != nil {
		s.opts.Logger.ErrorContext(r.Context(), "rendering tracking page failed", slog.Any("err", err))
		h.Del("Content-Security-Policy")
		problem.Write(w, r, &problem.Details{Status: http.StatusInternalServerError, Code: problem.CodeInternal, Detail: "internal error", Instance: "/track"})
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(s.opts.CacheMaxAge/time.Second)))
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// pageCSP allows nothing but the page's own inline style and https
// images (the brand's logo): the page runs no script.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// notFound answers the one 404 of every token that leads nowhere.
func (s *Service) notFound(w http.ResponseWriter, r *http.Request, asJSON bool) {
	w.Header().Set("Cache-Control", "no-store")
	if asJSON {
		problem.Write(w, r, &problem.Details{Status: http.StatusNotFound, Code: problem.CodeNotFound,
			Detail: "no tracking page at this link: it may have expired or been withdrawn", Instance: "/track"})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Content-Length", strconv.Itoa(len(s.gone)))
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		w.Write(s.gone)
	}
}

// pageData is what the page template renders.
type pageData struct {
	*View
}

// Primary is the page's primary colour.
func (d pageData) Primary() template.CSS {
	if d.Brand != nil && d.Brand.PrimaryColor != "" {
		return template.CSS(d.Brand.PrimaryColor) // checked #rgb or #rrggbb
	}
	return "#1f3a5f"
}

// Accent is the page's accent colour.
func (d pageData) Accent() template.CSS {
	if d.Brand != nil && d.Brand.AccentColor != "" {
		return template.CSS(d.Brand.AccentColor) // checked #rgb or #rrggbb
	}
	return "#2e86de"
}

// wantsJSON reports whether an Accept header prefers JSON to HTML.
func wantsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			return false
		case "application/json", "application/problem+json":
			return true
		}
	}
	return false
}

// etagMatch reports whether an If-None-Match header matches etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// clientIP is the address the request came from: the peer's IP, not a
// forwarding header, which a client could set to anything.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
