package tmssim

import (
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/quantity"
)

// Plan is what happens to one accepted release: the simulator turns it into
// the lifecycle events it sends to Waybill, in this order:
//
//	dispatch.assigned   Assignment (unless Options.SkipAssignedEvent)
//	shipment.loaded     Loaded, Seal
//	shipment.departed   from the pickup location, with the planned delivery as ETA
//	shipment.delayed    Delay, when set
//	shipment.arrived    at the delivery location
//	shipment.exception  Exception, when set
//	shipment.delivered  Delivered, Signer, Remarks, unless NoDelivery
//	shipment.returned   Return, when set
//
// Zero fields take defaults derived from the release, so Plan{} is a full
// delivery. The exception comes before the delivery so that Waybill holds
// billing from the moment the proof of delivery arrives.
type Plan struct {
	// Assignment is the transport assigned: the reply to the release and
	// the data of the dispatch.assigned event. Nil makes one up from the
	// seed and the dispatch id: a vehicle, a driver, a route and the planned
	// pickup and delivery of the simulated timeline.
	Assignment *tms.Assignment
	// Loaded is the quantity loaded per line. Nil loads every line's
	// reserved quantity with its reserved lots; lines with nothing reserved
	// are not loaded.
	Loaded []LineLoad
	// Seal is the trailer seal number. Empty makes one up.
	Seal string
	// Delay, when set, makes the shipment late.
	Delay *Delay
	// Exception, when set, is reported after arrival.
	Exception *Exception
	// Delivered is the quantity delivered per line, as the proof of
	// delivery records it. Nil delivers everything loaded.
	Delivered []LineQty
	// NoDelivery leaves out shipment.delivered: the goods were not handed
	// over.
	NoDelivery bool
	// Signer is who signed the proof of delivery. Empty makes a name up.
	Signer string
	// Remarks are the proof of delivery's remarks. Empty leaves them out.
	Remarks string
	// Return, when set, sends the goods back to the sender after delivery
	// (or after the exception when there is no delivery).
	Return *Return
}

// LineLoad is what was loaded of one line.
type LineLoad struct {
	LineID   string
	Quantity quantity.Quantity
	// Lots is the loaded quantity per lot, or nil.
	Lots []tms.Lot
}

// LineQty is a quantity of one line.
type LineQty struct {
	LineID   string
	Quantity quantity.Quantity
}

// Delay makes a shipment late.
type Delay struct {
	// Reason says what happened. Empty uses a traffic jam.
	Reason string
	// ReasonCode is the partner's code, such as an X12 AT7-02 code. Empty
	// leaves it out.
	ReasonCode string
	// By is how much later than planned the shipment arrives. Zero means
	// DelayDefault.
	By time.Duration
}

// DelayDefault is the default of Delay.By.
const DelayDefault = 90 * time.Minute

// Exception is something that went wrong at delivery.
type Exception struct {
	// Category is one of the shipment.exception categories: damaged,
	// refused, returned, short, lost, delay, route_changed, address,
	// customs, weather, hold or other. Required.
	Category string
	// ID identifies the exception, so that it can be resolved later. Empty
	// uses "<category>-<dispatch id>" (shortened to 64 characters).
	ID string
	// Description says what happened. Empty leaves it out.
	Description string
	// ReasonCode is the partner's code. Empty leaves it out.
	ReasonCode string
	// Lines are the affected quantities, or nil.
	Lines []LineQty
	// OwnerRole is who is expected to act. Empty leaves it to Waybill.
	OwnerRole string
}

// Return sends goods back to the sender.
type Return struct {
	// Reason says why. Empty leaves it out.
	Reason string
	// Lines are the returned quantities; nil returns the whole shipment.
	Lines []LineQty
}

// FullDelivery returns a scenario in which everything reserved is loaded
// and delivered: the default.
func FullDelivery() func(r Release) Plan {
	return func(Release) Plan { return Plan{} }
}

// PartialDelivery returns a scenario in which everything reserved is loaded
// but only ratio (between 0 and 1) of each line is delivered, rounded down
// to a whole number for whole quantities and to 3 decimals otherwise (NaN
// counts as 0). The
// shortfall is reported as an exception of category short before the
// delivery.
func PartialDelivery(ratio float64) func(r Release) Plan {
	if math.IsNaN(ratio) {
		ratio = 0
	}
	rat := new(big.Rat).SetFloat64(min(max(ratio, 0), 1)) // read only: scenarios run concurrently
	return func(r Release) Plan {
		loaded := DefaultLoad(r)
		var delivered, short []LineQty
		for _, l := range loaded {
			d := scaleDown(l.Quantity, rat)
			delivered = append(delivered, LineQty{LineID: l.LineID, Quantity: d})
			if diff, err := l.Quantity.Sub(d); err == nil && diff.Sign() > 0 {
				short = append(short, LineQty{LineID: l.LineID, Quantity: diff})
			}
		}
		p := Plan{Loaded: loaded, Delivered: delivered}
		if len(short) > 0 {
			p.Remarks = fmt.Sprintf("Delivered short on %d of %d lines", len(short), len(loaded))
			p.Exception = &Exception{Category: "short", Description: "Consignee received less than was loaded", Lines: short}
		}
		return p
	}
}

// Damaged returns a scenario in which qty (a decimal in the line's unit) of
// the first loaded line with sku is damaged in transit: it is reported as an
// exception of category damaged and left out of the delivered quantity. A
// qty that does not parse, or exceeds what was loaded, damages the whole
// line; an sku the release does not carry gives a damaged exception without
// lines.
func Damaged(sku, qty string) func(r Release) Plan {
	return func(r Release) Plan {
		loaded := DefaultLoad(r)
		skus := map[string]string{}
		for _, l := range r.Dispatch.Lines {
			skus[l.LineID] = l.SKU
		}
		p := Plan{Loaded: loaded}
		exc := &Exception{Category: "damaged", ReasonCode: "AK"}
		for _, l := range loaded {
			d := l.Quantity
			if skus[l.LineID] == sku && exc.Lines == nil {
				q, err := quantity.Parse(qty, string(l.Quantity.Unit()))
				if c, cerr := q.Cmp(l.Quantity); err != nil || cerr != nil || c > 0 || q.Sign() < 0 {
					q = l.Quantity
				}
				exc.Lines = []LineQty{{LineID: l.LineID, Quantity: q}}
				d, _ = l.Quantity.Sub(q) // same unit
			}
			p.Delivered = append(p.Delivered, LineQty{LineID: l.LineID, Quantity: d})
		}
		if exc.Lines != nil {
			exc.Description = fmt.Sprintf("%s of %s damaged in transit, refused by the consignee and taken back by the driver", exc.Lines[0].Quantity, sku)
			p.Remarks = fmt.Sprintf("%s %s refused: damaged", exc.Lines[0].Quantity, sku)
		} else {
			exc.Description = fmt.Sprintf("%s damaged in transit", sku)
		}
		p.Exception = exc
		return p
	}
}

// Refused returns a scenario in which the consignee refuses the whole
// shipment on arrival: an exception of category refused for everything
// loaded, no delivery, and the goods returned to the sender.
func Refused() func(r Release) Plan {
	return func(r Release) Plan {
		loaded := DefaultLoad(r)
		lines := make([]LineQty, 0, len(loaded))
		for _, l := range loaded {
			lines = append(lines, LineQty{LineID: l.LineID, Quantity: l.Quantity})
		}
		return Plan{
			Loaded:     loaded,
			Exception:  &Exception{Category: "refused", ReasonCode: "A5", Description: "Consignee refused the delivery: not ordered", Lines: lines},
			NoDelivery: true,
			Return:     &Return{Reason: "Refused by the consignee", Lines: lines},
		}
	}
}

// DefaultLoad returns what a Plan with nil Loaded loads: each line's
// reserved quantity with its reserved lots, leaving out lines with nothing
// reserved.
func DefaultLoad(r Release) []LineLoad {
	var out []LineLoad
	for _, l := range r.Dispatch.Lines {
		if l.Reserved == nil {
			continue
		}
		out = append(out, LineLoad{LineID: l.LineID, Quantity: *l.Reserved, Lots: l.Lots})
	}
	return out
}

// scaleDown returns q × ratio rounded down: to a whole number when q is
// whole, else to 3 decimals.
func scaleDown(q quantity.Quantity, ratio *big.Rat) quantity.Quantity {
	v := new(big.Rat).Mul(q.Rat(), ratio)
	scale := big.NewInt(1)
	if !q.Rat().IsInt() {
		scale = big.NewInt(1000)
	}
	n := new(big.Int).Mul(v.Num(), scale)
	n.Quo(n, v.Denom()) // non-negative, so truncation rounds down
	out, err := quantity.New(new(big.Rat).SetFrac(n, scale), q.Unit())
	if err != nil {
		return q
	}
	return out
}
