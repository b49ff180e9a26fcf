package quantity_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/quantity"
)

func TestMarshalJSON(t *testing.T) {
	t.Parallel()

	kgInLb, err := mustParse(t, "1", "KGM").In(quantity.LBR)
	if err != nil {
		t.Fatalf("In: %v", err)
	}
	tests := []struct {
		name string
		q    quantity.Quantity
		want string
	}{
		{name: "decimal", q: mustParse(t, "12.50", "kgm"), want: `{"value":"12.5","unit":"KGM"}`},
		{name: "negative", q: mustParse(t, "-3", "EA"), want: `{"value":"-3","unit":"EA"}`},
		{name: "alias", q: mustParse(t, "2", "PLT"), want: `{"value":"2","unit":"XPX"}`},
		{name: "non-terminating rounds", q: kgInLb, want: `{"value":"2.204622622","unit":"LBR"}`},
		{name: "zero Quantity", q: quantity.Quantity{}, want: `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := json.Marshal(tt.q)
			if err != nil {
				t.Fatalf("Marshal(%s): %v", tt.q, err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal(%s): got %s, want %s", tt.q, got, tt.want)
			}
		})
	}
}

func TestUnmarshalJSON(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
		errText string
	}{
		{name: "string value", in: `{"value":"12.5","unit":"KGM"}`, want: "12.5 KGM"},
		{name: "number value", in: `{"value":12.50,"unit":"KGM"}`, want: "12.5 KGM"},
		{name: "negative number", in: `{"value":-3,"unit":"ea"}`, want: "-3 EA"},
		{name: "number beyond float64 precision", in: `{"value":0.123456789012345678,"unit":"KGM"}`, want: "0.123456789012345678 KGM"},
		{name: "huge number", in: `{"value":123456789012345678901234567890,"unit":"C62"}`, want: "123456789012345678901234567890 C62"},
		{name: "alias unit", in: `{"unit":"PLT","value":"4"}`, want: "4 XPX"},
		{name: "unknown fields ignored", in: `{"value":"1","unit":"KGM","note":"x"}`, want: "1 KGM"},
		{name: "converted precision", in: `{"value":"0.000000000000000001000000000000001","unit":"KGM"}`, want: "0.000000000000000001000000000000001 KGM"},

		{name: "number exponent", in: `{"value":1e3,"unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: "exponent"},
		{name: "string exponent", in: `{"value":"1E3","unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: "exponent"},
		{name: "thousands separator", in: `{"value":"1,250.5","unit":"LBR"}`, wantErr: quantity.ErrInvalidValue, errText: "separator"},
		{name: "NaN string", in: `{"value":"NaN","unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: "NaN"},
		{name: "empty string", in: `{"value":"","unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: "empty"},
		{name: "too many digits", in: `{"value":"0.00000000000000000000000000000000000000001","unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: "fractional digits"},
		{name: "bool value", in: `{"value":true,"unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: "string or a number"},
		{name: "object value", in: `{"value":{},"unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: "string or a number"},
		{name: "missing value", in: `{"unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: `missing "value"`},
		{name: "null value", in: `{"value":null,"unit":"KGM"}`, wantErr: quantity.ErrInvalidValue, errText: `missing "value"`},
		{name: "missing unit", in: `{"value":"1"}`, wantErr: quantity.ErrUnknownUnit, errText: `missing "unit"`},
		{name: "unknown unit", in: `{"value":"1","unit":"LBS"}`, wantErr: quantity.ErrUnknownUnit, errText: "LBS"},
		{name: "empty unit", in: `{"value":"1","unit":""}`, wantErr: quantity.ErrUnknownUnit, errText: "unknown unit"},
		{name: "unit not a string", in: `{"value":"1","unit":5}`, errText: "unit"},
		{name: "not an object", in: `"12.5 KGM"`, errText: "decoding quantity"},
		{name: "array", in: `[1,"KGM"]`, errText: "decoding quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var got quantity.Quantity
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.errText == "" {
				if err != nil {
					t.Fatalf("Unmarshal(%s): %v", tt.in, err)
				}
				if got.String() != tt.want {
					t.Errorf("Unmarshal(%s): got %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Unmarshal(%s): got %q and no error, want an error", tt.in, got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Unmarshal(%s): got error %v, want %v", tt.in, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("Unmarshal(%s): got error %q, want it to mention %q", tt.in, err, tt.errText)
			}
			if got.Unit() != "" || !got.IsZero() {
				t.Errorf("Unmarshal(%s) with an error: got %q, want the target unchanged", tt.in, got)
			}
		})
	}
}

func TestUnmarshalJSONNull(t *testing.T) {
	t.Parallel()

	q := mustParse(t, "7", "KGM")
	if err := json.Unmarshal([]byte(`null`), &q); err != nil {
		t.Fatalf("Unmarshal(null): %v", err)
	}
	if got, want := q.String(), "7 KGM"; got != want {
		t.Errorf("Unmarshal(null): got %q, want the target unchanged (%q)", got, want)
	}
}

// shipmentLine is a stand-in for a domain struct that embeds quantities.
type shipmentLine struct {
	SKU    string             `json:"sku"`
	Weight quantity.Quantity  `json:"weight"`
	Pieces quantity.Quantity  `json:"pieces"`
	Volume *quantity.Quantity `json:"volume,omitempty"`
	Unset  quantity.Quantity  `json:"unset"`
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()

	lbInKg, err := mustParse(t, "5", "LBR").In(quantity.KGM)
	if err != nil {
		t.Fatalf("In: %v", err)
	}
	vol := mustParse(t, "1.25", "MTQ")
	in := shipmentLine{
		SKU:    "A-1",
		Weight: lbInKg,
		Pieces: mustParse(t, "3", "PLT"),
		Volume: &vol,
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	wantJSON := `{"sku":"A-1","weight":{"value":"2.26796185","unit":"KGM"},"pieces":{"value":"3","unit":"XPX"},"volume":{"value":"1.25","unit":"MTQ"},"unset":null}`
	if string(data) != wantJSON {
		t.Errorf("Marshal: got %s, want %s", data, wantJSON)
	}

	var out shipmentLine
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("Unmarshal(%s): %v", data, err)
	}
	opt := cmp.Comparer(func(a, b quantity.Quantity) bool {
		c, err := a.Cmp(b)
		return a.Unit() == b.Unit() && err == nil && c == 0 || a.Unit() == "" && b.Unit() == ""
	})
	if diff := cmp.Diff(in, out, opt); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

// TestJSONRoundTripAfterConversion checks that every exact conversion of a
// value with the most fractional digits Parse allows reads back unchanged.
func TestJSONRoundTripAfterConversion(t *testing.T) {
	t.Parallel()

	const value = "0.123456789012345671"
	for _, from := range quantity.Known() {
		for _, to := range quantity.Known() {
			if !quantity.Compatible(from, to) {
				continue
			}
			t.Run(string(from)+"_to_"+string(to), func(t *testing.T) {
				t.Parallel()

				q, err := mustParse(t, value, string(from)).In(to)
				if err != nil {
					t.Fatalf("In: %v", err)
				}
				data, err := json.Marshal(q)
				if err != nil {
					t.Fatalf("Marshal(%s): %v", q, err)
				}
				var back quantity.Quantity
				if err := json.Unmarshal(data, &back); err != nil {
					t.Fatalf("Unmarshal(%s): %v", data, err)
				}
				if back.String() != q.String() {
					t.Errorf("round trip of %s: got %s", q, back)
				}
				// A value with a finite decimal expansion must come back exactly.
				pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(40), nil)
				finite := new(big.Rat).Mul(q.Rat(), new(big.Rat).SetInt(pow)).IsInt()
				if finite && back.Rat().Cmp(q.Rat()) != 0 {
					t.Errorf("round trip of %s: got %s, want it exact", q.Rat().RatString(), back.Rat().RatString())
				}
			})
		}
	}
}

// decodeBoth decodes value and unit from the exact form MarshalJSON writes
// and from the same object written otherwise, which takes the general
// decoder: both must give the same quantity or the same error.
func decodeBoth(t *testing.T, value, unit string) {
	t.Helper()
	v, _ := json.Marshal(value)
	u, _ := json.Marshal(unit)
	exact := `{"value":` + string(v) + `,"unit":` + string(u) + `}`
	other := `{ "unit": ` + string(u) + `, "value": ` + string(v) + ` }`
	var a, b quantity.Quantity
	errA, errB := json.Unmarshal([]byte(exact), &a), json.Unmarshal([]byte(other), &b)
	if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
		t.Fatalf("%s: %v; %s: %v", exact, errA, other, errB)
	}
	if errA == nil && (a.Unit() != b.Unit() || a.String() != b.String() || a.Decimal() != b.Decimal()) {
		t.Fatalf("%s: %v; %s: %v", exact, a, other, b)
	}
	if errA != nil {
		return
	}
	// And it writes what json.Marshal writes of the wire form.
	got, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(struct {
		Value string `json:"value"`
		Unit  string `json:"unit"`
	}{a.Decimal(), string(a.Unit())})
	if string(got) != string(want) {
		t.Fatalf("MarshalJSON = %s, want %s", got, want)
	}
}

func TestJSONExactForm(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0", "12", "12.50", "-3", "1e3", "", " 1", "1.", ".5", "0.000000001", "1819.375", "x", "1\"", `1\`, "١"} {
		for _, u := range []string{"KGM", "kgm", "C62", "XPX", "LBR", "", "K G", "KG\"", "Ω"} {
			decodeBoth(t, v, u)
		}
	}
}

func FuzzJSONExactForm(f *testing.F) {
	f.Add("12.5", "KGM")
	f.Add("-0.001", "c62")
	f.Fuzz(func(t *testing.T, value, unit string) {
		decodeBoth(t, value, unit)
	})
}
