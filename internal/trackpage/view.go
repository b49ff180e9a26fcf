package trackpage

import (
	"net/url"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/shipment"
)

// View is what the tracking page shows of a shipment, and its JSON form:
// nothing else of the shipment leaves through the page. Build it with
// [NewView].
type View struct {
	// Reference is the shipment's customer-facing reference: its bill of
	// lading, purchase order, PRO or carrier tracking number, the first
	// one it has; empty when it has none.
	Reference string `json:"reference,omitempty"`
	// Status is the public status: order_received, preparing, ready,
	// loaded, in_transit, delayed, arrived, delivered, on_hold, returned or
	// cancelled.
	Status string `json:"status"`
	// StatusText is the status in words.
	StatusText  string      `json:"status_text"`
	Origin      *Place      `json:"origin,omitempty"`
	Destination *Place      `json:"destination,omitempty"`
	ETA         *LocalTime  `json:"eta,omitempty"`
	Milestones  []Milestone `json:"milestones"`
	Delivery    *Delivery   `json:"delivery,omitempty"`
	Brand       *Brand      `json:"brand,omitempty"`
}

// Place is a city and country, never an address.
type Place struct {
	City    string `json:"city,omitempty"`
	Region  string `json:"region,omitempty"`
	Country string `json:"country,omitempty"`
}

// String returns the place as "City, Region, Country", leaving out what
// it lacks.
func (p *Place) String() string {
	if p == nil {
		return ""
	}
	var parts []string
	for _, s := range []string{p.City, p.Region, p.Country} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// LocalTime is an instant in the time zone of where it happened (else the
// configured zone).
type LocalTime struct {
	// At is the instant, in RFC 3339 with the zone's offset.
	At time.Time `json:"at"`
	// Zone is the IANA name of the zone.
	Zone string `json:"zone"`
	// Text is the local time in words, such as "Thu 26 Nov 2026, 14:00 CET".
	Text string `json:"text"`
}

// Milestone is one step of the shipment's journey.
type Milestone struct {
	// Type is the event type, such as shipment.departed or
	// shipment.tracked.
	Type string `json:"type"`
	// Text is the milestone in words.
	Text  string    `json:"text"`
	At    LocalTime `json:"at"`
	Late  bool      `json:"late,omitempty"`
	Place *Place    `json:"place,omitempty"`
}

// Delivery is the proof of delivery: who signed and when, and the photos'
// links when the page shows them.
type Delivery struct {
	Signer   string    `json:"signer"`
	SignedAt LocalTime `json:"signed_at"`
	Photos   []string  `json:"photos,omitempty"`
}

// Brand is the look of a customer's pages.
type Brand struct {
	Name         string `json:"name,omitempty"`
	LogoURL      string `json:"logo_url,omitempty"`
	PrimaryColor string `json:"primary_color,omitempty"`
	AccentColor  string `json:"accent_color,omitempty"`
}

// ViewOptions are what a View of a shipment depends on besides it.
type ViewOptions struct {
	// Location is the zone of times whose place has none; UTC when nil.
	Location *time.Location
	// ShowPODPhotos puts the https links of the proof's photos in the
	// view.
	ShowPODPhotos bool
	// Branding maps customer refs to their brand.
	Branding map[string]Brand
}

// statuses maps the shipment's states to the public status and its words.
// Billing states are internal: an invoiced or closed shipment is
// delivered to the public.
var statuses = map[shipment.State][2]string{
	shipment.Planned:   {"order_received", "Order received"},
	shipment.Reserved:  {"preparing", "Being prepared"},
	shipment.Short:     {"preparing", "Being prepared"},
	shipment.Released:  {"ready", "Ready for dispatch"},
	shipment.Assigned:  {"ready", "Ready for dispatch"},
	shipment.Loaded:    {"loaded", "Loaded"},
	shipment.InTransit: {"in_transit", "In transit"},
	shipment.Delayed:   {"delayed", "Delayed"},
	shipment.Arrived:   {"arrived", "Arrived at destination"},
	shipment.Delivered: {"delivered", "Delivered"},
	shipment.Invoiced:  {"delivered", "Delivered"},
	shipment.Closed:    {"delivered", "Delivered"},
	shipment.Exception: {"on_hold", "On hold"},
	shipment.Returned:  {"returned", "Returned to sender"},
	shipment.Cancelled: {"cancelled", "Cancelled"},
}

// milestoneWords names, in words, the milestone types the public sees.
// Any other type (invoicing, picking validation, reviews, charges,
// shortages) is internal and stays off the page. shipment.tracked is a
// carrier's status, shown in its own words.
var milestoneWords = map[string]string{
	"shipment.planned":   "Order received",
	"inventory.reserved": "Being prepared",
	"dispatch.assigned":  "Carrier assigned",
	"shipment.loaded":    "Loaded",
	"shipment.departed":  "Departed",
	"shipment.arrived":   "Arrived",
	"shipment.delayed":   "Delayed",
	"shipment.delivered": "Delivered",
	"shipment.exception": "Held up",
	"shipment.returned":  "Returned to sender",
	"shipment.cancelled": "Cancelled",
	"shipment.tracked":   "",
}

// atDestination are the milestone types that happen at the destination:
// without a location of their own, they show in its time zone.
var atDestination = map[string]bool{"shipment.arrived": true, "shipment.delivered": true}

// referenceKeys are the references the public may see, in order of
// preference.
var referenceKeys = []string{"bol", "po", "pro"}

// NewView builds the public view of sh.
func NewView(sh *shipment.Shipment, o ViewOptions) *View {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	v := &View{Milestones: []Milestone{}}
	for _, k := range referenceKeys {
		if r := sh.References[k]; r != "" {
			v.Reference = r
			break
		}
	}
	if v.Reference == "" {
		v.Reference = sh.TrackingRef
	}
	st, ok := statuses[sh.State]
	if !ok {
		st = [2]string{"in_progress", "In progress"}
	}
	v.Status, v.StatusText = st[0], st[1]
	v.Origin, v.Destination = placeOf(sh.Origin), placeOf(sh.Destination)
	destZone := zoneOf(sh.Destination, loc)
	if sh.ETA != nil && v.Status != "delivered" {
		t := localTime(*sh.ETA, destZone)
		v.ETA = &t
	}
	for _, m := range sh.Milestones {
		words, public := milestoneWords[m.Type]
		if !public {
			continue
		}
		if words == "" {
			words = humanize(m.Status)
		}
		if words == "" {
			continue
		}
		zone := loc
		if m.Location == nil && atDestination[m.Type] {
			zone = destZone
		}
		v.Milestones = append(v.Milestones, Milestone{Type: m.Type, Text: words, At: localTime(m.At, zoneOf(m.Location, zone)),
			Late: m.Late, Place: placeOf(m.Location)})
	}
	if p := sh.POD; p != nil {
		d := &Delivery{Signer: p.Signer, SignedAt: localTime(p.SignedAt, destZone)}
		if o.ShowPODPhotos {
			for _, ph := range p.Photos {
				if u, err := url.Parse(ph.URI); err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil {
					d.Photos = append(d.Photos, u.String())
				}
			}
		}
		v.Delivery = d
	}
	if c := sh.Customer; c != nil && c.Ref != "" {
		if b, ok := o.Branding[c.Ref]; ok {
			v.Brand = &b
		}
	}
	return v
}

// placeOf returns the city, region and country of l, or nil.
func placeOf(l *shipment.Location) *Place {
	if l == nil || (l.City == "" && l.Region == "" && l.Country == "") {
		return nil
	}
	return &Place{City: l.City, Region: l.Region, Country: l.Country}
}

// zoneOf returns the zone of l when it names a known one, else def.
func zoneOf(l *shipment.Location, def *time.Location) *time.Location {
	if l == nil || l.Timezone == "" {
		return def
	}
	z, err := time.LoadLocation(l.Timezone)
	if err != nil {
		return def
	}
	return z
}

func localTime(t time.Time, loc *time.Location) LocalTime {
	t = t.In(loc)
	return LocalTime{At: t, Zone: loc.String(), Text: t.Format("Mon 2 Jan 2006, 15:04 MST")}
}

// humanize turns a status code such as out_for_delivery into words: "Out
// for delivery".
func humanize(code string) string {
	s := strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(code))
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
