package trackpage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/trackpage"
	"github.com/waybill/waybill/internal/workflow"
)

// Strings of the delivered shipment that must never reach the page.
const (
	canonicalID   = "0193a6f2-7c1e-7b44-9a57-52d0c9a1e8f3"
	pickingRef    = "WH/OUT/00412"
	odooPartnerID = "odoo:res.partner/77"
	invoiceNumber = "INV/2026/00931"
	invoiceID     = "odoo-move-4471"
	driverPhone   = "+31 6 1234 5678"
	chargeAmount  = "184250"
	chargeText    = "1842.50"
	carrierInv    = "XKTL-INV-55012"
	streetAddress = "Keizersgracht 123"
	eventID       = "evt-delivered-0193"
	ruleID        = "rule-linehaul-nl"
)

func tp(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// deliveredShipment is a delivered shipment full of what the public must
// not see: prices, invoices, internal and Odoo ids, a driver's phone, a
// street address.
func deliveredShipment() *shipment.Shipment {
	eta := tp("2026-11-26T15:00:00Z")
	return &shipment.Shipment{
		ID:       canonicalID,
		State:    shipment.Invoiced,
		Order:    "odoo:sale.order/9921",
		Customer: &shipment.Party{Ref: odooPartnerID, Name: "Pinecrest Hardware", Phone: "+1 555 0100", Email: "ap@pinecrest.example"},
		Carrier:  &shipment.Carrier{Ref: "odoo:res.partner/12", SCAC: "XKTL"},
		Driver:   &shipment.Driver{Name: "Piet Driver", Phone: driverPhone},
		Vehicle:  &shipment.Vehicle{Plate: "XK-12-AB"},
		RouteID:  "route-88123",
		Origin:   &shipment.Location{Name: "WH Rotterdam", AddressLines: []string{"Waalhaven 5"}, City: "Rotterdam", Country: "NL", Timezone: "Europe/Amsterdam"},
		Destination: &shipment.Location{Name: "Pinecrest DC", AddressLines: []string{streetAddress}, City: "Columbus", Region: "OH",
			Country: "US", Timezone: "America/New_York"},
		References: map[string]string{"bol": "BOL-550193", "odoo_picking": pickingRef},
		ETA:        &eta,
		Milestones: []shipment.Milestone{
			{Type: "shipment.departed", At: tp("2026-11-25T08:30:00Z"), EventID: "evt-dep-1",
				Location: &shipment.Location{City: "Rotterdam", Country: "NL", Timezone: "Europe/Amsterdam"}},
			{Type: "shipment.tracked", Status: "out_for_delivery", At: tp("2026-11-26T12:00:00Z"), EventID: "evt-ofd-1",
				Location: &shipment.Location{City: "Columbus", Country: "US"}},
			{Type: "shipment.delivered", At: tp("2026-11-26T14:05:00Z"), EventID: eventID, Late: true},
			// Internal steps in the timeline: never on the page.
			{Type: "picking.validated", At: tp("2026-11-26T14:10:00Z"), EventID: "evt-pick-1"},
			{Type: "charges.reported", At: tp("2026-11-26T15:00:00Z"), EventID: "evt-chg-1"},
			{Type: "review.decided", At: tp("2026-11-26T16:00:00Z"), EventID: "evt-rev-1"},
			{Type: "shipment.invoiced", At: tp("2026-11-27T09:00:00Z"), EventID: "evt-inv-1"},
		},
		POD: &shipment.ProofOfDelivery{Signer: "J. Jansen", SignedAt: tp("2026-11-26T14:05:00Z"), EventID: eventID,
			SignatureSHA256: "9f2c", Remarks: "left at dock 4, call " + driverPhone,
			Photos: []shipment.Photo{{URI: "https://pod.example/photos/1.jpg"}, {URI: "s3://internal-bucket/2.jpg"}}},
		Charges: []shipment.Charge{{Code: "400", Type: "linehaul", Amount: money.Money{Minor: 184250, Currency: "USD"},
			InvoiceNumber: carrierInv, EventID: "evt-chg-1", RuleID: ruleID, Calculation: chargeText + " USD"}},
		CarrierInvoices: []shipment.CarrierInvoice{{Number: carrierInv, EventID: "evt-chg-1"}},
		Invoice:         &shipment.InvoiceRef{System: "odoo", ExternalID: invoiceID, Number: invoiceNumber, At: tp("2026-11-27T09:00:00Z")},
		Picking:         &shipment.PickingRecord{System: "odoo", ExternalID: "stock.picking/412", Name: pickingRef},
		CreatedAt:       tp("2026-11-24T10:00:00Z"),
		UpdatedAt:       tp("2026-11-27T09:00:00Z"),
		Version:         7,
	}
}

// forbidden are the strings no page or JSON of deliveredShipment may hold.
var forbidden = []string{canonicalID, pickingRef, odooPartnerID, "res.partner", "sale.order", invoiceNumber, invoiceID, driverPhone,
	"Piet Driver", chargeAmount, chargeText, carrierInv, streetAddress, "Waalhaven", eventID, "evt-", ruleID, "XK-12-AB", "route-88123",
	"stock.picking", "ap@pinecrest.example", "+1 555 0100", "9f2c", "dock 4", "s3://", "Pinecrest Hardware", "USD",
	"nvoice", "icking", "harges", "eview"}

// shipments serves shipments by canonical id.
type shipments struct {
	mu  sync.Mutex
	all map[string]*shipment.Shipment
}

func (s *shipments) Get(_ context.Context, ref string) (*shipment.Shipment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.all[ref]
	if !ok {
		return nil, fmt.Errorf("shipment %s: %w", ref, workflow.ErrNotFound)
	}
	return sh, nil
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const testKey = "0123456789abcdef0123456789abcdef"

type bundle struct {
	svc   *trackpage.Service
	clock *clock
	srv   *httptest.Server
	ships *shipments
}

// setup builds a Service over db with deliveredShipment, serves it on
// loopback and lets modify change the options first.
func setup(t *testing.T, db *sqldb.DB, modify func(*trackpage.Options)) *bundle {
	t.Helper()
	b := &bundle{clock: &clock{now: tp("2026-12-01T10:00:00Z")}, ships: &shipments{all: map[string]*shipment.Shipment{canonicalID: deliveredShipment()}}}
	opts := trackpage.Options{DB: db, Shipments: b.ships, Key: []byte(testKey), LinkLifetime: 24 * time.Hour, MaxLinkLifetime: 72 * time.Hour,
		Rate: 1000, Burst: 1000, CacheMaxAge: time.Minute, NowFunc: b.clock.Now,
		View: trackpage.ViewOptions{Location: time.UTC, Branding: map[string]trackpage.Brand{
			odooPartnerID: {Name: "Pinecrest Logistics", LogoURL: "https://cdn.example/pinecrest.png", PrimaryColor: "#0a3d62", AccentColor: "#f6b93b"}}}}
	if modify != nil {
		modify(&opts)
	}
	svc, err := trackpage.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	b.svc = svc
	mux := http.NewServeMux()
	mux.Handle("GET /track/{token}", svc)
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *bundle) get(t *testing.T, path string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(body)}
}

func (b *bundle) create(t *testing.T, id string) *trackpage.Created {
	t.Helper()
	c, err := b.svc.Create(t.Context(), &trackpage.CreateParams{ShipmentID: id, CreatedBy: "key-1"})
	if err != nil {
		t.Fatalf("creating a link: %v", err)
	}
	return c
}

// TestPageShowsNoInternals renders the page and the JSON of a delivered
// and invoiced shipment full of prices and ids, and checks that what the
// public may see is there and nothing else.
func TestPageShowsNoInternals(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, nil)
		c := b.create(t, canonicalID)
		if !strings.HasPrefix(c.URL, "/track/") || strings.Contains(c.URL, canonicalID) || strings.Contains(c.Token, canonicalID) {
			t.Errorf("link url %q / token %q: want /track/<token> without the shipment id", c.URL, c.Token)
		}
		page := b.get(t, c.URL)
		if page.status != http.StatusOK {
			t.Fatalf("GET page: %d %s", page.status, page.body)
		}
		if ct := page.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("page Content-Type %q", ct)
		}
		js := b.get(t, c.URL+".json")
		if js.status != http.StatusOK || js.header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET json: %d %s %s", js.status, js.header.Get("Content-Type"), js.body)
		}
		accept := b.get(t, c.URL, "Accept", "application/json")
		if accept.body != js.body {
			t.Errorf("Accept: application/json answered\n%s\nwant the .json answer\n%s", accept.body, js.body)
		}
		for _, s := range forbidden {
			if strings.Contains(page.body, s) {
				t.Errorf("the page holds %q", s)
			}
			if strings.Contains(js.body, s) {
				t.Errorf("the JSON holds %q", s)
			}
		}
		for _, s := range []string{"BOL-550193", "Delivered", "Departed", "Out for delivery", "J. Jansen", "Rotterdam, NL", "Columbus, OH, US",
			"Pinecrest Logistics", "https://cdn.example/pinecrest.png", "#0a3d62", "#f6b93b"} {
			if !strings.Contains(page.body, s) {
				t.Errorf("the page lacks %q", s)
			}
		}
		if strings.Contains(page.body, "pod.example") {
			t.Error("the page links the POD photos, which show_pod_photos leaves out")
		}
		var v trackpage.View
		if err := json.Unmarshal([]byte(js.body), &v); err != nil {
			t.Fatal(err)
		}
		if v.Status != "delivered" || v.StatusText != "Delivered" || v.Reference != "BOL-550193" || len(v.Milestones) != 3 ||
			v.Delivery == nil || v.Delivery.Signer != "J. Jansen" || v.ETA != nil {
			t.Errorf("JSON view: %+v", v)
		}
		for _, h := range []string{"ETag", "Content-Security-Policy"} {
			if page.header.Get(h) == "" {
				t.Errorf("the page has no %s", h)
			}
		}
		if got := page.header.Get("Cache-Control"); got != "private, max-age=60" {
			t.Errorf("Cache-Control %q, want private, max-age=60", got)
		}
		if got := page.header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q, want no-referrer (the token is in the URL)", got)
		}
		again := b.get(t, c.URL, "If-None-Match", page.header.Get("ETag"))
		if again.status != http.StatusNotModified || again.body != "" {
			t.Errorf("If-None-Match of the ETag: %d %q, want 304 and no body", again.status, again.body)
		}
		if js.header.Get("ETag") == page.header.Get("ETag") {
			t.Error("the HTML and JSON answers share an ETag")
		}
	})
}

// TestPodPhotos checks that show_pod_photos links the https photos only.
func TestPodPhotos(t *testing.T) {
	t.Parallel()
	v := trackpage.NewView(deliveredShipment(), trackpage.ViewOptions{ShowPODPhotos: true})
	if v.Delivery == nil || len(v.Delivery.Photos) != 1 || v.Delivery.Photos[0] != "https://pod.example/photos/1.jpg" {
		t.Errorf("photos %+v, want the https one only", v.Delivery)
	}
	if v := trackpage.NewView(deliveredShipment(), trackpage.ViewOptions{}); len(v.Delivery.Photos) != 0 {
		t.Errorf("photos %v without show_pod_photos", v.Delivery.Photos)
	}
}

// TestLocalTimes checks that a milestone shows in its location's zone,
// else in the configured one, and the proof of delivery and ETA in the
// destination's.
func TestLocalTimes(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	sh := deliveredShipment()
	sh.State = shipment.InTransit
	v := trackpage.NewView(sh, trackpage.ViewOptions{Location: berlin})
	tests := []struct {
		name      string
		got       trackpage.LocalTime
		zone, txt string
	}{
		{"departed in Rotterdam's zone", v.Milestones[0].At, "Europe/Amsterdam", "Wed 25 Nov 2026, 09:30 CET"},
		{"zone-less milestone in the configured zone", v.Milestones[1].At, "Europe/Berlin", "Thu 26 Nov 2026, 13:00 CET"},
		{"zone-less delivery in the destination's zone", v.Milestones[2].At, "America/New_York", "Thu 26 Nov 2026, 09:05 EST"},
		{"signed in the destination's zone", v.Delivery.SignedAt, "America/New_York", "Thu 26 Nov 2026, 09:05 EST"},
		{"ETA in the destination's zone", *v.ETA, "America/New_York", "Thu 26 Nov 2026, 10:00 EST"},
	}
	for _, tt := range tests {
		if tt.got.Zone != tt.zone || tt.got.Text != tt.txt {
			t.Errorf("%s: got %s %q, want %s %q", tt.name, tt.got.Zone, tt.got.Text, tt.zone, tt.txt)
		}
		if _, off := tt.got.At.Zone(); off == 0 {
			t.Errorf("%s: %v is not in local time", tt.name, tt.got.At)
		}
	}
	if b, err := json.Marshal(v.Milestones[0].At); err != nil || !strings.Contains(string(b), `"at":"2026-11-25T09:30:00+01:00"`) {
		t.Errorf("JSON of a local time: %s %v, want the offset of its zone", b, err)
	}
}

// TestEveryDeadLinkLooksTheSame checks that a malformed, tampered,
// wrongly signed, expired, revoked or unknown link, or one whose shipment
// is gone, all get the same 404, in HTML and in JSON.
func TestEveryDeadLinkLooksTheSame(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, nil)
		good := b.create(t, canonicalID)
		if a := b.get(t, good.URL); a.status != http.StatusOK {
			t.Fatalf("the good link: %d %s", a.status, a.body)
		}
		// A link signed with another key, for a link id that exists.
		otherKey := setup(t, db, func(o *trackpage.Options) { o.Key = []byte("fedcba9876543210fedcba9876543210") })
		foreign := otherKey.create(t, canonicalID)
		// A link whose shipment is gone.
		b.ships.all["gone-id"] = deliveredShipment()
		gone := b.create(t, "gone-id")
		delete(b.ships.all, "gone-id")
		// A revoked link.
		revoked := b.create(t, canonicalID)
		if _, err := b.svc.Revoke(t.Context(), revoked.Link.ID); err != nil {
			t.Fatal(err)
		}
		// An expired link: the clock moves past its expiry.
		short, err := b.svc.Create(t.Context(), &trackpage.CreateParams{ShipmentID: canonicalID, ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(good.Token, ".")
		sig := []byte(parts[2])
		sig[3] ^= 1
		tests := []struct{ name, token string }{
			{"malformed", "nothing-here"},
			{"tampered signature", parts[0] + "." + parts[1] + "." + string(sig)},
			{"extended expiry", parts[0] + "." + fmt.Sprint(time.Now().Add(1000*time.Hour).Unix()) + "." + parts[2]},
			{"wrong key", strings.Split(foreign.Token, ".")[0] + "." + strings.Join(strings.Split(good.Token, ".")[1:], ".")},
			{"signed with another key", foreign.Token},
			{"unknown link id", "AAAAAAAAAAAAAAAAAAAAAA." + parts[1] + "." + parts[2]},
			{"revoked", revoked.Token},
			{"shipment gone", gone.Token},
			{"expired", short.Token},
		}
		b.clock.Add(2 * time.Hour)
		if a := b.get(t, good.URL); a.status != http.StatusOK {
			t.Fatalf("the good link after 2h: %d %s", a.status, a.body)
		}
		var wantHTML, wantJSON answer
		for i, tt := range tests {
			html := b.get(t, "/track/"+tt.token)
			js := b.get(t, "/track/"+tt.token+".json")
			if html.status != http.StatusNotFound || js.status != http.StatusNotFound {
				t.Errorf("%s: got %d and %d, want 404", tt.name, html.status, js.status)
				continue
			}
			if js.header.Get("Content-Type") != problem.ContentType {
				t.Errorf("%s: JSON 404 is %q, want a problem", tt.name, js.header.Get("Content-Type"))
			}
			if i == 0 {
				wantHTML, wantJSON = html, js
				continue
			}
			if html.body != wantHTML.body || js.body != wantJSON.body {
				t.Errorf("%s: the 404 differs from the %s one:\n%s\n%s", tt.name, tests[0].name, html.body, js.body)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "Content-Length"} {
				if html.header.Get(h) != wantHTML.header.Get(h) || js.header.Get(h) != wantJSON.header.Get(h) {
					t.Errorf("%s: header %s differs", tt.name, h)
				}
			}
		}
		var p problem.Details
		if err := json.Unmarshal([]byte(wantJSON.body), &p); err != nil || p.Code != problem.CodeNotFound || p.Instance != "/track" {
			t.Errorf("the JSON 404: %+v %v", p, err)
		}
		if !strings.Contains(wantHTML.body, "Tracking page not found") {
			t.Errorf("the HTML 404 page: %s", wantHTML.body)
		}
	})
}

// TestLinks lists and revokes links, and refuses lifetimes out of bounds.
func TestLinks(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, func(o *trackpage.Options) { o.BaseURL = "https://track.example.com/" })
		first := b.create(t, canonicalID)
		if want := "https://track.example.com/track/" + first.Token; first.URL != want {
			t.Errorf("url %q, want %q", first.URL, want)
		}
		if want := tp("2026-12-02T10:00:00Z"); !first.Link.ExpiresAt.Equal(want) {
			t.Errorf("default expiry %v, want %v", first.Link.ExpiresAt, want)
		}
		b.clock.Add(time.Second)
		second := b.create(t, canonicalID)
		list, err := b.svc.List(t.Context(), canonicalID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != second.Link.ID || list[1].ID != first.Link.ID || list[0].CreatedBy != "key-1" {
			t.Fatalf("list %+v, want the second then the first link", list)
		}
		l, err := b.svc.Revoke(t.Context(), first.Link.ID)
		if err != nil || l.RevokedAt == nil {
			t.Fatalf("revoke: %+v %v", l, err)
		}
		b.clock.Add(time.Minute)
		again, err := b.svc.Revoke(t.Context(), first.Link.ID)
		if err != nil || !again.RevokedAt.Equal(*l.RevokedAt) {
			t.Errorf("revoking again: %+v %v, want the first revocation kept", again, err)
		}
		if _, err := b.svc.Revoke(t.Context(), "AAAAAAAAAAAAAAAAAAAAAA"); err != trackpage.ErrNotFound {
			t.Errorf("revoking an unknown link: %v, want ErrNotFound", err)
		}
		if a := b.get(t, "/track/"+second.Token); a.status != http.StatusOK {
			t.Errorf("the second link after revoking the first: %d", a.status)
		}
		for _, d := range []time.Duration{time.Second, 73 * time.Hour} {
			if _, err := b.svc.Create(t.Context(), &trackpage.CreateParams{ShipmentID: canonicalID, ExpiresIn: d}); err == nil {
				t.Errorf("expires_in %v accepted", d)
			}
		}
	})
}

// TestRateLimitPerIP checks that an address over its rate gets 429 with
// Retry-After, and another address does not.
func TestRateLimitPerIP(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, func(o *trackpage.Options) { o.Rate, o.Burst = 0.01, 3 })
		c := b.create(t, canonicalID)
		serve := func(ip string) *httptest.ResponseRecorder {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, c.URL, nil)
			req.SetPathValue("token", c.Token)
			req.RemoteAddr = ip + ":40000"
			rec := httptest.NewRecorder()
			b.svc.ServeHTTP(rec, req)
			return rec
		}
		for i := range 3 {
			if rec := serve("192.0.2.1"); rec.Code != http.StatusOK {
				t.Fatalf("request %d: %d %s", i+1, rec.Code, rec.Body)
			}
		}
		rec := serve("192.0.2.1")
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("request 4: %d, want 429", rec.Code)
		}
		if rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != problem.ContentType {
			t.Errorf("429 headers: %v", rec.Header())
		}
		var p problem.Details
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != problem.CodeRateLimited {
			t.Errorf("429 body %s: %v", rec.Body, err)
		}
		if rec := serve("198.51.100.7"); rec.Code != http.StatusOK {
			t.Errorf("another address: %d, want 200", rec.Code)
		}
		b.clock.Add(200 * time.Second) // 2 tokens at 0.01/s
		if rec := serve("192.0.2.1"); rec.Code != http.StatusOK {
			t.Errorf("after the bucket refilled: %d, want 200", rec.Code)
		}
	})
}
