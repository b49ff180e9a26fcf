package rating_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/waybill/waybill/internal/rating"
)

func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := rating.Parse(src, "example.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRate(b *testing.B) {
	rs, err := rating.Load(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	facts := rating.FactsFrom(loadShipment(b, "acme-ltl-reweigh.json"))
	for b.Loop() {
		if _, err := rs.Rate(facts); err != nil {
			b.Fatal(err)
		}
	}
}
