package quantity_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/quantity"
)

func TestParseUnit(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		code    string
		want    quantity.Unit
		wantErr error
	}{
		{name: "canonical", code: "KGM", want: quantity.KGM},
		{name: "lower case", code: "kgm", want: quantity.KGM},
		{name: "mixed case", code: "Lbr", want: quantity.LBR},
		{name: "legacy each", code: "ea", want: quantity.EA},
		{name: "pallet X-code", code: "XPX", want: quantity.XPX},
		{name: "pallet Rec 21", code: "PX", want: quantity.XPX},
		{name: "pallet X12 PLT", code: "PLT", want: quantity.XPX},
		{name: "pallet X12 PL lower", code: "pl", want: quantity.XPX},
		{name: "carton alias", code: "CT", want: quantity.XCT},
		{name: "box alias", code: "bx", want: quantity.XBX},
		{name: "case alias CS", code: "CS", want: quantity.XCS},
		{name: "case alias CA", code: "CA", want: quantity.XCS},
		{name: "unknown", code: "LB", wantErr: quantity.ErrUnknownUnit},
		{name: "empty", code: "", wantErr: quantity.ErrUnknownUnit},
		{name: "padded", code: " KGM", wantErr: quantity.ErrUnknownUnit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := quantity.ParseUnit(tt.code)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseUnit(%q): got error %v, want %v", tt.code, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseUnit(%q): got %q, want %q", tt.code, got, tt.want)
			}
		})
	}
}

func TestDimensionAndCompatible(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		a, b       quantity.Unit
		wantDim    string
		wantDimOK  bool
		compatible bool
	}{
		{name: "mass", a: quantity.LBR, b: quantity.KGM, wantDim: "mass", wantDimOK: true, compatible: true},
		{name: "volume", a: quantity.FTQ, b: quantity.LTR, wantDim: "volume", wantDimOK: true, compatible: true},
		{name: "length", a: quantity.INH, b: quantity.KMT, wantDim: "length", wantDimOK: true, compatible: true},
		{name: "count", a: quantity.EA, b: quantity.H87, wantDim: "count", wantDimOK: true, compatible: true},
		{name: "pallet alias", a: "plt", b: quantity.XPX, wantDim: "pallet", wantDimOK: true, compatible: true},
		{name: "pallet vs each", a: quantity.XPX, b: quantity.EA, wantDim: "pallet", wantDimOK: true},
		{name: "carton vs box", a: quantity.XCT, b: quantity.XBX, wantDim: "carton", wantDimOK: true},
		{name: "case vs count", a: "CA", b: quantity.C62, wantDim: "case", wantDimOK: true},
		{name: "mass vs volume", a: quantity.KGM, b: quantity.LTR, wantDim: "mass", wantDimOK: true},
		{name: "unknown", a: "ZZZ", b: "ZZZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			dim, ok := quantity.Dimension(tt.a)
			if dim != tt.wantDim || ok != tt.wantDimOK {
				t.Errorf("Dimension(%q): got (%q, %v), want (%q, %v)", tt.a, dim, ok, tt.wantDim, tt.wantDimOK)
			}
			if got := quantity.Compatible(tt.a, tt.b); got != tt.compatible {
				t.Errorf("Compatible(%q, %q): got %v, want %v", tt.a, tt.b, got, tt.compatible)
			}
			if got := quantity.Compatible(tt.b, tt.a); got != tt.compatible {
				t.Errorf("Compatible(%q, %q): got %v, want %v", tt.b, tt.a, got, tt.compatible)
			}
		})
	}
}

func TestKnown(t *testing.T) {
	t.Parallel()

	got := quantity.Known()
	want := []quantity.Unit{
		"C62", "CMQ", "CMT", "CWA", "DAY", "DMQ", "EA", "FOT", "FTQ", "GRM", "H87", "HUR", "INH", "KGM", "KMT", "LBR",
		"LTR", "MGM", "MIN", "MMT", "MTQ", "MTR", "ONZ", "SEC", "TNE", "XBX", "XCS", "XCT", "XPX",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Known() mismatch (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(got) {
		t.Errorf("Known(): got unsorted %v", got)
	}
	for _, u := range got {
		if _, ok := quantity.Dimension(u); !ok {
			t.Errorf("Dimension(%q): got ok false for a known unit", u)
		}
	}

	got[0] = "mutated"
	if again := quantity.Known(); again[0] != "C62" {
		t.Errorf("Known()[0] after mutating an earlier result: got %q, want %q", again[0], "C62")
	}
}
