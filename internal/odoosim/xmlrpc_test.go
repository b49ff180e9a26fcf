package odoosim

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
)

// xmlCall builds a methodCall from simple Go values.
func xmlCall(method string, params ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version='1.0'?>\n<methodCall><methodName>%s</methodName><params>", method)
	for _, p := range params {
		fmt.Fprintf(&b, "<param><value>%s</value></param>", p)
	}
	b.WriteString("</params></methodCall>")
	return []byte(b.String())
}

func xs(s string) string { return "<string>" + s + "</string>" }
func xi(i int) string    { return fmt.Sprintf("<int>%d</int>", i) }
func xa(items ...string) string {
	var b strings.Builder
	b.WriteString("<array><data>")
	for _, it := range items {
		b.WriteString("<value>" + it + "</value>")
	}
	b.WriteString("</data></array>")
	return b.String()
}

type xmlFault struct {
	Members []struct {
		Name string `xml:"name"`
		Int  string `xml:"value>int"`
		Str  string `xml:"value>string"`
	} `xml:"fault>value>struct>member"`
}

func TestXMLRPC(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	db := b.sim.Database()
	post := func(path string, body []byte) string {
		t.Helper()
		status, ct, data, err := b.post(path, "text/xml", body, nil)
		if err != nil || status != 200 || !strings.Contains(ct, "xml") {
			t.Fatalf("%s: %d %s %v", path, status, ct, err)
		}
		return string(data)
	}
	if got := post("/xmlrpc/2/common", xmlCall("login", xs(db), xs("admin"), xs("admin"))); !strings.Contains(got, "<int>2</int>") {
		t.Errorf("login: got %s", got)
	}
	got := post("/xmlrpc/2/object", xmlCall("execute_kw", xs(db), xi(2), xs("admin"), xs("res.partner"), xs("search_read"),
		xa(xa(xa(xs("id"), xs("="), xi(15)))), "<struct><member><name>fields</name><value>"+xa(xs("name"))+"</value></member></struct>"))
	if !strings.Contains(got, "<string>Azure Interior</string>") {
		t.Errorf("search_read: got %s", got)
	}
	faultCode := func(body string) string {
		var f xmlFault
		if err := xml.Unmarshal([]byte(body), &f); err != nil {
			t.Fatalf("decoding fault %s: %v", body, err)
		}
		for _, m := range f.Members {
			if m.Name == "faultCode" {
				return m.Int
			}
		}
		return ""
	}
	cases := []struct {
		name, want string
		body       []byte
	}{
		{"wrong password", "3", xmlCall("execute_kw", xs(db), xi(2), xs("WRONG"), xs("res.partner"), xs("search_count"), xa(xa()))},
		{"private method", "4", xmlCall("execute_kw", xs(db), xi(2), xs("admin"), xs("sale.order"), xs("_create_invoices"), xa(xa(xi(1))))},
		{"unknown model", "2", xmlCall("execute_kw", xs(db), xi(2), xs("admin"), xs("no.such"), xs("search"), xa(xa()))},
		{"unknown field", "1", xmlCall("execute_kw", xs(db), xi(2), xs("admin"), xs("sale.order"), xs("write"), xa(xa(xi(1)), "<struct><member><name>nope</name><value>"+xi(1)+"</value></member></struct>"))},
		{"None result", "1", xmlCall("execute_kw", xs(db), xi(2), xs("admin"), xs("stock.picking"), xs("do_unreserve"), xa(xa(xi(1))))},
		{"not xml", "1", []byte("not xml")},
	}
	for _, tc := range cases {
		if got := faultCode(post("/xmlrpc/2/object", tc.body)); got != tc.want {
			t.Errorf("%s: fault code %q, want %s", tc.name, got, tc.want)
		}
	}
}
