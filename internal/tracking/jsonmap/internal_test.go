package jsonmap

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/tracking"
)

func TestReadTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       any
		epoch    int
		want     string // UTC instant, or the local reading when zoneless
		zoneless bool
		tz       string
		source   string
	}{
		{"2025-11-11T20:14:00Z", epochDefault, "2025-11-11T20:14:00Z", false, "UTC", tracking.TZOffset},
		{"2025-11-11T17:02:00+01:00", epochDefault, "2025-11-11T16:02:00Z", false, "+01:00", tracking.TZOffset},
		{"2025-11-11T15:02:00-0800", epochDefault, "2025-11-11T23:02:00Z", false, "-08:00", tracking.TZOffset},
		{"2025-11-11T15:02:00.250-0800", epochDefault, "2025-11-11T23:02:00.25Z", false, "-08:00", tracking.TZOffset},
		{"2025-11-11 15:02:00 -0800", epochDefault, "2025-11-11T23:02:00Z", false, "-08:00", tracking.TZOffset},
		{"2025-11-11T17:02+01", epochDefault, "2025-11-11T16:02:00Z", false, "+01:00", tracking.TZOffset},
		{"2025-11-11T14:00:05+0000", epochDefault, "2025-11-11T14:00:05Z", false, "+00:00", tracking.TZOffset},
		{"2025-11-12 16:40:00", epochDefault, "2025-11-12T16:40:00Z", true, "", ""},
		{"2025-11-12T16:40", epochDefault, "2025-11-12T16:40:00Z", true, "", ""},
		{json.Number("1763040340"), epochDefault, "2025-11-13T13:25:40Z", false, "UTC", tracking.TZUTC},
		{json.Number("1763040340.5"), epochDefault, "2025-11-13T13:25:40.5Z", false, "UTC", tracking.TZUTC},
		{"1763040340", epochSeconds, "2025-11-13T13:25:40Z", false, "UTC", tracking.TZUTC},
		{"1763040340000", epochMillis, "2025-11-13T13:25:40Z", false, "UTC", tracking.TZUTC},
		{int64(1763040340), epochDefault, "2025-11-13T13:25:40Z", false, "UTC", tracking.TZUTC},
		{time.Date(2025, 11, 13, 14, 25, 40, 0, time.FixedZone("x", 3600)), epochDefault, "2025-11-13T13:25:40Z", false, "UTC", tracking.TZUTC},
	}
	for _, tt := range tests {
		rd, err := readTime(tt.in, tt.epoch)
		if err != nil {
			t.Errorf("readTime(%v): %v", tt.in, err)
			continue
		}
		got := rd.instant
		if rd.zoneless {
			got = rd.local
		}
		if g := got.UTC().Format(time.RFC3339Nano); g != tt.want || rd.zoneless != tt.zoneless || rd.tz != tt.tz || rd.source != tt.source {
			t.Errorf("readTime(%v) = %s zoneless=%v %s (%s), want %s zoneless=%v %s (%s)", tt.in, g, rd.zoneless, rd.tz, rd.source, tt.want, tt.zoneless, tt.tz, tt.source)
		}
	}
	for _, bad := range []any{"", "13/11/2025", "1763040340", "2025-11-12", "2025-11-12T25:00:00Z", json.Number("-1"), json.Number("1e12"), true, map[string]any{}} {
		if rd, err := readTime(bad, epochDefault); err == nil {
			t.Errorf("readTime(%v) = %+v, want an error", bad, rd)
		}
	}
}

func TestPointer(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"a": map[string]any{"b/c": []any{"x", "y"}, "m~n": "z", "": "empty"}, "n": nil}
	tests := []struct {
		ptr  string
		root int
		want any
		abs  string // from the element /events/3
	}{
		{"/a/b~1c/1", rootElement, "y", "/events/3/a/b~1c/1"},
		{"/a/m~0n", rootElement, "z", "/events/3/a/m~0n"},
		{"/a/", rootElement, "empty", "/events/3/a/"},
		{"/a/b~1c/01", rootElement, nil, "/events/3/a/b~1c/01"},
		{"/a/b~1c/2", rootElement, nil, "/events/3/a/b~1c/2"},
		{"/a/b~1c/-", rootElement, nil, "/events/3/a/b~1c/-"},
		{"/a/m~0n/x", rootElement, nil, "/events/3/a/m~0n/x"},
		{"/n", rootElement, nil, "/events/3/n"},
		{"$/a/m~0n", rootPayload, "z", "/a/m~0n"},
		{"$", rootPayload, doc, ""},
		{"$stop/a", rootVar, nil, ""},
	}
	for _, tt := range tests {
		p, err := parsePointer(tt.ptr)
		if err != nil {
			t.Errorf("parsePointer(%q): %v", tt.ptr, err)
			continue
		}
		if p.root != tt.root {
			t.Errorf("parsePointer(%q).root = %d, want %d", tt.ptr, p.root, tt.root)
		}
		if p.root != rootVar {
			if diff := cmp.Diff(tt.want, p.walk(doc)); diff != "" {
				t.Errorf("walk(%q) (-want +got):\n%s", tt.ptr, diff)
			}
		}
		if got := p.absolute("/events/3", true); got != tt.abs {
			t.Errorf("absolute(%q) = %q, want %q", tt.ptr, got, tt.abs)
		}
	}
	for _, bad := range []string{"/a~", "/a~2", "$a b/x", "$1x/a"} {
		if _, err := parsePointer(bad); err == nil {
			t.Errorf("parsePointer(%q) succeeded, want an error", bad)
		}
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	if digest("a", "b") == digest("ab") || digest("a", "") == digest("a") {
		t.Error("digests of different part lists collide")
	}
	if got := len(digest("x")); got != 32 {
		t.Errorf("digest length %d, want 32", got)
	}
}
