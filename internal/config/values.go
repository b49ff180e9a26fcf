package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/decimal"
	"github.com/waybill/waybill/internal/shipment"
)

// This file holds the keys that are written as text but held parsed: each
// type parses its syntax in UnmarshalText, which Load calls, so that a bad
// value is refused when the configuration is loaded, with its key; String
// (and MarshalText, which JSON and YAML encoders use) writes the value back
// in the syntax it is read in. Validate checks values built in code the same
// way.

// Zone is a time zone: the value of billing.timezone, written as an IANA
// name such as Europe/Amsterdam. The zero Zone has no name; Validate refuses
// it.
type Zone struct {
	loc *time.Location
}

// LoadZone returns the zone with the IANA name name, as time.LoadLocation
// finds it. An empty name is an error, not UTC.
func LoadZone(name string) (Zone, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		return Zone{}, fmt.Errorf("unknown time zone %q; use an IANA name such as Europe/Amsterdam", name)
	}
	return Zone{loc: loc}, nil
}

// Location returns the zone's location; UTC for the zero Zone.
func (z Zone) Location() *time.Location {
	if z.loc == nil {
		return time.UTC
	}
	return z.loc
}

// String returns the zone's IANA name; "" for the zero Zone.
func (z Zone) String() string {
	if z.loc == nil {
		return ""
	}
	return z.loc.String()
}

// Equal reports whether z and o name the same zone.
func (z Zone) Equal(o Zone) bool { return z.String() == o.String() }

// MarshalText implements encoding.TextMarshaler: the IANA name.
func (z Zone) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with LoadZone.
func (z *Zone) UnmarshalText(text []byte) error {
	parsed, err := LoadZone(string(text))
	if err != nil {
		return err
	}
	*z = parsed
	return nil
}

func (z Zone) check() error {
	if z.loc == nil {
		return fmt.Errorf("unknown time zone %q; use an IANA name such as Europe/Amsterdam", "")
	}
	return nil
}

// minutesPerDay is 24:00 in minutes after midnight.
const minutesPerDay = 24 * 60

// OperatingHours is a daily span of time: the value of
// billing.operating_hours, written as HH:MM-HH:MM. A To before From spans
// midnight; 00:00-24:00 is the whole day. The zero OperatingHours is an
// empty span, which Validate refuses.
type OperatingHours struct {
	// From is the start, in minutes after midnight, from 0 to 1440 (24:00).
	From int
	// To is the end, in minutes after midnight, from 0 to 1440 (24:00).
	To int
}

// String returns the span as HH:MM-HH:MM.
func (h OperatingHours) String() string {
	return clock(h.From) + "-" + clock(h.To)
}

func clock(minutes int) string {
	return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60)
}

// MarshalText implements encoding.TextMarshaler: HH:MM-HH:MM.
func (h OperatingHours) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses HH:MM-HH:MM,
// where 24:00 is the end of the day.
func (h *OperatingHours) UnmarshalText(text []byte) error {
	s := string(text)
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return fmt.Errorf("%q: want HH:MM-HH:MM", s)
	}
	parse := func(x string) (int, error) {
		if strings.TrimSpace(x) == "24:00" {
			return minutesPerDay, nil
		}
		t, err := time.Parse("15:04", strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q: want HH:MM-HH:MM", s)
		}
		return t.Hour()*60 + t.Minute(), nil
	}
	from, err := parse(a)
	if err != nil {
		return err
	}
	to, err := parse(b)
	if err != nil {
		return err
	}
	if from == to {
		return fmt.Errorf("%q: empty span", s)
	}
	*h = OperatingHours{From: from, To: to}
	return nil
}

func (h OperatingHours) check() error {
	switch {
	case h.From < 0 || h.From > minutesPerDay || h.To < 0 || h.To > minutesPerDay:
		return fmt.Errorf("%d-%d: from and to must be minutes after midnight, 0 to 1440", h.From, h.To)
	case h.From == h.To:
		return fmt.Errorf("%q: empty span", h.String())
	}
	return nil
}

// MilestoneInterval is one entry of workflow.milestone_intervals, written as
// type=duration, such as shipment.arrived=15m.
type MilestoneInterval struct {
	// Type is the milestone's event type, such as shipment.arrived.
	Type string
	// Interval is how long milestones of Type wait to be synced together;
	// positive.
	Interval time.Duration
}

// String returns the entry as type=duration.
func (m MilestoneInterval) String() string { return m.Type + "=" + formatDuration(m.Interval) }

// MarshalText implements encoding.TextMarshaler: type=duration.
func (m MilestoneInterval) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses
// type=duration, where type is a milestone and duration is positive.
func (m *MilestoneInterval) UnmarshalText(text []byte) error {
	e := string(text)
	typ, d, ok := strings.Cut(e, "=")
	dur, err := time.ParseDuration(strings.TrimSpace(d))
	if !ok || err != nil {
		return fmt.Errorf("entry %q must be type=duration, such as shipment.arrived=15m", e)
	}
	parsed := MilestoneInterval{Type: strings.TrimSpace(typ), Interval: dur}
	if err := parsed.check(e); err != nil {
		return err
	}
	*m = parsed
	return nil
}

// check checks the entry, written as entry.
func (m MilestoneInterval) check(entry string) error {
	switch {
	case !slices.Contains(milestoneTypes, m.Type):
		return fmt.Errorf("entry %q: %q is not a milestone; must be %s", entry, m.Type, orList(milestoneTypes))
	case m.Interval <= 0:
		return fmt.Errorf("entry %q: the interval must be positive, such as shipment.arrived=15m", entry)
	}
	return nil
}

// milestoneTypes are the event types whose sync can be batched.
var milestoneTypes = []string{"shipment.departed", "shipment.delayed", "shipment.arrived", "shipment.delivered", "shipment.exception", "shipment.returned"}

// JobLane is one entry of jobs.lanes, written as lane=workers, such as
// low=4.
type JobLane struct {
	// Lane is shipment.LaneLow or shipment.LaneBackground; the critical
	// lane's workers are jobs.workers.
	Lane string
	// Workers is the number of the lane's jobs that run at the same time;
	// at least 1.
	Workers int
}

// String returns the entry as lane=workers.
func (l JobLane) String() string { return l.Lane + "=" + strconv.Itoa(l.Workers) }

// MarshalText implements encoding.TextMarshaler: lane=workers.
func (l JobLane) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses
// lane=workers, where lane is low or background and workers is at least 1.
// White space around either is ignored.
func (l *JobLane) UnmarshalText(text []byte) error {
	e := string(text)
	lane, n, ok := strings.Cut(e, "=")
	workers, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil {
		return fmt.Errorf("entry %q must be lane=workers, such as low=4", e)
	}
	parsed := JobLane{Lane: strings.TrimSpace(lane), Workers: workers}
	if err := parsed.check(e); err != nil {
		return err
	}
	*l = parsed
	return nil
}

// jobLanes are the lanes jobs.lanes sets.
var jobLanes = []string{shipment.LaneLow, shipment.LaneBackground}

// check checks the entry, written as entry.
func (l JobLane) check(entry string) error {
	switch {
	case l.Lane == shipment.LaneCritical:
		return fmt.Errorf("entry %q: the critical lane's workers are jobs.workers", entry)
	case !slices.Contains(jobLanes, l.Lane):
		return fmt.Errorf("entry %q: unknown lane %q; must be %s", entry, l.Lane, orList(jobLanes))
	case l.Workers < 1:
		return fmt.Errorf("entry %q: workers must be at least 1", entry)
	}
	return nil
}

// ServiceProduct is one entry of connectors.odoo.service_products, written
// as type=CODE, such as detention=DETENTION.
type ServiceProduct struct {
	// ChargeType is the charge type, one of ChargeTypes.
	ChargeType string
	// Code is the internal reference (default_code) of the Odoo product
	// that bills charges of ChargeType; not empty.
	Code string
}

// String returns the entry as type=CODE.
func (p ServiceProduct) String() string { return p.ChargeType + "=" + p.Code }

// MarshalText implements encoding.TextMarshaler: type=CODE.
func (p ServiceProduct) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses type=CODE,
// where type is one of ChargeTypes and CODE is not empty. White space around
// either is ignored.
func (p *ServiceProduct) UnmarshalText(text []byte) error {
	e := string(text)
	typ, code, ok := strings.Cut(e, "=")
	if !ok {
		return fmt.Errorf("entry %q must be type=CODE, such as detention=DETENTION", e)
	}
	parsed := ServiceProduct{ChargeType: strings.TrimSpace(typ), Code: strings.TrimSpace(code)}
	if err := parsed.check(e); err != nil {
		return err
	}
	*p = parsed
	return nil
}

// check checks the entry, written as entry.
func (p ServiceProduct) check(entry string) error {
	switch {
	case p.Code == "":
		return fmt.Errorf("entry %q must be type=CODE, such as detention=DETENTION", entry)
	case !slices.Contains(ChargeTypes, p.ChargeType):
		return fmt.Errorf("entry %q: unknown charge type %q; must be %s", entry, p.ChargeType, orList(ChargeTypes))
	}
	return nil
}

// OdooPolicy is one entry of connectors.odoo.policies, written as
// space-separated key=value pairs: "customer=odoo:res.partner/42
// backorder=cancel". Empty fields do not match (Customer, Warehouse) or do
// not override (Backorder, InvoiceState); at least one of Backorder and
// InvoiceState is set.
type OdooPolicy struct {
	Customer, Warehouse     string
	Backorder, InvoiceState string
}

// String returns the entry as key=value pairs, in the order customer,
// warehouse, backorder, invoice_state, leaving out empty fields.
func (p OdooPolicy) String() string {
	var fs []string
	for _, kv := range [][2]string{{"customer", p.Customer}, {"warehouse", p.Warehouse}, {"backorder", p.Backorder}, {"invoice_state", p.InvoiceState}} {
		if kv[1] != "" {
			fs = append(fs, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(fs, " ")
}

// MarshalText implements encoding.TextMarshaler: the String form.
func (p OdooPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses
// space-separated key=value pairs of the keys customer, warehouse, backorder
// (create or cancel) and invoice_state (draft or posted).
func (p *OdooPolicy) UnmarshalText(text []byte) error {
	e := string(text)
	parsed, err := parseOdooPolicy(e)
	if err == nil {
		err = parsed.check()
	}
	if err != nil {
		return fmt.Errorf("entry %q: %w", e, err)
	}
	*p = parsed
	return nil
}

func parseOdooPolicy(entry string) (OdooPolicy, error) {
	var p OdooPolicy
	for _, f := range strings.Fields(entry) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return p, fmt.Errorf("%q is not key=value", f)
		}
		switch k {
		case "customer":
			p.Customer = v
		case "warehouse":
			p.Warehouse = v
		case "backorder":
			p.Backorder = v
		case "invoice_state":
			p.InvoiceState = v
		default:
			return p, fmt.Errorf("unknown key %q: want customer, warehouse, backorder or invoice_state", k)
		}
	}
	return p, nil
}

func (p OdooPolicy) check() error {
	switch {
	case p.Backorder != "" && p.Backorder != OdooBackorderCreate && p.Backorder != OdooBackorderCancel:
		return fmt.Errorf("backorder %q: must be create or cancel", p.Backorder)
	case p.InvoiceState != "" && p.InvoiceState != OdooInvoiceDraft && p.InvoiceState != OdooInvoicePosted:
		return fmt.Errorf("invoice_state %q: must be draft or posted", p.InvoiceState)
	case p.Backorder == "" && p.InvoiceState == "":
		return errors.New("sets neither backorder nor invoice_state")
	case strings.ContainsAny(p.Customer+p.Warehouse, " \t\n"):
		return errors.New("customer and warehouse must not hold white space")
	}
	return nil
}

// TimeOfDay is a time of day written HH:MM, from 00:00 to 24:00 (the end
// of the day).
type TimeOfDay struct {
	// Minutes is the time in minutes after midnight, 0 to 1440.
	Minutes int
}

// Duration is the time of day as time after midnight.
func (t TimeOfDay) Duration() time.Duration { return time.Duration(t.Minutes) * time.Minute }

// String returns the time as HH:MM.
func (t TimeOfDay) String() string { return clock(t.Minutes) }

// MarshalText implements encoding.TextMarshaler: HH:MM.
func (t TimeOfDay) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses HH:MM, where
// 24:00 is the end of the day.
func (t *TimeOfDay) UnmarshalText(text []byte) error {
	m, err := parseClock(string(text))
	if err != nil {
		return err
	}
	*t = TimeOfDay{Minutes: m}
	return nil
}

// parseClock parses HH:MM, 00:00 to 24:00, into minutes after midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
		return 0, fmt.Errorf("%q: want a time of day HH:MM, 00:00 to 24:00", s)
	}
	return hh*60 + mm, nil
}

// ReconcileWarehouse is one entry of reconcile.warehouses, written
// NAME=HH:MM or NAME=HH:MM@Zone, such as CHI=20:00@America/Chicago.
type ReconcileWarehouse struct {
	// Name is the warehouse: a shipment's origin name up to the first
	// slash, such as WH for WH/Stock.
	Name string
	// Cutoff is when its business day ends, 00:01 to 24:00.
	Cutoff TimeOfDay
	// Timezone is its zone; unset is reconcile.timezone.
	Timezone Zone
}

// String returns the entry as NAME=HH:MM[@Zone].
func (w ReconcileWarehouse) String() string {
	s := w.Name + "=" + w.Cutoff.String()
	if z := w.Timezone.String(); z != "" {
		s += "@" + z
	}
	return s
}

// MarshalText implements encoding.TextMarshaler: NAME=HH:MM[@Zone].
func (w ReconcileWarehouse) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses
// NAME=HH:MM or NAME=HH:MM@Zone.
func (w *ReconcileWarehouse) UnmarshalText(text []byte) error {
	e := string(text)
	name, rest, ok := strings.Cut(e, "=")
	if !ok {
		return fmt.Errorf("entry %q must be NAME=HH:MM or NAME=HH:MM@Zone, such as CHI=20:00@America/Chicago", e)
	}
	at, zone, withZone := strings.Cut(strings.TrimSpace(rest), "@")
	m, err := parseClock(strings.TrimSpace(at))
	if err != nil {
		return fmt.Errorf("entry %q: %w", e, err)
	}
	parsed := ReconcileWarehouse{Name: strings.TrimSpace(name), Cutoff: TimeOfDay{Minutes: m}}
	if withZone {
		if parsed.Timezone, err = LoadZone(strings.TrimSpace(zone)); err != nil {
			return fmt.Errorf("entry %q: %w", e, err)
		}
	}
	if err := parsed.check(e); err != nil {
		return err
	}
	*w = parsed
	return nil
}

// check checks the entry, written as entry.
func (w ReconcileWarehouse) check(entry string) error {
	switch {
	case w.Name == "" || strings.ContainsAny(w.Name, "/=@\x00\n") || len(w.Name) > 100:
		return fmt.Errorf("entry %q: the warehouse name must be 1 to 100 characters without / = or @", entry)
	case w.Cutoff.Minutes <= 0 || w.Cutoff.Minutes > minutesPerDay:
		return fmt.Errorf("entry %q: the cut-off must be 00:01 to 24:00", entry)
	}
	return nil
}

// FreightTolerance is one entry of freight_audit.tolerances, written as
// space-separated key=value pairs: "type=linehaul abs=5.00 percent=2".
// Abs and Percent are plain decimals; an empty one allows nothing.
type FreightTolerance struct {
	Type, Abs, Percent string
}

// String returns the entry as key=value pairs, leaving out empty bounds.
func (t FreightTolerance) String() string {
	fs := []string{"type=" + t.Type}
	if t.Abs != "" {
		fs = append(fs, "abs="+t.Abs)
	}
	if t.Percent != "" {
		fs = append(fs, "percent="+t.Percent)
	}
	return strings.Join(fs, " ")
}

// MarshalText implements encoding.TextMarshaler: the String form.
func (t FreightTolerance) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it parses
// space-separated key=value pairs of the keys type (a charge type or
// default), abs and percent (non-negative plain decimals), at least one
// of abs and percent.
func (t *FreightTolerance) UnmarshalText(text []byte) error {
	e := string(text)
	var parsed FreightTolerance
	for _, f := range strings.Fields(e) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return fmt.Errorf("entry %q: %q is not key=value", e, f)
		}
		switch k {
		case "type":
			parsed.Type = v
		case "abs":
			parsed.Abs = v
		case "percent":
			parsed.Percent = strings.TrimSuffix(v, "%")
		default:
			return fmt.Errorf("entry %q: unknown key %q: want type, abs or percent", e, k)
		}
	}
	if err := parsed.check(); err != nil {
		return fmt.Errorf("entry %q: %w", e, err)
	}
	*t = parsed
	return nil
}

func (t FreightTolerance) check() error {
	switch {
	case t.Type == "":
		return errors.New("needs a type, such as type=linehaul or type=default")
	case t.Type != "default" && !slices.Contains(ChargeTypes, t.Type):
		return fmt.Errorf("unknown charge type %q; must be default or %s", t.Type, orList(ChargeTypes))
	case t.Abs == "" && t.Percent == "":
		return errors.New("sets neither abs nor percent")
	case t.Abs != "" && !plainDecimal(t.Abs):
		return fmt.Errorf("abs %q must be a non-negative plain decimal, such as 5.00", t.Abs)
	case t.Percent != "" && !plainDecimal(t.Percent):
		return fmt.Errorf("percent %q must be a non-negative plain decimal, such as 2.5", t.Percent)
	}
	return nil
}

// plainDecimal reports whether s is a non-negative decimal without sign or
// exponent, such as 5 or 2.50.
func plainDecimal(s string) bool {
	return s != "" && s[0] != '-' && s[0] != '+' && decimal.Valid(s)
}
