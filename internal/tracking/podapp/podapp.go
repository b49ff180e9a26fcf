// Package podapp maps the "stop completed" payloads of driver apps into
// proofs of delivery ([tracking.Delivery]): the signer and when they
// signed, the position and the stop, photos, and per line what was
// delivered, damaged or short, with the exceptions the driver recorded.
//
// The payload shape is the common one of proof-of-delivery apps: pod_id,
// references (odoo_picking, sale_order), outcome, completed_at with its
// offset, geo and stop_location, signature (signer_name, captured_at,
// remark, image), photos, items (sku, uom, qty_expected, qty_delivered,
// qty_damaged, qty_short) and exceptions (code, sku, qty, disposition,
// note). Unknown fields are ignored.
//
// A line whose quantities do not add up (expected ≠ delivered + damaged +
// short) is flagged, not refused: the flag travels with the proof to the
// review queue. Damaged and short quantities without a matching exception
// get one. The package is pure.
package podapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

// Format is the Format of the deliveries this package makes.
const Format = "pod_app"

// ErrInvalid is wrapped by the error of a payload that is JSON but not a
// usable proof of delivery; the error lists every problem.
var ErrInvalid = errors.New("invalid proof of delivery")

type payload struct {
	Type       string            `json:"type"`
	PODID      string            `json:"pod_id"`
	References map[string]string `json:"references"`
	Outcome    string            `json:"outcome"`
	Completed  string            `json:"completed_at"`
	Geo        *struct {
		Lat      *float64 `json:"lat"`
		Lng      *float64 `json:"lng"`
		Accuracy *float64 `json:"accuracy_m"`
	} `json:"geo"`
	Stop *struct {
		Lat *float64 `json:"lat"`
		Lng *float64 `json:"lng"`
	} `json:"stop_location"`
	Signature *struct {
		Signer   string `json:"signer_name"`
		Captured string `json:"captured_at"`
		Remark   string `json:"remark"`
		Image    *struct {
			URL    string `json:"url"`
			SHA256 string `json:"sha256"`
		} `json:"image"`
	} `json:"signature"`
	Photos []struct {
		Tag    string `json:"tag"`
		URL    string `json:"url"`
		SHA256 string `json:"sha256"`
		SKU    string `json:"item_sku"`
	} `json:"photos"`
	Items []struct {
		SKU       string       `json:"sku"`
		UOM       string       `json:"uom"`
		Expected  *json.Number `json:"qty_expected"`
		Delivered *json.Number `json:"qty_delivered"`
		Damaged   *json.Number `json:"qty_damaged"`
		Short     *json.Number `json:"qty_short"`
	} `json:"items"`
	Exceptions []struct {
		Code        string       `json:"code"`
		SKU         string       `json:"sku"`
		Qty         *json.Number `json:"qty"`
		Disposition string       `json:"disposition"`
		Note        string       `json:"note"`
	} `json:"exceptions"`
	Notes string `json:"notes"`
}

// units maps the app's unit words to UN/ECE Rec 20 codes.
var units = map[string]string{
	"": "C62", "units": "C62", "unit": "C62", "ea": "C62", "each": "C62", "pcs": "H87", "pieces": "H87", "piece": "H87",
	"kg": "KGM", "lb": "LBR", "lbs": "LBR", "pallets": "XPX", "pallet": "XPX", "cartons": "XCT", "carton": "XCT",
}

// exceptionTypes maps the app's exception codes to exception types.
var exceptionTypes = map[string]string{"DAMAGED": "damaged", "SHORT": "short", "REFUSED": "refused", "MISSING": "short"}

// Map turns one payload into a delivery. A payload that is not JSON gives
// an error wrapping jsonmap.ErrInvalidJSON with line and column; one
// missing what identifies, correlates or proves the delivery gives an
// error wrapping ErrInvalid that names every problem.
func Map(body []byte, _ *tracking.Partner) (tracking.Mapped, error) {
	var p payload
	jd := json.NewDecoder(bytes.NewReader(body))
	jd.UseNumber()
	if err := jd.Decode(&p); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return tracking.Mapped{}, fmt.Errorf("%w: %s: %s where %s was expected", ErrInvalid, te.Field, te.Value, te.Type)
		case errors.As(err, &se):
			line, col := position(body, se.Offset)
			return tracking.Mapped{}, &jsonmap.JSONError{Line: line, Column: col, Offset: se.Offset, Err: err}
		default:
			line, col := position(body, int64(len(body)))
			return tracking.Mapped{}, &jsonmap.JSONError{Line: line, Column: col, Offset: int64(len(body)), Err: err}
		}
	}
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	d := tracking.Delivery{SourceEventID: p.PODID, Format: Format, Outcome: p.Outcome,
		Keys: tracking.Keys{OdooPicking: p.References["odoo_picking"], SaleOrder: p.References["sale_order"]}}
	if p.PODID == "" {
		bad("/pod_id: missing: the proof cannot be deduplicated")
	}
	if d.Keys.OdooPicking == "" {
		bad("/references/odoo_picking: missing: the proof names no shipment")
	}
	switch p.Outcome {
	case "delivered", "delivered_with_exceptions":
	default:
		bad("/outcome: %q is not a delivery (delivered, delivered_with_exceptions)", p.Outcome)
	}
	var err error
	if d.CompletedAt, err = instant(p.Completed); err != nil {
		bad("/completed_at: %v", err)
	}
	if p.Signature == nil || strings.TrimSpace(p.Signature.Signer) == "" {
		bad("/signature/signer_name: missing: a proof of delivery needs a signer")
	} else {
		d.Signer = strings.TrimSpace(p.Signature.Signer)
		if d.SignedAt, err = instant(p.Signature.Captured); err != nil {
			bad("/signature/captured_at: %v", err)
		}
		if img := p.Signature.Image; img != nil {
			d.SignatureSHA256, d.SignatureURI = strings.ToLower(img.SHA256), img.URL
		}
	}
	var remarks []string
	if p.Signature != nil && p.Signature.Remark != "" {
		remarks = append(remarks, "signed with remark: "+p.Signature.Remark)
	}
	if p.Notes != "" {
		remarks = append(remarks, "driver: "+p.Notes)
	}
	d.Remarks = strings.Join(remarks, "; ")
	if g := p.Geo; g != nil && g.Lat != nil && g.Lng != nil {
		d.Position = &tracking.Position{Lat: *g.Lat, Lon: *g.Lng, AccuracyM: g.Accuracy}
	}
	if s := p.Stop; s != nil && s.Lat != nil && s.Lng != nil {
		d.Stop = &tracking.Location{Lat: s.Lat, Lon: s.Lng}
	}
	for _, ph := range p.Photos {
		if ph.URL == "" {
			continue
		}
		d.Photos = append(d.Photos, tracking.Photo{URI: ph.URL, SHA256: strings.ToLower(ph.SHA256), Tag: ph.Tag, SKU: ph.SKU})
	}

	if len(p.Items) == 0 {
		bad("/items: missing: a proof of delivery needs what was delivered")
	}
	short := map[string]*big.Rat{}
	damaged := map[string]*big.Rat{}
	unitOf := map[string]string{}
	for i, it := range p.Items {
		at := fmt.Sprintf("/items/%d", i)
		unit, ok := units[strings.ToLower(strings.TrimSpace(it.UOM))]
		if !ok {
			bad("%s/uom: unknown unit %q", at, it.UOM)
		}
		if it.SKU == "" {
			bad("%s/sku: missing", at)
			continue
		}
		unitOf[it.SKU] = unit
		l := tracking.DeliveryLine{SKU: it.SKU, Unit: unit}
		q := map[string]*big.Rat{}
		for name, n := range map[string]*json.Number{"qty_expected": it.Expected, "qty_delivered": it.Delivered, "qty_damaged": it.Damaged, "qty_short": it.Short} {
			if n == nil {
				continue
			}
			r, ok := quantity(*n)
			if !ok || r.Sign() < 0 {
				bad("%s/%s: %s is not a quantity", at, name, n)
				continue
			}
			q[name] = r
		}
		if q["qty_delivered"] == nil {
			bad("%s/qty_delivered: missing", at)
			continue
		}
		l.Delivered = dec(q["qty_delivered"])
		l.Expected, l.Damaged, l.Short = dec(q["qty_expected"]), dec(q["qty_damaged"]), dec(q["qty_short"])
		if exp := q["qty_expected"]; exp != nil {
			sum := new(big.Rat).Set(q["qty_delivered"])
			for _, k := range []string{"qty_damaged", "qty_short"} {
				if q[k] != nil {
					sum.Add(sum, q[k])
				}
			}
			if sum.Cmp(exp) != 0 {
				d.Flags = append(d.Flags, fmt.Sprintf("%s: expected %s, but delivered %s + damaged %s + short %s = %s",
					it.SKU, dec(exp), l.Delivered, orZero(l.Damaged), orZero(l.Short), dec(sum)))
			}
		}
		if r := q["qty_damaged"]; r != nil && r.Sign() > 0 {
			damaged[it.SKU] = r
		}
		if r := q["qty_short"]; r != nil && r.Sign() > 0 {
			short[it.SKU] = r
		}
		d.Lines = append(d.Lines, l)
	}
	photosOf := func(sku, tag string) []string {
		var out []string
		for _, ph := range d.Photos {
			if ph.SKU == sku && (tag == "" || ph.Tag == tag) {
				out = append(out, ph.URI)
			}
		}
		return out
	}
	for i, e := range p.Exceptions {
		at := fmt.Sprintf("/exceptions/%d", i)
		typ, ok := exceptionTypes[strings.ToUpper(e.Code)]
		if !ok {
			typ = "other"
		}
		if e.SKU == "" || e.Qty == nil {
			bad("%s: needs sku and qty", at)
			continue
		}
		r, ok := quantity(*e.Qty)
		if !ok || r.Sign() <= 0 {
			bad("%s/qty: %s is not a positive quantity", at, e.Qty)
			continue
		}
		unit := unitOf[e.SKU]
		if unit == "" {
			bad("%s/sku: %s is not one of the items", at, e.SKU)
			continue
		}
		var photos []string
		if typ == "damaged" {
			photos = photosOf(e.SKU, "damage")
		}
		d.Exceptions = append(d.Exceptions, tracking.LineException{Type: typ, SKU: e.SKU, Quantity: dec(r), Unit: unit,
			Disposition: e.Disposition, Note: e.Note, Photos: photos})
	}
	// Damage and shortage the driver counted but did not describe.
	for _, add := range []struct {
		typ string
		by  map[string]*big.Rat
	}{{"damaged", damaged}, {"short", short}} {
		skus := make([]string, 0, len(add.by))
		for sku := range add.by {
			skus = append(skus, sku)
		}
		slices.Sort(skus)
		for _, sku := range skus {
			if slices.ContainsFunc(d.Exceptions, func(e tracking.LineException) bool { return e.SKU == sku && e.Type == add.typ }) {
				continue
			}
			d.Exceptions = append(d.Exceptions, tracking.LineException{Type: add.typ, SKU: sku, Quantity: dec(add.by[sku]),
				Unit: unitOf[sku], Note: "counted by the driver", Photos: photosOf(sku, "damage")})
		}
	}
	if len(probs) > 0 {
		return tracking.Mapped{}, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(probs, "; "))
	}
	return tracking.Mapped{Deliveries: []tracking.Delivery{d}}, nil
}

// quantityPattern is a plain decimal of sensible size: no exponent, which
// big.Rat would expand (1e999999999 takes forever), no more digits than a
// count of goods needs.
var quantityPattern = regexp.MustCompile(`^-?[0-9]{1,12}(\.[0-9]{1,6})?$`)

// quantity reads a JSON number as an exact decimal.
func quantity(n json.Number) (*big.Rat, bool) {
	if !quantityPattern.MatchString(n.String()) {
		return nil, false
	}
	return new(big.Rat).SetString(n.String())
}

// instant reads an RFC 3339 time that must carry its offset.
func instant(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time with an offset", s)
	}
	return t, nil
}

func dec(r *big.Rat) string {
	if r == nil {
		return ""
	}
	if r.IsInt() {
		return r.Num().String()
	}
	return strings.TrimRight(strings.TrimRight(r.FloatString(6), "0"), ".")
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
