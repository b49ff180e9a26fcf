package money_test

import (
	"math/big"
	"testing"

	"github.com/waybill/waybill/internal/money"
)

func BenchmarkParseDecimal(b *testing.B) {
	for b.Loop() {
		if _, err := money.ParseDecimal("1234.50", "USD"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecimal(b *testing.B) {
	m := money.Money{Minor: -123450, Currency: "USD"}
	for b.Loop() {
		_ = m.Decimal()
	}
}

func BenchmarkMulRatRoundHalfEven(b *testing.B) {
	m := money.Money{Minor: 58220, Currency: "USD"}
	r := big.NewRat(63, 200)
	for b.Loop() {
		if _, err := m.MulRatRoundHalfEven(r); err != nil {
			b.Fatal(err)
		}
	}
}
