package odoo

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the Odoo client's Prometheus metrics:
//
//   - waybill_odoo_calls_total{model, method}: calls sent to Odoo;
//   - waybill_odoo_call_errors_total{model, method, kind}: failed calls, by
//     [ErrorKind] name;
//   - waybill_odoo_call_seconds{model, method}: call latency;
//   - waybill_odoo_breaker_open: 1 from the moment the circuit breaker
//     opens until a call succeeds again (while it is open and while its
//     probe is out), 0 otherwise.
//
// Calls refused by the circuit breaker count as errors of kind unavailable
// but not as calls. Build one per process with [NewMetrics] and share it
// between clients. A nil *Metrics records nothing. Metrics is safe for
// concurrent use.
type Metrics struct {
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	breaker  prometheus.Gauge
}

// NewMetrics builds the metrics and registers them on reg; with a nil reg
// they are built but not registered. It fails when reg already holds
// metrics of the same names.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_odoo_calls_total",
			Help: "Calls sent to Odoo, by model and method.",
		}, []string{"model", "method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_odoo_call_errors_total",
			Help: "Failed Odoo calls, by model, method and error kind.",
		}, []string{"model", "method", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waybill_odoo_call_seconds",
			Help:    "Latency of Odoo calls, by model and method.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"model", "method"}),
		breaker: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_odoo_breaker_open",
			Help: "1 while the Odoo client's circuit breaker is open (calls fail at once) or probing after its cooldown, 0 once a call succeeds.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var done []prometheus.Collector
	for _, c := range []prometheus.Collector{m.calls, m.errors, m.duration, m.breaker} {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, fmt.Errorf("registering odoo metrics: %w", err)
		}
		done = append(done, c)
	}
	return m, nil
}

func (m *Metrics) observe(model, method string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(model, method).Inc()
	m.duration.WithLabelValues(model, method).Observe(d.Seconds())
}

func (m *Metrics) failed(model, method string, kind ErrorKind) {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(model, method, kind.String()).Inc()
}

// breakerOpen records that the circuit breaker opened (true) or closed.
func (m *Metrics) breakerOpen(open bool) {
	if m == nil {
		return
	}
	v := 0.0
	if open {
		v = 1
	}
	m.breaker.Set(v)
}
