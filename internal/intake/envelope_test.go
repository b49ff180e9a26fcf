package intake

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkEnvelope holds decodeEnvelope to json.Unmarshal: whatever it
// decodes, json.Unmarshal decodes the same way.
func checkEnvelope(t *testing.T, raw []byte) bool {
	t.Helper()
	var fast envelope
	if !decodeEnvelope(raw, &fast) {
		return false
	}
	var slow envelope
	if err := json.Unmarshal(raw, &slow); err != nil {
		t.Fatalf("decodeEnvelope took %q, json.Unmarshal refuses it: %v", raw, err)
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Fatalf("decodeEnvelope(%q) differs from json.Unmarshal (-want +got):\n%s", raw, diff)
	}
	return true
}

func TestDecodeEnvelope(t *testing.T) {
	t.Parallel()
	const ev = `{"specversion":"1.0","id":"e-1","source":"tms","type":"shipment.planned","subject":"tms:A B","time":"2025-11-12T14:05:00+01:00","data":{"a":[1,2.5e3,"x\"y",{"b":null}],"c":true}}`
	for _, tc := range []struct {
		raw  string
		fast bool
	}{
		{ev, true},
		{" \n" + ev + "\n", true},
		{`{"specversion" : "1.0" , "id":"e", "x-ext":{"k":[1,{"z":"]}"}]}, "data": {} }`, true},
		{`{"id":"e","data":"text","data_base64":"AA==","correlationid":"c","traceparent":"t","datacontenttype":"application/json"}`, true},
		{`{}`, true},
		{`{"data":{"nested":{"deep":[[[]]]}},"id":"x"}`, true},
		{`{"id":"e\u0031"}`, false},         // an escape: decoded by json.Unmarshal
		{`{"ID":"e"}`, false},               // matched in another case
		{`{"ſource":"s"}`, false},           // matched by folding
		{`{"id":"a","id":"b"}`, false},      // repeated
		{`{"id":1}`, false},                 // not a string
		{`{"id":null}`, false},              // null
		{`{"data":null}`, false},            //
		{`{"data":{},"data":[]}`, false},    // repeated
		{`[1]`, false},                      // not an object
		{`{"id":"e"`, false},                // not JSON
		{`{"id":"e"} x`, false},             // trailing text
		{`{"\u0069d":"e"}`, false},          // escaped name
		{`{"other":"x","id":"e"}`, true},    // an extension
		{`{"data":-0.5e-3,"id":"e"}`, true}, // a number
	} {
		if got := checkEnvelope(t, []byte(tc.raw)); got != tc.fast {
			t.Errorf("decodeEnvelope(%s) = %v, want %v", tc.raw, got, tc.fast)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"e-1","source":"tms","type":"shipment.planned","subject":"tms:A","time":"2025-11-12T14:05:00Z","data":{"a":[1,"x\"y",{"b":null}]}}`))
	f.Add([]byte(`{"id":"a","x":[{"y":"}"}],"data":"d"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkEnvelope(t, raw)
	})
}
