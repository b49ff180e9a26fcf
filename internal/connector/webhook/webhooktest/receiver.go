package webhooktest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/connectortest"
	"github.com/waybill/waybill/internal/correlation"
)

// Request is one request as the Receiver read it.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path.
	Path string
	// Header holds the request headers.
	Header http.Header
	// Body is the whole request body.
	Body []byte
}

// Receiver is a webhook endpoint on loopback that records each request it
// reads and answers with its current connectortest.Answer: AnswerOK is 200,
// AnswerServerError 500, AnswerReject 400, AnswerThrottle 429 with
// "Retry-After: 7", AnswerHang holds the request until the client gives up
// or the test ends, and AnswerDrop reads the request and closes the
// connection. It serves any path and method. Build it with [New]; its
// methods are safe for concurrent use.
type Receiver struct {
	srv  *httptest.Server
	stop chan struct{}

	mu       sync.Mutex
	answer   connectortest.Answer
	delay    time.Duration
	requests []Request
}

// New starts a Receiver that answers AnswerOK. It stops when the test ends,
// releasing any request it holds.
func New(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{stop: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serveHTTP))
	t.Cleanup(func() {
		close(r.stop)
		r.srv.Close()
	})
	return r
}

// URL returns the receiver's base URL, such as http://127.0.0.1:34567.
func (r *Receiver) URL() string { return r.srv.URL }

// SetAnswer makes the receiver answer every request that arrives from now
// on as a says.
func (r *Receiver) SetAnswer(a connectortest.Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = a
}

// SetDelay makes the receiver wait d after it reads each request that
// arrives from now on, before it answers: a slow target. A wait still
// running when the test ends is cut short.
func (r *Receiver) SetDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// Requests returns a copy of every request read so far, in arrival order.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Request, len(r.requests))
	for i, req := range r.requests {
		out[i] = Request{Method: req.Method, Path: req.Path, Header: req.Header.Clone(), Body: append([]byte(nil), req.Body...)}
	}
	return out
}

// Received returns the Idempotency-Key and X-Correlation-ID headers of every
// request read so far, in arrival order. It implements
// connectortest.Target.
func (r *Receiver) Received() []connectortest.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]connectortest.Request, len(r.requests))
	for i, req := range r.requests {
		out[i] = connectortest.Request{
			IdempotencyKey: req.Header.Get("Idempotency-Key"),
			CorrelationID:  req.Header.Get(correlation.Header),
		}
	}
	return out
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests = append(r.requests, Request{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body})
	answer, delay := r.answer, r.delay
	r.mu.Unlock()
	if delay > 0 {
		wait := time.NewTimer(delay)
		select {
		case <-wait.C:
		case <-req.Context().Done():
			wait.Stop()
			return
		case <-r.stop:
			wait.Stop()
			return
		}
	}

	switch answer {
	case connectortest.AnswerOK:
		w.WriteHeader(http.StatusOK)
	case connectortest.AnswerServerError:
		http.Error(w, "receiver: internal error", http.StatusInternalServerError)
	case connectortest.AnswerReject:
		http.Error(w, "receiver: invalid request", http.StatusBadRequest)
	case connectortest.AnswerThrottle:
		w.Header().Set("Retry-After", strconv.Itoa(int(connectortest.ThrottleRetryAfter.Seconds())))
		http.Error(w, "receiver: slow down", http.StatusTooManyRequests)
	case connectortest.AnswerHang:
		select {
		case <-req.Context().Done():
		case <-r.stop:
		}
	case connectortest.AnswerDrop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, "receiver: hijacking connection: "+err.Error(), http.StatusInternalServerError)
			return
		}
		conn.Close()
	default:
		http.Error(w, "receiver: unknown answer "+answer.String(), http.StatusInternalServerError)
	}
}
