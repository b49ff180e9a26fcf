package money_test

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/waybill/waybill/internal/money"
)

func Example() {
	linehaul, err := money.ParseDecimal("582.20", "USD")
	if err != nil {
		panic(err)
	}
	fsc, err := linehaul.MulRatRoundHalfEven(big.NewRat(315, 1000)) // 31.5 %
	if err != nil {
		panic(err)
	}
	total, err := linehaul.Add(fsc)
	if err != nil {
		panic(err)
	}
	fmt.Println(fsc, total, total.Minor)

	_, err = money.ParseDecimal("1234.567", "USD")
	fmt.Println(errors.Is(err, money.ErrTooManyDecimals))

	yen, err := money.ParseDecimal("1500", "JPY")
	if err != nil {
		panic(err)
	}
	_, err = total.Add(yen)
	fmt.Println(errors.Is(err, money.ErrCurrencyMismatch))
	// Output:
	// 183.39 USD 765.59 USD 76559
	// true
	// true
}
