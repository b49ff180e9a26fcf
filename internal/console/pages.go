package console

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/workflow"
)

// stage is one step of the flow overview's funnel.
type stage struct {
	Label  string
	States []shipment.State
	Count  int64
	Oldest time.Time
	// Link lists the stage's shipments, when it maps to one state.
	Link string
}

// funnel is the flow in order; offFlow are the states beside it.
var (
	funnel = []stage{
		{Label: "Planned", States: []shipment.State{shipment.Planned}},
		{Label: "Reserved", States: []shipment.State{shipment.Reserved}},
		{Label: "Released", States: []shipment.State{shipment.Released, shipment.Assigned}},
		{Label: "Loaded", States: []shipment.State{shipment.Loaded}},
		{Label: "In transit", States: []shipment.State{shipment.InTransit, shipment.Delayed, shipment.Arrived}},
		{Label: "Delivered", States: []shipment.State{shipment.Delivered}},
		{Label: "Billable"}, // delivered and billable: counted apart
		{Label: "Invoiced", States: []shipment.State{shipment.Invoiced}},
	}
	offFlow = []stage{
		{Label: "Short of stock", States: []shipment.State{shipment.Short}},
		{Label: "Exception", States: []shipment.State{shipment.Exception}},
		{Label: "Returned", States: []shipment.State{shipment.Returned}},
		{Label: "Cancelled", States: []shipment.State{shipment.Cancelled}},
		{Label: "Closed", States: []shipment.State{shipment.Closed}},
	}
)

func fill(stages []stage, counts []workflow.StateCount) []stage {
	out := slices.Clone(stages)
	for i := range out {
		for _, c := range counts {
			if slices.Contains(out[i].States, c.State) {
				out[i].Count += c.Count
				if out[i].Oldest.IsZero() || c.Oldest.Before(out[i].Oldest) {
					out[i].Oldest = c.Oldest
				}
			}
		}
	}
	return out
}

// overviewFilter reads the overview's filters from the query: customer,
// carrier and warehouse (name or reference) and the created dates (from
// and to, inclusive days in UTC).
func overviewFilter(q url.Values) (workflow.Filter, map[string]string, error) {
	form := map[string]string{}
	for _, k := range []string{"customer", "carrier", "warehouse", "from", "to"} {
		form[k] = strings.TrimSpace(q.Get(k))
		if len(form[k]) > 200 {
			return workflow.Filter{}, form, fmt.Errorf("the %s filter is too long", k)
		}
		if strings.IndexFunc(form[k], unicode.IsControl) >= 0 {
			return workflow.Filter{}, form, fmt.Errorf("the %s filter holds a control character", k)
		}
	}
	f := workflow.Filter{Customer: form["customer"], Carrier: form["carrier"], Warehouse: form["warehouse"]}
	for _, k := range []string{"from", "to"} {
		if form[k] == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, form[k])
		if err != nil {
			return workflow.Filter{}, form, fmt.Errorf("the %s date %q is not a date like 2026-03-01", k, form[k])
		}
		if k == "from" {
			f.CreatedFrom = day
		} else {
			f.CreatedTo = day.AddDate(0, 0, 1)
		}
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		return workflow.Filter{}, form, errors.New("the from date is after the to date")
	}
	return f, form, nil
}

func (c *Console) serveOverview(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	f, form, err := overviewFilter(r.URL.Query())
	if err != nil {
		c.fail(w, r, v, http.StatusBadRequest, "The overview cannot be filtered so: "+err.Error()+".")
		return
	}
	counts, err := c.opts.Shipments.CountByState(ctx, f)
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	billable, err := c.opts.Shipments.CountBillable(ctx, f)
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	flow := fill(funnel, counts)
	for i := range flow {
		if flow[i].Label == "Billable" {
			flow[i].Count = billable
		}
	}
	blocked, total, err := c.opts.Shipments.Blocked(ctx, f, 50)
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	var all int64
	for _, s := range counts {
		all += s.Count
	}
	self := Prefix + "/"
	if !f.IsZero() {
		q := url.Values{}
		for k, val := range form {
			if val != "" {
				q.Set(k, val)
			}
		}
		self += "?" + q.Encode()
	}
	c.render(w, r, "overview", v, map[string]any{
		"Title": "Flow overview", "Flow": flow, "OffFlow": fill(offFlow, counts), "Total": all,
		"Blocked": blocked, "BlockedTotal": total, "F": form, "Filtered": !f.IsZero(), "Self": self,
	})
}

// timelineStep is one event of a shipment's timeline with the stored
// payloads it came in.
type timelineStep struct {
	intake.TimelineEntry
	Payloads []string
}

// line is one shipment line with its quantities along the flow.
type line struct {
	shipment.Line
	Invoiced string
}

// find opens the shipment a person typed: its id or a system:reference.
func (c *Console) find(w http.ResponseWriter, r *http.Request) {
	ref := strings.TrimSpace(r.URL.Query().Get("ref"))
	if ref == "" {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"/shipments/"+url.PathEscape(ref), http.StatusSeeOther)
}

func (c *Console) serveShipment(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	sh, err := c.opts.Shipments.Get(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, shipment.ErrBadRef), errors.Is(err, workflow.ErrNotFound):
		c.fail(w, r, v, http.StatusNotFound, "There is no shipment "+r.PathValue("id")+".")
		return
	case err != nil:
		c.internal(w, r, v, err)
		return
	}
	timeline, err := c.opts.Events.Timeline(ctx, sh.ID)
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	xrefs, err := c.opts.Shipments.Xrefs(ctx, sh.ID)
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	// Each event that came in a stored source payload links to it, for
	// those who may open payloads.
	steps := make([]timelineStep, len(timeline))
	for i, e := range timeline {
		steps[i].TimelineEntry = e
		if c.opts.Payloads != nil && v.Can(string(apikey.Admin)) && strings.HasPrefix(e.Source, "/sources/") {
			if steps[i].Payloads, err = c.opts.Payloads.PayloadsOf(ctx, e.Source, e.SourceID); err != nil {
				c.internal(w, r, v, err)
				return
			}
		}
	}
	var jobs []jobqueue.Job
	if c.opts.Jobs != nil {
		if jobs, err = c.opts.Jobs.ShipmentJobs(ctx, sh.ID, 50); err != nil {
			c.internal(w, r, v, err)
			return
		}
	}
	var margin *freight.Margin
	if c.opts.Margins != nil {
		m, err := c.opts.Margins.Margin(ctx, sh)
		if err != nil {
			c.internal(w, r, v, err)
			return
		}
		margin = &m
	}
	gate, hasGate := sh.NextGate()
	lines := make([]line, len(sh.Lines))
	for i, l := range sh.Lines {
		lines[i].Line = l
		if sh.Invoice != nil && l.Delivered != nil {
			lines[i].Invoiced = l.Delivered.String()
		}
	}
	c.render(w, r, "shipment", v, map[string]any{
		"Title": "Shipment " + sh.ID, "S": sh, "Lines": lines, "Timeline": steps, "Xrefs": xrefs,
		"Gate": gate, "HasGate": hasGate, "Jobs": jobs, "ShowErrors": v.Can(string(apikey.Admin)),
		"PickingURL": c.odooLink("stock.picking", sh.Picking), "InvoiceURL": c.invoiceLink(sh.Invoice),
		"OrderURL": c.orderLink(xrefs), "Margin": margin,
	})
}

var odooID = regexp.MustCompile(`^[0-9]{1,18}$`)

// odooForm links to Odoo's own form view of a record.
func (c *Console) odooForm(model, id string) string {
	if c.opts.OdooURL == "" || !odooID.MatchString(id) {
		return ""
	}
	return strings.TrimRight(c.opts.OdooURL, "/") + "/web#id=" + id + "&model=" + url.QueryEscape(model) + "&view_type=form"
}

func (c *Console) odooLink(model string, p *shipment.PickingRecord) string {
	if p == nil || p.System != c.opts.OdooSystem {
		return ""
	}
	return c.odooForm(model, p.ExternalID)
}

func (c *Console) invoiceLink(inv *shipment.InvoiceRef) string {
	if inv == nil || inv.System != c.opts.OdooSystem {
		return ""
	}
	return c.odooForm("account.move", inv.ExternalID)
}

func (c *Console) orderLink(xrefs []shipment.Xref) string {
	for _, x := range xrefs {
		if x.System == c.opts.OdooSystem && x.Kind == shipment.KindOrder {
			if id, ok := strings.CutPrefix(x.ExternalID, "sale.order/"); ok {
				return c.odooForm("sale.order", id)
			}
		}
	}
	return ""
}

// reviewRow is one review item with its shipment's evidence.
type reviewRow struct {
	shipment.ReviewItem
	Age      time.Duration
	Shipment *shipment.Shipment
}

func (c *Console) serveReviews(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	status := r.URL.Query().Get("state")
	if status == "" {
		status = shipment.ReviewOpen
	}
	if !slices.Contains([]string{"open", "approved", "rejected", "resolved"}, status) {
		c.fail(w, r, v, http.StatusBadRequest, "There is no review state "+status+".")
		return
	}
	items, next, err := c.opts.Shipments.Reviews(ctx, workflow.ReviewParams{Status: status, OwnerRole: r.URL.Query().Get("owner_role"),
		Limit: 50, Cursor: r.URL.Query().Get("cursor")})
	if errors.Is(err, workflow.ErrBadCursor) {
		c.fail(w, r, v, http.StatusBadRequest, "That page link is not valid.")
		return
	}
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	now := c.opts.Now()
	rows := make([]reviewRow, len(items))
	for i, it := range items {
		rows[i] = reviewRow{ReviewItem: it, Age: shipment.ReviewAge(it.Review, now)}
		if sh, err := c.opts.Shipments.Get(ctx, it.ShipmentID); err == nil {
			rows[i].Shipment = sh
		}
	}
	c.render(w, r, "reviews", v, map[string]any{
		"Title": "Review queue", "Rows": rows, "State": status, "OwnerRole": r.URL.Query().Get("owner_role"),
		"Next": next, "Flash": r.URL.Query().Get("done"),
	})
}

func (c *Console) decide(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	id := r.PathValue("id")
	decision := r.PostFormValue("decision")
	body := map[string]string{"decision": decision, "reason": strings.TrimSpace(r.PostFormValue("reason"))}
	_, _, err := c.callAPI(r.Context(), v, http.MethodPost, "/v1/review/"+url.PathEscape(id)+"/decision", body)
	var ae *apiError
	if errors.As(err, &ae) {
		c.fail(w, r, v, ae.status, "The decision was not recorded: "+ae.detail)
		return
	}
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/reviews?done="+url.QueryEscape(fmt.Sprintf("Review %s: %s recorded.", id, decision)), http.StatusSeeOther)
}

func (c *Console) serveDeadLetters(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	var list []*jobqueue.DeadLetter
	next := ""
	if c.opts.DeadLetters != nil {
		var err error
		list, next, err = c.opts.DeadLetters.List(r.Context(), 50, r.URL.Query().Get("cursor"))
		if errors.Is(err, jobqueue.ErrBadCursor) {
			c.fail(w, r, v, http.StatusBadRequest, "That page link is not valid.")
			return
		}
		if err != nil {
			c.internal(w, r, v, err)
			return
		}
	}
	c.render(w, r, "deadletters", v, map[string]any{"Title": "Dead letters", "List": list, "Next": next, "Flash": r.URL.Query().Get("done")})
}

// replay replays the dead letters ticked in the form, after a
// confirmation page that lists them.
func (c *Console) replay(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		c.fail(w, r, v, http.StatusBadRequest, "Tick at least one dead letter to replay.")
		return
	}
	if len(ids) > 50 {
		c.fail(w, r, v, http.StatusBadRequest, "Replay at most 50 dead letters at once.")
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		var list []*jobqueue.DeadLetter
		for _, id := range ids {
			dl, err := c.opts.DeadLetters.Get(r.Context(), id)
			if errors.Is(err, jobqueue.ErrNotFound) {
				c.fail(w, r, v, http.StatusNotFound, "There is no dead letter "+id+".")
				return
			}
			if err != nil {
				c.internal(w, r, v, err)
				return
			}
			list = append(list, dl)
		}
		c.render(w, r, "confirm", v, map[string]any{"Title": "Replay dead letters?", "List": list})
		return
	}
	var done, failed []string
	for _, id := range ids {
		_, _, err := c.callAPI(r.Context(), v, http.MethodPost, "/v1/dead-letters/"+url.PathEscape(id)+"/replay", nil)
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			failed = append(failed, id+": "+ae.detail)
		case err != nil:
			c.internal(w, r, v, err)
			return
		default:
			done = append(done, id)
		}
	}
	msg := fmt.Sprintf("%d replayed.", len(done))
	if len(failed) > 0 {
		msg += " Not replayed: " + strings.Join(failed, "; ")
	}
	http.Redirect(w, r, Prefix+"/dead-letters?done="+url.QueryEscape(msg), http.StatusSeeOther)
}

// internal answers an unexpected failure: logged in full, shown briefly.
func (c *Console) internal(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	c.logger.ErrorContext(r.Context(), "console page failed", slog.String("path", r.URL.Path), slog.Any("err", err))
	c.fail(w, r, v, http.StatusInternalServerError, "Something went wrong on the server; it has been logged. Try again shortly.")
}

// funcs are the templates' helpers.
var funcs = map[string]any{
	"age": func(now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return ageText(now.Sub(t))
	},
	"dur":  ageText,
	"when": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"shipmentURL": func(id string) string {
		return Prefix + "/shipments/" + url.PathEscape(id)
	},
	"can":    func(v *viewer, scope string) bool { return v.Can(scope) },
	"scopes": func(k *apikey.Key) string { return joinScopes(k.Scopes) },
	"stateName": func(s shipment.State) string {
		return strings.ReplaceAll(string(s), "_", " ")
	},
	"list": func(xs ...string) []string { return xs },
}

func joinScopes(s []apikey.Scope) string {
	out := make([]string, len(s))
	for i, sc := range s {
		out[i] = string(sc)
	}
	return strings.Join(out, ", ")
}

// ageText writes a duration as a person reads an age: 45 s, 12 min, 3 h 5
// min, 2 d 4 h.
func ageText(d time.Duration) string {
	switch {
	case d < 0:
		return "0 s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%d d %d h", int(d.Hours())/24, int(d.Hours())%24)
	}
}
