package console

import (
	"maps"
	"net/http"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/feeds"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/source"
)

// feedRow is one watched proof-of-delivery feed and its freshness.
type feedRow struct {
	feeds.Status
	// Age is how long ago its last proof of delivery came; zero when
	// none came.
	Age time.Duration
	// Stale reports that Age exceeds the objective.
	Stale bool
}

// connectorView is what the page shows of one outbound connector.
type connectorView struct {
	Name  string
	Kinds []string
	// Outcomes counts its requests by outcome (ok, retryable, permanent)
	// since the server started.
	Outcomes map[string]float64
	// Last is its newest job, LastFailed the newest with a failed
	// attempt, among the recent ones River keeps.
	Last, LastFailed *jobqueue.Job
}

// odooView is the Odoo client's state, from its metrics.
type odooView struct {
	BreakerOpen bool
	Calls       float64
	Errors      float64
	// ErrorsByKind counts failed calls by error kind.
	ErrorsByKind map[string]float64
	// PerMinute is the average call rate since the server started.
	PerMinute float64
	Since     time.Time
}

func (c *Console) serveFeeds(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	now := c.opts.Now()
	var rows []feedRow
	if c.opts.Feeds != nil {
		for _, st := range c.opts.Feeds.Statuses() {
			row := feedRow{Status: st}
			if !st.LastPOD.IsZero() {
				row.Age = now.Sub(st.LastPOD)
				row.Stale = c.opts.FeedObjective > 0 && row.Age > c.opts.FeedObjective
			}
			rows = append(rows, row)
		}
	}
	var sums []source.SourceSummary
	if c.opts.Payloads != nil {
		var err error
		if sums, err = c.opts.Payloads.Summaries(ctx); err != nil {
			c.internal(w, r, v, err)
			return
		}
	}
	families := map[string]*dto.MetricFamily{}
	if c.opts.Metrics != nil {
		mfs, err := c.opts.Metrics.Gather()
		if err != nil {
			c.internal(w, r, v, err)
			return
		}
		for _, mf := range mfs {
			families[mf.GetName()] = mf
		}
	}
	var conns []connectorView
	for _, name := range slices.Sorted(maps.Keys(c.opts.Connectors)) {
		cv := connectorView{Name: name, Kinds: c.opts.Connectors[name], Outcomes: map[string]float64{}}
		for _, m := range families["waybill_connector_requests_total"].GetMetric() {
			if label(m, "connector") == name {
				cv.Outcomes[label(m, "outcome")] += m.GetCounter().GetValue()
			}
		}
		if c.opts.Jobs != nil {
			jobs, err := c.opts.Jobs.RecentJobs(ctx, cv.Kinds, 50)
			if err != nil {
				c.internal(w, r, v, err)
				return
			}
			for i := range jobs {
				if cv.Last == nil {
					cv.Last = &jobs[i]
				}
				if cv.LastFailed == nil && jobs[i].LastError != "" {
					cv.LastFailed = &jobs[i]
				}
			}
		}
		conns = append(conns, cv)
	}
	var odoo *odooView
	if mf := families["waybill_odoo_breaker_open"]; mf != nil {
		odoo = &odooView{ErrorsByKind: map[string]float64{}}
		for _, m := range mf.GetMetric() {
			odoo.BreakerOpen = m.GetGauge().GetValue() > 0
		}
		for _, m := range families["waybill_odoo_calls_total"].GetMetric() {
			odoo.Calls += m.GetCounter().GetValue()
		}
		for _, m := range families["waybill_odoo_call_errors_total"].GetMetric() {
			odoo.Errors += m.GetCounter().GetValue()
			odoo.ErrorsByKind[label(m, "kind")] += m.GetCounter().GetValue()
		}
		for _, m := range families["process_start_time_seconds"].GetMetric() {
			odoo.Since = time.Unix(int64(m.GetGauge().GetValue()), 0).UTC()
		}
		if up := now.Sub(odoo.Since).Minutes(); !odoo.Since.IsZero() && up > 0 {
			odoo.PerMinute = odoo.Calls / up
		}
	}
	c.render(w, r, "feeds", v, map[string]any{
		"Title": "Feeds and connectors", "Feeds": rows, "Watched": c.opts.Feeds != nil, "Objective": c.opts.FeedObjective,
		"Sources": sums, "Connectors": conns, "Odoo": odoo, "ShowErrors": v.Can(string(apikey.Admin)),
	})
}

// label is the value of a metric's label name.
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
