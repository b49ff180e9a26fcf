package decimal_test

import (
	"errors"
	"fmt"
	"log"
	"math/big"

	"github.com/waybill/waybill/internal/decimal"
)

func Example() {
	rate, err := decimal.Parse("0.315", 18)
	if err != nil {
		log.Fatal(err)
	}
	linehaul, err := decimal.ParseScaled("582.20", 2) // cents
	if err != nil {
		log.Fatal(err)
	}
	fuel := new(big.Rat).Mul(big.NewRat(linehaul, 100), rate)
	fmt.Println(decimal.Format(fuel, 9))
	fmt.Println(decimal.FormatFixed(fuel, 2))
	fmt.Println(decimal.FormatScaled(decimal.RoundHalfEven(decimal.Shift(fuel, 2)).Int64(), 2))
	fmt.Println(decimal.Format(big.NewRat(2, 3), 9))

	_, err = decimal.ParseScaled("1234.567", 2)
	fmt.Println(err, errors.Is(err, decimal.ErrPrecision))
	_, err = decimal.Parse("1e3", 18)
	fmt.Println(err, errors.Is(err, decimal.ErrSyntax))
	// Output:
	// 183.393
	// 183.39
	// 183.39
	// 0.666666667
	// "1234.567": non-zero digits beyond 2 fractional digits true
	// "1e3": exponents are not allowed true
}
