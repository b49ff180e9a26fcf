package x12

import (
	"path/filepath"
	"testing"
)

// BenchmarkParse214 parses every 214 fixture once per iteration and reports
// the throughput in segments per second.
func BenchmarkParse214(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "x12-214-*.edi"))
	if err != nil || len(files) == 0 {
		b.Fatalf("finding 214 fixtures: %v (%d files)", err, len(files))
	}
	var inputs [][]byte
	segments, size := 0, 0
	for _, name := range files {
		data := readFixture(b, filepath.Base(name))
		ic, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, data)
		size += len(data)
		segments += 2 // ISA and IEA
		for _, g := range ic.Groups {
			segments += 2 // GS and GE
			for _, tx := range g.Transactions {
				segments += len(tx.Segments)
			}
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range inputs {
			if _, err := Parse(data); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(segments)*float64(b.N)/b.Elapsed().Seconds(), "segments/s")
}

// BenchmarkParseMap214 parses and maps every 214 fixture once per iteration,
// with the partner settings of the fixtures README, and reports the
// throughput in segments per second.
func BenchmarkParseMap214(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "x12-214-*.edi"))
	if err != nil || len(files) == 0 {
		b.Fatalf("finding 214 fixtures: %v (%d files)", err, len(files))
	}
	var inputs [][]byte
	segments, size, events := 0, 0, 0
	for _, name := range files {
		data := readFixture(b, filepath.Base(name))
		ic, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		m, errs := Map(ic, partnerFor(ic))
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		events += len(m.Events)
		inputs = append(inputs, data)
		size += len(data)
		segments += 2 // ISA and IEA
		for _, g := range ic.Groups {
			segments += 2 // GS and GE
			for _, tx := range g.Transactions {
				segments += len(tx.Segments)
			}
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range inputs {
			ic, err := Parse(data)
			if err != nil {
				b.Fatal(err)
			}
			if m, errs := Map(ic, partnerFor(ic)); len(errs) > 0 || len(m.Events) == 0 {
				b.Fatalf("Map: %d events, errors %v", len(m.Events), errs)
			}
		}
	}
	b.ReportMetric(float64(segments)*float64(b.N)/b.Elapsed().Seconds(), "segments/s")
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
