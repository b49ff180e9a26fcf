package quantity_test

import (
	"encoding/json"
	"testing"

	"github.com/waybill/waybill/internal/quantity"
)

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := quantity.Parse("1819.375", "KGM"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecimal(b *testing.B) {
	exact, err := quantity.Parse("1819.375", "KGM")
	if err != nil {
		b.Fatal(err)
	}
	inexact, err := exact.In(quantity.LBR)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("exact", func(b *testing.B) {
		for b.Loop() {
			_ = exact.Decimal()
		}
	})
	b.Run("rounded", func(b *testing.B) {
		for b.Loop() {
			_ = inexact.Decimal()
		}
	})
}

func BenchmarkFixed(b *testing.B) {
	q, err := quantity.Parse("1819.375", "KGM")
	if err != nil {
		b.Fatal(err)
	}
	lb, err := q.In(quantity.LBR)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = lb.Fixed(3)
	}
}

func BenchmarkUnmarshalJSON(b *testing.B) {
	data := []byte(`{"value":"1819.375","unit":"KGM"}`)
	for b.Loop() {
		var q quantity.Quantity
		if err := json.Unmarshal(data, &q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	q, err := quantity.Parse("1819.375", "KGM")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := json.Marshal(q); err != nil {
			b.Fatal(err)
		}
	}
}
