package hub_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// standardVerify checks a Standard Webhooks signature, written here from
// the specification (https://www.standardwebhooks.com) rather than taken
// from the code under test: the signed content is id.timestamp.body,
// signed with HMAC-SHA256 keyed by the base64 after whsec_, and the header
// holds space-separated v1,<base64> signatures, any of which may match.
func standardVerify(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("missing headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s too far from now", ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no signature matches")
}

// endpoint is a subscriber's receiver on loopback: it verifies every
// delivery with standardVerify and records those that verify; behave
// decides the answer to each.
type endpoint struct {
	srv *httptest.Server

	mu       sync.Mutex
	secrets  []string // any of these verifies
	got      []received
	attempts map[string]int // by webhook-id
	bad      int            // deliveries that did not verify
	behave   func(r received, attempt int) (status int, delay time.Duration)
}

type received struct {
	ID, Type, Subject, Shipment string
	Data                        map[string]any
	Sigs                        int
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{attempts: map[string]int{}}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		e.mu.Lock()
		secrets, behave := slices.Clone(e.secrets), e.behave
		e.mu.Unlock()
		ok := false
		for _, s := range secrets {
			if standardVerify(s, req.Header, body, time.Now()) == nil {
				ok = true
			}
		}
		var ev struct {
			Type, Subject string
			ShipmentID    string         `json:"shipmentid"`
			Data          map[string]any `json:"data"`
		}
		if !ok || json.Unmarshal(body, &ev) != nil || req.Header.Get("Content-Type") != "application/cloudevents+json" {
			e.mu.Lock()
			e.bad++
			e.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r := received{ID: req.Header.Get("webhook-id"), Type: ev.Type, Subject: ev.Subject, Shipment: ev.ShipmentID, Data: ev.Data,
			Sigs: len(strings.Fields(req.Header.Get("webhook-signature")))}
		e.mu.Lock()
		e.attempts[r.ID]++
		n := e.attempts[r.ID]
		e.mu.Unlock()
		status, delay := http.StatusNoContent, time.Duration(0)
		if behave != nil {
			status, delay = behave(r, n)
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
				return
			}
		}
		if status < 300 {
			e.mu.Lock()
			e.got = append(e.got, r)
			e.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) received() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

// subscribe creates a subscription with key and returns its id and
// secret, or fails.
func subscribe(t testing.TB, b *bundle, key, body string) (string, string) {
	t.Helper()
	status, out, _ := b.doKey(t, key, http.MethodPost, "/v1/subscriptions", body)
	if status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("creating a subscription: %d %s", status, out)
	}
	var s struct{ ID, Secret string }
	if err := json.Unmarshal(out, &s); err != nil || s.ID == "" || !strings.HasPrefix(s.Secret, "whsec_") {
		t.Fatalf("created subscription %s: %v", out, err)
	}
	return s.ID, s.Secret
}

// doKey calls the API with key and a JSON body.
func (b *bundle) doKey(t testing.TB, key, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

// setupSubscriptions runs a hub that delivers to loopback quickly.
func setupSubscriptions(t *testing.T, opts sqldb.Options) *bundle {
	return setupOpts(t, opts, func(c *config.Config) {
		c.Subscriptions.AllowPrivateTargets, c.Subscriptions.AllowHTTP = true, true
		c.Subscriptions.Timeout = 500 * time.Millisecond
		c.Subscriptions.RateLimit = 1000
	}, hub.Options{WebhookRetries: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}})
}

// flow is the events of one shipment from plan to delivery, for customer.
func flow(subject, customer string) [][3]string {
	planned := strings.Replace(plannedData, `"ref":"odoo:res.partner/7"`, `"ref":"`+customer+`"`, 1)
	planned = strings.Replace(planned, `"origin":{"name":"WH Rotterdam"`, `"origin":{"name":"WH Rotterdam","ref":"WH-RTM"`, 1)
	lines := `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
	return [][3]string{
		{"shipment.planned", "2026-11-26T08:00:00+01:00", planned},
		{"inventory.reserved", "2026-11-26T08:10:00+01:00", lines},
		{"shipment.loaded", "2026-11-26T09:00:00+01:00", lines},
		{"shipment.departed", "2026-11-26T09:30:00+01:00", `{}`},
		{"charges.reported", "2026-11-26T10:00:00+01:00", `{"charges":[{"code":"FUE","amount":{"minor":1250,"currency":"EUR"}}]}`},
		{"shipment.delivered", "2026-11-26T14:00:00+01:00", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00+01:00","lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}}`},
	}
}

// drive sends the flows of subjects concurrently, each in order.
func drive(t *testing.T, b *bundle, subjects []string, customer func(i int) string) {
	t.Helper()
	var wg sync.WaitGroup
	for i, s := range subjects {
		wg.Go(func() {
			for k, st := range flow(s, customer(i)) {
				status, body, _ := b.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ce(fmt.Sprintf("%s/%d", s, k), st[0], s, st[1], st[2]))
				if status != http.StatusAccepted {
					t.Errorf("%s %s: %d %s", s, st[0], status, body)
				}
			}
		})
	}
	wg.Wait()
}

// TestSubscriptionsDeliverInOrder subscribes an endpoint to every event,
// drives eight shipments through their flows at once, and makes the
// endpoint fail: a 500 on the first attempt of every second message, and
// a hang past the timeout on the first attempt of every loading report.
// Every message arrives, signed (checked by the receiver's own
// implementation of Standard Webhooks), once, and in each shipment's order;
// charges are redacted; a filter that matches nothing receives nothing.
func TestSubscriptionsDeliverInOrder(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		b := setupSubscriptions(t, opts)
		ep, none := newEndpoint(t), newEndpoint(t)
		_, secret := subscribe(t, b, b.key, `{"url":"`+ep.srv.URL+`/hooks","event_types":["*"],"redact":["charges"],"description":"portal"}`)
		_, secretNone := subscribe(t, b, b.key, `{"url":"`+none.srv.URL+`","event_types":["shipment.*"],"filter":{"customer":"nobody"}}`)
		ep.mu.Lock()
		ep.secrets = []string{secret}
		var seen sync.Map
		ep.behave = func(r received, attempt int) (int, time.Duration) {
			if attempt > 1 {
				return http.StatusNoContent, 0
			}
			if r.Type == "shipment.loaded" {
				return http.StatusNoContent, 2 * time.Second // past the 500 ms timeout
			}
			n, _ := seen.LoadOrStore(r.Shipment, new(int))
			if *(n.(*int))++; *(n.(*int))%2 == 0 {
				return http.StatusInternalServerError, 0
			}
			return http.StatusNoContent, 0
		}
		ep.mu.Unlock()
		none.mu.Lock()
		none.secrets = []string{secretNone}
		none.mu.Unlock()

		subjects := make([]string, 8)
		for i := range subjects {
			subjects[i] = fmt.Sprintf("tms:SUB-%d", i)
		}
		drive(t, b, subjects, func(int) string { return "cust-A" })
		want := []string{"shipment.planned", "inventory.reserved", "shipment.loaded", "shipment.departed", "charges.reported", "shipment.delivered"}
		poll.Until(t, "every message delivered", func() bool { return len(ep.received()) >= len(subjects)*len(want) })
		time.Sleep(300 * time.Millisecond) // a duplicate would arrive by now
		got := ep.received()
		if len(got) != len(subjects)*len(want) {
			t.Errorf("%d messages delivered, want %d", len(got), len(subjects)*len(want))
		}
		bySubject, ids := map[string][]string{}, map[string]bool{}
		for _, r := range got {
			bySubject[r.Subject] = append(bySubject[r.Subject], r.Type)
			if ids[r.ID] {
				t.Errorf("message %s delivered twice", r.ID)
			}
			ids[r.ID] = true
			if r.Type == "charges.reported" {
				if _, ok := r.Data["charges"]; ok {
					t.Errorf("charges were not redacted: %v", r.Data)
				}
			}
		}
		for _, s := range subjects {
			if !slices.Equal(bySubject[s], want) {
				t.Errorf("%s received %v, want in order %v", s, bySubject[s], want)
			}
		}
		if ep.bad != 0 {
			t.Errorf("%d deliveries did not verify", ep.bad)
		}
		if n := len(none.received()); n != 0 || none.bad != 0 {
			t.Errorf("the subscription whose filter matches nothing got %d messages (%d unverified)", n, none.bad)
		}
		// The delivery log shows the failures.
		var log struct {
			Attempts []struct {
				Status int
				Error  string
			}
			Messages map[string]int64
		}
		id := firstSubscription(t, b)
		status, out, _ := b.doKey(t, b.key, http.MethodGet, "/v1/subscriptions/"+id+"/attempts?limit=200", "")
		if status != http.StatusOK || json.Unmarshal(out, &log) != nil {
			t.Fatalf("delivery log: %d %s", status, out)
		}
		var fails, timeouts int
		for _, a := range log.Attempts {
			if a.Status == 500 {
				fails++
			}
			if a.Status == 0 && a.Error != "" {
				timeouts++
			}
		}
		if fails == 0 || timeouts == 0 || log.Messages["delivered"] != int64(len(got)) {
			t.Errorf("delivery log: %d failures, %d timeouts, messages %v; want some of each and %d delivered", fails, timeouts, log.Messages, len(got))
		}
	})
}

// firstSubscription returns the id of the first subscription listed.
func firstSubscription(t *testing.T, b *bundle) string {
	t.Helper()
	status, out, _ := b.doKey(t, b.key, http.MethodGet, "/v1/subscriptions", "")
	var list struct{ Subscriptions []struct{ ID string } }
	if status != http.StatusOK || json.Unmarshal(out, &list) != nil || len(list.Subscriptions) == 0 {
		t.Fatalf("listing subscriptions: %d %s", status, out)
	}
	return list.Subscriptions[0].ID
}

// TestSubscriptionsGoneRotateReplay checks that a rotated secret signs
// beside the old one, that 410 Gone disables the endpoint, and that
// enabling it and replaying sends the messages again under their ids.
func TestSubscriptionsGoneRotateReplay(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		b := setupSubscriptions(t, opts)
		ep := newEndpoint(t)
		since := time.Now().Add(-time.Second).UTC()
		id, oldSecret := subscribe(t, b, b.key, `{"url":"`+ep.srv.URL+`","event_types":["shipment.planned","inventory.reserved"]}`)
		ep.mu.Lock()
		ep.secrets = []string{oldSecret}
		ep.mu.Unlock()
		drive(t, b, []string{"tms:GONE-1"}, func(int) string { return "cust-A" })
		poll.Until(t, "two messages", func() bool { return len(ep.received()) == 2 })

		// Rotation: deliveries carry both signatures; the receiver that
		// knows only the new secret verifies them.
		status, out, _ := b.doKey(t, b.key, http.MethodPost, "/v1/subscriptions/"+id+"/rotate-secret", "")
		var rot struct{ Secret string }
		if status != http.StatusOK || json.Unmarshal(out, &rot) != nil || rot.Secret == oldSecret || !strings.HasPrefix(rot.Secret, "whsec_") {
			t.Fatalf("rotating: %d %s", status, out)
		}
		ep.mu.Lock()
		ep.secrets = []string{rot.Secret}
		ep.mu.Unlock()
		drive(t, b, []string{"tms:GONE-2"}, func(int) string { return "cust-A" })
		poll.Until(t, "two more messages", func() bool { return len(ep.received()) == 4 })
		if r := ep.received()[3]; r.Sigs != 2 {
			t.Errorf("a delivery during the overlap carries %d signatures, want 2", r.Sigs)
		}

		// 410 Gone disables the subscription.
		ep.mu.Lock()
		ep.behave = func(received, int) (int, time.Duration) { return http.StatusGone, 0 }
		ep.mu.Unlock()
		drive(t, b, []string{"tms:GONE-3"}, func(int) string { return "cust-A" })
		var sub struct {
			Enabled        bool   `json:"enabled"`
			DisabledReason string `json:"disabled_reason"`
		}
		poll.Until(t, "the subscription disabled", func() bool {
			_, out, _ := b.doKey(t, b.key, http.MethodGet, "/v1/subscriptions/"+id, "")
			return json.Unmarshal(out, &sub) == nil && !sub.Enabled
		})
		if !strings.Contains(sub.DisabledReason, "410") {
			t.Errorf("disabled because %q, want the 410", sub.DisabledReason)
		}

		// Enabled again and replayed: everything since the start arrives
		// again, under the ids it had.
		ep.mu.Lock()
		ep.behave = nil
		first := slices.Clone(ep.got)
		ep.got = nil
		ep.mu.Unlock()
		if status, out, _ := b.doKey(t, b.key, http.MethodPatch, "/v1/subscriptions/"+id, `{"enabled":true}`); status != http.StatusOK {
			t.Fatalf("enabling: %d %s", status, out)
		}
		status, out, _ = b.doKey(t, b.key, http.MethodPost, "/v1/subscriptions/"+id+"/replay?since="+since.Format(time.RFC3339Nano), "")
		var rep struct{ Messages int64 }
		if status != http.StatusOK || json.Unmarshal(out, &rep) != nil || rep.Messages != 6 {
			t.Fatalf("replaying: %d %s, want 6 messages", status, out)
		}
		poll.Until(t, "the replay", func() bool { return len(ep.received()) == 6 })
		again := ep.received()
		for _, r := range first {
			if !slices.ContainsFunc(again, func(x received) bool { return x.ID == r.ID }) {
				t.Errorf("message %s (%s) not replayed under its id", r.ID, r.Type)
			}
		}
		// The changes made over the API are in the audit trail.
		status, out, _ = b.doKey(t, b.key, http.MethodGet, "/v1/audit?limit=100", "")
		for _, action := range []string{"subscription.created", "subscription.secret_rotated", "subscription.updated", "subscription.replayed"} {
			if status != http.StatusOK || !strings.Contains(string(out), `"`+action+`"`) {
				t.Errorf("the audit trail (%d) lacks %s", status, action)
			}
		}
	})
}

// TestSubscriptionsCustomerKeys checks that a customer's key manages only
// its own subscriptions, cannot ask for another customer's shipments, and
// receives only its own.
func TestSubscriptionsCustomerKeys(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		b := setupSubscriptions(t, opts)
		keyA, _, err := b.hub.Keys.CreateWith(t.Context(), &apikey.CreateParams{Name: "portal-a", Scopes: []apikey.Scope{apikey.SubscriptionsWrite}, Customer: "cust-A"})
		if err != nil {
			t.Fatal(err)
		}
		keyB, _, err := b.hub.Keys.CreateWith(t.Context(), &apikey.CreateParams{Name: "portal-b", Scopes: []apikey.Scope{apikey.SubscriptionsWrite}, Customer: "cust-B"})
		if err != nil {
			t.Fatal(err)
		}
		ep := newEndpoint(t)
		for _, body := range []string{
			`{"url":"` + ep.srv.URL + `","event_types":["*"],"filter":{"customer":"cust-B"}}`,
			`{"url":"` + ep.srv.URL + `","event_types":["*"],"owner":"cust-B"}`,
		} {
			if status, out, _ := b.doKey(t, keyA, http.MethodPost, "/v1/subscriptions", body); status != http.StatusForbidden {
				t.Errorf("customer A subscribing to B's shipments: %d %s, want 403", status, out)
			}
		}
		// A catch-all subscription of A's key still receives only A's.
		idA, secretA := subscribe(t, b, keyA, `{"url":"`+ep.srv.URL+`","event_types":["shipment.planned"]}`)
		ep.mu.Lock()
		ep.secrets = []string{secretA}
		ep.mu.Unlock()
		if status, _, _ := b.doKey(t, keyB, http.MethodGet, "/v1/subscriptions/"+idA, ""); status != http.StatusNotFound {
			t.Errorf("customer B reading A's subscription: %d, want 404", status)
		}
		if status, _, _ := b.doKey(t, keyB, http.MethodDelete, "/v1/subscriptions/"+idA, ""); status != http.StatusNotFound {
			t.Errorf("customer B deleting A's subscription: %d, want 404", status)
		}
		status, out, _ := b.doKey(t, keyB, http.MethodGet, "/v1/subscriptions", "")
		if status != http.StatusOK || strings.Contains(string(out), idA) {
			t.Errorf("customer B's list: %d %s, want without A's", status, out)
		}
		drive(t, b, []string{"tms:CUST-A", "tms:CUST-B"}, func(i int) string { return []string{"cust-A", "cust-B"}[i] })
		poll.Until(t, "A's shipment", func() bool { return len(ep.received()) == 1 })
		time.Sleep(500 * time.Millisecond)
		if got := ep.received(); len(got) != 1 || got[0].Subject != "tms:CUST-A" {
			t.Errorf("customer A's endpoint received %+v, want only tms:CUST-A", got)
		}
	})
}

// TestSubscriptionsDisabledWhenFailing checks that an endpoint failing
// for subscriptions.disable_after is disabled, with the reason, and that
// its messages wait: enabled again, it gets them.
func TestSubscriptionsDisabledWhenFailing(t *testing.T) {
	t.Parallel()
	b := setupOpts(t, sqldb.Options{DataDir: t.TempDir()}, func(c *config.Config) {
		c.Subscriptions.AllowPrivateTargets, c.Subscriptions.AllowHTTP = true, true
		c.Subscriptions.DisableAfter = 300 * time.Millisecond
	}, hub.Options{WebhookRetries: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond,
		50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}})
	ep := newEndpoint(t)
	id, secret := subscribe(t, b, b.key, `{"url":"`+ep.srv.URL+`","event_types":["shipment.planned"]}`)
	var down atomic.Bool
	down.Store(true)
	ep.mu.Lock()
	ep.secrets = []string{secret}
	ep.behave = func(received, int) (int, time.Duration) {
		if down.Load() {
			return http.StatusServiceUnavailable, 0
		}
		return http.StatusNoContent, 0
	}
	ep.mu.Unlock()
	drive(t, b, []string{"tms:DOWN-1"}, func(int) string { return "cust-A" })
	var sub struct {
		Enabled        bool       `json:"enabled"`
		DisabledReason string     `json:"disabled_reason"`
		FailingSince   *time.Time `json:"failing_since"`
	}
	poll.Until(t, "the failing endpoint disabled", func() bool {
		_, out, _ := b.doKey(t, b.key, http.MethodGet, "/v1/subscriptions/"+id, "")
		return json.Unmarshal(out, &sub) == nil && !sub.Enabled
	})
	if !strings.Contains(sub.DisabledReason, "failed since") || sub.FailingSince == nil {
		t.Errorf("disabled because %q (failing since %v), want the failures", sub.DisabledReason, sub.FailingSince)
	}
	if n := len(ep.received()); n != 0 {
		t.Fatalf("%d messages delivered to a failing endpoint", n)
	}
	down.Store(false)
	if status, out, _ := b.doKey(t, b.key, http.MethodPatch, "/v1/subscriptions/"+id, `{"enabled":true}`); status != http.StatusOK {
		t.Fatalf("enabling: %d %s", status, out)
	}
	poll.Until(t, "the waiting message delivered", func() bool { return len(ep.received()) == 1 })
}

// TestSubscriptionsHostileInput sends the subscriptions API what a careless
// or hostile client might: a key without the scope, malformed and huge
// bodies, NUL bytes and invalid UTF-8, an unknown subscription. Each gets
// a 4xx problem and stores nothing; a good subscription sent among them
// still succeeds.
func TestSubscriptionsHostileInput(t *testing.T) {
	t.Parallel()
	b := setupSubscriptions(t, sqldb.Options{DataDir: t.TempDir()})
	reader, _, err := b.hub.Keys.Create(t.Context(), "reader", []apikey.Scope{apikey.ShipmentsRead})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := b.doKey(t, reader, http.MethodPost, "/v1/subscriptions", `{"url":"http://127.0.0.1/h","event_types":["*"]}`); status != http.StatusForbidden {
		t.Errorf("a key without subscriptions:write: %d, want 403", status)
	}
	for name, body := range map[string]string{
		"malformed":         `{"url":`,
		"not an object":     `[1,2]`,
		"no types":          `{"url":"http://127.0.0.1/h"}`,
		"NUL in the url":    "{\"url\":\"http://127.0.0.1/h\\u0000x\",\"event_types\":[\"*\"]}",
		"invalid UTF-8":     "{\"url\":\"http://127.0.0.1/h\",\"event_types\":[\"*\"],\"description\":\"\xff\xfe\"}",
		"huge description":  `{"url":"http://127.0.0.1/h","event_types":["*"],"description":"` + strings.Repeat("x", 5000) + `"}`,
		"huge body":         `{"url":"http://127.0.0.1/h","event_types":["*"],"redact":["` + strings.Repeat("a", 2<<20) + `"]}`,
		"unknown type":      `{"url":"http://127.0.0.1/h","event_types":["parcel.teleported"]}`,
		"bad filter":        `{"url":"http://127.0.0.1/h","event_types":["*"],"filter":{"expression":"shipment.state =="}}`,
		"unknown member":    `{"url":"http://127.0.0.1/h","event_types":["*"],"secret":"whsec_mine"}`,
		"negative rate":     `{"url":"http://127.0.0.1/h","event_types":["*"],"rate_limit":-1}`,
		"javascript scheme": `{"url":"javascript:alert(1)","event_types":["*"]}`,
	} {
		status, out, h := b.doKey(t, b.key, http.MethodPost, "/v1/subscriptions", body)
		if status < 400 || status >= 500 || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s, want a 4xx problem", name, status, truncate(out))
		}
	}
	for _, path := range []string{"/v1/subscriptions/sub_nope", "/v1/subscriptions/" + strings.Repeat("x", 100)} {
		if status, _, _ := b.doKey(t, b.key, http.MethodGet, path, ""); status != http.StatusNotFound && status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 404 or a validation problem", path, status)
		}
	}
	if status, out, _ := b.doKey(t, b.key, http.MethodPost, "/v1/subscriptions/sub_nope/replay?since=yesterday", ""); status < 400 || status >= 500 {
		t.Errorf("replay with a bad time: %d %s", status, truncate(out))
	}
	// Nothing was stored; a good subscription still is.
	subscribe(t, b, b.key, `{"url":"http://127.0.0.1/h","event_types":["*"]}`)
	status, out, _ := b.doKey(t, b.key, http.MethodGet, "/v1/subscriptions", "")
	var list struct{ Subscriptions []json.RawMessage }
	if status != http.StatusOK || json.Unmarshal(out, &list) != nil || len(list.Subscriptions) != 1 {
		t.Errorf("after the hostile requests: %d %s, want the one good subscription", status, truncate(out))
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
