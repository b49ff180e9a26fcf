package edifact

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkMapIFTSTA maps the parsed IFTSTA fixture, and an interchange
// holding its message 1000 times with distinct consignment references, and
// reports the segments of its messages (UNH…UNT) mapped per second.
// Parsing is not measured.
func BenchmarkMapIFTSTA(b *testing.B) {
	fixture := readFixture(b, iftstaFile)
	unh := bytes.Index(fixture, []byte("UNH+"))
	unz := bytes.Index(fixture, []byte("UNZ+"))
	var big bytes.Buffer
	big.Write(fixture[:unh])
	for i := range 1000 {
		msg := bytes.ReplaceAll(fixture[unh:unz], []byte("VH25110387"), fmt.Appendf(nil, "VH%08d", 2*i))
		msg = bytes.ReplaceAll(msg, []byte("VH25110412"), fmt.Appendf(nil, "VH%08d", 2*i+1))
		big.Write(msg)
	}
	big.WriteString("UNZ+1000+VH000731'\n")

	for _, bc := range []struct {
		name   string
		data   []byte
		events int
	}{
		{"fixture", fixture, 3},
		{"1000 messages", big.Bytes(), 3000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ic, err := Parse(bc.data)
			if err != nil {
				b.Fatalf("Parse: %v", err)
			}
			segs := 0
			for _, m := range ic.Messages {
				segs += len(m.Segments)
			}
			p := vennhoff()
			got, err := MapIFTSTA(ic, p)
			if err != nil || len(got.Events) != bc.events {
				b.Fatalf("MapIFTSTA: %d events, error %v; want %d events", len(got.Events), err, bc.events)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := MapIFTSTA(ic, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(segs)*float64(b.N)/b.Elapsed().Seconds(), "segments/s")
		})
	}
}
