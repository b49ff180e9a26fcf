package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/connectortest"
	"github.com/waybill/waybill/internal/connector/webhook"
	"github.com/waybill/waybill/internal/connector/webhook/webhooktest"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/shipment"
)

// fixedNow is the clock of tests that need a deterministic time.
var fixedNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Exercise(t, connectortest.Harness{
		StartFunc: func(t *testing.T) (connector.Connector, connectortest.Target) {
			r := webhooktest.New(t)
			return newConnector(t, webhook.Config{URL: r.URL() + "/hooks/waybill", Secret: "s3cret"}, nil), r
		},
	})
}

// newConnector builds a connector for cfg, with a 10s timeout unless cfg
// sets one, closed when the test ends.
func newConnector(t *testing.T, cfg webhook.Config, opts *webhook.Options) *webhook.Connector {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	c, err := webhook.New(cfg, opts)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newServer starts a loopback server running h, closed when the test ends.
func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func testAction() *connector.Action {
	return &connector.Action{
		Kind:           shipment.ActionDispatchRelease,
		ShipmentID:     "shp_01J",
		EventID:        "evt_01J",
		CorrelationID:  "corr-42",
		IdempotencyKey: "job-1234:dispatch.release",
		Attempt:        2,
		Payload:        json.RawMessage("{\n  \"dock\": \"D4\",\n  \"note\": \"<fragile> & heavy\",\n  \"lines\": [1, 2]\n}"),
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     webhook.Config
		wantErr bool
	}{
		{name: "http", cfg: webhook.Config{URL: "http://127.0.0.1:9/hook", Timeout: time.Second}},
		{name: "https", cfg: webhook.Config{URL: "https://hooks.example.com/x?token=t", Timeout: time.Second}},
		{name: "empty_url", cfg: webhook.Config{Timeout: time.Second}, wantErr: true},
		{name: "relative_url", cfg: webhook.Config{URL: "/hook", Timeout: time.Second}, wantErr: true},
		{name: "no_host", cfg: webhook.Config{URL: "http:///hook", Timeout: time.Second}, wantErr: true},
		{name: "ftp_url", cfg: webhook.Config{URL: "ftp://example.com/hook", Timeout: time.Second}, wantErr: true},
		{name: "unparsable_url", cfg: webhook.Config{URL: "http://exa mple.com/%zz", Timeout: time.Second}, wantErr: true},
		{name: "zero_timeout", cfg: webhook.Config{URL: "http://127.0.0.1:9/hook"}, wantErr: true},
		{name: "negative_timeout", cfg: webhook.Config{URL: "http://127.0.0.1:9/hook", Timeout: -time.Second}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := webhook.New(tt.cfg, nil)
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("New(%v): got error %v, want error %t", tt.cfg, err, tt.wantErr)
			}
			if err == nil {
				_ = c.Close()
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := webhook.New(webhook.Config{URL: "ftp://example.com/secret-token"}, nil)
	if err == nil {
		t.Fatal("New with a bad URL and no timeout: got nil error, want one")
	}
	for _, want := range []string{"url", "timeout"} {
		if !strings.Contains(err.Error(), want+":") {
			t.Errorf("New error %q: want a problem reported for %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("New error %q: got the URL path in the message, want it left out", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	r := webhooktest.New(t)
	c := newConnector(t, webhook.Config{URL: r.URL()}, nil)
	if got, want := c.Name(), webhook.NameDefault; got != want {
		t.Errorf("Name(): got %q, want %q", got, want)
	}
	if err := c.Deliver(t.Context(), testAction()); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if got, want := r.Requests()[0].Header.Get("User-Agent"), webhook.UserAgentDefault; got != want {
		t.Errorf("User-Agent: got %q, want %q", got, want)
	}
	if got := r.Requests()[0].Header.Values(webhook.HeaderSignature); len(got) != 0 {
		t.Errorf("%s without a secret: got %q, want no header", webhook.HeaderSignature, got)
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	r := webhooktest.New(t)
	c := newConnector(t, webhook.Config{URL: r.URL() + "/hooks/waybill", Name: "partner-hook", UserAgent: "waybill/1.4.0", Secret: "s3cret"}, nil)
	a := testAction()
	if err := c.Deliver(t.Context(), a); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	reqs := r.Requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Path != "/hooks/waybill" {
		t.Errorf("request line: got %s %s, want POST /hooks/waybill", req.Method, req.Path)
	}

	gotHeaders := map[string]string{}
	for _, name := range []string{"Content-Type", "Idempotency-Key", "X-Correlation-ID", "Waybill-Action", "Waybill-Attempt", "User-Agent"} {
		gotHeaders[name] = req.Header.Get(name)
	}
	wantHeaders := map[string]string{
		"Content-Type":     "application/json",
		"Idempotency-Key":  "job-1234:dispatch.release",
		"X-Correlation-ID": "corr-42",
		"Waybill-Action":   "dispatch.release",
		"Waybill-Attempt":  "2",
		"User-Agent":       "waybill/1.4.0",
	}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(req.Header.Get(webhook.HeaderSignature), "t=") {
		t.Errorf("%s: got %q, want t=…,v1=…", webhook.HeaderSignature, req.Header.Get(webhook.HeaderSignature))
	}

	var gotBody map[string]any
	if err := json.Unmarshal(req.Body, &gotBody); err != nil {
		t.Fatalf("decoding body %q: %v", req.Body, err)
	}
	wantBody := map[string]any{
		"kind":            "dispatch.release",
		"shipment_id":     "shp_01J",
		"event_id":        "evt_01J",
		"correlation_id":  "corr-42",
		"idempotency_key": "job-1234:dispatch.release",
		"payload":         map[string]any{"dock": "D4", "note": "<fragile> & heavy", "lines": []any{float64(1), float64(2)}},
	}
	if diff := cmp.Diff(wantBody, gotBody); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
	if want := `"payload":{"dock":"D4","note":"<fragile> & heavy","lines":[1,2]}`; !strings.Contains(string(req.Body), want) {
		t.Errorf("body %s: want the payload compacted, unescaped and in order: %s", req.Body, want)
	}
}

func TestBodyIsStableAcrossAttempts(t *testing.T) {
	t.Parallel()
	r := webhooktest.New(t)
	c := newConnector(t, webhook.Config{URL: r.URL()}, nil)
	for attempt := 1; attempt <= 2; attempt++ {
		a := testAction()
		a.Attempt = attempt
		if err := c.Deliver(t.Context(), a); err != nil {
			t.Fatalf("Deliver attempt %d: %v", attempt, err)
		}
	}
	reqs := r.Requests()
	if diff := cmp.Diff(string(reqs[0].Body), string(reqs[1].Body)); diff != "" {
		t.Errorf("body of attempt 2 differs from attempt 1 (-1 +2):\n%s", diff)
	}
	for i, want := range []string{"1", "2"} {
		if got := reqs[i].Header.Get(webhook.HeaderAttempt); got != want {
			t.Errorf("request %d %s: got %q, want %q", i, webhook.HeaderAttempt, got, want)
		}
	}
}

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		actionID   string
		contextID  string
		wantHeader []string
		wantBody   string
	}{
		{name: "from_action", actionID: "corr-action", contextID: "corr-ctx", wantHeader: []string{"corr-action"}, wantBody: "corr-action"},
		{name: "from_context", contextID: "corr-ctx", wantHeader: []string{"corr-ctx"}, wantBody: "corr-ctx"},
		{name: "none", wantHeader: nil, wantBody: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := webhooktest.New(t)
			c := newConnector(t, webhook.Config{URL: r.URL()}, nil)
			a := testAction()
			a.CorrelationID = tt.actionID
			ctx := t.Context()
			if tt.contextID != "" {
				ctx = correlation.With(ctx, tt.contextID)
			}
			if err := c.Deliver(ctx, a); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			req := r.Requests()[0]
			if diff := cmp.Diff(tt.wantHeader, req.Header.Values(correlation.Header)); diff != "" {
				t.Errorf("%s header mismatch (-want +got):\n%s", correlation.Header, diff)
			}
			var body struct {
				CorrelationID string `json:"correlation_id"`
			}
			if err := json.Unmarshal(req.Body, &body); err != nil {
				t.Fatalf("decoding body: %v", err)
			}
			if body.CorrelationID != tt.wantBody {
				t.Errorf("body correlation_id: got %q, want %q", body.CorrelationID, tt.wantBody)
			}
		})
	}
}

func TestTraceparent(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name      string
		actionID  string
		contextID string
		wantTrace string // "" wants no traceparent header
	}{
		{name: "trace_id", actionID: traceID, wantTrace: traceID},
		{name: "trace_id_from_context", contextID: traceID, wantTrace: traceID},
		{name: "action_id_wins_over_context", actionID: "corr-42", contextID: traceID},
		{name: "uppercase_hex", actionID: strings.ToUpper(traceID)},
		{name: "all_zeros", actionID: strings.Repeat("0", 32)},
		{name: "too_short", actionID: traceID[:31]},
		{name: "too_long", actionID: traceID + "0"},
		{name: "not_hex", actionID: "4bf92f3577b34da6a3ce929d0e0e473g"},
		{name: "uuid", actionID: "0192f5e4-7c3a-7b1e-9d2f-3a4b5c6d7e8f"},
		{name: "plain", actionID: "corr-42"},
		{name: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := webhooktest.New(t)
			c := newConnector(t, webhook.Config{URL: r.URL()}, nil)
			ctx := t.Context()
			if tt.contextID != "" {
				ctx = correlation.With(ctx, tt.contextID)
			}
			for range 2 {
				a := testAction()
				a.CorrelationID = tt.actionID
				if err := c.Deliver(ctx, a); err != nil {
					t.Fatalf("Deliver: %v", err)
				}
			}
			reqs := r.Requests()
			var spans []string
			for i, req := range reqs {
				got := req.Header.Values(webhook.HeaderTraceparent)
				if tt.wantTrace == "" {
					if len(got) != 0 {
						t.Errorf("request %d with correlation id %q: got traceparent %q, want none", i, tt.actionID, got)
					}
					continue
				}
				if len(got) != 1 {
					t.Fatalf("request %d: got traceparent %q, want one value", i, got)
				}
				parts := strings.Split(got[0], "-")
				if len(parts) != 4 || parts[0] != "00" || parts[1] != tt.wantTrace || parts[3] != "01" {
					t.Fatalf("request %d: got traceparent %q, want 00-%s-<span id>-01", i, got[0], tt.wantTrace)
				}
				if span := parts[2]; len(span) != 16 || strings.Trim(span, "0123456789abcdef") != "" || span == strings.Repeat("0", 16) {
					t.Errorf("request %d: got span id %q, want 16 lowercase hex digits, not all zeros", i, span)
				}
				// The receiver's side of the join: intake reads the same
				// trace id back out of the header.
				if back := correlation.FromTraceparent(got[0]); back != tt.wantTrace {
					t.Errorf("request %d: correlation.FromTraceparent(%q) = %q, want %q", i, got[0], back, tt.wantTrace)
				}
				spans = append(spans, parts[2])
			}
			if len(spans) == 2 && spans[0] == spans[1] {
				t.Errorf("two requests carried the same span id %s, want a new one per request", spans[0])
			}
		})
	}
}

func TestNullPayload(t *testing.T) {
	t.Parallel()
	r := webhooktest.New(t)
	c := newConnector(t, webhook.Config{URL: r.URL()}, nil)
	a := testAction()
	a.Payload = nil
	if err := c.Deliver(t.Context(), a); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if body := string(r.Requests()[0].Body); !strings.HasSuffix(body, `"payload":null}`) {
		t.Errorf("body: got %s, want payload null", body)
	}
}

func TestInvalidActionIsPermanentAndSendsNothing(t *testing.T) {
	t.Parallel()
	r := webhooktest.New(t)
	c := newConnector(t, webhook.Config{URL: r.URL()}, nil)
	bad := testAction()
	bad.IdempotencyKey = ""
	for _, a := range []*connector.Action{nil, bad} {
		err := c.Deliver(t.Context(), a)
		if permanent, _ := connector.Classify(err); err == nil || !permanent {
			t.Errorf("Deliver(%+v): got error %v, want a permanent error", a, err)
		}
	}
	if got := len(r.Requests()); got != 0 {
		t.Errorf("receiver got %d requests, want 0", got)
	}
}

func TestStatusClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status        int
		wantErr       bool
		wantPermanent bool
	}{
		{status: http.StatusOK},
		{status: http.StatusCreated},
		{status: http.StatusAccepted},
		{status: http.StatusNoContent},
		{status: http.StatusFound, wantErr: true, wantPermanent: true},
		{status: http.StatusTemporaryRedirect, wantErr: true, wantPermanent: true},
		{status: http.StatusBadRequest, wantErr: true, wantPermanent: true},
		{status: http.StatusUnauthorized, wantErr: true, wantPermanent: true},
		{status: http.StatusNotFound, wantErr: true, wantPermanent: true},
		{status: http.StatusConflict, wantErr: true, wantPermanent: true},
		{status: http.StatusUnprocessableEntity, wantErr: true, wantPermanent: true},
		{status: http.StatusNotImplemented, wantErr: true, wantPermanent: true},
		{status: http.StatusHTTPVersionNotSupported, wantErr: true, wantPermanent: true},
		{status: http.StatusRequestTimeout, wantErr: true},
		{status: http.StatusTooEarly, wantErr: true},
		{status: http.StatusTooManyRequests, wantErr: true},
		{status: http.StatusInternalServerError, wantErr: true},
		{status: http.StatusBadGateway, wantErr: true},
		{status: http.StatusServiceUnavailable, wantErr: true},
		{status: http.StatusGatewayTimeout, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					t.Errorf("connector followed a %d redirect", tt.status)
				}
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(tt.status)
				_, _ = fmt.Fprintf(w, "status %d", tt.status)
			})
			c := newConnector(t, webhook.Config{URL: srv.URL}, nil)
			err := c.Deliver(t.Context(), testAction())
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("Deliver on %d: got error %v, want error %t", tt.status, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			if permanent, _ := connector.Classify(err); permanent != tt.wantPermanent {
				t.Errorf("Classify(%v): got permanent %t, want %t", err, permanent, tt.wantPermanent)
			}
			var serr *webhook.StatusError
			if !errors.As(err, &serr) {
				t.Fatalf("Deliver on %d: got error %v, want a *webhook.StatusError", tt.status, err)
			}
			want := &webhook.StatusError{Target: "webhook", StatusCode: tt.status, Body: fmt.Sprintf("status %d", tt.status)}
			if diff := cmp.Diff(want, serr); diff != "" {
				t.Errorf("StatusError mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorBodyIsTruncated(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(strings.Repeat("x", 10_000)))
	})
	c := newConnector(t, webhook.Config{URL: srv.URL}, nil)
	err := c.Deliver(t.Context(), testAction())
	var serr *webhook.StatusError
	if !errors.As(err, &serr) {
		t.Fatalf("Deliver: got error %v, want a *webhook.StatusError", err)
	}
	if got, want := len(serr.Body), 512; got != want {
		t.Errorf("StatusError.Body length: got %d, want %d", got, want)
	}
}

func TestLargeSuccessBody(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("y", 64<<10))
		for range 48 { // 3 MiB, beyond the 1 MiB the connector reads
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c := newConnector(t, webhook.Config{URL: srv.URL}, nil)
	if err := c.Deliver(t.Context(), testAction()); err != nil {
		t.Errorf("Deliver with a 3 MiB 200 response: got error %v, want nil", err)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		retryAfter string
		want       time.Duration
	}{
		{name: "seconds", status: http.StatusTooManyRequests, retryAfter: "7", want: 7 * time.Second},
		{name: "seconds_503", status: http.StatusServiceUnavailable, retryAfter: "120", want: 2 * time.Minute},
		{name: "http_date", status: http.StatusServiceUnavailable, retryAfter: fixedNow.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{name: "http_date_past", status: http.StatusTooManyRequests, retryAfter: fixedNow.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "http_date_capped", status: http.StatusTooManyRequests, retryAfter: fixedNow.Add(48 * time.Hour).Format(http.TimeFormat), want: webhook.RetryAfterMax},
		{name: "seconds_capped", status: http.StatusTooManyRequests, retryAfter: "86400", want: webhook.RetryAfterMax},
		{name: "seconds_huge", status: http.StatusTooManyRequests, retryAfter: "99999999999999999999", want: webhook.RetryAfterMax},
		{name: "zero", status: http.StatusTooManyRequests, retryAfter: "0", want: 0},
		{name: "negative", status: http.StatusTooManyRequests, retryAfter: "-5", want: 0},
		{name: "garbage", status: http.StatusTooManyRequests, retryAfter: "soon", want: 0},
		{name: "absent", status: http.StatusBadGateway, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			})
			c := newConnector(t, webhook.Config{URL: srv.URL}, &webhook.Options{NowFunc: func() time.Time { return fixedNow }})
			err := c.Deliver(t.Context(), testAction())
			permanent, after := connector.Classify(err)
			if err == nil || permanent {
				t.Fatalf("Deliver: got error %v (permanent %t), want a retryable error", err, permanent)
			}
			if after != tt.want {
				t.Errorf("retry-after for %q: got %v, want %v", tt.retryAfter, after, tt.want)
			}
		})
	}
}

func TestDroppedConnectionIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	r := webhooktest.New(t)
	r.SetAnswer(connectortest.AnswerDrop)
	c := newConnector(t, webhook.Config{URL: r.URL()}, nil)
	err := c.Deliver(t.Context(), testAction())
	if !errors.Is(err, connector.ErrOutcomeUnknown) {
		t.Fatalf("Deliver to a receiver that closes the connection: got error %v, want one that Is ErrOutcomeUnknown", err)
	}
	if permanent, _ := connector.Classify(err); permanent {
		t.Errorf("Classify(%v): got permanent, want retryable", err)
	}
	if got := len(r.Requests()); got < 1 {
		t.Errorf("receiver read %d requests, want at least 1", got)
	}
}

func TestTimeoutIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	r := webhooktest.New(t)
	r.SetAnswer(connectortest.AnswerHang)
	const timeout = 150 * time.Millisecond
	c := newConnector(t, webhook.Config{URL: r.URL(), Timeout: timeout}, nil)
	start := time.Now()
	err := c.Deliver(t.Context(), testAction())
	elapsed := time.Since(start)
	if !errors.Is(err, connector.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Deliver to a hung receiver: got error %v, want one that Is ErrOutcomeUnknown and context.DeadlineExceeded", err)
	}
	if permanent, _ := connector.Classify(err); permanent {
		t.Errorf("Classify(%v): got permanent, want retryable", err)
	}
	if elapsed > timeout+2*time.Second {
		t.Errorf("Deliver returned after %v, want soon after the %v timeout", elapsed, timeout)
	}
}

func TestConnectionRefusedIsNotOutcomeUnknown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("closing listener: %v", err)
	}
	c := newConnector(t, webhook.Config{URL: "http://" + addr + "/hook?token=hunter2"}, nil)
	err = c.Deliver(t.Context(), testAction())
	if err == nil {
		t.Fatal("Deliver to a closed port: got nil error, want one")
	}
	if permanent, _ := connector.Classify(err); permanent {
		t.Errorf("Classify(%v): got permanent, want retryable", err)
	}
	if errors.Is(err, connector.ErrOutcomeUnknown) {
		t.Errorf("Deliver to a closed port: got %v, want an error that is not ErrOutcomeUnknown (nothing was sent)", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Deliver to a closed port: got %v, want a *net.OpError inside", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q: got the URL query in the message, want host only", err)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := connector.NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	r := webhooktest.New(t)
	// Two connectors share one Metrics value, told apart by name.
	a := newConnector(t, webhook.Config{URL: r.URL(), Name: "hook-a"}, &webhook.Options{Metrics: m})
	b := newConnector(t, webhook.Config{URL: r.URL(), Name: "hook-b"}, &webhook.Options{Metrics: m})
	for _, ans := range []connectortest.Answer{connectortest.AnswerOK, connectortest.AnswerServerError, connectortest.AnswerReject} {
		r.SetAnswer(ans)
		_ = a.Deliver(t.Context(), testAction())
	}
	r.SetAnswer(connectortest.AnswerOK)
	_ = b.Deliver(t.Context(), testAction())

	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "waybill_connector_requests_total" {
			continue
		}
		for _, metric := range f.GetMetric() {
			var labels []string
			for _, l := range metric.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got[strings.Join(labels, ",")] = metric.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"connector=hook-a,kind=dispatch.release,outcome=ok":        1,
		"connector=hook-a,kind=dispatch.release,outcome=retryable": 1,
		"connector=hook-a,kind=dispatch.release,outcome=permanent": 1,
		"connector=hook-b,kind=dispatch.release,outcome=ok":        1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waybill_connector_requests_total mismatch (-want +got):\n%s", diff)
	}
}

func TestConfigRedactsSecret(t *testing.T) {
	t.Parallel()
	cfg := webhook.Config{URL: "https://hooks.example.com/x", Secret: "s3cret-value", Timeout: time.Second}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "webhook", cfg)
	for name, out := range map[string]string{
		"slog": logged.String(),
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%s":   fmt.Sprintf("%s", cfg),
	} {
		if strings.Contains(out, "s3cret-value") {
			t.Errorf("%s output %q: got the secret, want it redacted", name, out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s output %q: want REDACTED in place of the secret", name, out)
		}
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	c := newConnector(t, webhook.Config{URL: "http://127.0.0.1:9/"}, nil)
	for i := range 2 {
		if err := c.Close(); err != nil {
			t.Errorf("Close %d: got %v, want nil", i+1, err)
		}
	}
}
