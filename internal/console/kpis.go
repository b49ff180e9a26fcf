package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/waybill/waybill/internal/kpi"
)

// bar is one day of a chart, scaled to its height in the chart's units.
type bar struct {
	X, Y, H float64
	Label   string
	Title   string
}

// chart is a bar chart drawn as SVG by the template: no script, no inline
// style.
type chart struct {
	Title  string
	Width  float64
	Height float64
	Bars   []bar
	Max    string
}

const chartHeight = 120

// newChart scales values (one per day) into bars; label names a value.
func newChart(title string, days []kpi.Day, value func(kpi.Day) float64, label func(float64) string) chart {
	c := chart{Title: title, Height: chartHeight}
	hi := 0.0
	for _, d := range days {
		hi = max(hi, value(d))
	}
	const w, gap = 18.0, 4.0
	for i, d := range days {
		v := value(d)
		h := 0.0
		if hi > 0 {
			h = v / hi * (chartHeight - 20)
		}
		c.Bars = append(c.Bars, bar{X: float64(i) * (w + gap), Y: chartHeight - h, H: h, Label: d.Date.Format("01-02"),
			Title: d.Date.Format("Mon 2 Jan") + ": " + label(v)})
	}
	c.Width = float64(len(days)) * (w + gap)
	c.Max = label(hi)
	return c
}

func (c *Console) serveKPIs(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	days := 7
	switch r.URL.Query().Get("range") {
	case "", "7d":
	case "24h":
		days = 1
	case "30d":
		days = 30
	default:
		c.fail(w, r, v, http.StatusBadRequest, "The range is 24h, 7d or 30d.")
		return
	}
	if c.opts.KPIs == nil {
		c.render(w, r, "kpis", v, map[string]any{"Title": "KPIs"})
		return
	}
	snap, err := c.opts.KPIs.Snapshot(r.Context())
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	daily, err := c.opts.KPIs.Daily(r.Context(), days)
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	count := func(f float64) string { return fmt.Sprintf("%.0f", f) }
	c.render(w, r, "kpis", v, map[string]any{
		"Title": "KPIs", "S": snap, "Range": days, "Daily": daily,
		"Charts": []chart{
			newChart("Invoices a day", daily, func(d kpi.Day) float64 { return float64(d.Invoices) }, count),
			newChart("Proof of delivery to invoice, p95", daily, func(d kpi.Day) float64 { return d.PODToInvoiceP95.Seconds() },
				func(f float64) string { return ageText(time.Duration(f * float64(time.Second))) }),
		},
	})
}
