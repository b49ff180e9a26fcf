package tracking

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the zones of partners' times, wherever Waybill runs
)

// ErrNoZone is returned when a local time has no zone to resolve it in: no
// time code, no usable location and no default zone for the source.
var ErrNoZone = errors.New("local time without a zone: set the source's default time zone")

// X12Zone returns the zone of an X12 time code (element 623): a prevailing
// US zone for ET/CT/MT/PT (daylight saving from the zone database), a
// fixed offset for the standard (ES…) and daylight (ED…) codes and for
// 01–24, and UTC for UT and GM. ok is false for LT (local time: resolve
// from the location) and for unknown codes.
func X12Zone(code string) (loc *time.Location, ok bool) {
	switch code {
	case "UT", "GM", "Z":
		return time.UTC, true
	case "LT", "":
		return nil, false
	}
	if name, found := x12Prevailing[code]; found {
		return mustZone(name), true
	}
	if off, found := x12Fixed[code]; found {
		return time.FixedZone(code, off*3600), true
	}
	if n, err := strconv.Atoi(code); err == nil && len(code) == 2 && n >= 1 && n <= 24 {
		off := n
		if n > 12 {
			off = n - 25 // 13 = −12 … 24 = −1
		}
		return time.FixedZone(fmt.Sprintf("UTC%+d", off), off*3600), true
	}
	return nil, false
}

var x12Prevailing = map[string]string{
	"ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver",
	"PT": "America/Los_Angeles", "AT": "America/Anchorage", "HT": "Pacific/Honolulu",
	"NT": "America/St_Johns",
}

var x12Fixed = map[string]int{
	"ES": -5, "CS": -6, "MS": -7, "PS": -8, "AS": -9, "HS": -10,
	"ED": -4, "CD": -5, "MD": -6, "PD": -7, "AD": -8,
}

// zones caches loaded zones: time.LoadLocation reads the zone database
// on every call.
var zones sync.Map // name → *time.Location

// loadZone is time.LoadLocation, cached.
func loadZone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, l)
	return l, nil
}

func mustZone(name string) *time.Location {
	loc, err := loadZone(name)
	if err != nil {
		// The zone database is embedded (time/tzdata above) and the names
		// are this package's own: a missing zone is a defect, not input.
		panic(fmt.Sprintf("loading zone %s: %v", name, err))
	}
	return loc
}

// ZoneOf returns the IANA zone of a location, or "" when it cannot be
// told: from the UN/LOCODE, then the US state or Canadian province, then a
// country with one zone.
func ZoneOf(l *Location) string {
	if l == nil {
		return ""
	}
	if z := locodeZones[strings.ToUpper(l.UNLOCODE)]; z != "" {
		return z
	}
	country := strings.ToUpper(l.Country)
	if country == "" && len(l.UNLOCODE) == 5 {
		country = strings.ToUpper(l.UNLOCODE[:2])
	}
	region := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(l.Region), country+"-"))
	switch country {
	case "US", "":
		if z := usStateZones[region]; z != "" {
			return z
		}
	case "CA":
		if z := caProvinceZones[region]; z != "" {
			return z
		}
	}
	return countryZones[country]
}

// Resolve turns a local wall-clock reading into an instant. zone wins when
// set (the X12 time code's or the caller's); otherwise the location's zone,
// otherwise def (the source's default). It returns the instant in UTC, the
// zone name and where the zone came from. An ambiguous reading at the end
// of daylight saving takes the earlier instant, as Go's time.Date does.
func Resolve(local time.Time, zone *time.Location, zoneSource string, at *Location, def string) (utc time.Time, tz, source string, err error) {
	loc, source := zone, zoneSource
	if loc == nil {
		if name := ZoneOf(at); name != "" {
			loc, source = mustZone(name), TZLocation
		} else if def != "" {
			l, lerr := loadZone(def)
			if lerr != nil {
				return time.Time{}, "", "", fmt.Errorf("default zone %q: %w", def, lerr)
			}
			loc, source = l, TZPartnerDefault
		} else {
			return time.Time{}, "", "", ErrNoZone
		}
	}
	t := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), loc)
	return t.UTC(), loc.String(), source, nil
}

// LocalString formats a wall-clock reading as the occurred_at_local value.
func LocalString(local time.Time) string { return local.Format("2006-01-02T15:04:05") }

// Zones of US states and Canadian provinces by their main zone. A state
// split between zones (Texas, Florida, Indiana, Idaho…) gets the zone most
// of its people live in; a postal code or coordinates would be needed to
// do better, and partners that care send a time code.
var usStateZones = map[string]string{
	"AL": "America/Chicago", "AK": "America/Anchorage", "AZ": "America/Phoenix", "AR": "America/Chicago",
	"CA": "America/Los_Angeles", "CO": "America/Denver", "CT": "America/New_York", "DE": "America/New_York",
	"DC": "America/New_York", "FL": "America/New_York", "GA": "America/New_York", "HI": "Pacific/Honolulu",
	"ID": "America/Boise", "IL": "America/Chicago", "IN": "America/Indiana/Indianapolis", "IA": "America/Chicago",
	"KS": "America/Chicago", "KY": "America/New_York", "LA": "America/Chicago", "ME": "America/New_York",
	"MD": "America/New_York", "MA": "America/New_York", "MI": "America/Detroit", "MN": "America/Chicago",
	"MS": "America/Chicago", "MO": "America/Chicago", "MT": "America/Denver", "NE": "America/Chicago",
	"NV": "America/Los_Angeles", "NH": "America/New_York", "NJ": "America/New_York", "NM": "America/Denver",
	"NY": "America/New_York", "NC": "America/New_York", "ND": "America/Chicago", "OH": "America/New_York",
	"OK": "America/Chicago", "OR": "America/Los_Angeles", "PA": "America/New_York", "RI": "America/New_York",
	"SC": "America/New_York", "SD": "America/Chicago", "TN": "America/Chicago", "TX": "America/Chicago",
	"UT": "America/Denver", "VT": "America/New_York", "VA": "America/New_York", "WA": "America/Los_Angeles",
	"WV": "America/New_York", "WI": "America/Chicago", "WY": "America/Denver", "PR": "America/Puerto_Rico",
}

var caProvinceZones = map[string]string{
	"AB": "America/Edmonton", "BC": "America/Vancouver", "MB": "America/Winnipeg", "NB": "America/Moncton",
	"NL": "America/St_Johns", "NS": "America/Halifax", "NT": "America/Yellowknife", "NU": "America/Iqaluit",
	"ON": "America/Toronto", "PE": "America/Halifax", "QC": "America/Toronto", "SK": "America/Regina",
	"YT": "America/Whitehorse",
}

// countryZones covers countries with one zone. Countries with several
// (US, CA, MX, BR, AU, RU…) are resolved by region or not at all.
var countryZones = map[string]string{
	"AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "CH": "Europe/Zurich",
	"CN": "Asia/Shanghai", "CZ": "Europe/Prague", "DE": "Europe/Berlin", "DK": "Europe/Copenhagen",
	"EE": "Europe/Tallinn", "ES": "Europe/Madrid", "FI": "Europe/Helsinki", "FR": "Europe/Paris",
	"GB": "Europe/London", "GR": "Europe/Athens", "HR": "Europe/Zagreb", "HU": "Europe/Budapest",
	"IE": "Europe/Dublin", "IN": "Asia/Kolkata", "IT": "Europe/Rome", "JP": "Asia/Tokyo",
	"KR": "Asia/Seoul", "LT": "Europe/Vilnius", "LU": "Europe/Luxembourg", "LV": "Europe/Riga",
	"NL": "Europe/Amsterdam", "NO": "Europe/Oslo", "PL": "Europe/Warsaw", "PT": "Europe/Lisbon",
	"RO": "Europe/Bucharest", "SE": "Europe/Stockholm", "SG": "Asia/Singapore", "SI": "Europe/Ljubljana",
	"SK": "Europe/Bratislava", "TR": "Europe/Istanbul", "ZA": "Africa/Johannesburg",
}

// locodeZones are UN/LOCODEs whose zone differs from their country's
// single zone, or whose country has several.
var locodeZones = map[string]string{
	"ESLPA": "Atlantic/Canary", "PTFNC": "Atlantic/Madeira", "PTPDL": "Atlantic/Azores",
	"USCMH": "America/New_York", "USNYC": "America/New_York", "USCHI": "America/Chicago",
	"USLAX": "America/Los_Angeles", "USLGB": "America/Los_Angeles", "USSEA": "America/Los_Angeles",
	"USHOU": "America/Chicago", "USELP": "America/Denver", "USRNO": "America/Los_Angeles",
	"USSLC": "America/Denver", "USDEN": "America/Denver", "USPHX": "America/Phoenix",
	"MXMEX": "America/Mexico_City", "BRSSZ": "America/Sao_Paulo", "AUSYD": "Australia/Sydney",
	"AUMEL": "Australia/Melbourne", "CAYVR": "America/Vancouver", "CATOR": "America/Toronto",
	"CAMTR": "America/Toronto",
}
