package tracking

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/waybill/waybill/internal/quantity"
)

// ErrBadNumber is returned for a number that cannot be read exactly.
var ErrBadNumber = errors.New("not a number")

// ParseNumber reads a decimal sent as text the way regional feeds write
// it: optional sign, comma thousands separators in groups of three, a dot
// for decimals, surrounding spaces. "1,250.5" is 1250.5. A decimal comma
// ("1.250,5") is refused rather than guessed.
func ParseNumber(s string) (*big.Rat, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, fmt.Errorf("%q: %w", s, ErrBadNumber)
	}
	intPart, frac, hasFrac := strings.Cut(t, ".")
	sign := ""
	if intPart != "" && (intPart[0] == '-' || intPart[0] == '+') {
		sign, intPart = intPart[:1], intPart[1:]
	}
	if strings.Contains(intPart, ",") {
		groups := strings.Split(intPart, ",")
		for i, g := range groups {
			if (i == 0 && (len(g) < 1 || len(g) > 3)) || (i > 0 && len(g) != 3) {
				return nil, fmt.Errorf("%q: misplaced thousands separator: %w", s, ErrBadNumber)
			}
		}
		intPart = strings.Join(groups, "")
	}
	if !digits(intPart) || (hasFrac && !digits(frac)) || intPart == "" && !hasFrac {
		return nil, fmt.Errorf("%q: %w", s, ErrBadNumber)
	}
	r, ok := new(big.Rat).SetString(sign + zeroIfEmpty(intPart) + "." + zeroIfEmpty(frac))
	if !ok {
		return nil, fmt.Errorf("%q: %w", s, ErrBadNumber)
	}
	return r, nil
}

func zeroIfEmpty(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// massUnits are the unit words partners send for weights, as UN/ECE
// Rec 20 units: X12 L and K, abbreviations, and the Rec 20 codes.
var massUnits = map[string]quantity.Unit{
	"KG": quantity.KGM, "KGS": quantity.KGM, "KGM": quantity.KGM, "K": quantity.KGM,
	"LB": quantity.LBR, "LBS": quantity.LBR, "LBR": quantity.LBR, "L": quantity.LBR,
	"OZ": quantity.ONZ, "ONZ": quantity.ONZ,
	"G": quantity.GRM, "GRM": quantity.GRM,
	"T": quantity.TNE, "TNE": quantity.TNE,
}

// ErrBadUnit is returned for a mass unit ParseWeight does not know.
var ErrBadUnit = errors.New("unknown weight unit")

// ParseWeight reads a weight sent as text, with its unit either separate
// (unit) or inside the value ("1180 lbs"; a unit inside wins over unit),
// and converts it to kilograms rounded half-even to 3 decimals. The raw
// value and unit are kept as sent. Unit codes are case-insensitive: X12
// L/K, UN/ECE KGM/LBR/ONZ, and lb, lbs, oz, kg, g, t.
func ParseWeight(value, unit, kind string) (Weight, error) {
	num, u := strings.TrimSpace(value), strings.TrimSpace(unit)
	if i := strings.LastIndexFunc(num, func(r rune) bool { return (r >= '0' && r <= '9') || r == '.' }); i >= 0 && i < len(num)-1 {
		if inner := strings.TrimSpace(num[i+1:]); inner != "" {
			num, u = strings.TrimSpace(num[:i+1]), inner
		}
	}
	r, err := ParseNumber(num)
	if err != nil {
		return Weight{}, fmt.Errorf("weight %w", err)
	}
	if r.Sign() < 0 {
		return Weight{}, fmt.Errorf("weight %q: negative", value)
	}
	mu, ok := massUnits[strings.ToUpper(u)]
	if !ok {
		return Weight{}, fmt.Errorf("weight %q: %q: %w", value, unit, ErrBadUnit)
	}
	q, err := quantity.New(r, mu)
	if err == nil {
		q, err = q.In(quantity.KGM)
	}
	if err != nil {
		return Weight{}, fmt.Errorf("weight %q: %w", value, err)
	}
	return Weight{KG: q.Fixed(3), RawValue: strings.TrimSpace(value), RawUnit: unit, Kind: kind}, nil
}

// Country returns the ISO 3166-1 alpha-2 code for an alpha-2 or alpha-3
// code, or "" when it does not know the code.
func Country(code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	switch len(c) {
	case 2:
		if _, ok := alpha2[c]; ok {
			return c
		}
	case 3:
		return alpha3[c]
	}
	return ""
}

var alpha3 = map[string]string{
	"USA": "US", "CAN": "CA", "MEX": "MX", "DEU": "DE", "NLD": "NL", "BEL": "BE", "FRA": "FR",
	"GBR": "GB", "IRL": "IE", "ESP": "ES", "PRT": "PT", "ITA": "IT", "AUT": "AT", "CHE": "CH",
	"POL": "PL", "CZE": "CZ", "SVK": "SK", "HUN": "HU", "ROU": "RO", "BGR": "BG", "GRC": "GR",
	"DNK": "DK", "SWE": "SE", "NOR": "NO", "FIN": "FI", "EST": "EE", "LVA": "LV", "LTU": "LT",
	"LUX": "LU", "SVN": "SI", "HRV": "HR", "TUR": "TR", "CHN": "CN", "JPN": "JP", "KOR": "KR",
	"IND": "IN", "SGP": "SG", "AUS": "AU", "NZL": "NZ", "BRA": "BR", "ZAF": "ZA",
}

var alpha2 = func() map[string]struct{} {
	m := make(map[string]struct{}, len(alpha3))
	for _, a2 := range alpha3 {
		m[a2] = struct{}{}
	}
	return m
}()
