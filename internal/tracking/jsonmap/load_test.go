package jsonmap_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

// baseMapping is a valid mapping; the cases below change one line of it.
var baseMapping = []string{
	"format: json",                     // 1
	"vars:",                            // 2
	"  tn: payload.shipment.tn",        // 3
	"events:",                          // 4
	"  - from: /events",                // 5
	"    id: /id",                      // 6
	"    keys: {tracking_number: $tn}", // 7
	"    status:",                      // 8
	"      code: /code",                // 9
	"      table: {A: delivered, B: {status: exception, exception: damaged}}", // 10
	"    time: /at", // 11
}

// withLine returns baseMapping with line n (1-based) replaced by s, or
// with s inserted before it when insert is true.
func withLine(n int, s string, insert bool) string {
	lines := append([]string(nil), baseMapping...)
	if insert {
		lines = append(lines[:n-1], append([]string{s}, lines[n-1:]...)...)
	} else {
		lines[n-1] = s
	}
	return strings.Join(lines, "\n") + "\n"
}

type at struct {
	Line int
	Path string
}

func loadErrors(t *testing.T, src string) []at {
	t.Helper()
	m, err := jsonmap.Load([]byte(src))
	if err == nil {
		t.Fatalf("Load succeeded, want an error")
	}
	if m != nil {
		t.Errorf("Load returned a mapping with an error")
	}
	les := jsonmap.LoadErrors(err)
	if len(les) == 0 {
		t.Fatalf("Load error %v holds no *LoadError", err)
	}
	var got []at
	for _, le := range les {
		got = append(got, at{le.Line, le.Path})
	}
	return got
}

func TestLoadValid(t *testing.T) {
	t.Parallel()
	m, err := jsonmap.Load([]byte(withLine(1, "format: json", false)))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got, err := m.Apply([]byte(`{"shipment": {"tn": "T1"}, "events": [{"id": "e1", "code": "B", "at": "2025-11-13T19:48:00Z"}]}`), nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(got.Events) != 1 || got.Events[0].Exception == nil || got.Events[0].Exception.Type != "damaged" {
		t.Errorf("Apply = %+v, want one exception event of type damaged", got)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []at
		cel  bool // the error wraps CEL's issues
	}{
		{"unknown top-level key", withLine(2, "colour: red", true), []at{{2, "colour"}}, false},
		{"unknown block key", withLine(11, "    colour: red", true), []at{{11, "events[0].colour"}}, false},
		{"repeated key", withLine(7, "    id: /other", true), []at{{7, "events[0].id"}}, false},
		{"bad pointer escape", withLine(6, "    id: /a~2b", false), []at{{6, "events[0].id"}}, false},
		{"pointer to an undefined var", withLine(6, "    id: $nope/x", false), []at{{6, "events[0].id"}}, false},
		{"element pointer outside a block", withLine(3, "  tn: /shipment/tn", false), []at{{3, "vars.tn"}}, false},
		{"CEL syntax error", withLine(6, "    id: 'event.id +'", false), []at{{6, "events[0].id"}}, true},
		{"CEL undeclared name", withLine(6, "    id: evnt.id", false), []at{{6, "events[0].id"}}, true},
		{"CEL operand types", withLine(6, "    id: 'index + \"x\"'", false), []at{{6, "events[0].id"}}, true},
		{"CEL result type", withLine(6, "    id: 'index > 1'", false), []at{{6, "events[0].id"}}, false},
		{"when not a boolean", withLine(6, "    when: '\"yes\"'", true), []at{{6, "events[0].when"}}, false},
		{"unknown canonical status", withLine(10, "      table: {A: delivred}", false), []at{{10, "events[0].status.table.A"}}, false},
		{"unknown status in an entry", withLine(10, "      table: {A: {status: lost}}", false), []at{{10, "events[0].status.table.A.status"}}, false},
		{"unknown default status", withLine(11, "      default: pending", true), []at{{11, "events[0].status.default"}}, false},
		{"unknown kind in an entry", withLine(10, "      table: {A: {kind: notes}}", false), []at{{10, "events[0].status.table.A.kind"}}, false},
		{"unknown exception type", withLine(10, "      table: {A: {status: exception, exception: broken}}", false), []at{{10, "events[0].status.table.A.exception"}}, false},
		{"status on a note", withLine(10, "      table: {A: {kind: note, status: delivered}}", false), []at{{10, "events[0].status.table.A"}}, false},
		{"milestone entry without status", withLine(10, "      table: {A: {substatus: x}}", false), []at{{10, "events[0].status.table.A"}}, false},
		{"unknown block kind", withLine(6, "    kind: milstone", true), []at{{6, "events[0].kind"}}, false},
		{"unknown weight unit", withLine(11, "    weights: [{value: /w, unit: pounds}]", true), []at{{11, "events[0].weights[0].unit"}}, false},
		{"unknown epoch unit", withLine(11, "    time: {value: /at, epoch: us}", false), []at{{11, "events[0].time.epoch"}}, false},
		{"location_zone not a boolean", withLine(11, "    time: {value: /at, location_zone: maybe}", false), []at{{11, "events[0].time.location_zone"}}, false},
		{"from is an expression", withLine(5, "  - from: payload.events", false), []at{{5, "events[0].from"}}, false},
		{"reserved var name", withLine(4, "  event: payload.shipment", true), []at{{4, "vars.event"}}, false},
		{"repeated var name", withLine(4, "  tn: payload.tn", true), []at{{4, "vars.tn"}}, false},
		{"missing time", withLine(11, "    pieces: /n", false), []at{{5, "events[0]"}}, false},
		{"missing status", strings.Join(append(baseMapping[:7:7], baseMapping[10]), "\n"), []at{{5, "events[0]"}}, false},
		{"missing format", withLine(1, "description: x", false), []at{{1, ""}}, false},
		{"merge key", withLine(7, "    <<: {pieces: /n}", true), []at{{7, "events[0].<<"}}, false},
		{"value is a mapping", withLine(6, "    id: {pointer: /id}", false), []at{{6, "events[0].id"}}, false},
		{"YAML syntax", "format: json\nevents: [\n  - from: /a\n", []at{{2, ""}}, false},
		{"empty file", "", []at{{0, ""}}, false},
		{"two documents", withLine(1, "format: json", false) + "---\nformat: json\n", []at{{12, ""}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := loadErrors(t, tt.src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				_, err := jsonmap.Load([]byte(tt.src))
				t.Errorf("errors at (-want +got):\n%s\nerror: %v", diff, err)
			}
			_, err := jsonmap.Load([]byte(tt.src))
			var le *jsonmap.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *LoadError", err)
			}
			if hasCEL := le.Err != nil; tt.cel && !hasCEL {
				t.Errorf("error %v does not wrap CEL's issues", le)
			}
		})
	}
}

// TestLoadAllErrorsAtOnce checks that Load reports every problem, in line
// order.
func TestLoadAllErrorsAtOnce(t *testing.T) {
	t.Parallel()
	src := strings.Join([]string{
		"format: json",      // 1
		"events:",           // 2
		"  - from: /events", // 3
		"    id: /a~9",      // 4 bad pointer
		"    keys: {tracking_number: /tn, sku: /s}", // 5 unknown key
		"    status:",                 // 6
		"      code: 'index + \"x\"'", // 7 CEL type error
		"      table: {A: shipped}",   // 8 unknown status
		"    time: 'event.at +'",      // 9 CEL syntax error
		"    kind: 'index > 1'",       // 10 CEL result type
		"",
	}, "\n")
	got := loadErrors(t, src)
	want := []at{
		{4, "events[0].id"},
		{5, "events[0].keys.sku"},
		{7, "events[0].status.code"},
		{8, "events[0].status.table.A"},
		{9, "events[0].time"},
		{10, "events[0].kind"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors at (-want +got):\n%s", diff)
	}
	for _, a := range want {
		_, err := jsonmap.Load([]byte(src))
		if !strings.Contains(err.Error(), fmt.Sprintf("line %d: %s", a.Line, a.Path)) {
			t.Errorf("joined error does not mention line %d: %v", a.Line, err)
		}
	}
}

// TestLoadAliasBomb checks that aliases cannot blow a mapping up: 300
// aliases of a block with 300 aliased weights would be 90000 weights.
func TestLoadAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("format: json\nevents:\n  - &b\n    keys: {pro: /p}\n    status: /s\n    time: /t\n    weights: [&w {value: /w}")
	b.WriteString(strings.Repeat(", *w", 299))
	b.WriteString("]\n")
	b.WriteString(strings.Repeat("  - *b\n", 299))
	_, err := jsonmap.Load([]byte(b.String()))
	les := jsonmap.LoadErrors(err)
	if len(les) != 1 || !strings.HasPrefix(les[0].Path, "events[") {
		t.Fatalf("Load gave %d errors, want only the size limit: %v", len(les), err)
	}
}
