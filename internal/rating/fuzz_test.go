package rating_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/waybill/waybill/internal/rating"
)

// FuzzParse checks that no rules file makes Parse panic, that every
// problem is a *ParseError, and that rules that compile rate without
// panicking.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"example.yaml", "errors.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"version: x\ncurrency: USD\nrules:\n  - {id: a, kind: fuel, percent: 1}\n",
		"version: x\ncurrency: USD\nrules:\n  - {id: a, kind: accessorial, type: other, amount: 'decimal(\"1\") / 0'}\n",
		"version: x\ncurrency: JPY\nrules:\n  - {id: a, kind: freight, per: kg, rate: 0.5, minimum: 1}\n  - {id: b, kind: reweigh, tolerance_kg: 0}\n",
		"version: x\ncurrency: USD\nrules:\n  - {id: a, kind: detention, free_time: 0s, increment: 168h, hourly_rate: 1, minutes: 'facts.line_count * 1000000000'}\n",
		"a: &a [*a]\n",
		"version: x\ncurrency: USD\nrules:\n  - id: a\n    kind: fuel\n    percent: |\n      [1,2,3].map(x, [x, x]).size() > 0 ? '1' : '2'\n",
		"version: x\ncurrency: USD\nrules: &r\n  - *r\n",
		"\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	full := rating.FactsFrom(loadShipment(f, "acme-ltl-reweigh.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := rating.Parse(data, "fuzz.yaml")
		if err != nil {
			if rs != nil {
				t.Fatal("got rules and an error")
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) {
				t.Fatalf("got %T %v, want joined *ParseError values", err, err)
			}
			for _, e := range joined.Unwrap() {
				var pe *rating.ParseError
				if !errors.As(e, &pe) {
					t.Fatalf("got %T %v, want *ParseError", e, e)
				}
			}
			return
		}
		for _, facts := range []rating.Facts{{}, full} {
			cs, err := rs.Rate(facts)
			var re *rating.RateError
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("Rate: got %T %v, want *RateError", err, err)
			}
			for _, c := range cs {
				if c.Amount.Minor <= 0 || c.RulesVersion != rs.Version() {
					t.Fatalf("got charge %+v", c)
				}
			}
		}
	})
}
