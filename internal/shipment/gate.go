package shipment

// Gate is the next gate of the flow a shipment has to pass (docs/states.md,
// "Gates"), and what it waits for.
type Gate struct {
	// Name is the gate: dispatch release, loading, proof of delivery,
	// billing, invoice or exception review.
	Name string
	// WaitsFor is what lets the shipment through, in a person's words.
	WaitsFor string
}

// NextGate returns the gate the shipment must pass next, and false once
// it has none left (invoiced, or terminal).
func (s *Shipment) NextGate() (Gate, bool) {
	if s.State == Exception {
		return Gate{Name: "exception review", WaitsFor: "every open exception resolved by its reporter or decided in the review queue; then the shipment goes on as " +
			string(s.current())}, true
	}
	switch s.State {
	case Planned, Reserved, Short:
		return Gate{Name: "dispatch release", WaitsFor: "every line fully reserved (inventory.reserved), or some quantity reserved when partial release is on, or a shortage review approved"}, true
	case Released, Assigned:
		return Gate{Name: "loading", WaitsFor: "shipment.loaded with loaded quantities no larger than those reserved"}, true
	case Loaded, InTransit, Delayed, Arrived:
		return Gate{Name: "proof of delivery", WaitsFor: "shipment.delivered with a proof of delivery: signer, time and delivered quantity per line, no more than loaded"}, true
	case Delivered:
		if s.Billable {
			return Gate{Name: "invoice", WaitsFor: "the ERP to confirm the invoice the invoice.prepare action asked for"}, true
		}
		return Gate{Name: "billing", WaitsFor: "an accepted proof of delivery, no open exception and, when the ERP validates pickings, its validation of the picking"}, true
	}
	return Gate{}, false
}
