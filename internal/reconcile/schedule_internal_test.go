package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestBounds(t *testing.T) {
	t.Parallel()
	berlin, chicago := mustZone(t, "Europe/Berlin"), mustZone(t, "America/Chicago")
	r := &Reconciler{opts: Options{Location: time.UTC, Schedules: []Schedule{
		{Warehouse: "", Cutoff: 24 * time.Hour, Location: berlin},
		{Warehouse: "CHI", Cutoff: 20 * time.Hour, Location: chicago},
	}}}
	tests := []struct {
		date, warehouse string
		from, to        string
	}{
		// The default schedule: the calendar day in Berlin.
		{"2026-12-03", "", "2026-12-02T23:00:00Z", "2026-12-03T23:00:00Z"},
		{"2026-12-03", "AMS", "2026-12-02T23:00:00Z", "2026-12-03T23:00:00Z"},
		// Chicago's day ends at 20:00 local: 02:00 UTC the next morning.
		{"2026-12-03", "CHI", "2026-12-03T02:00:00Z", "2026-12-04T02:00:00Z"},
		// Berlin leaves summer time on 25 October 2026: a 25-hour day.
		{"2026-10-25", "", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"},
		// Chicago enters it on 8 March 2026: a 23-hour day, cut-off at 20:00 both sides.
		{"2026-03-08", "CHI", "2026-03-08T02:00:00Z", "2026-03-09T01:00:00Z"},
	}
	for _, tt := range tests {
		from, to, err := r.Bounds(tt.date, tt.warehouse)
		if err != nil {
			t.Fatalf("Bounds(%s, %q): %v", tt.date, tt.warehouse, err)
		}
		if got := from.UTC().Format(time.RFC3339); got != tt.from {
			t.Errorf("Bounds(%s, %q) from: got %s, want %s", tt.date, tt.warehouse, got, tt.from)
		}
		if got := to.UTC().Format(time.RFC3339); got != tt.to {
			t.Errorf("Bounds(%s, %q) to: got %s, want %s", tt.date, tt.warehouse, got, tt.to)
		}
	}
	if _, _, err := r.Bounds("2026-13-01", ""); err == nil {
		t.Error("Bounds of a bad date: got no error")
	}
}

func TestDue(t *testing.T) {
	t.Parallel()
	chicago := mustZone(t, "America/Chicago")
	r := &Reconciler{opts: Options{Location: time.UTC, Grace: time.Hour, CatchUp: 1, Schedules: []Schedule{
		{Warehouse: "UTC-WH", Cutoff: 24 * time.Hour, Location: time.UTC},
		{Warehouse: "CHI", Cutoff: 20 * time.Hour, Location: chicago},
	}}}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		now  string
		want []string
	}{
		// 00:30 UTC on the 4th: the UTC day of the 3rd ended half an hour
		// ago, within the grace, so the latest is the 2nd, and the catch-up
		// adds the 1st. Chicago's 3rd ends at 02:00 UTC on the 4th.
		{"2026-12-04T00:30:00Z", []string{"2026-12-01 UTC-WH", "2026-12-01 CHI", "2026-12-02 UTC-WH", "2026-12-02 CHI"}},
		{"2026-12-04T01:00:00Z", []string{"2026-12-01 CHI", "2026-12-02 UTC-WH", "2026-12-02 CHI", "2026-12-03 UTC-WH"}},
		{"2026-12-04T03:00:00Z", []string{"2026-12-02 UTC-WH", "2026-12-02 CHI", "2026-12-03 UTC-WH", "2026-12-03 CHI"}},
	}
	for _, tt := range tests {
		var got []string
		for _, d := range r.due(at(tt.now)) {
			got = append(got, d.Date+" "+d.Warehouse)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("due at %s (-want +got):\n%s", tt.now, diff)
		}
	}
}

func TestScheduleDate(t *testing.T) {
	t.Parallel()
	s := Schedule{Cutoff: 20 * time.Hour, Location: mustZone(t, "America/Chicago")}
	for in, want := range map[string]string{
		"2026-12-04T01:59:00Z": "2026-12-03", // 19:59 in Chicago on the 3rd
		"2026-12-04T02:00:00Z": "2026-12-04", // 20:00: the 4th's business day
		"2026-12-03T12:00:00Z": "2026-12-03",
	} {
		tm, _ := time.Parse(time.RFC3339, in)
		if got := s.date(tm); got != want {
			t.Errorf("date(%s): got %s, want %s", in, got, want)
		}
	}
}
