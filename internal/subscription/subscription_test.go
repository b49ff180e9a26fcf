package subscription

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
)

// TestSignVector signs the Standard Webhooks case of the shared signature
// fixtures (testdata mirrors fixtures/webhooks): the same id, timestamp,
// body and secret give the signature the fixture holds.
func TestSignVector(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "webhook-06-quirky-duplicates-out-of-order.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Sign("msg_pp_20251113_0091", time.Unix(1763071205, 0), body, []string{"whsec_Zml4dHVyZS1vbmx5LXN0YW5kYXJkLXdlYmhvb2tzISE="})
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,5MM3Iu+m8by+q8tfwb2CsMSF08FhIV2X7gvMVJcP3VQ="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	two, err := Sign("msg_pp_20251113_0091", time.Unix(1763071205, 0), body, []string{NewSecret(), "whsec_Zml4dHVyZS1vbmx5LXN0YW5kYXJkLXdlYmhvb2tzISE="})
	if err != nil || len(strings.Fields(two)) != 2 || strings.Fields(two)[1] != got {
		t.Errorf("two secrets sign %q, %v; want two signatures, the second %s", two, err, got)
	}
	for _, bad := range []string{"", "whsec_", "secret", "whsec_!!!", "whsec_c2hvcnQ="} {
		if _, err := Sign("id", time.Now(), body, []string{bad}); err == nil {
			t.Errorf("secret %q accepted", bad)
		}
	}
}

// TestTargets checks endpoint URLs: https only, no credentials, and no
// private, loopback or link-local address unless allowed; dialling
// checks the address a name resolves to.
func TestTargets(t *testing.T) {
	strict := Targets{}
	for _, u := range []string{
		"http://example.com/hook", "ftp://example.com", "https://user:pw@example.com/", "/relative", "https://",
		"https://127.0.0.1/x", "https://10.1.2.3/", "https://192.168.0.10/", "https://172.16.0.1/", "https://169.254.169.254/latest/meta-data",
		"https://[::1]/", "https://[fe80::1]/", "https://100.64.0.1/", "https://0.0.0.0/", "https://localhost/", "https://a.localhost/",
		"https://example.com/#frag", "https://example.com/" + strings.Repeat("a", 2100),
	} {
		if err := strict.checkURL(u); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want refused", u, err)
		}
	}
	for _, u := range []string{"https://example.com/hooks", "https://93.184.216.34:8443/h", "https://[2606:4700::1]/"} {
		if err := strict.checkURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	loose := Targets{AllowPrivate: true, AllowHTTP: true}
	for _, u := range []string{"http://127.0.0.1:8080/x", "https://localhost/", "http://10.0.0.1/"} {
		if err := loose.checkURL(u); err != nil {
			t.Errorf("%s with private targets allowed: %v", u, err)
		}
	}
	s := New(nil, Options{})
	for _, a := range []string{"127.0.0.1:443", "10.0.0.8:80", "[::1]:443", "169.254.169.254:80"} {
		if err := s.checkDial("tcp", a, nil); err == nil {
			t.Errorf("dialling %s allowed", a)
		}
	}
	if err := s.checkDial("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("dialling a public address: %v", err)
	}
	if !public(netip.MustParseAddr("8.8.8.8")) || public(netip.MustParseAddr("::ffff:127.0.0.1")) {
		t.Error("public() misjudges an address")
	}
}

// TestCheck checks the rest of a subscription's validation and owners.
func TestCheck(t *testing.T) {
	tg := Targets{}
	ok := func() *Subscription {
		return &Subscription{URL: "https://example.com/h", EventTypes: []string{"shipment.*"}}
	}
	for name, mod := range map[string]func(*Subscription){
		"no types":         func(s *Subscription) { s.EventTypes = nil },
		"unknown type":     func(s *Subscription) { s.EventTypes = []string{"shipment.teleported"} },
		"bad pattern":      func(s *Subscription) { s.EventTypes = []string{"[x"} },
		"bad expression":   func(s *Subscription) { s.Filter.Expression = "shipment.state ==" },
		"not a condition":  func(s *Subscription) { s.Filter.Expression = "1 + 2" },
		"rate":             func(s *Subscription) { s.RateLimit = 5000 },
		"long description": func(s *Subscription) { s.Description = strings.Repeat("x", 501) },
		"empty redaction":  func(s *Subscription) { s.Redact = []string{""} },
	} {
		s := ok()
		mod(s)
		if err := tg.check(s, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
	s := ok()
	s.Filter.Customer = "B"
	if err := tg.check(s, "A"); !errors.Is(err, ErrForbidden) {
		t.Errorf("customer A filtering on B: %v, want forbidden", err)
	}
	s = ok()
	if err := tg.check(s, "A"); err != nil || s.Owner != "A" {
		t.Errorf("customer A's subscription: owner %q, %v", s.Owner, err)
	}
}

// TestMatch checks which subscriptions an applied event goes to, and the
// body they get.
func TestMatch(t *testing.T) {
	s := New(nil, Options{})
	mk := func(id string, mod func(*Subscription)) *Subscription {
		sub := &Subscription{ID: id, URL: "https://example.com", EventTypes: []string{"shipment.*"}, Enabled: true}
		mod(sub)
		if err := (Targets{}).check(sub, sub.Owner); err != nil {
			t.Fatal(err)
		}
		return sub
	}
	subs := []*Subscription{
		mk("all", func(*Subscription) {}),
		mk("owner-a", func(s *Subscription) { s.Owner = "A" }),
		mk("owner-b", func(s *Subscription) { s.Owner = "B" }),
		mk("wh", func(s *Subscription) { s.Filter.Warehouse = "WH-RTM" }),
		mk("other-wh", func(s *Subscription) { s.Filter.Warehouse = "WH-AMS" }),
		mk("carrier", func(s *Subscription) { s.Filter.Carrier = "ABCD" }),
		mk("cel", func(s *Subscription) {
			s.Filter.Expression = `shipment.destination.country == "DE" && event.type == "shipment.delivered"`
		}),
		mk("cel-no", func(s *Subscription) { s.Filter.Expression = `shipment.destination.country == "FR"` }),
		mk("off", func(s *Subscription) { s.Enabled = false }),
		mk("inventory", func(s *Subscription) { s.EventTypes = []string{"inventory.*"} }),
		mk("redact", func(s *Subscription) { s.Redact = []string{"signer"} }),
	}
	s.subs.Store(&subs)
	sh := &shipment.Shipment{ID: "0192", State: shipment.Delivered, Customer: &event.Party{Ref: "A"},
		Origin: &event.Location{Ref: "WH-RTM"}, Destination: &event.Location{Country: "DE"}, Carrier: &event.Carrier{SCAC: "ABCD"}}
	ev := &intake.Pending{Seq: 7, ID: "ev-1", Type: event.ShipmentDelivered, Subject: "tms:L1", Time: time.Now(), Data: []byte(`{"pod":{"signer":"J","lines":[]}}`)}
	var got []string
	var redacted string
	for _, m := range s.Match(sh, ev) {
		got = append(got, m.Subscription)
		if m.Subscription == "redact" {
			redacted = string(m.Body)
		}
		if m.Seq != 7 || m.ShipmentID != "0192" || !strings.HasPrefix(m.ID, "msg_") {
			t.Errorf("message %+v", m)
		}
	}
	want := []string{"all", "owner-a", "wh", "carrier", "cel", "redact"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("matched %v, want %v", got, want)
	}
	if strings.Contains(redacted, "signer") || !strings.Contains(redacted, `"type":"shipment.delivered"`) || !strings.Contains(redacted, `"shipmentid":"0192"`) {
		t.Errorf("redacted body %s", redacted)
	}
	if a, b := messageID("s1", "e1"), messageID("s2", "e1"); a == b || a != messageID("s1", "e1") {
		t.Error("message ids are not stable per subscription and event")
	}
}
