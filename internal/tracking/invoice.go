package tracking

import "github.com/waybill/waybill/internal/money"

// Charge types of a freight invoice line, as in the charges.reported event.
const (
	ChargeLinehaul       = "linehaul"
	ChargeFuel           = "fuel"
	ChargeDetention      = "detention"
	ChargeLiftgate       = "liftgate"
	ChargeResidential    = "residential"
	ChargeInsideDelivery = "inside_delivery"
	ChargeRedelivery     = "redelivery"
	ChargeLayover        = "layover"
	ChargeLumper         = "lumper"
	ChargeAccessorial    = "accessorial"
	ChargeTax            = "tax"
	ChargeDiscount       = "discount"
	ChargeOther          = "other"
)

// Invoice is a carrier's freight invoice (X12 210): what the carrier
// claims, kept for audit against Waybill's own rating.
type Invoice struct {
	SourceEventID string `json:"source_event_id"`
	Format        string `json:"format"`
	Keys          Keys   `json:"shipment_keys"`
	InvoiceNumber string `json:"invoice_number"`
	// InvoiceDate is a civil date (YYYY-MM-DD), not an instant.
	InvoiceDate string `json:"invoice_date,omitempty"`
	Currency    string `json:"currency"`
	// CurrencySource is "document" or "partner_default".
	CurrencySource string        `json:"currency_source"`
	Total          money.Money   `json:"total"`
	Lines          []InvoiceLine `json:"lines"`
	Weights        []Weight      `json:"weights,omitempty"`
	HandlingUnits  *Count        `json:"handling_units,omitempty"`
	POD            *InvoicePOD   `json:"pod,omitempty"`
	Remarks        []string      `json:"remarks,omitempty"`
}

// InvoiceLine is one charge.
type InvoiceLine struct {
	// Type is one of the Charge constants; RawCode is the partner's code
	// (X12 L1-08, element 150).
	Type        string `json:"type"`
	RawCode     string `json:"raw_code"`
	Description string `json:"description,omitempty"`
	// Rate and RateBasis are as the partner states them (for example
	// "75.00" per "PR" hour, or 18.2 percent of linehaul); Quantity is the
	// billed quantity with its UN/ECE unit (HUR for hours).
	Rate      string      `json:"rate,omitempty"`
	RateBasis string      `json:"rate_basis,omitempty"`
	Quantity  string      `json:"quantity,omitempty"`
	Unit      string      `json:"unit,omitempty"`
	Amount    money.Money `json:"amount"`
}

// InvoicePOD is the delivery the invoice claims.
type InvoicePOD struct {
	Signer string `json:"signer,omitempty"`
	// At is the delivery instant in UTC, resolved like an event time.
	At       string `json:"at,omitempty"`
	TZSource string `json:"tz_source,omitempty"`
}
