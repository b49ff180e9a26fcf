package odoo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/waybill/waybill/internal/connector"
)

// fakeClock is a settable clock for the breaker and limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := Config{URL: "ftp://x", Version: 15, Protocol: "xmlrpc", Timeout: -1, RateLimit: -1, Burst: -1,
		BreakerFailures: -1, BreakerCooldown: -1}.Validate()
	if err == nil {
		t.Fatal("got nil, want errors")
	}
	for _, key := range []string{"url:", "database:", "api_key:", "version:", "protocol:", "timeout:", "rate_limit:", "burst:", "breaker_failures:", "breaker_cooldown:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("got %q, want it to name %s", err, key)
		}
	}
	if err := (Config{URL: "http://x", Database: "d", APIKey: "k", Version: 18, Protocol: "json2"}).WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "protocol") {
		t.Errorf("json2 on 18: got %v, want a protocol error", err)
	}
	if err := (Config{URL: "http://x", Database: "d", APIKey: "k", Version: 17}).WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "login") {
		t.Errorf("jsonrpc without login: got %v, want a login error", err)
	}
	good := Config{URL: "https://erp.example.com", Database: "d", APIKey: "k"}.WithDefaults()
	if err := good.Validate(); err != nil {
		t.Errorf("got %v, want nil", err)
	}
	if good.Timeout != TimeoutDefault || good.RateLimit != RateLimitDefault || good.Burst != 20 ||
		good.BreakerFailures != BreakerFailuresDefault || good.BreakerCooldown != BreakerCooldownDefault {
		t.Errorf("defaults not applied: %+v", good)
	}
}

func TestVersionDetection(t *testing.T) {
	t.Parallel()
	t.Run("19 from /web/version", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{body: `{"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"}`})
		cfg := testConfig(rs.URL, 0, "")
		cfg.Login = ""
		c := newTestClient(t, cfg)
		if c.Version() != 19 || c.Protocol() != ProtocolJSON2 {
			t.Errorf("got %d %s, want 19 json2", c.Version(), c.Protocol())
		}
	})
	t.Run("18 from common.version", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t,
			reply{status: 404, ctype: "text/html", body: "<!DOCTYPE html><html>not found</html>"},
			reply{body: `{"jsonrpc": "2.0", "id": 1, "result": {"server_version": "18.0", "server_version_info": [18, 0, 0, "final", 0, ""], "server_serie": "18.0", "protocol_version": 1}}`})
		c := newTestClient(t, testConfig(rs.URL, 0, ""))
		if c.Version() != 18 || c.Protocol() != ProtocolJSONRPC {
			t.Errorf("got %d %s, want 18 jsonrpc", c.Version(), c.Protocol())
		}
		if got := c.Calls(); got["web.version"] != 1 || got["common.version"] != 1 || got["common.authenticate"] != 1 {
			t.Errorf("got calls %v", got)
		}
	})
	t.Run("saas version string", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{status: 404},
			reply{body: `{"jsonrpc": "2.0", "id": 1, "result": {"server_version": "saas~17.2", "server_version_info": ["saas~17", 2, 0, "final", 0, ""]}}`})
		c := newTestClient(t, testConfig(rs.URL, 0, ""))
		if c.Version() != 17 {
			t.Errorf("got %d, want 17", c.Version())
		}
	})
	t.Run("forced protocol", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{body: `{"version_info": [19, 0, 0, "final", 0, ""]}`})
		c := newTestClient(t, testConfig(rs.URL, 0, ProtocolJSONRPC))
		if c.Version() != 19 || c.Protocol() != ProtocolJSONRPC || c.Profile().SaleLineUoMField != "product_uom_id" {
			t.Errorf("got %d %s %+v", c.Version(), c.Protocol(), c.Profile())
		}
	})
	t.Run("refused login", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"jsonrpc": "2.0", "id": 4, "result": false}`) // x18#4
		}))
		t.Cleanup(srv.Close)
		_, err := New(t.Context(), testConfig(srv.URL, 18, ""))
		checkErr(t, err, wantErr{kind: KindAccessDenied, permanent: true, sentinel: ErrAccessDenied})
	})
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	rs := newReplay(t, reply{status: 503, body: "down"}, reply{status: 503, body: "down"}, reply{body: `[{"id": 1}]`})
	cfg := testConfig(rs.URL, 19, "")
	cfg.BreakerFailures = 2
	cfg.BreakerCooldown = 30 * time.Second
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metrics = m
	c := newTestClient(t, cfg)
	c.now = clk.now
	c.brk.now = clk.now
	if got := breakerGauge(t, reg); got != 0 {
		t.Errorf("waybill_odoo_breaker_open before any call: got %g, want 0", got)
	}

	for i := range 2 {
		_, err := c.Read(t.Context(), "sale.order", []int{1}, nil)
		checkErr(t, err, wantErr{kind: KindServer})
		if want := float64(i); breakerGauge(t, reg) != want {
			t.Errorf("waybill_odoo_breaker_open after %d failures: got %g, want %g", i+1, breakerGauge(t, reg), want)
		}
	}
	clk.advance(10 * time.Second)
	_, err = c.Read(t.Context(), "sale.order", []int{1}, nil)
	checkErr(t, err, wantErr{kind: KindUnavailable, after: 20 * time.Second})
	if got := breakerGauge(t, reg); got != 1 {
		t.Errorf("waybill_odoo_breaker_open while open: got %g, want 1", got)
	}
	if got := c.Calls()["sale.order.read"]; got != 2 {
		t.Errorf("got %d calls sent, want 2 (the breaker holds the third)", got)
	}
	clk.advance(20 * time.Second)
	if _, err := c.Read(t.Context(), "sale.order", []int{1}, nil); err != nil {
		t.Fatalf("probe after cooldown: %v", err)
	}
	if c.brk.isOpen() {
		t.Error("breaker still open after a successful probe")
	}
	if got := breakerGauge(t, reg); got != 0 {
		t.Errorf("waybill_odoo_breaker_open after a successful probe: got %g, want 0", got)
	}
}

// breakerGauge reads waybill_odoo_breaker_open from reg.
func breakerGauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "waybill_odoo_breaker_open" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("waybill_odoo_breaker_open is not registered")
	return 0
}

func TestBreakerHalfOpenFailure(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(0, 0)}
	b := newBreaker(1, time.Minute, clk.now)
	b.record(false)
	if ok, wait := b.allow(); ok || wait != time.Minute {
		t.Fatalf("got %t %s, want closed for a minute", ok, wait)
	}
	clk.advance(time.Minute)
	if ok, _ := b.allow(); !ok {
		t.Fatal("probe refused after cooldown")
	}
	if ok, _ := b.allow(); ok {
		t.Fatal("second concurrent probe allowed")
	}
	if opened, _, _ := b.record(false); !opened {
		t.Error("failed probe did not reopen the breaker")
	}
	if ok, wait := b.allow(); ok || wait != time.Minute {
		t.Errorf("got %t %s, want a fresh cooldown", ok, wait)
	}
	// The outage runs from the first opening, through the failed probe,
	// to the probe that succeeds.
	clk.advance(time.Minute)
	if ok, _ := b.allow(); !ok {
		t.Fatal("probe refused after the second cooldown")
	}
	if _, closed, since := b.record(true); !closed || !since.Equal(time.Unix(0, 0)) {
		t.Errorf("closing: got closed %t, outage since %s; want closed, since %s", closed, since, time.Unix(0, 0))
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := rate.NewLimiter(1000, 2)
	for range 2 {
		if err := waitRate(t.Context(), l, clk.now); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := waitRate(t.Context(), l, clk.now); err != nil { // waits ~1ms of real time
		t.Fatal(err)
	}
	if time.Since(start) > time.Second {
		t.Error("limiter waited far too long")
	}

	slow := rate.NewLimiter(0.001, 1)
	_ = waitRate(t.Context(), slow, clk.now)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := waitRate(ctx, slow, clk.now); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	// A deadline shorter than the wait ends it with the ctx's own error, as
	// for any call that runs out of time, and gives the token back.
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := waitRate(ctx, slow, clk.now); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	if got := slow.TokensAt(clk.now()); got < -0.001 || got > 0.001 {
		t.Errorf("got %g tokens after the waiter gave up, want 0 (its reservation given back)", got)
	}
	clk.advance(1000 * time.Second) // the rate's one token
	if err := waitRate(t.Context(), slow, clk.now); err != nil {
		t.Errorf("got %v once the clock gave a token, want nil", err)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("second registration succeeded")
	}
	rs := newReplay(t, reply{body: `[{"id": 1}]`}, reply{status: 422, body: json2Error("odoo.exceptions.UserError", "no")})
	cfg := testConfig(rs.URL, 19, "")
	cfg.Metrics = m
	c := newTestClient(t, cfg)
	_, _ = c.Read(t.Context(), "sale.order", []int{1}, nil)
	_, err = c.Read(t.Context(), "sale.order", []int{1}, nil)
	if permanent, _ := connector.Classify(err); !permanent {
		t.Errorf("got %v, want permanent", err)
	}
	if got := counterValue(t, reg, "waybill_odoo_calls_total", ""); got != 2 {
		t.Errorf("got %g calls, want 2", got)
	}
	if got := counterValue(t, reg, "waybill_odoo_call_errors_total", "user_error"); got != 1 {
		t.Errorf("got %g errors, want 1", got)
	}
	var nilM *Metrics
	nilM.observe("a", "b", time.Second)
	nilM.failed("a", "b", KindServer)
}

// counterValue sums the counter name of reg for model sale.order, method
// read and, when kind is set, that kind.
func counterValue(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["model"] == "sale.order" && labels["method"] == "read" && (kind == "" || labels["kind"] == kind) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestConfigRedactsKey(t *testing.T) {
	t.Parallel()
	c := Config{URL: "http://bot:pw@x", Database: "d", Login: "bot", APIKey: "0123456789abcdef0123456789abcdef01234567"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), slogText(c)} {
		if strings.Contains(s, c.APIKey) || strings.Contains(s, ":pw@") {
			t.Errorf("secret revealed in %q", s)
		}
	}
}

func slogText(v any) string {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", slog.Any("config", v))
	return b.String()
}
