package odoosim

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures a simulator. Zero values take the defaults shown.
type Options struct {
	Version  int          // 16, 17, 18 or 19; 0 means 18. Anything else is an error from New.
	Database string       // default "odoo"
	Login    string       // default "admin"
	Password string       // default "admin"
	APIKey   string       // default "sandbox-odoo-api-key"; accepted as password on JSON-RPC and as bearer on JSON-2
	NoDemo   bool         // true: start with only the records a fresh database has (company, admin user, warehouse, locations)
	Logger   *slog.Logger // nil: discard
}

// Defaults applied by New.
const (
	VersionDefault  = 18
	DatabaseDefault = "odoo"
	LoginDefault    = "admin"
	PasswordDefault = "admin"
	APIKeyDefault   = "sandbox-odoo-api-key"
)

// ErrUnsupportedVersion is returned by New for a version other than 16, 17, 18 or 19.
var ErrUnsupportedVersion = errors.New("unsupported odoo version")

// Demo holds the ids of the demo records.
type Demo struct {
	CompanyID, WarehouseID, StockLocationID, CustomerLocationID, OutPickingTypeID int
	Customers                                                                     []int          // res.partner ids with addresses
	Products                                                                      map[string]int // product.product ids by default_code; storable products with stock, some tracked by lot
	Lots                                                                          map[string]int // stock.lot ids by name
	CarrierID                                                                     int            // delivery.carrier
	Services                                                                      map[string]int // service product ids by default_code
	// Additions beyond the contract.
	InPickingTypeID, ScrapLocationID int
}

// Sim is an in-memory Odoo server. It implements http.Handler.
type Sim struct {
	version  int
	database string
	login    string
	password string
	apiKey   string
	uid      int
	log      *slog.Logger
	faults   *Faults
	models   map[string]*model
	demo     Demo
	clock    func() time.Time

	mu    sync.Mutex // guards db and calls
	db    *database
	calls map[string]int
}

// New builds an in-memory simulator.
func New(opts Options) (*Sim, error) {
	if opts.Version == 0 {
		opts.Version = VersionDefault
	}
	if opts.Version < 16 || opts.Version > 19 {
		return nil, fmt.Errorf("creating odoo simulator: %w: %d", ErrUnsupportedVersion, opts.Version)
	}
	s := &Sim{
		version:  opts.Version,
		database: or(opts.Database, DatabaseDefault),
		login:    or(opts.Login, LoginDefault),
		password: or(opts.Password, PasswordDefault),
		apiKey:   or(opts.APIKey, APIKeyDefault),
		uid:      2,
		log:      opts.Logger,
		faults:   &Faults{},
		calls:    map[string]int{},
		clock:    time.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.models = s.buildModels()
	s.db = newDatabase()
	// demo data is as old as the database: an hour before the simulator starts
	t := &txn{s: s, db: s.db, now: s.clock().Add(-time.Hour), uid: s.uid, ctx: map[string]any{}}
	if err := s.seed(t, !opts.NoDemo); err != nil {
		return nil, fmt.Errorf("seeding odoo simulator: %w", err)
	}
	return s, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Version returns the simulated major version.
func (s *Sim) Version() int { return s.version }

// Database returns the database name.
func (s *Sim) Database() string { return s.database }

// Login returns the admin login.
func (s *Sim) Login() string { return s.login }

// APIKey returns the API key accepted for the admin user.
func (s *Sim) APIKey() string { return s.apiKey }

// UID returns the admin user's id (2, as in Odoo).
func (s *Sim) UID() int { return s.uid }

// Demo returns the ids of the demo records (zero if NoDemo).
func (s *Sim) Demo() Demo { return s.demo }

// Faults returns the fault injector.
func (s *Sim) Faults() *Faults { return s.faults }

// Calls returns a copy of the RPC call counts keyed "model.method" ("common.login" etc. for services).
func (s *Sim) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls zeroes the call counts.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

func (s *Sim) count(key string) {
	s.mu.Lock()
	s.calls[key]++
	s.mu.Unlock()
}

// rpc is one decoded object call, whatever the transport.
type rpc struct {
	model, method string
	positional    bool
	args          []any          // JSON-RPC positional args
	kwargs        map[string]any // JSON-RPC kwargs (context popped) / JSON-2 body
	ctx           map[string]any
}

// execute runs one object call as a transaction: all or nothing.
func (s *Sim) execute(r *rpc) (any, error) {
	m := s.models[r.model]
	if m == nil {
		return nil, userError("Object %s doesn't exist", r.model)
	}
	if strings.HasPrefix(r.method, "_") || s.privateMethod(r.method) {
		return nil, privateMethodError(r.model, r.method)
	}
	meth := m.methods[r.method]
	if meth == nil {
		return nil, &OdooError{Name: excAttributeError, Message: fmt.Sprintf("The method '%s.%s' does not exist", r.model, r.method)}
	}
	c := &call{m: m, name: r.method}
	var err error
	if r.positional {
		c.ids, c.kw, err = bindPositional(meth, r.model+"."+r.method, r.args, r.kwargs)
	} else {
		c.jsonv2 = true
		c.ids, c.kw, err = bindJSON2(meth, r.model, r.method, r.kwargs)
	}
	if err != nil {
		return nil, err
	}
	ctx := r.ctx
	if ctx == nil {
		ctx = map[string]any{}
	}
	if lang, ok := ctx["lang"].(string); ok && lang != "en_US" && lang != "" {
		return nil, userError("Invalid language code: %s", lang)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &txn{s: s, db: s.db, now: s.clock(), uid: s.uid, ctx: ctx}
	if meth.readonly {
		t.readonly = true
		return meth.fn(t, c)
	}
	t.db = s.db.clone()
	res, err := meth.fn(t, c)
	if err != nil {
		return nil, err
	}
	s.db = t.db
	return res, nil
}

// privateMethod is the @api.private deny-list of the version.
func (s *Sim) privateMethod(name string) bool {
	switch name {
	case "sudo", "with_user", "with_env":
		return s.version >= 18
	case "browse":
		return s.version >= 19
	}
	return false
}

// authenticate checks a password or API key for the admin user.
func (s *Sim) checkPassword(pw string) bool {
	return pw != "" && (pw == s.password || pw == s.apiKey)
}

// ServeHTTP routes a request to the JSON-RPC, JSON-2 or version endpoints.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if rec := recover(); rec != nil {
			s.log.ErrorContext(r.Context(), "odoosim handler panic", slog.Any("err", rec))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, internalErrorHTML)
		}
	}()
	p := r.URL.Path
	switch {
	case p == "/jsonrpc":
		s.serveJSONRPC(w, r)
	case p == "/web/webclient/version_info":
		s.serveVersionInfo(w, r)
	case p == "/web/version" || p == "/json/version":
		s.serveWebVersion(w, r)
	case strings.HasPrefix(p, "/xmlrpc/2/"):
		s.serveXMLRPC(w, r)
	case strings.HasPrefix(p, "/json/2/") || p == "/json/2":
		s.serveJSON2(w, r)
	default:
		writeHTML(w, http.StatusNotFound, notFoundHTML)
	}
}

// SetPaymentState marks a posted customer invoice as paid, partially paid, in payment or not paid,
// standing in for the payment flow the simulator does not model.
func (s *Sim) SetPaymentState(invoiceID int, state string) error {
	switch state {
	case "not_paid", "in_payment", "paid", "partial":
	default:
		return fmt.Errorf("setting payment state of invoice %d: %w: %q", invoiceID, ErrInvalidPaymentState, state)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &txn{s: s, db: s.db, now: s.clock(), uid: s.uid, ctx: map[string]any{}}
	r := t.rec("account.move", invoiceID)
	if r == nil || fstr(r, "state") != "posted" {
		return fmt.Errorf("setting payment state of invoice %d: %w", invoiceID, ErrNotPosted)
	}
	t.set("account.move", invoiceID, record{"payment_state": state})
	return nil
}

// Errors of SetPaymentState.
var (
	ErrInvalidPaymentState = errors.New("invalid payment state")
	ErrNotPosted           = errors.New("no posted invoice with this id")
)

// Load stores records of model as they are, without the model's defaults,
// checks or business rules, as a bulk import into the database would: for
// tests and benchmarks that need many records at once (a day of 10,000
// invoices and pickings). Values are given as stored: many2one fields as
// ids, dates as "2006-01-02 15:04:05"; one2many fields follow from the
// records that point back. It returns the new ids, in order, and an error
// for an unknown model or field.
func (s *Sim) Load(model string, vals []map[string]any) ([]int, error) {
	m := s.models[model]
	if m == nil {
		return nil, fmt.Errorf("loading %s: %w", model, ErrUnknownModel)
	}
	for _, v := range vals {
		for k := range v {
			if !m.has(k) {
				return nil, fmt.Errorf("loading %s: field %s: %w", model, k, ErrUnknownField)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &txn{s: s, db: s.db, now: s.clock(), uid: s.uid, ctx: map[string]any{}}
	ids := make([]int, len(vals))
	for i, v := range vals {
		ids[i] = t.insert(model, record(v))
	}
	return ids, nil
}

// Errors of Load.
var (
	ErrUnknownModel = errors.New("no such model")
	ErrUnknownField = errors.New("no such field")
)
