package connector

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/shipment"
)

// Outcome label values of waybill_connector_requests_total.
const (
	// OutcomeOK counts deliveries that succeeded.
	OutcomeOK = "ok"
	// OutcomeRetryable counts deliveries that failed with a retryable error.
	OutcomeRetryable = "retryable"
	// OutcomePermanent counts deliveries that failed with a permanent error.
	OutcomePermanent = "permanent"
)

// Metrics holds the Prometheus metrics every connector reports:
//
//   - waybill_connector_requests_total{connector, kind, outcome}: a counter
//     of requests, outcome being ok, retryable or permanent as
//     [Classify] sees the result;
//   - waybill_connector_request_seconds{connector, kind}: a histogram of
//     their duration.
//
// Build it once per process with [NewMetrics] and pass the same value to
// every connector: a Prometheus registerer accepts each metric name only
// once, and the connector label already separates connectors. A nil
// *Metrics is valid and records nothing. Metrics is safe for concurrent use.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics builds the connector metrics and registers them on reg. With a
// nil reg they are built but not registered. It fails when reg already holds
// metrics of the same names, as it does when called twice with one reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_connector_requests_total",
			Help: "Outbound connector requests, by connector, action kind (dispatch.release, …; other for a kind the workflow does not issue) and outcome (ok, retryable, permanent).",
		}, []string{"connector", "kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waybill_connector_request_seconds",
			Help:    "Duration of outbound connector requests, by connector and action kind (dispatch.release, …; other for a kind the workflow does not issue).",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"connector", "kind"}),
	}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.requests); err != nil {
		return nil, fmt.Errorf("registering connector request counter: %w", err)
	}
	if err := reg.Register(m.duration); err != nil {
		reg.Unregister(m.requests)
		return nil, fmt.Errorf("registering connector request histogram: %w", err)
	}
	return m, nil
}

// Observe records one request of connector name for an action of kind that
// took d and ended with err (nil for success). It does nothing on a nil m.
func (m *Metrics) Observe(name, kind string, d time.Duration, err error) {
	if m == nil {
		return
	}
	kind = KindLabel(kind)
	m.requests.WithLabelValues(name, kind, Outcome(err)).Inc()
	m.duration.WithLabelValues(name, kind).Observe(d.Seconds())
}

// OtherKind is the kind label of a request for an action of a kind the
// workflow does not issue (an invalid action, refused before it is sent).
const OtherKind = "other"

// KindLabel is the kind label of an action of kind: the action kind as the
// workflow names it (shipment.ActionDispatchRelease is dispatch.release),
// or OtherKind, so that labels stay bounded whatever an action carries.
func KindLabel(kind string) string {
	if shipment.KnownAction(kind) {
		return kind
	}
	return OtherKind
}

// Outcome returns the outcome label of a Deliver result: [OutcomeOK] for nil,
// otherwise [OutcomePermanent] or [OutcomeRetryable] as [Classify] decides.
func Outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	if permanent, _ := Classify(err); permanent {
		return OutcomePermanent
	}
	return OutcomeRetryable
}
