package x12

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/waybill/waybill/internal/tracking"
)

// fuzzPartners are the partner settings the fuzz target maps with: none,
// and one with a default zone, a signer prefix and overrides, so that
// local times without a location resolve and the override paths run.
var fuzzPartners = []*tracking.Partner{
	nil,
	{
		ID: "XKTL", Zone: "America/Chicago", Currency: "USD", WeightUnit: "lb", SignerRemark: "POD SIGNED BY",
		StatusCodes: map[string]tracking.Status{"ZZ": tracking.StatusException},
		ReasonCodes: map[string]string{"ZZ": "damaged"},
		ChargeCodes: map[string]string{"ZZZ": tracking.ChargeAccessorial},
	},
}

// FuzzParse proves Parse never panics or hangs, that every error it returns
// is a typed *Error, and that the 997 built from whatever it parsed is
// itself readable by Parse. It also maps what Parse read: Map must never
// panic, every event it returns must pass Event.Validate, and every error
// it returns must carry a 997 code and lie inside a transaction set, so
// that the 997 built from Parse's and Map's errors together is readable
// too. It is seeded with every .edi file in testdata and a built 204.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.edi"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	tender, err := Build204(testTender(f), testControl)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tender)
	f.Fuzz(func(t *testing.T, data []byte) {
		ic, err := Parse(data)
		if err == nil && ic == nil {
			t.Fatal("Parse: got nil interchange and nil error")
		}
		if err != nil && len(Errors(err)) == 0 {
			t.Fatalf("Parse: error %v holds no *Error", err)
		}
		if ic == nil {
			return
		}
		ack := Ack997(ic, Errors(err), testAckControl)
		if back, err := Parse(ack); back == nil {
			t.Fatalf("parsing the 997: %v\n%q", err, ack)
		}
		for _, p := range fuzzPartners {
			m, mapErrs := Map(ic, p)
			for _, ev := range m.Events {
				if err := ev.Validate(); err != nil {
					t.Fatalf("Map: event fails Validate: %v\n%+v", err, ev)
				}
			}
			for _, e := range mapErrs {
				if e == nil || (e.Code != codeNotSupported && e.Code != codeSegmentsInError) || e.Msg == "" {
					t.Fatalf("Map: got error %#v, want code 1 or 5 with a message", e)
				}
				if gi, ti := ic.locate(e); gi < 0 || ti < 0 {
					t.Fatalf("Map: error %v lies outside every transaction set", e)
				}
			}
			ack := Ack997(ic, append(Errors(err), mapErrs...), testAckControl)
			if back, err := Parse(ack); back == nil {
				t.Fatalf("parsing the 997 with mapping errors: %v\n%q", err, ack)
			}
		}
	})
}
