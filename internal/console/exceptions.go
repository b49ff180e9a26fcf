package console

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/kpi"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/workflow"
)

// exceptionRow is one open exception as the page lists it.
type exceptionRow struct {
	workflow.OpenException
	Age    time.Duration
	Bucket string
}

// bucketCount is how many open exceptions are of one age bucket.
type bucketCount struct {
	Bucket string
	Label  string
	Count  int
}

var bucketLabels = map[string]string{kpi.AgeUnder4h: "0–4 h", kpi.Age4hTo24h: "4–24 h", kpi.AgeOver24h: "> 24 h"}

// exceptionKey is where a row stands in the list's order, as a cursor.
func exceptionKey(e workflow.OpenException) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.OpenedAt.UnixMicro(), 10) + "|" + e.ShipmentID + "|" + e.ID))
}

func (c *Console) serveExceptions(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	q := r.URL.Query()
	role, category := strings.TrimSpace(q.Get("owner_role")), q.Get("category")
	if category != "" && !slices.Contains(shipment.ExceptionCategories(), shipment.ExceptionCategory(category)) {
		c.fail(w, r, v, http.StatusBadRequest, "There is no exception category "+category+".")
		return
	}
	if len(role) > 100 {
		c.fail(w, r, v, http.StatusBadRequest, "That owner role is too long.")
		return
	}
	list, err := c.opts.Shipments.OpenExceptions(r.Context(), workflow.ExceptionFilter{OwnerRole: role, Category: shipment.ExceptionCategory(category)})
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	now := c.opts.Now()
	counts := map[string]int{}
	for _, e := range list {
		counts[kpi.AgeBucket(now.Sub(e.OpenedAt))]++
	}
	var buckets []bucketCount
	for _, b := range kpi.AgeBuckets() {
		buckets = append(buckets, bucketCount{Bucket: b, Label: bucketLabels[b], Count: counts[b]})
	}
	// The list is in a stable order (oldest first); a cursor is the key
	// of the last row of the page before.
	start := 0
	if cur := q.Get("cursor"); cur != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || strings.Count(string(raw), "|") < 2 {
			c.fail(w, r, v, http.StatusBadRequest, "That page link is not valid.")
			return
		}
		start = len(list)
		for i, e := range list {
			if exceptionKey(e) == cur {
				start = i + 1
				break
			}
		}
	}
	const limit = 50
	page := list[start:min(start+limit, len(list))]
	next := ""
	if start+limit < len(list) {
		next = exceptionKey(page[len(page)-1])
	}
	rows := make([]exceptionRow, len(page))
	for i, e := range page {
		rows[i] = exceptionRow{OpenException: e, Age: now.Sub(e.OpenedAt), Bucket: bucketLabels[kpi.AgeBucket(now.Sub(e.OpenedAt))]}
	}
	c.render(w, r, "exceptions", v, map[string]any{
		"Title": "Open exceptions", "Rows": rows, "Total": len(list), "Buckets": buckets, "Next": next,
		"OwnerRole": role, "Category": category, "Categories": shipment.ExceptionCategories(), "Roles": ownerRoles(),
	})
}

// ownerRoles are the owner roles the workflow gives exceptions, sorted.
func ownerRoles() []string {
	var out []string
	for _, c := range shipment.ExceptionCategories() {
		if r := shipment.OwnerRole(c); !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}
