package tracking

// Partner holds the settings of one source that mappers consult: the
// defaults the partner's messages leave out and its own code tables. The
// zero value is usable: standard tables, no default zone, USD.
type Partner struct {
	// ID names the source (the source profile's id).
	ID string
	// Zone is the IANA zone of times that carry none and have no location
	// to resolve them from. Empty means such a time is an error.
	Zone string
	// Currency is the ISO 4217 currency of amounts that carry none.
	// Defaults to USD for X12.
	Currency string
	// WeightUnit is the unit of weights sent without one (lb, kg, oz).
	WeightUnit string
	// StatusCodes map the partner's status codes to canonical statuses,
	// before the format's standard table.
	StatusCodes map[string]Status
	// ReasonCodes map the partner's reason codes to exception types,
	// before the format's standard table.
	ReasonCodes map[string]string
	// ChargeCodes map the partner's charge codes to charge types, before
	// the format's standard table.
	ChargeCodes map[string]string
	// SignerRemark is the remark prefix that names the POD signer (X12 K1,
	// for example "POD SIGNED BY"). Empty means the standard one.
	SignerRemark string
}

// Status looks code up in the partner's overrides.
func (p *Partner) Status(code string) (Status, bool) {
	if p == nil {
		return "", false
	}
	s, ok := p.StatusCodes[code]
	return s, ok
}

// Reason looks code up in the partner's overrides.
func (p *Partner) Reason(code string) (string, bool) {
	if p == nil {
		return "", false
	}
	s, ok := p.ReasonCodes[code]
	return s, ok
}

// Charge looks code up in the partner's overrides.
func (p *Partner) Charge(code string) (string, bool) {
	if p == nil {
		return "", false
	}
	s, ok := p.ChargeCodes[code]
	return s, ok
}

// TenderResponse is a carrier's answer to a load tender (X12 990).
type TenderResponse struct {
	SourceEventID string `json:"source_event_id"`
	Keys          Keys   `json:"shipment_keys"`
	// Accepted is true for A (accepted), false for D (declined).
	Accepted bool   `json:"accepted"`
	Action   string `json:"raw_action"`
	Reason   string `json:"reason,omitempty"`
	// Date is the civil date of the response (YYYY-MM-DD).
	Date string `json:"date,omitempty"`
}

// Mapped is what one message gives: its events, invoices, tender
// responses and proofs of delivery, and how many duplicates inside it
// were dropped.
type Mapped struct {
	Events     []Event          `json:"events,omitempty"`
	Invoices   []Invoice        `json:"invoices,omitempty"`
	Responses  []TenderResponse `json:"responses,omitempty"`
	Deliveries []Delivery       `json:"deliveries,omitempty"`
	Dropped    int              `json:"dropped,omitempty"`
}
