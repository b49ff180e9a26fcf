package rating_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/rating"
)

// problems returns the *ParseError values joined in err.
func problems(t *testing.T, err error) []*rating.ParseError {
	t.Helper()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("got error %v, want joined *ParseError values", err)
	}
	var out []*rating.ParseError
	for _, e := range joined.Unwrap() {
		var pe *rating.ParseError
		if !errors.As(e, &pe) {
			t.Fatalf("got %T %v, want *ParseError", e, e)
		}
		out = append(out, pe)
	}
	return out
}

func TestLoadExample(t *testing.T) {
	t.Parallel()
	rs := loadExample(t)
	if rs.Version() != "2026.03" || rs.Currency() != "USD" || rs.Len() != 18 {
		t.Errorf("got version %q, currency %q, %d rules; want 2026.03, USD, 18", rs.Version(), rs.Currency(), rs.Len())
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := rating.Load(filepath.Join("testdata", "errors.yaml"))
	if err == nil {
		t.Fatal("Load(errors.yaml): got no error")
	}
	var got []string
	for _, p := range problems(t, err) {
		got = append(got, fmt.Sprintf("%d:%d %s %s", p.Line, p.Column, p.RuleID, p.Key))
		if p.File != filepath.Join("testdata", "errors.yaml") {
			t.Errorf("got file %q, want the path given to Load", p.File)
		}
	}
	want := []string{
		"3:11  currency",
		"4:1  colour",
		"8:40 typo-fact when", // facts.wieght_kg, on the column of the field access
		"14:13 int-amount amount",
		"16:11 bad-kind kind",
		"19:10 missing-rate rate",
		"20:14 missing-rate minimum",
		"26:26 syntax when", // second line of a | block
		"26:27 syntax when",
		"27:5 typo-fact id",
		"29:16 typo-fact free_time",
		"30:16 typo-fact increment",
		"32:5 typo-fact amount",
		"35:14 both default",
		"38:11 both rate",
		"39:5  id",
		"40:11  type",
		"42:11  when",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	msg := err.Error()
	for _, s := range []string{
		`testdata/errors.yaml:8:40: rule typo-fact: when: undefined field 'wieght_kg'`,
		`rule int-amount: amount: expression gives int, want a decimal or decimal text`,
		`rule typo-fact: id: used twice; first used on line 6`,
		`rule typo-fact: amount: unknown key for a detention rule`,
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("error text lacks %q:\n%s", s, msg)
		}
	}
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	const head = "version: \"1\"\ncurrency: USD\nrules:\n"
	tests := []struct {
		name string
		src  string
		want string // the first problem, as formatted
	}{
		{name: "empty", src: "", want: "t.yaml: file is empty"},
		{name: "not a mapping", src: "- a\n", want: "t.yaml:1:1: must be a mapping with version, currency and rules"},
		{name: "YAML syntax", src: "version: [\n", want: "t.yaml:1: did not find expected node content"},
		{name: "two documents", src: head + "  - {id: a, kind: fuel, percent: 1}\n---\nx: 1\n", want: "t.yaml:5:1: a rules file holds a single YAML document"},
		{name: "missing version", src: "currency: USD\nrules:\n  - {id: a, kind: fuel, percent: 1}\n", want: "t.yaml:1:1: version: missing: every rules file has a version, recorded on every charge"},
		{name: "empty version", src: "version: ''\ncurrency: USD\nrules:\n  - {id: a, kind: fuel, percent: 1}\n", want: "t.yaml:1:10: version: must not be empty"},
		{name: "missing currency", src: "version: x\nrules:\n  - {id: a, kind: fuel, percent: 1}\n", want: "t.yaml:1:1: currency: missing: the default currency, such as USD or EUR"},
		{name: "unknown currency", src: "version: x\ncurrency: XXX\nrules:\n  - {id: a, kind: fuel, percent: 1}\n", want: `t.yaml:2:11: currency: unknown currency "XXX": want an upper-case ISO 4217 code such as USD or EUR`},
		{name: "no rules", src: "version: x\ncurrency: USD\nrules: []\n", want: "t.yaml:3:8: rules: is empty"},
		{name: "rules not a list", src: "version: x\ncurrency: USD\nrules: {}\n", want: "t.yaml:3:8: rules: must be a list of rules"},
		{name: "duplicate key", src: "version: x\nversion: y\ncurrency: USD\nrules:\n  - {id: a, kind: fuel, percent: 1}\n", want: "t.yaml:2:1: version: set twice; first set on line 1"},
		{name: "rule not a mapping", src: head + "  - fuel\n", want: "t.yaml:4:5: a rule must be a mapping with id and kind"},
		{name: "bad id", src: head + "  - {id: 'a b', kind: fuel, percent: 1}\n", want: `t.yaml:4:10: id: "a b": use letters, digits, '.', '_' and '-'`},
		{name: "missing kind", src: head + "  - {id: a, percent: 1}\n", want: "t.yaml:4:5: rule a: kind: missing: one of freight, fuel, detention, accessorial or reweigh"},
		{name: "unknown key without kind", src: head + "  - {id: a, colour: red}\n", want: "t.yaml:4:5: rule a: kind: missing: one of freight, fuel, detention, accessorial or reweigh"},
		{name: "key of another kind", src: head + "  - {id: a, kind: fuel, percent: 1, per: kg}\n", want: "t.yaml:4:37: rule a: per: unknown key for a fuel rule"},
		{name: "freight without basis", src: head + "  - {id: a, kind: freight}\n", want: "t.yaml:4:5: rule a: per: missing: a freight rule needs per and rate (per: shipment, kg, pallet or km), or amount"},
		{name: "freight both", src: head + "  - {id: a, kind: freight, per: kg, rate: 1, amount: 2}\n", want: "t.yaml:4:54: rule a: amount: a freight rule has either amount or per and rate, not both"},
		{name: "rate without per", src: head + "  - {id: a, kind: freight, rate: 1}\n", want: "t.yaml:4:34: rule a: per: missing: rate is per shipment, kg, pallet or km"},
		{name: "unknown basis", src: head + "  - {id: a, kind: freight, per: mile, rate: 1}\n", want: `t.yaml:4:33: rule a: per: unknown basis "mile": want shipment, kg, pallet or km`},
		{name: "fuel without percent", src: head + "  - {id: a, kind: fuel}\n", want: "t.yaml:4:5: rule a: percent: missing"},
		{name: "detention without free time", src: head + "  - {id: a, kind: detention, hourly_rate: 1}\n", want: "t.yaml:4:5: rule a: free_time: missing: the free time before detention is billed, such as 2h (0s for none)"},
		{name: "zero increment", src: head + "  - {id: a, kind: detention, free_time: 2h, increment: 0m, hourly_rate: 1}\n", want: "t.yaml:4:56: rule a: increment: must be positive"},
		{name: "detention minutes not int", src: head + "  - {id: a, kind: detention, free_time: 2h, hourly_rate: 1, minutes: 'decimal(\"1\")'}\n", want: "t.yaml:4:70: rule a: minutes: expression gives decimal, want int: write a whole number of minutes"},
		{name: "accessorial without type", src: head + "  - {id: a, kind: accessorial, amount: 1}\n", want: "t.yaml:4:5: rule a: type: missing: one of liftgate, residential, inside_delivery, redelivery, layover, lumper, accessorial, other"},
		{name: "accessorial linehaul type", src: head + "  - {id: a, kind: accessorial, type: linehaul, amount: 1}\n", want: `t.yaml:4:38: rule a: type: unknown type "linehaul": want one of liftgate, residential, inside_delivery, redelivery, layover, lumper, accessorial, other`},
		{name: "reweigh without tolerance", src: head + "  - {id: a, kind: reweigh}\n", want: "t.yaml:4:5: rule a: tolerance_percent: missing: a reweigh rule needs tolerance_percent, tolerance_kg or both"},
		{name: "tolerance is not CEL", src: head + "  - {id: a, kind: reweigh, tolerance_kg: 'decimal(\"1\")'}\n", want: `t.yaml:4:42: rule a: tolerance_kg: "decimal(\"1\")": not a plain decimal number (want digits with an optional sign and decimal point, such as 12.50)`},
		{name: "double amount", src: head + "  - {id: a, kind: accessorial, type: other, amount: '1.5 * 2.0'}\n", want: `t.yaml:4:53: rule a: amount: expression gives double, want a decimal or decimal text: amounts are exact decimals; write decimal(…) or decimal("12.50")`},
		{name: "int on the left", src: head + "  - {id: a, kind: accessorial, type: other, amount: '2 * decimal(\"1\")'}\n", want: `t.yaml:4:56: rule a: amount: found no matching overload for '_*_' applied to '(int, decimal)'`},
		{name: "decimal equals int", src: head + "  - {id: a, kind: fuel, percent: 1, when: 'facts.weight_kg == 3'}\n", want: `t.yaml:4:60: rule a: when: found no matching overload for '_==_' applied to '(decimal, int)'`},
		{name: "unknown function", src: head + "  - {id: a, kind: fuel, percent: 1, when: 'now() > 1'}\n", want: `t.yaml:4:47: rule a: when: undeclared reference to 'now'`},
		{name: "amount is a list", src: head + "  - {id: a, kind: accessorial, type: other, amount: [1]}\n", want: "t.yaml:4:53: rule a: amount: must be a number or a CEL expression"},
		{name: "customers not a list", src: head + "  - {id: a, kind: fuel, percent: 1, customers: x}\n", want: "t.yaml:4:48: rule a: customers: must be a non-empty list of customer refs"},
		{name: "default not bool", src: head + "  - {id: a, kind: fuel, percent: 1, default: yes}\n", want: "t.yaml:4:46: rule a: default: must be true or false"},
		{name: "code too long", src: head + "  - {id: a, kind: fuel, percent: 1, code: " + strings.Repeat("X", 33) + "}\n", want: "t.yaml:4:43: rule a: code: is longer than 32 characters"},
		{name: "multi-line quoted expression", src: head + "  - id: a\n    kind: fuel\n    percent: 1\n    when: \"facts.x\n      > 1\"\n", want: "t.yaml:7: rule a: when: undefined field 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, err := rating.Parse([]byte(tt.src), "t.yaml")
			if err == nil {
				t.Fatalf("got rules %v, want an error", rs)
			}
			if rs != nil {
				t.Errorf("got rules with an error")
			}
			ps := problems(t, err)
			if got := ps[0].Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s\n(all: %v)", got, tt.want, err)
			}
		})
	}
}

func TestParseAcceptsNumbersAndExpressions(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: 2026.10     # a number, kept as written
currency: EUR
description: number forms
rules:
  - {id: int, kind: accessorial, type: other, customers: [int], amount: 12}
  - {id: float, kind: accessorial, type: other, customers: [float], amount: 12.50}
  - {id: quoted, kind: accessorial, type: other, customers: [quoted], amount: "12.50"}
  - {id: text, kind: accessorial, type: other, customers: [text], amount: '"12.50"'}
  - {id: decimal, kind: accessorial, type: other, customers: [decimal], amount: 'decimal("12.5")'}
  - {id: anchored, kind: accessorial, type: other, customers: [anchored], amount: &price 12.5}
  - {id: alias, kind: accessorial, type: other, customers: [alias], amount: *price}
`)
	if rs.Version() != "2026.10" {
		t.Errorf("got version %q, want 2026.10 as written", rs.Version())
	}
	for _, c := range []string{"int", "float", "quoted", "text", "decimal", "anchored", "alias"} {
		cs, err := rs.Rate(rating.Facts{CustomerRef: c})
		want := "12.50 EUR"
		if c == "int" {
			want = "12.00 EUR"
		}
		if err != nil || len(cs) != 1 || cs[0].Amount.String() != want {
			t.Errorf("%s: got %v, %v; want %s", c, summary(cs), err, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := rating.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want os.ErrNotExist", err)
	}
}

// TestParseConcurrently parses rules files on several goroutines at once,
// some with an undeclared name (which makes CEL build its catalog of
// names for the message) and some with comprehensions (which copy the
// checker's environment). Under the race detector it failed while the
// files shared one CEL environment.
func TestParseConcurrently(t *testing.T) {
	t.Parallel()
	const head = "version: \"1\"\ncurrency: USD\nrules:\n"
	good := head + "  - {id: a, kind: fuel, percent: 1, when: 'facts.exceptions.exists(e, e.category in [\"refused\"])'}\n"
	bad := head + "  - {id: a, kind: fuel, percent: 1, when: 'facts.exceptions.exists(e, nosuch(e))'}\n"
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 20 {
				if g%2 == 0 {
					if _, err := rating.Parse([]byte(good), "t.yaml"); err != nil {
						t.Errorf("good file: %v", err)
						return
					}
				} else if _, err := rating.Parse([]byte(bad), "t.yaml"); err == nil || !strings.Contains(err.Error(), "undeclared reference to 'nosuch'") {
					t.Errorf("bad file: got %v, want an undeclared reference", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
