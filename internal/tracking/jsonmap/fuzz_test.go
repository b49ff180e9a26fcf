package jsonmap_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

// FuzzApply runs the built-in mappings and the testdata ones over
// arbitrary payloads. Apply must never panic; a failure must be a
// *JSONError or a *ValidationError with no events; a success must give
// valid, sorted events with distinct ids that marshal. Seeds are the
// webhook and negative fixtures.
func FuzzApply(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatalf("listing fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatalf("reading fixture: %v", err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "null", "[]", "{}", `{"events": null}`, `{"result": {"tracking_details": [1, "x", null]}}`} {
		f.Add([]byte(s))
	}
	type target struct {
		m *jsonmap.Mapping
		p *tracking.Partner
	}
	var targets []target
	for _, name := range jsonmap.Builtins() {
		targets = append(targets, target{mapping(f, name), nil})
	}
	for _, c := range fixtureCases[3:] {
		targets = append(targets, target{mapping(f, c.mapping), c.partner})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return // bound the work per input
		}
		for _, tg := range targets {
			got, err := tg.m.Apply(data, tg.p)
			if err != nil {
				var je *jsonmap.JSONError
				var ve *jsonmap.ValidationError
				switch {
				case errors.As(err, &je):
					if !errors.Is(err, jsonmap.ErrInvalidJSON) || je.Line < 1 || je.Column < 1 {
						t.Fatalf("%s: bad JSONError %+v", tg.m.Format(), je)
					}
				case errors.As(err, &ve):
					if len(ve.Problems) == 0 {
						t.Fatalf("%s: ValidationError without problems", tg.m.Format())
					}
				default:
					t.Fatalf("%s: error %v is %T, want *JSONError or *ValidationError", tg.m.Format(), err, err)
				}
				if len(got.Events) != 0 || got.Dropped != 0 {
					t.Fatalf("%s: error %v with a result", tg.m.Format(), err)
				}
				continue
			}
			ids := map[string]bool{}
			for i, ev := range got.Events {
				if err := ev.Validate(); err != nil {
					t.Fatalf("%s: event %d: %v", tg.m.Format(), i, err)
				}
				if ids[ev.SourceEventID] {
					t.Fatalf("%s: id %s twice", tg.m.Format(), ev.SourceEventID)
				}
				ids[ev.SourceEventID] = true
				if i > 0 {
					prev := got.Events[i-1]
					if c := prev.OccurredAt.Compare(ev.OccurredAt); c > 0 || c == 0 && prev.SourceEventID > ev.SourceEventID {
						t.Fatalf("%s: events %d and %d out of order", tg.m.Format(), i-1, i)
					}
				}
			}
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("%s: marshalling the result: %v", tg.m.Format(), err)
			}
		}
	})
}

// FuzzLoad checks that Load never panics and that every failure is made
// of *LoadError values. Seeds are the mapping files.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatalf("listing mappings: %v", err)
	}
	builtin, err := filepath.Glob(filepath.Join("mappings", "*.yaml"))
	if err != nil {
		f.Fatalf("listing mappings: %v", err)
	}
	for _, name := range append(files, builtin...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatalf("reading mapping: %v", err)
		}
		f.Add(b)
	}
	f.Add([]byte(strings.Join(baseMapping, "\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return
		}
		m, err := jsonmap.Load(data)
		if err != nil {
			if m != nil {
				t.Fatal("Load returned a mapping with an error")
			}
			if len(jsonmap.LoadErrors(err)) == 0 {
				t.Fatalf("error %v holds no *LoadError", err)
			}
			return
		}
		// A mapping that loads must apply to a fixture without panicking.
		if _, err := m.Apply([]byte(`{"a": [1, {"b": "2025-11-13T19:48:00Z"}]}`), nil); err != nil {
			var ve *jsonmap.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Apply error %v is %T, want *ValidationError", err, err)
			}
		}
	})
}
