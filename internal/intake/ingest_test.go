package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func validator(t testing.TB) *event.Validator {
	t.Helper()
	v, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const planned = `{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}}]}`

func raw(id, subject, at string) []byte {
	return []byte(fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":"shipment.planned","subject":%q,"time":%q,"data":%s}`, id, subject, at, planned))
}

func TestParse(t *testing.T) {
	t.Parallel()
	v := validator(t)
	tests := []struct {
		name     string
		body     string
		hints    intake.Hints
		pointers []string
		corr     string
	}{
		{name: "valid with offset", body: string(raw("a", "odoo:WH/OUT/1", "2026-11-26T08:00:00+01:00"))},
		{name: "not json", body: `{`, pointers: []string{""}},
		{name: "array", body: `[]`, pointers: []string{""}},
		{name: "envelope problems all at once",
			body:     `{"specversion":"0.3","source":"","type":"nope","subject":"a b","time":"yesterday","data":{}}`,
			pointers: []string{"/specversion", "/id", "/source", "/subject", "/type", "/time"}},
		{name: "id of wrong type", body: `{"specversion":"1.0","id":5}`, pointers: []string{"/id"}},
		{name: "no offset", body: `{"specversion":"1.0","id":"a","source":"s","type":"shipment.cancelled","subject":"x:1","time":"2026-11-26T08:00:00","data":{}}`, pointers: []string{"/time"}},
		{name: "data errors located", body: `{"specversion":"1.0","id":"a","source":"s","type":"shipment.planned","subject":"x:1","time":"2026-11-26T08:00:00Z","data":{"origin":{"name":"x"},"destination":{"name":"y"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"-1","unit":"C62"}}]}}`,
			pointers: []string{"/data/customer", "/data/lines/0/quantity/value"}},
		{name: "correlationid wins", body: `{"specversion":"1.0","id":"a","source":"s","type":"shipment.cancelled","subject":"x:1","time":"2026-11-26T08:00:00Z","correlationid":"c-1","data":{}}`,
			hints: intake.Hints{CorrelationID: "header"}, corr: "c-1"},
		{name: "traceparent header before X-Correlation-ID", body: `{"specversion":"1.0","id":"a","source":"s","type":"shipment.cancelled","subject":"x:1","time":"2026-11-26T08:00:00Z","data":{}}`,
			hints: intake.Hints{Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", CorrelationID: "header"}, corr: "4bf92f3577b34da6a3ce929d0e0e4736"},
		{name: "header correlation", body: `{"specversion":"1.0","id":"a","source":"s","type":"shipment.cancelled","subject":"x:1","time":"2026-11-26T08:00:00Z","data":{}}`,
			hints: intake.Hints{CorrelationID: "header"}, corr: "header"},
		{name: "a number too large to check", body: `{"specversion":"1.0","id":"a","source":"s","type":"shipment.planned","subject":"x:1","time":"2026-11-26T08:00:00Z","data":{"customer":{"name":"c"},"origin":{"lat":1e1000000},"destination":{"name":"y"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}}]}}`,
			pointers: []string{"/data"}},
		{name: "binary data refused", body: `{"specversion":"1.0","id":"a","source":"s","type":"shipment.cancelled","subject":"x:1","time":"2026-11-26T08:00:00Z","data_base64":"AAAA"}`,
			pointers: []string{"/data_base64", "/data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := intake.Parse([]byte(tt.body), v, tt.hints)
			if tt.pointers == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tt.corr != "" && ev.CorrelationID != tt.corr {
					t.Errorf("got correlation id %q, want %q", ev.CorrelationID, tt.corr)
				}
				if ev.CorrelationID == "" || ev.ID == "" || ev.Hash == "" {
					t.Errorf("missing ids: %+v", ev)
				}
				return
			}
			wantPointers(t, err, tt.pointers)
		})
	}
}

// wantPointers checks that err is an *InvalidError locating its problems at
// want.
func wantPointers(t *testing.T, err error, want []string) {
	t.Helper()
	var ie *intake.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want *InvalidError", err)
	}
	var got []string
	for _, fe := range ie.Errors {
		got = append(got, fe.Pointer)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pointers (-want +got):\n%s\n%v", diff, ie.Errors)
	}
}

func TestParseKeepsOffsetAndUTC(t *testing.T) {
	t.Parallel()
	ev, err := intake.Parse(raw("a", "x:1", "2026-11-26T08:00:00.5+01:00"), validator(t), intake.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.Time.Format("2006-01-02T15:04:05.999Z07:00"), "2026-11-26T07:00:00.5Z"; got != want {
		t.Errorf("got time %s, want %s", got, want)
	}
	var back map[string]any
	if err := json.Unmarshal(ev.Body, &back); err != nil || back["id"] != "a" {
		t.Errorf("stored body is not the event: %v %s", err, ev.Body)
	}
	if ev.Offset != 3600 {
		t.Errorf("got offset %d, want 3600", ev.Offset)
	}
}

// TestConcurrentDuplicates sends the same events from many goroutines at
// once through the group committer: each is stored exactly once, every
// caller gets the same receipt, and a changed payload is a conflict.
func TestConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		v := validator(t)
		backlog := &intake.Backlog{}
		store := intake.NewStore(db, backlog)
		c := intake.NewCommitter(store, &intake.CommitterOptions{MaxGroup: 64})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })

		const events, copies = 20, 8
		var mu sync.Mutex
		receipts := map[string]map[string]int{} // source id → event id → count
		dups := 0
		var wg sync.WaitGroup
		for i := range events {
			for range copies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ev, err := intake.Parse(raw(fmt.Sprint("ev-", i), fmt.Sprint("x:", i), "2026-11-26T08:00:00Z"), v, intake.Hints{})
					if err != nil {
						t.Error(err)
						return
					}
					res, err := c.Submit(t.Context(), []*intake.Event{ev})
					if err != nil || res[0].Err != nil {
						t.Errorf("submit: %v %v", err, res)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if receipts[ev.SourceID] == nil {
						receipts[ev.SourceID] = map[string]int{}
					}
					receipts[ev.SourceID][res[0].EventID]++
					if res[0].Duplicate {
						dups++
					}
				}()
			}
		}
		wg.Wait()
		for id, r := range receipts {
			if len(r) != 1 {
				t.Errorf("%s got %d different receipts, want 1: %v", id, len(r), r)
			}
		}
		if want := events * (copies - 1); dups != want {
			t.Errorf("got %d duplicates, want %d", dups, want)
		}
		n, err := store.CountPending(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n != events || backlog.Load() != events {
			t.Errorf("stored %d events (backlog %d), want %d", n, backlog.Load(), events)
		}

		// Same key, other payload: a conflict, in a batch as in a single call,
		// and within one group.
		other, _ := intake.Parse(raw("ev-0", "x:other", "2026-11-26T08:00:00Z"), v, intake.Hints{})
		fresh1, _ := intake.Parse(raw("new", "x:new", "2026-11-26T08:00:00Z"), v, intake.Hints{})
		fresh2, _ := intake.Parse(raw("new", "x:new-other", "2026-11-26T08:00:00Z"), v, intake.Hints{})
		fresh3, _ := intake.Parse(raw("new", "x:new", "2026-11-26T08:00:00Z"), v, intake.Hints{})
		res, err := c.Submit(t.Context(), []*intake.Event{other, fresh1, fresh2, fresh3})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(res[0].Err, intake.ErrConflict) {
			t.Errorf("changed payload: got %+v, want a conflict", res[0])
		}
		if res[1].Err != nil || res[1].Duplicate {
			t.Errorf("fresh event: got %+v, want accepted", res[1])
		}
		if !errors.Is(res[2].Err, intake.ErrConflict) {
			t.Errorf("same key twice in one group with another payload: got %+v, want a conflict", res[2])
		}
		if res[3].Err != nil || !res[3].Duplicate || res[3].EventID != res[1].EventID {
			t.Errorf("same event twice in one group: got %+v, want a duplicate of %s", res[3], res[1].EventID)
		}
	})
}

// envelope builds a CloudEvent with the given JSON-encoded fields.
func envelope(id, source, subject, at, data string) []byte {
	return []byte(`{"specversion":"1.0","id":` + id + `,"source":` + source + `,"type":"shipment.cancelled","subject":` + subject +
		`,"time":` + at + `,"data":` + data + `}`)
}

// TestParseRefusesWhatStorageCannotHold covers text a database cannot
// store as given: it is refused at validation, on both engines alike.
func TestParseRefusesWhatStorageCannotHold(t *testing.T) {
	t.Parallel()
	v := validator(t)
	const at = `"2026-11-26T08:00:00Z"`
	tests := []struct {
		name     string
		body     []byte
		pointers []string
	}{
		{"NUL in id", envelope(`"a\u0000b"`, `"s"`, `"x:1"`, at, `{}`), []string{"/id"}},
		{"NUL in source", envelope(`"a"`, `"s\u0000"`, `"x:1"`, at, `{}`), []string{"/source"}},
		{"NUL in subject", envelope(`"a"`, `"s"`, `"x:\u00001"`, at, `{}`), []string{"/subject"}},
		{"NUL in data", envelope(`"a"`, `"s"`, `"x:1"`, at, `{"reason":"x\u0000"}`), []string{"/data"}},
		{"NUL in an extension attribute", []byte(`{"specversion":"1.0","id":"a","source":"s","type":"shipment.cancelled","subject":"x:1","time":` + at + `,"ext":"\u0000","data":{}}`), []string{""}},
		{"invalid UTF-8 in id", envelope("\"a\xff\"", `"s"`, `"x:1"`, at, `{}`), []string{""}},
		{"invalid UTF-8 in data", envelope(`"a"`, `"s"`, `"x:1"`, at, "{\"reason\":\"\xc3\x28\"}"), []string{""}},
		{"an escaped backslash before u0000 is text", envelope(`"a\\u0000"`, `"s"`, `"x:1"`, at, `{"reason":"\\\\u0000"}`), nil},
		{"three backslashes are an escaped backslash and a NUL", envelope(`"a\\\u0000"`, `"s"`, `"x:1"`, at, `{}`), []string{"/id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := intake.Parse(tt.body, v, intake.Hints{})
			if tt.pointers == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			wantPointers(t, err, tt.pointers)
		})
	}
}

// TestParseSenders checks that the types only Waybill emits are refused
// from outside and accepted from Waybill's own producers.
func TestParseSenders(t *testing.T) {
	t.Parallel()
	v := validator(t)
	own := &intake.Parser{Validator: v, Internal: true}
	for _, typ := range event.Types() {
		body := []byte(`{"specversion":"1.0","id":"a","source":"s","type":"` + string(typ) + `","subject":"x:1","time":"2026-11-26T08:00:00Z","data":{}}`)
		_, err := intake.Parse(body, v, intake.Hints{})
		var fe *intake.ForbiddenTypeError
		if got := errors.As(err, &fe); got == typ.External() {
			t.Errorf("%s from outside: got %v, want forbidden = %v", typ, err, !typ.External())
		}
		if _, err := own.Parse(body, intake.Hints{}); errors.As(err, &fe) {
			t.Errorf("%s from Waybill: got %v, want no ForbiddenTypeError", typ, err)
		}
	}
}

func TestParseTimeWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	p := &intake.Parser{Validator: validator(t), Window: intake.TimeWindow{Past: 365 * 24 * time.Hour, Future: 24 * time.Hour},
		NowFunc: func() time.Time { return now }}
	for _, tt := range []struct {
		at string
		ok bool
	}{
		{"0001-01-01T00:00:00Z", false},
		{"9999-12-31T23:59:59Z", false},
		{"2025-12-04T11:59:59Z", false},
		{"2025-12-04T12:00:01Z", true},
		{"2026-12-05T12:00:00+01:00", true},
		{"2026-12-05T12:00:01Z", false},
	} {
		_, err := p.Parse(envelope(`"a"`, `"s"`, `"x:1"`, `"`+tt.at+`"`, `{}`), intake.Hints{})
		var ie *intake.InvalidError
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.at, err)
		case !tt.ok && (!errors.As(err, &ie) || ie.Errors[0].Pointer != "/time"):
			t.Errorf("%s: got %v, want a problem at /time", tt.at, err)
		}
	}
}

func TestParseChecksTraceparentAttribute(t *testing.T) {
	t.Parallel()
	body := []byte(`{"specversion":"1.0","id":"a","source":"s","type":"shipment.cancelled","subject":"x:1","time":"2026-11-26T08:00:00Z","correlationid":"c-1","traceparent":"00-XYZ","data":{}}`)
	_, err := intake.Parse(body, validator(t), intake.Hints{})
	var ie *intake.InvalidError
	if !errors.As(err, &ie) || ie.Errors[0].Pointer != "/traceparent" {
		t.Fatalf("got %v, want a problem at /traceparent", err)
	}
}

// TestParseDecodesWhatTheSchemaAccepts checks that data the schema takes
// is also decoded for the workflow, such as money written 38500.0.
func TestParseDecodesWhatTheSchemaAccepts(t *testing.T) {
	t.Parallel()
	v := validator(t)
	body := `{"specversion":"1.0","id":"a","source":"s","type":"charges.reported","subject":"x:1","time":"2026-11-26T08:00:00Z",` +
		`"data":{"charges":[{"code":"400","amount":{"minor":38500.0,"currency":"EUR"}}],"total":{"minor":3.85e4,"currency":"EUR"}}}`
	ev, err := intake.Parse([]byte(body), v, intake.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := ev.Decoded.(*event.ChargesReportedData)
	if !ok || len(d.Charges) != 1 || d.Charges[0].Amount.Minor != 38500 || d.Total == nil || d.Total.Minor != 38500 {
		t.Fatalf("decoded %#v", ev.Decoded)
	}
}
