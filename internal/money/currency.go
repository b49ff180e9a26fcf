package money

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownCurrency is returned, wrapped with the code, for a currency code
// that is not in the package's ISO 4217 table.
var ErrUnknownCurrency = errors.New("unknown currency")

// exponents maps ISO 4217 codes to their minor-unit exponent, the number of
// decimals of the minor unit, as published in the ISO 4217 list. Cash
// rounding rules (such as CHF to 0.05) are not minor units and are not
// modelled. It is read-only.
var exponents = map[string]int{
	// Two decimals.
	"AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BRL": 2, "CAD": 2, "CHF": 2,
	"CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2,
	"HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "KES": 2, "MAD": 2,
	"MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "PEN": 2, "PHP": 2,
	"PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RSD": 2, "SAR": 2, "SEK": 2,
	"SGD": 2, "THB": 2, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "UYU": 2,
	"ZAR": 2,

	// No decimals.
	"CLP": 0, "ISK": 0, "JPY": 0, "KRW": 0, "PYG": 0, "UGX": 0, "VND": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,

	// Three decimals.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// Exponent returns the ISO 4217 minor-unit exponent of code: 2 for USD (cents),
// 0 for JPY, 3 for KWD. code is matched case-insensitively. An unknown code
// gives an error wrapping [ErrUnknownCurrency].
func Exponent(code string) (int, error) {
	_, exp, err := lookup(code)
	return exp, err
}

// lookup returns the upper-case form of code and its exponent.
func lookup(code string) (string, int, error) {
	c := strings.ToUpper(code)
	exp, ok := exponents[c]
	if !ok {
		return "", 0, fmt.Errorf("%w %q", ErrUnknownCurrency, code)
	}
	return c, exp, nil
}
