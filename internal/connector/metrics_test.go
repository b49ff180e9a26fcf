package connector_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/shipment"
)

func TestMetricsObserve(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := connector.NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	m.Observe("webhook", shipment.ActionDispatchRelease, 10*time.Millisecond, nil)
	m.Observe("webhook", shipment.ActionDispatchRelease, 20*time.Millisecond, connector.Permanent(errors.New("bad")))
	m.Observe("webhook", shipment.ActionDispatchRelease, 30*time.Millisecond, errors.New("reset"))
	m.Observe("odoo", shipment.ActionInvoicePrepare, 40*time.Millisecond, nil)
	// An action of a kind the workflow never issues (refused before it is
	// sent) keeps the label bounded, and never takes River's form.
	m.Observe("tms", "", time.Millisecond, connector.Permanent(errors.New("invalid")))
	m.Observe("tms", "dispatch_release", time.Millisecond, connector.Permanent(errors.New("invalid")))

	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	counts := make(map[string]float64)
	histograms := make(map[string]uint64)
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			labels := ""
			for _, l := range metric.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + " "
			}
			switch f.GetName() {
			case "waybill_connector_requests_total":
				counts[labels] = metric.GetCounter().GetValue()
			case "waybill_connector_request_seconds":
				histograms[labels] = metric.GetHistogram().GetSampleCount()
			}
		}
	}
	wantCounts := map[string]float64{
		"connector=webhook kind=dispatch.release outcome=ok ":        1,
		"connector=webhook kind=dispatch.release outcome=permanent ": 1,
		"connector=webhook kind=dispatch.release outcome=retryable ": 1,
		"connector=odoo kind=invoice.prepare outcome=ok ":            1,
		"connector=tms kind=other outcome=permanent ":                2,
	}
	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("request counts mismatch (-want +got):\n%s", diff)
	}
	wantHistograms := map[string]uint64{
		"connector=webhook kind=dispatch.release ": 3,
		"connector=odoo kind=invoice.prepare ":     1,
		"connector=tms kind=other ":                2,
	}
	if diff := cmp.Diff(wantHistograms, histograms); diff != "" {
		t.Errorf("histogram sample counts mismatch (-want +got):\n%s", diff)
	}
}

func TestNewMetricsTwiceOnOneRegistererFails(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := connector.NewMetrics(reg); err != nil {
		t.Fatalf("first NewMetrics: %v", err)
	}
	_, err := connector.NewMetrics(reg)
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("second NewMetrics on one registry: got error %v, want prometheus.AlreadyRegisteredError", err)
	}
}

func TestMetricsWithoutRegisterer(t *testing.T) {
	t.Parallel()
	m, err := connector.NewMetrics(nil)
	if err != nil || m == nil {
		t.Fatalf("NewMetrics(nil): got (%v, %v), want metrics and nil error", m, err)
	}
	m.Observe("webhook", shipment.ActionDispatchRelease, time.Millisecond, nil)
	var none *connector.Metrics
	none.Observe("webhook", shipment.ActionDispatchRelease, time.Millisecond, nil) // must not panic
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{err: nil, want: connector.OutcomeOK},
		{err: errors.New("x"), want: connector.OutcomeRetryable},
		{err: connector.Retryable(errors.New("x"), time.Second), want: connector.OutcomeRetryable},
		{err: connector.Permanent(errors.New("x")), want: connector.OutcomePermanent},
	}
	for _, tt := range tests {
		if got := connector.Outcome(tt.err); got != tt.want {
			t.Errorf("Outcome(%v): got %q, want %q", tt.err, got, tt.want)
		}
	}
}
