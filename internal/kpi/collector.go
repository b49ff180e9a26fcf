package kpi

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/shipment"
)

// collectTimeout bounds the snapshot a scrape computes.
const collectTimeout = 10 * time.Second

// The descriptors of the KPI gauges.
var (
	delayedDesc = prometheus.NewDesc("waybill_kpi_delayed_releases",
		"Shipments whose dispatch release is delayed, by kind: reserved_not_released (fully reserved longer than kpi.release_delay and not released), shortage (short longer than kpi.shortage_age).",
		[]string{"kind"}, nil)
	delayedOldestDesc = prometheus.NewDesc("waybill_kpi_delayed_release_oldest_seconds",
		"Age of the oldest delayed release, by kind (reserved_not_released, shortage); 0 when none.",
		[]string{"kind"}, nil)
	unbilledDesc = prometheus.NewDesc("waybill_kpi_unbilled_deliveries",
		"Shipments delivered longer than kpi.unbilled_after ago (by proof-of-delivery time) and not invoiced.", nil, nil)
	unbilledOldestDesc = prometheus.NewDesc("waybill_kpi_unbilled_oldest_seconds",
		"Time since the proof of delivery of the oldest unbilled delivery; 0 when none.", nil, nil)
	unbilledValueDesc = prometheus.NewDesc("waybill_kpi_unbilled_value",
		"Rated value of the unbilled deliveries, in major units of currency (other for a code that is not three upper-case letters).",
		[]string{"currency"}, nil)
	mismatchDesc = prometheus.NewDesc("waybill_kpi_inventory_mismatches",
		"Inventory mismatches, by kind: loaded_vs_reserved and delivered_vs_loaded count shipments not yet invoiced with a line whose quantity changed between steps; odoo_done_vs_loaded and the other kinds (untracked_picking, picking_not_open, reservation_mismatch, missing_return, missing_scrap, unexpected_return, unexpected_scrap) are the differences of the newest inventory check with Odoo (odoo_done_vs_loaded: SKUs of done pickings whose done quantity is not the loaded one).",
		[]string{"kind"}, nil)
	exceptionsDesc = prometheus.NewDesc("waybill_kpi_open_exceptions",
		"Open exceptions by category, owner role (other for a role the workflow does not give by default) and age since opened (0-4h, 4-24h, over-24h).",
		[]string{"category", "owner_role", "age"}, nil)
	latencyDesc = prometheus.NewDesc("waybill_kpi_pod_to_invoice_seconds",
		"Time from proof of delivery to invoice over the invoices of the last 24 hours, nearest-rank quantile (0.5, 0.95); NaN when there were none.",
		[]string{"quantile"}, nil)
	invoicesDesc = prometheus.NewDesc("waybill_kpi_invoices_24h",
		"Shipments invoiced in the last 24 hours.", nil, nil)
	heldDesc = prometheus.NewDesc("waybill_kpi_revenue_held",
		"Rated value of delivered shipments whose invoice holds, by reason (review: an open review; feed_silence: their proof-of-delivery feed is silent) and currency, in major units.",
		[]string{"reason", "currency"}, nil)
)

// Label values of the KPI gauges.
const (
	KindReservedNotReleased = "reserved_not_released"
	KindShortage            = "shortage"
	KindLoadedVsReserved    = "loaded_vs_reserved"
	KindDeliveredVsLoaded   = "delivered_vs_loaded"
	KindOdooDoneVsLoaded    = "odoo_done_vs_loaded"
	ReasonReview            = "review"
	ReasonFeedSilence       = "feed_silence"
)

// Describe sends the descriptors of every KPI gauge.
func (k *KPIs) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{delayedDesc, delayedOldestDesc, unbilledDesc, unbilledOldestDesc, unbilledValueDesc,
		mismatchDesc, exceptionsDesc, latencyDesc, invoicesDesc, heldDesc} {
		ch <- d
	}
}

// Collect sends the gauges of a snapshot; a snapshot that fails is sent as
// an invalid metric.
func (k *KPIs) Collect(ch chan<- prometheus.Metric) {
	// A collector is given no context: the scrape's is not known here.
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	s, err := k.Snapshot(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(delayedDesc, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(delayedDesc, float64(s.ReservedNotReleased.Count), KindReservedNotReleased)
	gauge(delayedDesc, float64(s.Shortages.Count), KindShortage)
	gauge(delayedOldestDesc, s.ReservedNotReleased.Oldest.Seconds(), KindReservedNotReleased)
	gauge(delayedOldestDesc, s.Shortages.Oldest.Seconds(), KindShortage)
	gauge(unbilledDesc, float64(s.Unbilled.Count))
	gauge(unbilledOldestDesc, s.Unbilled.Oldest.Seconds())
	for cur, v := range byCurrency(s.UnbilledValue) {
		gauge(unbilledValueDesc, v, cur)
	}
	gauge(mismatchDesc, float64(s.Mismatches.LoadedVsReserved), KindLoadedVsReserved)
	gauge(mismatchDesc, float64(s.Mismatches.DeliveredVsLoaded), KindDeliveredVsLoaded)
	gauge(mismatchDesc, float64(s.Mismatches.OdooDoneVsLoaded), KindOdooDoneVsLoaded)
	for kind, n := range s.Inventory {
		if kind != InventoryDoneVsLoaded {
			gauge(mismatchDesc, float64(n), kind)
		}
	}
	for g, n := range exceptionSeries(s.OpenExceptions) {
		gauge(exceptionsDesc, float64(n), g.Category, g.OwnerRole, g.Age)
	}
	p50, p95 := math.NaN(), math.NaN()
	if s.Invoices24h > 0 {
		p50, p95 = s.PODToInvoiceP50.Seconds(), s.PODToInvoiceP95.Seconds()
	}
	gauge(latencyDesc, p50, "0.5")
	gauge(latencyDesc, p95, "0.95")
	gauge(invoicesDesc, float64(s.Invoices24h))
	for cur, v := range byCurrency(s.HeldByReview) {
		gauge(heldDesc, v, ReasonReview, cur)
	}
	for cur, v := range byCurrency(s.HeldByFeedSilence) {
		gauge(heldDesc, v, ReasonFeedSilence, cur)
	}
}

// exceptionSeries are the series of waybill_kpi_open_exceptions: every
// category with its default owner role in every bucket (0 when none), so
// that dashboards and alerts see a zero rather than nothing, and the groups
// of the snapshot.
func exceptionSeries(gs []ExceptionGroup) map[ExceptionGroup]int {
	out := map[ExceptionGroup]int{}
	for _, c := range shipment.ExceptionCategories() {
		for _, b := range AgeBuckets() {
			out[ExceptionGroup{Category: string(c), OwnerRole: shipment.OwnerRole(c), Age: b}] = 0
		}
	}
	for _, g := range gs {
		n := g.Count
		g.Count = 0
		out[g] += n
	}
	return out
}

// byCurrency turns amounts into gauge values by currency label, in major
// units. Two codes that are both labelled other are added up.
func byCurrency(ms []money.Money) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		v, err := strconv.ParseFloat(m.Decimal(), 64)
		if err != nil { // Decimal always writes a number
			continue
		}
		out[CurrencyLabel(m.Currency)] += v
	}
	return out
}
