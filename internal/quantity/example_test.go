package quantity_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/waybill/waybill/internal/quantity"
)

func Example() {
	declared, err := quantity.Parse("1800", "LBR")
	if err != nil {
		panic(err)
	}
	scaled, err := quantity.Parse("930.5", "kgm")
	if err != nil {
		panic(err)
	}

	kg, err := declared.In(quantity.KGM)
	if err != nil {
		panic(err)
	}
	fmt.Println(kg)

	variance, err := scaled.Sub(declared)
	if err != nil {
		panic(err)
	}
	fmt.Println(variance)

	c, err := scaled.Cmp(declared)
	if err != nil {
		panic(err)
	}
	fmt.Println(c)

	data, err := json.Marshal(variance)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(data))

	pallets, err := quantity.Parse("2", "PLT")
	if err != nil {
		panic(err)
	}
	_, err = pallets.In(quantity.EA)
	fmt.Println(pallets, errors.Is(err, quantity.ErrIncompatible))
	// Output:
	// 816.466266 KGM
	// 114.033734 KGM
	// 1
	// {"value":"114.033734","unit":"KGM"}
	// 2 XPX true
}
