package connector_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/correlation"
)

// capture is what a loopback target saw of one request.
type capture struct {
	header http.Header
	body   string
}

// newTarget starts a loopback server that records each request on the
// returned channel and answers with handle.
func newTarget(t *testing.T, handle http.HandlerFunc) (*httptest.Server, <-chan capture) {
	t.Helper()
	got := make(chan capture, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- capture{header: r.Header.Clone(), body: string(body)}
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func newOutbound(t *testing.T, opts *connector.OutboundOptions) *connector.Outbound {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	o := connector.NewOutbound(opts)
	t.Cleanup(func() { _ = o.Close() })
	return o
}

func outboundAction() *connector.Action {
	return &connector.Action{Kind: "dispatch.release", IdempotencyKey: "job-7:dispatch.release", Attempt: 3}
}

func TestOutboundPostSendsActionHeaders(t *testing.T) {
	t.Parallel()
	srv, got := newTarget(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"carrier":"ACME","tail":"`+strings.Repeat("x", 100)+`"}`)
	})
	now := time.Unix(1_700_000_000, 0)
	o := newOutbound(t, &connector.OutboundOptions{
		Target:    "tms",
		URL:       srv.URL + "/dispatches",
		UserAgent: "waybill/1.4.0",
		SignFunc:  func(t time.Time, body []byte) string { return t.UTC().Format(time.RFC3339) + "|" + string(body) },
		NowFunc:   func() time.Time { return now },
	})
	resp, err := o.Post(t.Context(), &connector.OutboundRequest{
		Action:        outboundAction(),
		CorrelationID: "corr-9",
		Body:          []byte(`{"a":1}`),
		Header:        http.Header{"traceparent": {"00-x-y-01"}, "Accept": {"application/json"}},
		What:          "sending dispatch to " + o.Host(),
		MaxReply:      18,
	})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if got, want := string(resp.Body), `{"carrier":"ACME",`; got != want || resp.StatusCode != http.StatusOK {
		t.Errorf("reply: got %d %q, want 200 %q", resp.StatusCode, got, want)
	}
	c := <-got
	gotHeaders := map[string]string{}
	for _, name := range []string{"Content-Type", "Accept", "User-Agent", "Idempotency-Key", "Waybill-Action",
		"Waybill-Attempt", correlation.Header, "Waybill-Signature", "Traceparent"} {
		gotHeaders[name] = c.header.Get(name)
	}
	wantHeaders := map[string]string{
		"Content-Type":      "application/json",
		"Accept":            "application/json",
		"User-Agent":        "waybill/1.4.0",
		"Idempotency-Key":   "job-7:dispatch.release",
		"Waybill-Action":    "dispatch.release",
		"Waybill-Attempt":   "3",
		correlation.Header:  "corr-9",
		"Waybill-Signature": `2023-11-14T22:13:20Z|{"a":1}`,
		"Traceparent":       "00-x-y-01",
	}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
	if c.body != `{"a":1}` {
		t.Errorf("body: got %q, want %q", c.body, `{"a":1}`)
	}
}

func TestOutboundPostUnsignedWithoutCorrelation(t *testing.T) {
	t.Parallel()
	srv, got := newTarget(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ignored") })
	o := newOutbound(t, &connector.OutboundOptions{Target: "webhook", URL: srv.URL})
	resp, err := o.Post(t.Context(), &connector.OutboundRequest{Action: outboundAction(), Body: []byte("{}"), What: "posting"})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if len(resp.Body) != 0 {
		t.Errorf("reply body with MaxReply 0: got %q, want none", resp.Body)
	}
	c := <-got
	for _, name := range []string{"Waybill-Signature", correlation.Header} {
		if v, ok := c.header[http.CanonicalHeaderKey(name)]; ok {
			t.Errorf("%s: got %q, want no header", name, v)
		}
	}
}

func TestOutboundPostClassifiesStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        int
		retryAfter    string
		wantPermanent bool
		wantAfter     time.Duration
	}{
		{name: "unavailable", status: http.StatusServiceUnavailable, retryAfter: "7", wantAfter: 7 * time.Second},
		{name: "too_many_requests", status: http.StatusTooManyRequests},
		{name: "bad_request", status: http.StatusBadRequest, wantPermanent: true},
		{name: "redirect", status: http.StatusFound, wantPermanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newTarget(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "nope")
			})
			o := newOutbound(t, &connector.OutboundOptions{Target: "webhook", URL: srv.URL})
			_, err := o.Post(t.Context(), &connector.OutboundRequest{Action: outboundAction(), Body: []byte("{}"), What: "posting x"})
			var se *connector.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Post: got %v, want a *StatusError", err)
			}
			if se.Target != "webhook" || se.StatusCode != tt.status || se.Body != "nope" {
				t.Errorf("StatusError: got %+v, want webhook %d %q", se, tt.status, "nope")
			}
			if !strings.HasPrefix(err.Error(), "posting x: ") {
				t.Errorf("error %q: want it to start with %q", err, "posting x: ")
			}
			permanent, after := connector.Classify(err)
			if permanent != tt.wantPermanent || after != tt.wantAfter {
				t.Errorf("Classify: got (%v, %v), want (%v, %v)", permanent, after, tt.wantPermanent, tt.wantAfter)
			}
		})
	}
}

func TestOutboundPostTransportErrors(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close() // nothing listens on its address any more
		o := newOutbound(t, &connector.OutboundOptions{URL: closed.URL + "/hook?token=s3cret"})
		_, err := o.Post(t.Context(), &connector.OutboundRequest{Action: outboundAction(), Body: []byte("{}"), What: "posting x"})
		if err == nil || errors.Is(err, connector.ErrOutcomeUnknown) {
			t.Fatalf("Post: got %v, want an error without ErrOutcomeUnknown", err)
		}
		if permanent, _ := connector.Classify(err); permanent {
			t.Errorf("Classify(%v): got permanent, want retryable", err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q: leaks the URL's token", err)
		}
	})
	t.Run("no_reply", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}))
		t.Cleanup(srv.Close)
		o := newOutbound(t, &connector.OutboundOptions{URL: srv.URL})
		_, err := o.Post(t.Context(), &connector.OutboundRequest{Action: outboundAction(), Body: []byte("{}"), What: "posting x"})
		if !errors.Is(err, connector.ErrOutcomeUnknown) {
			t.Fatalf("Post: got %v, want ErrOutcomeUnknown", err)
		}
		if permanent, _ := connector.Classify(err); permanent {
			t.Errorf("Classify(%v): got permanent, want retryable", err)
		}
	})
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	if got, want := connector.RedactedURL("https://user:pw@tms.example.com/x"), "https://user:xxxxx@tms.example.com/x"; got != want {
		t.Errorf("RedactedURL: got %q, want %q", got, want)
	}
	if got := connector.RedactedURL("http://[::1"); got != "" {
		t.Errorf("RedactedURL of an invalid URL: got %q, want empty", got)
	}
	if got := connector.RedactedSecret("k"); got != "REDACTED" {
		t.Errorf("RedactedSecret: got %q, want REDACTED", got)
	}
	if got := connector.RedactedSecret(""); got != "" {
		t.Errorf("RedactedSecret of empty: got %q, want empty", got)
	}
}
