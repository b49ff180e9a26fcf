package edifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/waybill/waybill/internal/tracking"
)

// FuzzParse checks that Parse, Statuses and MapIFTSTA never panic, that a
// failure is always a classified *Error with no interchange or events, and
// that a success satisfies the envelope invariants and gives valid events.
// It also checks split against the plain splitReference, with the defaults
// or the delimiters of a valid UNA. Seeds are every fixture in testdata
// (EDIFACT and X12, valid and broken) plus a few edge cases.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.edi"))
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
	for _, s := range []string{"", "UNA", "UNA:+.? '", "UNA:+.? 'UNB'", "?", "'''", "UNB+UNOC:3+A+B+1:2+R'UNZ+0+R'"} {
		f.Add([]byte(s))
	}
	for _, body := range []string{
		"CNI+1+C1'STS+1+1+7+14'DTM+334:20251112151005?+01?:00:304'LOC+175+NLRTM:139:6:Rotterdam'FTX+DEL+++SIGNED BY A'",
		"LOC+5+DEDUI::6'NAD+CA+X'CNI+1+C1'LOC+8+NLRTM::6'STS+1+24'RFF+CU:R'DTM+334:202511121000:203'GID+1'MEA+WT+G+KGM:12.5'",
		"CNI+1'STS+1+21'RFF+BM:B'DTM+334:202511121000UTC:303'EQD+CN+C'MEA+AAE+T+LBR:1'",
	} {
		f.Add(interchange("", body))
		f.Add(interchange("UNA:+,? '", body))
	}
	partners := []*tracking.Partner{nil, {
		Zone:         "Europe/Amsterdam",
		StatusCodes:  map[string]tracking.Status{"24": tracking.PickedUp, "99": tracking.StatusException, "98": "not canonical"},
		ReasonCodes:  map[string]string{"7": "hold"},
		SignerRemark: "POD",
	}}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, body := defaultDelimiters(), data
		if len(data) >= 9 && string(data[:3]) == "UNA" {
			if una, err := readUNA(data); err == nil {
				d, body = una, data[9:]
			}
		}
		got, gotErr := split(body, d)
		want, wantErr := splitReference(body, d)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("split error %v, reference error %v", gotErr, wantErr)
		}
		if gotErr == nil && !cmp.Equal(got, want, cmpopts.EquateEmpty()) {
			t.Fatalf("split differs from the reference:\n%s", cmp.Diff(want, got, cmpopts.EquateEmpty()))
		}

		ic, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrEnvelope) {
				t.Fatalf("error %v wraps neither ErrSyntax nor ErrEnvelope", err)
			}
			if ic != nil {
				t.Fatalf("Parse returned an interchange with error %v", err)
			}
			return
		}
		for i := range ic.Messages {
			m := &ic.Messages[i]
			n := len(m.Segments)
			if n < 2 || m.Segments[0].Tag != "UNH" || m.Segments[n-1].Tag != "UNT" {
				t.Fatalf("message %d is not framed by UNH…UNT: %d segments", i, n)
			}
			sts, err := Statuses(m)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Statuses error %v is %T, want *Error", err, err)
				}
				continue
			}
			for _, s := range sts {
				if s.Pos <= m.Segments[0].Pos || s.Pos >= m.Segments[n-1].Pos {
					t.Fatalf("status at segment %d lies outside its message", s.Pos)
				}
			}
		}
		for _, p := range partners {
			checkMapped(t, ic, p)
		}
	})
}

// checkMapped runs MapIFTSTA on ic and checks that a failure is an *Error
// with no output, and that every event of a success is valid, in UTC, has a
// unique iftsta- id and encodes as JSON.
func checkMapped(t *testing.T, ic *Interchange, p *tracking.Partner) {
	t.Helper()
	got, err := MapIFTSTA(ic, p)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("MapIFTSTA error %v is %T, want *Error", err, err)
		}
		if !errors.Is(err, ErrEnvelope) && !errors.Is(err, ErrContent) {
			t.Fatalf("MapIFTSTA error %v wraps neither ErrEnvelope nor ErrContent", err)
		}
		if !cmp.Equal(tracking.Mapped{}, got) {
			t.Fatalf("MapIFTSTA returned output with error %v", err)
		}
		return
	}
	ids := make(map[string]bool)
	for i := range got.Events {
		e := &got.Events[i]
		if err := e.Validate(); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if e.Format != FormatIFTSTA || !strings.HasPrefix(e.SourceEventID, "iftsta-") || ids[e.SourceEventID] {
			t.Fatalf("event %d: format %q, id %q (seen before: %v)", i, e.Format, e.SourceEventID, ids[e.SourceEventID])
		}
		ids[e.SourceEventID] = true
		if e.OccurredAt.Location() != time.UTC {
			t.Fatalf("event %d: OccurredAt %v is not in UTC", i, e.OccurredAt)
		}
	}
	if _, err := json.Marshal(got); err != nil {
		t.Fatalf("encoding events: %v", err)
	}
}

// BenchmarkParse parses the IFTSTA fixture, and an interchange holding its
// message 1000 times, and reports segments per second.
func BenchmarkParse(b *testing.B) {
	fixture := readFixture(b, iftstaFile)
	unh := bytes.Index(fixture, []byte("UNH+"))
	unz := bytes.Index(fixture, []byte("UNZ+"))
	var big bytes.Buffer
	big.Write(fixture[:unh])
	for range 1000 {
		big.Write(fixture[unh:unz])
	}
	big.WriteString("UNZ+1000+VH000731'\n")

	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"fixture", fixture},
		{"1000 messages", big.Bytes()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ic, err := Parse(bc.data)
			if err != nil {
				b.Fatalf("Parse: %v", err)
			}
			segs := 2 // UNB and UNZ
			for _, m := range ic.Messages {
				segs += len(m.Segments)
			}
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bc.data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(segs)*float64(b.N)/b.Elapsed().Seconds(), "segments/s")
		})
	}
}

// splitReference is a plain byte-by-byte version of split that copies every
// component. FuzzParse checks that split, which avoids most copies, gives the
// same segments.
func splitReference(data []byte, d Delimiters) ([]Segment, error) {
	var (
		segs  []Segment
		elems [][]string
		comps []string
		buf   []byte
		open  bool
	)
	for i := skipSpace(data, 0); i < len(data); i++ {
		c := data[i]
		open = true
		switch {
		case d.Release != ' ' && c == d.Release:
			if i+1 >= len(data) {
				return nil, errors.New("release at end")
			}
			i++
			buf = append(buf, data[i])
		case c == d.Component:
			comps = append(comps, string(buf))
			buf = buf[:0]
		case c == d.Element:
			elems = append(elems, append(comps, string(buf)))
			comps, buf = nil, buf[:0]
		case c == d.Terminator:
			elems = append(elems, append(comps, string(buf)))
			seg, err := newSegment(elems, len(segs)+1)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
			elems, comps, buf, open = nil, nil, buf[:0], false
			i = skipSpace(data, i+1) - 1
		default:
			buf = append(buf, c)
		}
	}
	if open {
		return nil, errors.New("not terminated")
	}
	return segs, nil
}
