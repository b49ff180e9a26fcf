package jsonmap

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/tracking"
)

// reading is a time as the payload states it.
type reading struct {
	raw string // the text sent, for ids
	// instant is set unless zoneless; local is the wall-clock reading.
	instant  time.Time
	local    time.Time
	zoneless bool
	tz       string
	source   string
}

// Layouts accepted for time strings: RFC 3339 and the ISO 8601 variants
// partners send. Fractional seconds are accepted after the seconds of any
// layout. Layouts without a zone give a zoneless reading.
var zonedLayouts, zonelessLayouts = layouts()

func layouts() (zoned, zoneless []string) {
	for _, sep := range []string{"T", " "} {
		for _, clock := range []string{"15:04:05", "15:04"} {
			base := "2006-01-02" + sep + clock
			for _, zone := range []string{"Z07:00", "Z0700", "Z07", " Z07:00", " Z0700"} {
				zoned = append(zoned, base+zone)
			}
			zoneless = append(zoneless, base)
		}
	}
	return zoned, zoneless
}

// maxEpoch is 9999-12-31T23:59:59Z in seconds.
const maxEpoch = 253402300799

// Epoch units of a time spec.
const (
	epochDefault = iota // numbers are seconds; strings are never epoch
	epochSeconds        // numbers and strings of digits are seconds
	epochMillis         // numbers and strings of digits are milliseconds
)

// readTime reads a time value: a string in one of the layouts, epoch
// seconds or milliseconds (a number, or a string of digits when the spec
// says epoch), or a CEL timestamp.
func readTime(v any, epoch int) (reading, error) {
	switch x := v.(type) {
	case time.Time:
		u := x.UTC()
		return reading{raw: u.Format(time.RFC3339Nano), instant: u, local: u, tz: "UTC", source: tracking.TZUTC}, nil
	case string:
		s := strings.TrimSpace(x)
		if epoch != epochDefault && s != "" && strings.Trim(s, "0123456789.") == "" {
			return readEpoch(s, epoch == epochMillis)
		}
		return readString(s)
	}
	s, ok := text(v)
	if !ok {
		return reading{}, fmt.Errorf("want a time, got %s", kindName(v))
	}
	return readEpoch(s, epoch == epochMillis)
}

func readEpoch(s string, milliseconds bool) (reading, error) {
	// Digits and one point only: big.Rat would expand an exponent such
	// as 1e999999999 for ever.
	if len(s) > 24 || strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 {
		return reading{}, fmt.Errorf("epoch time %q is not a plain number", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return reading{}, fmt.Errorf("epoch time %q is not a number", s)
	}
	if milliseconds {
		r.Quo(r, big.NewRat(1000, 1))
	}
	if r.Sign() < 0 || r.Cmp(big.NewRat(maxEpoch, 1)) > 0 {
		return reading{}, fmt.Errorf("epoch time %q out of range", s)
	}
	nanos := new(big.Rat).Mul(r, big.NewRat(1e9, 1))
	n := new(big.Int).Quo(nanos.Num(), nanos.Denom())
	sec, frac := new(big.Int).QuoRem(n, big.NewInt(1e9), new(big.Int))
	u := time.Unix(sec.Int64(), frac.Int64()).UTC()
	return reading{raw: s, instant: u, local: u, tz: "UTC", source: tracking.TZUTC}, nil
}

var errLayout = errors.New("not a time this mapping language reads (RFC 3339 or ISO 8601 with T or a space, offset with or without colon, or no zone; or epoch seconds)")

func readString(s string) (reading, error) {
	for _, layout := range zonedLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		_, off := t.Zone()
		tz := "UTC"
		if !strings.HasSuffix(s, "Z") {
			tz = offsetName(off)
		}
		local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
		return reading{raw: s, instant: t, local: local, tz: tz, source: tracking.TZOffset}, nil
	}
	for _, layout := range zonelessLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		return reading{raw: s, local: t, zoneless: true}, nil
	}
	return reading{}, fmt.Errorf("time %q: %w", s, errLayout)
}

// offsetName writes an offset as +hh:mm.
func offsetName(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off/60%60)
}
