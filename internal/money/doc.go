// Package money holds monetary amounts as integer minor units (cents, pence,
// fils) with an ISO 4217 currency code, for freight invoices, accessorial
// charges and rating.
//
// A [Money] is a plain value: Minor is the amount in the currency's minor
// unit and Currency its upper-case ISO 4217 code, so 1234.50 USD is
// {Minor: 123450, Currency: "USD"}, 1500 JPY is {1500, "JPY"} and 1.234 KWD
// is {1234, "KWD"}. How many decimals a currency has comes from the table
// behind [Exponent]; never assume two. Floating point is never used.
//
// Build amounts from partner text with [ParseDecimal], which rejects more
// decimals than the currency has instead of rounding them away. Arithmetic is
// checked: [Money.Add] refuses to mix currencies and reports int64 overflow,
// and [Money.MulRatRoundHalfEven], for rating with percentages and per-unit
// rates, rounds half to even to the minor unit and reports overflow too.
//
// Money has no internal state beyond its two fields, so it is safe for
// concurrent use and may be compared with ==. In JSON it is
// {"minor":12345,"currency":"USD"}, and decoding validates the currency.
package money
