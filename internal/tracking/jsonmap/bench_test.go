package jsonmap_test

import (
	"testing"
)

// BenchmarkApply maps the EasyPost fixture (five events) and reports
// events per second.
func BenchmarkApply(b *testing.B) {
	c := fixtureCases[0]
	m := mapping(b, c.mapping)
	data := readFile(b, c.name+".json")
	got, err := m.Apply(data, c.partner)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Apply(data, c.partner); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(got.Events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
