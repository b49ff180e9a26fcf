package intake

import (
	"encoding/json"
	"errors"
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

// checkSplit holds splitArray to json.Unmarshal into []json.RawMessage:
// the same answer, and the same elements.
func checkSplit(t *testing.T, raw []byte) {
	t.Helper()
	got, ok := splitArray(raw)
	var want []json.RawMessage
	err := json.Unmarshal(raw, &want)
	if want == nil && err == nil {
		err = errNull // null decodes to no slice; splitArray refuses it
	}
	if ok != (err == nil) {
		t.Fatalf("splitArray(%q) ok = %v, json.Unmarshal says %v", raw, ok, err)
	}
	if len(got) != len(want) {
		t.Fatalf("splitArray(%q) = %d elements, want %d", raw, len(got), len(want))
	}
	for i := range got {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("splitArray(%q)[%d] = %q, want %q", raw, i, got[i], want[i])
		}
	}
}

var errNull = errors.New("null")

func TestSplitArray(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`[]`, ` [ ] `, `[{"id":"a"}]`, "[\n {\"a\":[1,2]} ,\t{\"b\":\"],\\\"[\"} ,3,\"x\",null,true,-1.5e3,[[]]\n]\n",
		`[{"data":{"s":"\u005d"}},{}]`, `null`, `{}`, `"[]"`, `[`, `[1,]`, `[1 2]`, `[1]x`, ``, `  `,
	} {
		checkSplit(t, []byte(raw))
	}
	if got, ok := splitArray([]byte(`[{"a":1}, {"b":2}]`)); !ok || len(got) != 2 || string(got[1]) != `{"b":2}` {
		t.Errorf("splitArray = %q, %v", got, ok)
	}
}

func FuzzSplitArray(f *testing.F) {
	f.Add([]byte(`[{"id":"a","x":[{"y":"}"}],"data":"d"}, 1, "s", [true]]`))
	f.Add([]byte(`[ ]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkSplit(t, raw)
	})
}
