package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sharedValidator compiles the schemas once for all tests; a Validator is
// immutable, so sharing it between parallel tests is what production does.
var sharedValidator = sync.OnceValues(NewValidator)

func setup(t testing.TB) *Validator {
	t.Helper()
	v, err := sharedValidator()
	if err != nil {
		t.Fatalf("NewValidator() error: %v", err)
	}
	return v
}

// pointers returns the pointers of err, which must be a *ValidationError.
func pointers(t *testing.T, err error) []string {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got error %v (%T), want *ValidationError", err, err)
	}
	var got []string
	for _, fe := range verr.Errors {
		got = append(got, fe.Pointer)
	}
	return got
}

// repeat returns a JSON array holding n copies of the JSON value item.
func repeat(item string, n int) string {
	return "[" + strings.Repeat(item+",", n-1) + item + "]"
}

func TestTypes(t *testing.T) {
	t.Parallel()

	want := []Type{
		"shipment.planned", "order.confirmed", "inventory.reserved", "inventory.shortage",
		"dispatch.assigned", "shipment.loaded", "shipment.departed", "shipment.arrived",
		"shipment.delayed", "shipment.delivered", "shipment.exception", "shipment.returned",
		"shipment.cancelled", "charges.reported", "shipment.tracked", "picking.validated", "shipment.invoiced", "review.decided",
	}
	if diff := cmp.Diff(want, Types()); diff != "" {
		t.Errorf("Types() mismatch (-want +got):\n%s", diff)
	}
	for _, typ := range Types() {
		if !typ.Valid() {
			t.Errorf("%q.Valid() = false, want true", typ)
		}
		if _, ok := Schema(typ); !ok {
			t.Errorf("Schema(%q) reported no schema", typ)
		}
	}
	for _, typ := range []Type{"", "shipment", "Shipment.Planned", "shipment.planned.v2", "../schemas/shipment.planned", "common"} {
		if typ.Valid() {
			t.Errorf("%q.Valid() = true, want false", typ)
		}
		if _, ok := Schema(typ); ok {
			t.Errorf("Schema(%q) reported a schema, want none", typ)
		}
	}

	// Every embedded file belongs to a type.
	files, err := fs.Glob(schemaFS, "schemas/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if typ := Type(strings.TrimSuffix(path.Base(f), ".json")); !typ.Valid() {
			t.Errorf("embedded file %s belongs to no type", f)
		}
	}
	if len(files) != len(want) {
		t.Errorf("got %d embedded schema files, want %d", len(files), len(want))
	}
}

// TestSchemaDocuments checks the conventions every schema document follows.
func TestSchemaDocuments(t *testing.T) {
	t.Parallel()

	defs := map[string]any{}      // $defs name → definition, from the first file that has it
	defsFrom := map[string]Type{} // $defs name → that file's type
	for _, typ := range Types() {
		raw, _ := Schema(typ)
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		for key, want := range map[string]string{
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"$id":     "https://waybill.dev/schemas/" + string(typ) + ".json",
		} {
			if got := doc[key]; got != want {
				t.Errorf("%s: %s = %v, want %q", typ, key, got, want)
			}
		}
		for _, key := range []string{"title", "description"} {
			if s, _ := doc[key].(string); s == "" {
				t.Errorf("%s: %s is empty", typ, key)
			}
		}

		walkSchema(doc, "", func(loc string, node map[string]any) {
			if node["type"] == "object" || node["properties"] != nil {
				if node["additionalProperties"] != false {
					t.Errorf("%s: %s: additionalProperties = %v, want false", typ, loc, node["additionalProperties"])
				}
			}
			if ref, ok := node["$ref"].(string); ok && !strings.HasPrefix(ref, "#/$defs/") {
				t.Errorf("%s: %s: $ref %q leaves the document", typ, loc, ref)
			}
			if _, ok := node["propertyNames"]; ok {
				// jsonschema v6.0.3 reports propertyNames errors at a wrong
				// instance location; use patternProperties instead.
				t.Errorf("%s: %s: propertyNames is not allowed", typ, loc)
			}
		})

		// Shared shapes are copied into each document; the copies must agree.
		docDefs, _ := doc["$defs"].(map[string]any)
		for name, def := range docDefs {
			first, ok := defs[name]
			if !ok {
				defs[name], defsFrom[name] = def, typ
				continue
			}
			if diff := cmp.Diff(first, def); diff != "" {
				t.Errorf("$defs/%s differs between %s and %s (-%[2]s +%[3]s):\n%[4]s", name, defsFrom[name], typ, diff)
			}
		}
	}
}

// walkSchema calls f for every object in the schema document node.
func walkSchema(node any, loc string, f func(loc string, node map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		f(loc, n)
		for k, v := range n {
			if k == "enum" || k == "default" || k == "const" {
				continue
			}
			walkSchema(v, loc+"/"+k, f)
		}
	case []any:
		for i, v := range n {
			walkSchema(v, loc+"/"+strconv.Itoa(i), f)
		}
	}
}

// docExample is a CloudEvent from docs/events.md.
type docExample struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            Type            `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
	CorrelationID   string          `json:"correlationid"`
	TraceParent     string          `json:"traceparent"`
}

var (
	subjectPattern     = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z][a-z0-9_-]*:[^\s]+)$`)
	rfc3339Pattern     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
	traceParentPattern = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
)

// jsonBlocks returns the contents of the ```json fenced blocks of markdown.
func jsonBlocks(t *testing.T, markdown []byte) []string {
	t.Helper()
	var blocks []string
	var cur *strings.Builder
	for i, line := range strings.Split(string(markdown), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```json":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
			cur.WriteByte('\n')
		case strings.HasPrefix(strings.TrimSpace(line), "```json"):
			t.Errorf("docs/events.md:%d: unexpected fence %q", i+1, line)
		}
	}
	if cur != nil {
		t.Fatal("docs/events.md: unterminated ```json block")
	}
	return blocks
}

// TestDocsExamples checks that docs/events.md has exactly one complete,
// valid example event per type.
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	v := setup(t)

	markdown, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	count := map[Type]int{}
	keys := map[string]bool{}
	for i, block := range jsonBlocks(t, markdown) {
		dec := json.NewDecoder(strings.NewReader(block))
		dec.DisallowUnknownFields()
		var ev docExample
		if err := dec.Decode(&ev); err != nil {
			t.Errorf("example %d: decoding: %v\n%s", i, err, block)
			continue
		}
		t.Run(string(ev.Type), func(t *testing.T) {
			if ev.SpecVersion != "1.0" {
				t.Errorf("specversion = %q, want 1.0", ev.SpecVersion)
			}
			if ev.ID == "" || ev.Source == "" {
				t.Errorf("id = %q, source = %q, want both set", ev.ID, ev.Source)
			}
			key := ev.Source + " " + ev.ID
			if keys[key] {
				t.Errorf("(source, id) = (%s, %s) is used by another example", ev.Source, ev.ID)
			}
			keys[key] = true
			if !subjectPattern.MatchString(ev.Subject) {
				t.Errorf("subject = %q, want a UUID or system:external-id", ev.Subject)
			}
			if !rfc3339Pattern.MatchString(ev.Time) {
				t.Errorf("time = %q, want RFC 3339", ev.Time)
			}
			if ev.DataContentType != "application/json" {
				t.Errorf("datacontenttype = %q, want application/json", ev.DataContentType)
			}
			if ev.TraceParent != "" && !traceParentPattern.MatchString(ev.TraceParent) {
				t.Errorf("traceparent = %q, want a W3C traceparent", ev.TraceParent)
			}
			if !ev.Type.Valid() {
				t.Fatalf("type = %q, want one of Types()", ev.Type)
			}
			count[ev.Type]++
			if err := v.Validate(ev.Type, ev.Data); err != nil {
				t.Errorf("Validate(%s) = %v, want nil", ev.Type, err)
			}
		})
	}
	for _, typ := range Types() {
		if count[typ] != 1 {
			t.Errorf("docs/events.md has %d examples of %s, want exactly 1", count[typ], typ)
		}
	}
}

func TestValidateValid(t *testing.T) {
	t.Parallel()
	v := setup(t)

	tests := []struct {
		name string
		typ  Type
		data string
	}{
		{"planned minimal", ShipmentPlanned, `{"customer":{"ref":"odoo:res.partner/3141"},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":"120","unit":"C62"}}]}`},
		{"planned quantity as number", ShipmentPlanned, `{"customer":{"name":"Brouwer"},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":12.5,"unit":"KGM"}}]}`},
		{"planned 1000 lines", ShipmentPlanned, `{"customer":{"name":"Brouwer"},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":` + repeat(`{"line_id":"1","sku":"CHR-1","quantity":{"value":"1","unit":"C62"}}`, 1000) + `}`},
		{"planned UTC times", ShipmentPlanned, `{"customer":{"name":"Brouwer"},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":"1","unit":"C62"}}],"pickup_window":{"start":"2025-11-12T07:00:00Z","end":"2025-11-12T11:00:00.500Z"}}`},
		{"shortage negative available", InventoryShortage, `{"lines":[{"line_id":"1","required":{"value":"30","unit":"C62"},"available":{"value":"-4","unit":"C62"}}]}`},
		{"dispatch route only", DispatchAssigned, `{"route_id":"RTM-UTR-A"}`},
		{"departed empty", ShipmentDeparted, `{}`},
		{"cancelled empty", ShipmentCancelled, `{}`},
		{"exception resolved", ShipmentException, `{"category":"damaged","status":"resolved","exception_id":"EXC-1"}`},
		{"charges discount", ChargesReported, `{"charges":[{"code":"DSC","type":"discount","amount":{"minor":-1500,"currency":"EUR"},"quantity":{"value":"-1","unit":"C62"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := v.Validate(tt.typ, []byte(tt.data)); err != nil {
				t.Errorf("Validate(%s) = %v, want nil", tt.typ, err)
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	t.Parallel()
	v := setup(t)

	const (
		planLine  = `{"line_id":"1","sku":"CHR-1","quantity":{"value":"1","unit":"C62"}}`
		planStart = `{"customer":{"name":"Brouwer"},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},`
		qtyLine   = `{"line_id":"1","quantity":{"value":"1","unit":"C62"}}`
		pod       = `"signer":"R. Okafor","signed_at":"2025-11-12T15:38:20+01:00"`
		charge    = `{"code":"400","amount":{"minor":38500,"currency":"EUR"}}`
	)
	tests := []struct {
		name string
		typ  Type
		data string
		want []string
	}{
		// shipment.planned
		{"planned missing required", ShipmentPlanned, `{"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":[` + planLine + `]}`, []string{"/data/customer"}},
		{"planned missing everything", ShipmentPlanned, `{}`, []string{"/data/customer", "/data/destination", "/data/lines", "/data/origin"}},
		{"planned unknown field", ShipmentPlanned, planStart + `"lines":[` + planLine + `],"colour":"red"}`, []string{"/data/colour"}},
		{"planned unknown line field", ShipmentPlanned, planStart + `"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":"1","unit":"C62"},"price":4}]}`, []string{"/data/lines/0/price"}},
		{"planned wrong unit", ShipmentPlanned, planStart + `"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":"1","unit":"KILO"}}]}`, []string{"/data/lines/0/quantity/unit"}},
		{"planned negative quantity string", ShipmentPlanned, planStart + `"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":"-5","unit":"C62"}}]}`, []string{"/data/lines/0/quantity/value"}},
		{"planned negative quantity number", ShipmentPlanned, planStart + `"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":-5,"unit":"C62"}}]}`, []string{"/data/lines/0/quantity/value"}},
		{"planned quantity not decimal", ShipmentPlanned, planStart + `"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":"1,250.5","unit":"KGM"}}]}`, []string{"/data/lines/0/quantity/value"}},
		{"planned negative weight", ShipmentPlanned, planStart + `"lines":[` + planLine + `],"weight":{"value":"-1180","unit":"KGM"}}`, []string{"/data/weight/value"}},
		{"planned bad date-time", ShipmentPlanned, planStart + `"lines":[` + planLine + `],"pickup_window":{"start":"2025-11-12 08:00:00+01:00","end":"2025-11-12T12:00:00+01:00"}}`, []string{"/data/pickup_window/start"}},
		{"planned date-time without offset", ShipmentPlanned, planStart + `"lines":[` + planLine + `],"delivery_window":{"start":"2025-11-12T13:00:00","end":"2025-11-12"}}`, []string{"/data/delivery_window/end", "/data/delivery_window/start"}},
		{"planned too many lines", ShipmentPlanned, planStart + `"lines":` + repeat(planLine, 1001) + `}`, []string{"/data/lines"}},
		{"planned no lines", ShipmentPlanned, planStart + `"lines":[]}`, []string{"/data/lines"}},
		{"planned party without ref or name", ShipmentPlanned, `{"customer":{"email":"inkoop@brouwer-horeca.nl"},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":[` + planLine + `]}`, []string{"/data/customer"}},
		{"planned bad email", ShipmentPlanned, `{"customer":{"name":"Brouwer","email":"inkoop at brouwer"},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":[` + planLine + `]}`, []string{"/data/customer/email"}},
		{"planned empty location", ShipmentPlanned, `{"customer":{"name":"Brouwer"},"origin":{},"destination":{"city":"Utrecht"},"lines":[` + planLine + `]}`, []string{"/data/origin"}},
		{"planned bad country and latitude", ShipmentPlanned, `{"customer":{"name":"Brouwer"},"origin":{"unlocode":"NLRTM"},"destination":{"country":"NLD","lat":91},"lines":[` + planLine + `]}`, []string{"/data/destination/country", "/data/destination/lat"}},
		{"planned bad reference key", ShipmentPlanned, planStart + `"lines":[` + planLine + `],"references":{"purchase order":"PO-1"}}`, []string{"/data/references/purchase order"}},
		{"planned reference not string", ShipmentPlanned, planStart + `"lines":[` + planLine + `],"references":{"po":88213}}`, []string{"/data/references/po"}},
		{"planned escaped pointer", ShipmentPlanned, planStart + `"lines":[` + planLine + `],"a/b~c":1}`, []string{"/data/a~1b~0c"}},

		// order.confirmed
		{"order missing required", OrderConfirmed, `{"customer":{"name":"Brouwer"}}`, []string{"/data/lines"}},
		{"order unknown field", OrderConfirmed, `{"customer":{"name":"Brouwer"},"lines":[{"line_id":"9001","sku":"CHR-1","quantity":{"value":"1","unit":"C62"},"unit_price":4}]}`, []string{"/data/lines/0/unit_price"}},
		{"order wrong unit", OrderConfirmed, `{"customer":{"name":"Brouwer"},"lines":[{"line_id":"9001","sku":"CHR-1","quantity":{"value":"1","unit":"C-62"}}]}`, []string{"/data/lines/0/quantity/unit"}},
		{"order negative quantity", OrderConfirmed, `{"customer":{"name":"Brouwer"},"lines":[{"line_id":"9001","sku":"CHR-1","quantity":{"value":"-1","unit":"C62"}}]}`, []string{"/data/lines/0/quantity/value"}},
		{"order bad currency", OrderConfirmed, `{"customer":{"name":"Brouwer"},"lines":[{"line_id":"9001","sku":"CHR-1","quantity":{"value":"1","unit":"C62"}}],"currency":"eur"}`, []string{"/data/currency"}},
		{"order bad shipment ref", OrderConfirmed, `{"customer":{"name":"Brouwer"},"lines":[{"line_id":"9001","sku":"CHR-1","quantity":{"value":"1","unit":"C62"}}],"shipments":["odoo:WH/OUT 00012"]}`, []string{"/data/shipments/0"}},
		{"order too many lines", OrderConfirmed, `{"customer":{"name":"Brouwer"},"lines":` + repeat(`{"line_id":"9001","sku":"CHR-1","quantity":{"value":"1","unit":"C62"}}`, 1001) + `}`, []string{"/data/lines"}},

		// inventory.reserved
		{"reserved missing required", InventoryReserved, `{"lines":[{"quantity":{"value":"1","unit":"C62"}}]}`, []string{"/data/lines/0/line_id"}},
		{"reserved unknown field", InventoryReserved, `{"lines":[` + qtyLine + `],"bin":"A-01"}`, []string{"/data/bin"}},
		{"reserved wrong unit", InventoryReserved, `{"lines":[{"line_id":"1","quantity":{"value":"1","unit":"K G"}}]}`, []string{"/data/lines/0/quantity/unit"}},
		{"reserved negative lot quantity", InventoryReserved, `{"lines":[{"line_id":"1","quantity":{"value":"1","unit":"C62"},"lots":[{"lot":"LOT-1","quantity":{"value":"-1","unit":"C62"}}]}]}`, []string{"/data/lines/0/lots/0/quantity/value"}},
		{"reserved too many lines", InventoryReserved, `{"lines":` + repeat(qtyLine, 1001) + `}`, []string{"/data/lines"}},

		// inventory.shortage
		{"shortage missing required", InventoryShortage, `{"lines":[{"line_id":"1","required":{"value":"30","unit":"C62"}}]}`, []string{"/data/lines/0/available"}},
		{"shortage unknown field", InventoryShortage, `{"lines":[{"line_id":"1","required":{"value":"30","unit":"C62"},"available":{"value":"24","unit":"C62"},"backorder":true}]}`, []string{"/data/lines/0/backorder"}},
		{"shortage negative required", InventoryShortage, `{"lines":[{"line_id":"1","required":{"value":"-30","unit":"C62"},"available":{"value":"24","unit":"C62"}}]}`, []string{"/data/lines/0/required/value"}},
		{"shortage too many lines", InventoryShortage, `{"lines":` + repeat(`{"line_id":"1","required":{"value":"30","unit":"C62"},"available":{"value":"24","unit":"C62"}}`, 1001) + `}`, []string{"/data/lines"}},

		// dispatch.assigned
		{"dispatch none of vehicle carrier route", DispatchAssigned, `{"driver":{"name":"Sanne de Vries"}}`, []string{"/data"}},
		{"dispatch unknown field", DispatchAssigned, `{"route_id":"R1","driver":{"name":"Sanne de Vries","licence":"B"}}`, []string{"/data/driver/licence"}},
		{"dispatch bad date-time", DispatchAssigned, `{"route_id":"R1","planned_pickup":"2025-11-12T09:30+01:00"}`, []string{"/data/planned_pickup"}},
		{"dispatch bad scac", DispatchAssigned, `{"carrier":{"scac":"vdbt"}}`, []string{"/data/carrier/scac"}},
		{"dispatch empty vehicle", DispatchAssigned, `{"vehicle":{}}`, []string{"/data/vehicle"}},

		// shipment.loaded
		{"loaded missing required", ShipmentLoaded, `{"seal":"NL-SEAL-1"}`, []string{"/data/lines"}},
		{"loaded unknown field", ShipmentLoaded, `{"lines":[` + qtyLine + `],"dock":"3"}`, []string{"/data/dock"}},
		{"loaded wrong unit", ShipmentLoaded, `{"lines":[` + qtyLine + `],"weight":{"value":"1192.5","unit":"kilogram"}}`, []string{"/data/weight/unit"}},
		{"loaded negative quantity", ShipmentLoaded, `{"lines":[{"line_id":"1","quantity":{"value":"-0.5","unit":"C62"}}]}`, []string{"/data/lines/0/quantity/value"}},
		{"loaded repeated serial", ShipmentLoaded, `{"lines":[{"line_id":"1","quantity":{"value":"2","unit":"C62"},"serials":["SN-1","SN-1"]}]}`, []string{"/data/lines/0/serials"}},
		{"loaded too many lines", ShipmentLoaded, `{"lines":` + repeat(qtyLine, 1001) + `}`, []string{"/data/lines"}},

		// shipment.departed
		{"departed unknown field", ShipmentDeparted, `{"speed_kmh":80}`, []string{"/data/speed_kmh"}},
		{"departed bad date-time", ShipmentDeparted, `{"eta":"2025-13-12T13:45:00+01:00"}`, []string{"/data/eta"}},

		// shipment.arrived
		{"arrived unknown field", ShipmentArrived, `{"location":{"name":"Dock 2","gate":"B"}}`, []string{"/data/location/gate"}},
		{"arrived bad unlocode", ShipmentArrived, `{"location":{"unlocode":"NL-RTM"}}`, []string{"/data/location/unlocode"}},

		// shipment.delayed
		{"delayed missing required", ShipmentDelayed, `{"eta":"2025-11-12T15:10:00+01:00"}`, []string{"/data/reason"}},
		{"delayed empty reason", ShipmentDelayed, `{"reason":""}`, []string{"/data/reason"}},
		{"delayed unknown field", ShipmentDelayed, `{"reason":"Accident on the A12","minutes":90}`, []string{"/data/minutes"}},
		{"delayed bad date-time", ShipmentDelayed, `{"reason":"Accident on the A12","eta":"tomorrow"}`, []string{"/data/eta"}},

		// shipment.delivered
		{"delivered missing pod", ShipmentDelivered, `{}`, []string{"/data/pod"}},
		{"delivered missing signer", ShipmentDelivered, `{"pod":{"signed_at":"2025-11-12T15:38:20+01:00","lines":[` + qtyLine + `]}}`, []string{"/data/pod/signer"}},
		{"delivered unknown field", ShipmentDelivered, `{"pod":{` + pod + `,"lines":[` + qtyLine + `],"signature_png":"iVBOR"}}`, []string{"/data/pod/signature_png"}},
		{"delivered bad date-time", ShipmentDelivered, `{"pod":{"signer":"R. Okafor","signed_at":"12/11/2025 15:38","lines":[` + qtyLine + `]}}`, []string{"/data/pod/signed_at"}},
		{"delivered wrong unit", ShipmentDelivered, `{"pod":{` + pod + `,"lines":[{"line_id":"1","quantity":{"value":"1","unit":"C"}}]}}`, []string{"/data/pod/lines/0/quantity/unit"}},
		{"delivered negative quantity", ShipmentDelivered, `{"pod":{` + pod + `,"lines":[{"line_id":"1","quantity":{"value":"-2","unit":"C62"}}]}}`, []string{"/data/pod/lines/0/quantity/value"}},
		{"delivered bad hashes and photo", ShipmentDelivered, `{"pod":{` + pod + `,"lines":[` + qtyLine + `],"signature_sha256":"9F2C","photos":[{"uri":"photo-1.jpg"}]}}`, []string{"/data/pod/photos/0/uri", "/data/pod/signature_sha256"}},
		{"delivered bad position", ShipmentDelivered, `{"pod":{` + pod + `,"lines":[` + qtyLine + `],"position":{"lat":52.1,"accuracy_m":-1}}}`, []string{"/data/pod/position/accuracy_m", "/data/pod/position/lon"}},
		{"delivered too many lines", ShipmentDelivered, `{"pod":{` + pod + `,"lines":` + repeat(qtyLine, 1001) + `}}`, []string{"/data/pod/lines"}},

		// shipment.exception
		{"exception missing required", ShipmentException, `{"description":"Two chairs damaged"}`, []string{"/data/category"}},
		{"exception bad category", ShipmentException, `{"category":"broken"}`, []string{"/data/category"}},
		{"exception bad status", ShipmentException, `{"category":"damaged","status":"closed"}`, []string{"/data/status"}},
		{"exception unknown field", ShipmentException, `{"category":"damaged","severity":"high"}`, []string{"/data/severity"}},
		{"exception wrong unit", ShipmentException, `{"category":"short","lines":[{"line_id":"1","quantity":{"value":"2","unit":"C6_"}}]}`, []string{"/data/lines/0/quantity/unit"}},
		{"exception negative quantity", ShipmentException, `{"category":"short","lines":[{"line_id":"1","quantity":{"value":"-2","unit":"C62"}}]}`, []string{"/data/lines/0/quantity/value"}},
		{"exception too many lines", ShipmentException, `{"category":"short","lines":` + repeat(qtyLine, 1001) + `}`, []string{"/data/lines"}},

		// shipment.returned
		{"returned unknown field", ShipmentReturned, `{"reason":"Refused","rma":"RMA-1"}`, []string{"/data/rma"}},
		{"returned missing line id", ShipmentReturned, `{"lines":[{"quantity":{"value":"2","unit":"C62"}}]}`, []string{"/data/lines/0/line_id"}},
		{"returned negative quantity", ShipmentReturned, `{"lines":[{"line_id":"1","quantity":{"value":-2,"unit":"C62"}}]}`, []string{"/data/lines/0/quantity/value"}},
		{"returned too many lines", ShipmentReturned, `{"lines":` + repeat(qtyLine, 1001) + `}`, []string{"/data/lines"}},

		// shipment.cancelled
		{"cancelled unknown field", ShipmentCancelled, `{"cancelled_by":"customer"}`, []string{"/data/cancelled_by"}},
		{"cancelled reason not string", ShipmentCancelled, `{"reason":42}`, []string{"/data/reason"}},
		{"cancelled data not object", ShipmentCancelled, `["customer cancelled"]`, []string{"/data"}},

		// charges.reported
		{"charges missing required", ChargesReported, `{"invoice_number":"VDBT-2025-11873"}`, []string{"/data/charges"}},
		{"charges missing amount", ChargesReported, `{"charges":[{"code":"400"}]}`, []string{"/data/charges/0/amount"}},
		{"charges unknown field", ChargesReported, `{"charges":[{"code":"400","amount":{"minor":38500,"currency":"EUR","major":385}}]}`, []string{"/data/charges/0/amount/major"}},
		{"charges bad type", ChargesReported, `{"charges":[{"code":"SRG","type":"storage","amount":{"minor":1000,"currency":"EUR"}}]}`, []string{"/data/charges/0/type"}},
		{"charges fractional minor", ChargesReported, `{"charges":[{"code":"400","amount":{"minor":385.5,"currency":"EUR"}}]}`, []string{"/data/charges/0/amount/minor"}},
		{"charges minor as string", ChargesReported, `{"charges":[{"code":"400","amount":{"minor":"38500","currency":"EUR"}}]}`, []string{"/data/charges/0/amount/minor"}},
		{"charges bad currency", ChargesReported, `{"charges":[` + charge + `],"total":{"minor":38500,"currency":"€"}}`, []string{"/data/total/currency"}},
		{"charges wrong unit", ChargesReported, `{"charges":[{"code":"DTL","amount":{"minor":4500,"currency":"EUR"},"quantity":{"value":"1","unit":"hours"}}]}`, []string{"/data/charges/0/quantity/unit"}},
		{"charges too many", ChargesReported, `{"charges":` + repeat(charge, 501) + `}`, []string{"/data/charges"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := pointers(t, v.Validate(tt.typ, []byte(tt.data)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate(%s) pointers mismatch (-want +got):\n%s", tt.typ, diff)
			}
		})
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	t.Parallel()
	v := setup(t)

	data := `{
		"customer": {"email": "inkoop@brouwer-horeca.nl"},
		"origin": {"country": "nl"},
		"lines": [
			{"line_id": "5571", "sku": "CHR-ALU-STACK-BLK", "quantity": {"value": "-120", "unit": "C62"}},
			{"line_id": "", "sku": "TBL-BISTRO-70", "quantity": {"value": "30", "unit": "PIECES"}, "colour": "oak"}
		],
		"pickup_window": {"start": "2025-11-12 08:00"},
		"references": {"po": 88213}
	}`
	err := v.Validate(ShipmentPlanned, []byte(data))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	want := []FieldError{
		{"/data/customer", "must include at least one of ref, name"},
		{"/data/destination", "missing required field"},
		{"/data/lines/0/quantity/value", `must match pattern ^[0-9]+(\.[0-9]+)?$`},
		{"/data/lines/1/colour", "unknown field"},
		{"/data/lines/1/line_id", "must not be empty"},
		{"/data/lines/1/quantity/unit", "must match pattern ^[A-Za-z0-9]{2,3}$"},
		{"/data/origin/country", "must match pattern ^[A-Z]{2}$"},
		{"/data/pickup_window/end", "missing required field"},
		{"/data/pickup_window/start", "must be an RFC 3339 date-time with offset, such as 2025-11-12T14:05:00+01:00"},
		{"/data/references/po", "must be of type string, got number"},
	}
	if diff := cmp.Diff(want, verr.Errors); diff != "" {
		t.Errorf("Validate() errors mismatch (-want +got):\n%s", diff)
	}
	if got, wantPrefix := verr.Error(), "invalid event data: /data/customer: must include at least one of ref, name; /data/destination: missing required field; "; !strings.HasPrefix(got, wantPrefix) {
		t.Errorf("Error() = %q, want prefix %q", got, wantPrefix)
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	v := setup(t)

	tests := []struct {
		name string
		typ  Type
		data string
		want []FieldError
	}{
		{"enum", ShipmentException, `{"category":"broken"}`, []FieldError{{"/data/category", "must be one of damaged, refused, returned, short, lost, delay, route_changed, address, customs, weather, hold, other"}}},
		{"max items", ShipmentReturned, `{"lines":` + repeat(`{"line_id":"1","quantity":{"value":"1","unit":"C62"}}`, 1001) + `}`, []FieldError{{"/data/lines", "must have at most 1000 items"}}},
		{"min items", ShipmentLoaded, `{"lines":[]}`, []FieldError{{"/data/lines", "must have at least 1 item"}}},
		{"minimum", ShipmentLoaded, `{"lines":[{"line_id":"1","quantity":{"value":-1,"unit":"C62"}}]}`, []FieldError{{"/data/lines/0/quantity/value", "must be greater than or equal to 0"}}},
		{"maximum", ShipmentArrived, `{"location":{"lon":180.5}}`, []FieldError{{"/data/location/lon", "must be less than or equal to 180"}}},
		{"max length", ShipmentDelayed, `{"reason":"` + strings.Repeat("x", 501) + `"}`, []FieldError{{"/data/reason", "must be at most 500 characters long"}}},
		{"integer", ChargesReported, `{"charges":[{"code":"400","amount":{"minor":1.5,"currency":"EUR"}}]}`, []FieldError{{"/data/charges/0/amount/minor", "must be of type integer, got number"}}},
		{"email", OrderConfirmed, `{"customer":{"name":"Brouwer","email":"nope"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}}]}`, []FieldError{{"/data/customer/email", "must be an email address"}}},
		{"uri", ShipmentDelivered, `{"pod":{"signer":"R. Okafor","signed_at":"2025-11-12T15:38:20+01:00","lines":[{"line_id":"1","quantity":{"value":"1","unit":"C62"}}],"photos":[{"uri":"photo-1.jpg"}]}}`, []FieldError{{"/data/pod/photos/0/uri", "must be an absolute URI"}}},
		{"unique items", ShipmentLoaded, `{"lines":[{"line_id":"1","quantity":{"value":"2","unit":"C62"},"serials":["SN-1","SN-1"]}]}`, []FieldError{{"/data/lines/0/serials", "must not repeat items: items 0 and 1 are equal"}}},
		{"any of", DispatchAssigned, `{}`, []FieldError{{"/data", "must include at least one of vehicle, carrier, route_id"}}},
		{"type", ShipmentCancelled, `null`, []FieldError{{"/data", "must be of type object, got null"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var verr *ValidationError
			if err := v.Validate(tt.typ, []byte(tt.data)); !errors.As(err, &verr) {
				t.Fatalf("Validate(%s) = %v, want *ValidationError", tt.typ, err)
			}
			if diff := cmp.Diff(tt.want, verr.Errors); diff != "" {
				t.Errorf("Validate(%s) errors mismatch (-want +got):\n%s", tt.typ, diff)
			}
		})
	}
}

func TestValidateInvalidJSON(t *testing.T) {
	t.Parallel()
	v := setup(t)

	for _, data := range []string{``, `   `, `{"customer":`, `{"customer":{}} {}`, `{customer: 1}`, `nul`} {
		t.Run(data, func(t *testing.T) {
			t.Parallel()
			var verr *ValidationError
			if err := v.Validate(ShipmentPlanned, []byte(data)); !errors.As(err, &verr) {
				t.Fatalf("Validate(%q) = %v, want *ValidationError", data, err)
			}
			if len(verr.Errors) != 1 || verr.Errors[0].Pointer != "/data" || verr.Errors[0].Message == "" {
				t.Errorf("Validate(%q) errors = %+v, want one error at /data", data, verr.Errors)
			}
		})
	}
}

func TestValidateUnknownType(t *testing.T) {
	t.Parallel()
	v := setup(t)

	for _, typ := range []Type{"", "shipment.teleported", "common"} {
		err := v.Validate(typ, []byte(`{}`))
		if !errors.Is(err, ErrUnknownType) {
			t.Errorf("Validate(%q) = %v, want ErrUnknownType", typ, err)
		}
		var verr *ValidationError
		if errors.As(err, &verr) {
			t.Errorf("Validate(%q) returned a *ValidationError, want only ErrUnknownType", typ)
		}
	}
}

// TestValidateConcurrent shares one Validator between goroutines; run it
// with -race.
func TestValidateConcurrent(t *testing.T) {
	t.Parallel()
	v := setup(t)

	valid := []byte(`{"customer":{"name":"Brouwer"},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":"1","unit":"C62"}}]}`)
	invalid := []byte(`{"customer":{},"origin":{"unlocode":"NLRTM"},"destination":{"city":"Utrecht"},"lines":[{"line_id":"1","sku":"CHR-1","quantity":{"value":"-1","unit":"C62"}}]}`)
	wantInvalid := []string{"/data/customer", "/data/lines/0/quantity/value"}

	var wg sync.WaitGroup
	errs := make(chan string, 8*50)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := v.Validate(ShipmentPlanned, valid); err != nil {
					errs <- "valid data: " + err.Error()
				}
				var verr *ValidationError
				if !errors.As(v.Validate(ShipmentPlanned, invalid), &verr) {
					errs <- "invalid data: no *ValidationError"
					continue
				}
				var got []string
				for _, fe := range verr.Errors {
					got = append(got, fe.Pointer)
				}
				if !slices.Equal(got, wantInvalid) {
					errs <- "invalid data: got pointers " + strings.Join(got, ", ")
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestSchemaReturnsCopy(t *testing.T) {
	t.Parallel()

	a, _ := Schema(ShipmentPlanned)
	a[0] = 'X'
	b, _ := Schema(ShipmentPlanned)
	if bytes.Equal(a, b) {
		t.Error("Schema() returned shared bytes: a change by one caller is seen by the next")
	}
}

func BenchmarkValidateShipmentPlanned(b *testing.B) {
	v := setup(b)
	data := []byte(`{
		"order": "odoo:S00042",
		"customer": {"ref": "odoo:res.partner/3141", "name": "Brouwer Horeca B.V.", "email": "inkoop@brouwer-horeca.nl"},
		"carrier": {"scac": "VDBT", "name": "Van den Berg Transport"},
		"origin": {"ref": "odoo:stock.warehouse/1", "name": "Acme DC Rotterdam", "country": "NL", "unlocode": "NLRTM", "timezone": "Europe/Amsterdam"},
		"destination": {"name": "Brouwer Horeca B.V., Utrecht", "address_lines": ["Atoomweg 350"], "city": "Utrecht", "postal_code": "3542 AB", "country": "NL", "lat": 52.1027, "lon": 5.0724},
		"lines": [
			{"line_id": "5571", "sku": "CHR-ALU-STACK-BLK", "quantity": {"value": "120", "unit": "C62"}, "lots": ["LOT-2025-0917"], "weight": {"value": "660", "unit": "KGM"}},
			{"line_id": "5572", "sku": "TBL-BISTRO-70", "quantity": {"value": "30", "unit": "C62"}, "weight": {"value": "450", "unit": "KGM"}}
		],
		"weight": {"value": "1180", "unit": "KGM"},
		"handling_units": {"value": "6", "unit": "XPX"},
		"pickup_window": {"start": "2025-11-12T08:00:00+01:00", "end": "2025-11-12T12:00:00+01:00"},
		"delivery_window": {"start": "2025-11-12T13:00:00+01:00", "end": "2025-11-12T17:00:00+01:00"},
		"references": {"bol": "BOL-RTM-2025-004411", "po": "PO-88213"}
	}`)
	if err := v.Validate(ShipmentPlanned, data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := v.Validate(ShipmentPlanned, data); err != nil {
			b.Fatal(err)
		}
	}
}
