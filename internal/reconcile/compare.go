package reconcile

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
)

// Type is the kind of a difference between Waybill and Odoo.
type Type string

// The difference types.
const (
	// MissingInvoice: a billable shipment has no customer invoice in Odoo.
	MissingInvoice Type = "missing_invoice"
	// QuantityMismatch: the delivered quantity of a SKU differs from the
	// invoiced one, or the loaded quantity from Odoo's done quantity.
	QuantityMismatch Type = "quantity_mismatch"
	// ChargeMismatch: a rated charge has no service line on the invoice,
	// or one of another amount.
	ChargeMismatch Type = "charge_mismatch"
	// DuplicateInvoice: several customer invoices carry one shipment's
	// reference.
	DuplicateInvoice Type = "duplicate_invoice"
	// OrphanInvoice: a WB- invoice names no delivered shipment.
	OrphanInvoice Type = "orphan_invoice"
	// UnexpectedValidation: a picking was done in Odoo that day without a
	// loading recorded in Waybill.
	UnexpectedValidation Type = "unexpected_validation"
	// MissingValidation: Waybill recorded a loading whose picking is not
	// done in Odoo.
	MissingValidation Type = "missing_validation"
)

// Types lists every difference type, in report order. The caller owns
// the slice.
func Types() []Type {
	return []Type{MissingInvoice, QuantityMismatch, ChargeMismatch, DuplicateInvoice, OrphanInvoice, UnexpectedValidation, MissingValidation}
}

// FinanceRole is the owner role of the differences that are not healed.
const FinanceRole = "finance"

// Difference is one thing Waybill and Odoo disagree on.
type Difference struct {
	Type       Type   `json:"type"`
	ShipmentID string `json:"shipment_id,omitempty"`
	Customer   string `json:"customer,omitempty"`
	// Subject names what differs within the shipment: a SKU, a charge's
	// marker, an invoice reference or a picking name.
	Subject  string   `json:"subject,omitempty"`
	Evidence Evidence `json:"evidence"`
	// Action is what is proposed (or was done, when Safe).
	Action string `json:"action"`
	// Safe differences heal by themselves through the outbox; the others
	// wait for finance (Review).
	Safe bool `json:"safe"`
	// Healed is the outbound action enqueued to heal it, when Safe.
	Healed string `json:"healed,omitempty"`
	// Review is the finance review of a difference that is not safe.
	Review *Review `json:"review,omitempty"`
}

// Evidence is both sides of a difference.
type Evidence struct {
	Waybill string `json:"waybill"`
	Odoo    string `json:"odoo"`
	// OdooModel and OdooIDs are the Odoo records involved.
	OdooModel string `json:"odoo_model,omitempty"`
	OdooIDs   []int  `json:"odoo_ids,omitempty"`
}

// Review is the decision finance owes on a difference. It closes with the
// day's decision.
type Review struct {
	OwnerRole string `json:"owner_role"`
	Status    string `json:"status"`
}

// CustomerTotal is one customer's day: what Waybill rated and what the
// invoices bill.
type CustomerTotal struct {
	Customer  string `json:"customer"`
	Shipments int    `json:"shipments"`
	Currency  string `json:"currency,omitempty"`
	// Rated is the sum of the shipments' charges.
	Rated string `json:"rated"`
	// InvoicedServices is the sum of the invoices' service lines for them.
	InvoicedServices string `json:"invoiced_services"`
	// InvoiceTotal is the sum of the invoices' totals (goods and services).
	InvoiceTotal string `json:"invoice_total"`
	Invoices     int    `json:"invoices"`
}

// odooDay is what a reconciliation reads from Odoo for one day.
type odooDay struct {
	invoices []odoo.InvoiceWithLines
	pickings []odoo.Picking
	codes    map[int]string // product id → default_code
}

// compareParams is what compare needs besides the two sides.
type compareParams struct {
	// links are the picking links of the day's shipments, by id.
	links map[string]pickingLink
	// known reports whether a WB- reference of an invoice outside the
	// day's shipments names a delivered shipment.
	known map[string]bool
	// loadedElsewhere are the pickings (by id) of shipments outside the
	// day's that Waybill loaded.
	loadedElsewhere map[int]bool
}

// InvoiceRef is the reference a shipment's invoice carries in Odoo.
func InvoiceRef(shipmentID string) string { return invoiceRefPrefix + shipmentID }

const invoiceRefPrefix = "WB-"

// compare finds the differences between the day's shipments and Odoo's
// records of that day, and the totals per customer.
func compare(ships []*shipment.Shipment, od odooDay, p compareParams) ([]Difference, []CustomerTotal) {
	byRef := map[string][]odoo.InvoiceWithLines{}
	for _, inv := range od.invoices {
		byRef[inv.Ref] = append(byRef[inv.Ref], inv)
	}
	pickByID := map[int]odoo.Picking{}
	pickByName := map[string]odoo.Picking{}
	pickByOrder := map[string]odoo.Picking{}
	for _, pk := range od.pickings {
		pickByID[pk.ID] = pk
		pickByName[pk.Name] = pk
		if o := orderOf(pk); pk.BackorderOf == 0 && o != "" && pk.State != odoo.PickingCancel {
			pickByOrder[o] = pk
		}
	}
	var diffs []Difference
	totals := map[string]*totalSum{}
	ours := map[string]bool{}
	loadedPickings := map[int]bool{}
	for _, sh := range ships {
		ref := InvoiceRef(sh.ID)
		ours[ref] = true
		cust := customerOf(sh)
		invs := byRef[ref]
		// Pickings.
		pk, pkFound := shipmentPicking(p.links[sh.ID], pickByID, pickByName, pickByOrder)
		if loaded(sh) {
			if pkFound {
				loadedPickings[pk.ID] = true
			}
			diffs = append(diffs, comparePicking(sh, cust, pk, pkFound, od.codes)...)
		}
		if !delivered(sh) && len(invs) == 0 {
			continue
		}
		t := totals[cust]
		if t == nil {
			t = &totalSum{}
			totals[cust] = t
		}
		t.shipments++
		for _, ch := range sh.Charges {
			t.addRated(ch.Amount)
		}
		switch {
		case len(invs) == 0 && sh.Billable:
			d := Difference{Type: MissingInvoice, ShipmentID: sh.ID, Customer: cust, Subject: ref,
				Evidence: Evidence{Waybill: "delivered with proof of delivery, billable", Odoo: "no customer invoice with ref " + ref, OdooModel: "account.move"}}
			if sh.Invoice == nil && !hasOpenException(sh) {
				d.Safe = true
				d.Action = "enqueue " + shipment.ActionInvoicePrepare + ": the invoice is found before it is created, so it is never made twice"
			} else {
				d.Action = "check the invoice Waybill recorded (" + invoiceText(sh.Invoice) + ") in Odoo and invoice the shipment by hand"
			}
			diffs = append(diffs, d)
		case len(invs) == 0:
		default:
			if len(invs) > 1 {
				ids := make([]int, 0, len(invs))
				for _, inv := range invs {
					ids = append(ids, inv.ID)
				}
				diffs = append(diffs, Difference{Type: DuplicateInvoice, ShipmentID: sh.ID, Customer: cust, Subject: ref,
					Evidence: Evidence{Waybill: "one shipment, one invoice", Odoo: fmt.Sprintf("%d customer invoices with ref %s", len(invs), ref),
						OdooModel: "account.move", OdooIDs: ids},
					Action: "cancel or credit all but one invoice in Odoo"})
			}
			for _, inv := range invs {
				t.invoices++
				t.addFloat(&t.invTotal, inv.AmountTotal)
			}
			d, services := compareInvoice(sh, cust, invs[0], od.codes)
			diffs = append(diffs, d...)
			for _, s := range services {
				t.addFloat(&t.services, s)
			}
		}
	}
	// Invoices of the day that name no shipment of the day.
	for ref, invs := range byRef {
		if ours[ref] || p.known[ref] {
			continue
		}
		ids := make([]int, 0, len(invs))
		for _, inv := range invs {
			ids = append(ids, inv.ID)
		}
		diffs = append(diffs, Difference{Type: OrphanInvoice, ShipmentID: strings.TrimPrefix(ref, invoiceRefPrefix), Subject: ref,
			Evidence: Evidence{Waybill: "no delivered shipment " + strings.TrimPrefix(ref, invoiceRefPrefix), Odoo: fmt.Sprintf("%d customer invoice(s) with ref %s", len(invs), ref),
				OdooModel: "account.move", OdooIDs: ids},
			Action: "check the invoice in Odoo: cancel it or correct its reference"})
	}
	// Pickings done that day that no loading of Waybill's explains.
	for _, pk := range od.pickings {
		if pk.State != odoo.PickingDone || loadedPickings[pk.ID] || p.loadedElsewhere[pk.ID] || pk.DateDone.IsZero() {
			continue
		}
		sid := ""
		for _, sh := range ships {
			one := map[int]odoo.Picking{pk.ID: pk}
			if _, ok := shipmentPicking(p.links[sh.ID], one, map[string]odoo.Picking{pk.Name: pk}, map[string]odoo.Picking{orderOf(pk): pk}); ok {
				sid = sh.ID
			}
		}
		diffs = append(diffs, Difference{Type: UnexpectedValidation, ShipmentID: sid, Subject: pk.Name,
			Evidence: Evidence{Waybill: "no loading recorded", Odoo: fmt.Sprintf("picking %s done at %s", pk.Name, pk.DateDone.UTC().Format("2006-01-02 15:04:05")),
				OdooModel: "stock.picking", OdooIDs: []int{pk.ID}},
			Action: "check who validated the picking in Odoo and record the loading in Waybill, or return the goods"})
	}
	slices.SortStableFunc(diffs, func(a, b Difference) int {
		if c := slices.Index(Types(), a.Type) - slices.Index(Types(), b.Type); c != 0 {
			return c
		}
		if c := strings.Compare(a.ShipmentID, b.ShipmentID); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	for i := range diffs {
		if !diffs[i].Safe {
			diffs[i].Review = &Review{OwnerRole: FinanceRole, Status: ReviewOpen}
		}
	}
	out := make([]CustomerTotal, 0, len(totals))
	for cust, t := range totals {
		out = append(out, t.total(cust))
	}
	slices.SortFunc(out, func(a, b CustomerTotal) int { return strings.Compare(a.Customer, b.Customer) })
	return diffs, out
}

// Review statuses of a difference.
const (
	ReviewOpen     = "open"
	ReviewApproved = "approved"
	ReviewRejected = "rejected"
)

func invoiceText(r *shipment.InvoiceRef) string {
	if r == nil {
		return "none"
	}
	return strings.TrimSpace(r.System + " " + r.ExternalID + " " + r.Number)
}

func customerOf(sh *shipment.Shipment) string {
	if sh.Customer == nil {
		return ""
	}
	if sh.Customer.Ref != "" {
		return sh.Customer.Ref
	}
	return sh.Customer.Name
}

func delivered(sh *shipment.Shipment) bool { return sh.POD != nil || sh.Billable || sh.Invoice != nil }

func loaded(sh *shipment.Shipment) bool {
	return slices.ContainsFunc(sh.Lines, func(l shipment.Line) bool { return l.Loaded != nil && l.Loaded.Sign() > 0 })
}

func hasOpenException(sh *shipment.Shipment) bool {
	return slices.ContainsFunc(sh.Exceptions, func(e shipment.ExceptionRecord) bool { return e.Status == shipment.ExceptionOpen })
}

// pickingLink is how Waybill names a shipment's picking: its id (from
// its recorded validation or a numeric cross-reference), its name (a
// cross-reference), or its sale order (the order's first delivery).
type pickingLink struct {
	ID    int
	Name  string
	Order string
}

// orderOf is the name of the sale order pk delivers, from its sale_id: its
// origin says more than the name on Odoo 17 and 18 when the order has a
// customer reference.
func orderOf(pk odoo.Picking) string {
	if pk.Sale == nil {
		return ""
	}
	return pk.Sale.Name
}

// shipmentPicking finds the picking of a shipment among those read.
func shipmentPicking(link pickingLink, byID map[int]odoo.Picking, byName map[string]odoo.Picking, byOrder map[string]odoo.Picking) (odoo.Picking, bool) {
	if pk, ok := byID[link.ID]; ok && link.ID > 0 {
		return pk, true
	}
	if pk, ok := byName[link.Name]; ok && link.Name != "" {
		return pk, true
	}
	if pk, ok := byOrder[link.Order]; ok && link.Order != "" && link.ID == 0 && link.Name == "" {
		return pk, true
	}
	return odoo.Picking{}, false
}

// linkOf builds the picking link of sh from its validation record, its
// cross-references in system and its order.
func linkOf(sh *shipment.Shipment, system string, xrefs []shipment.Xref) pickingLink {
	var l pickingLink
	if sh.Picking != nil && sh.Picking.System == system {
		if n, err := strconv.Atoi(sh.Picking.ExternalID); err == nil && n > 0 {
			l.ID = n
		} else {
			l.Name = sh.Picking.ExternalID
		}
		if l.Name == "" {
			l.Name = sh.Picking.Name
		}
	}
	for _, x := range xrefs {
		if x.System != system || x.Kind != shipment.KindShipment || l.ID > 0 || l.Name != "" {
			continue
		}
		if n, err := strconv.Atoi(x.ExternalID); err == nil && n > 0 {
			l.ID = n
		} else {
			l.Name = x.ExternalID
		}
	}
	if sys, name, ok := strings.Cut(sh.Order, ":"); ok && sys == system {
		l.Order = name
	}
	return l
}

// comparePicking compares what Waybill loaded with what Odoo shipped.
func comparePicking(sh *shipment.Shipment, cust string, pk odoo.Picking, found bool, codes map[int]string) []Difference {
	if !found {
		return []Difference{{Type: MissingValidation, ShipmentID: sh.ID, Customer: cust,
			Evidence: Evidence{Waybill: "loaded: " + lineQuantities(sh, func(l shipment.Line) *quantity.Quantity { return l.Loaded }), Odoo: "no picking found for the shipment", OdooModel: "stock.picking"},
			Action:   "find the shipment's picking in Odoo and validate it with the loaded quantities"}}
	}
	if pk.State != odoo.PickingDone {
		d := Difference{Type: MissingValidation, ShipmentID: sh.ID, Customer: cust, Subject: pk.Name,
			Evidence: Evidence{Waybill: "loaded: " + lineQuantities(sh, func(l shipment.Line) *quantity.Quantity { return l.Loaded }),
				Odoo: "picking " + pk.Name + " is " + pk.State, OdooModel: "stock.picking", OdooIDs: []int{pk.ID}}}
		if pk.State == odoo.PickingCancel {
			d.Action = "the picking was cancelled in Odoo: decide whether the goods left"
		} else {
			d.Safe = true
			d.Action = "enqueue " + shipment.ActionPickingValidate + ": the validation reads the picking first, so it never ships twice"
		}
		return []Difference{d}
	}
	done := map[string]float64{}
	for _, m := range pk.Moves {
		for _, l := range m.Lines {
			done[codes[l.Product.ID]] += l.Done
		}
	}
	return compareQuantities(sh, cust, "loaded", func(l shipment.Line) *quantity.Quantity { return l.Loaded }, done,
		"done on picking "+pk.Name, "stock.picking", []int{pk.ID},
		"check the picking's done quantities in Odoo against the loading; correct the one that is wrong")
}

// compareInvoice compares the delivered quantities and the charges of sh
// with inv's lines. It returns the differences and the amounts of the
// service lines matched to charges.
func compareInvoice(sh *shipment.Shipment, cust string, inv odoo.InvoiceWithLines, codes map[int]string) ([]Difference, []float64) {
	var diffs []Difference
	used := map[int]bool{}
	var services []float64
	seen := map[string]int{}
	for _, ch := range sh.Charges {
		n := seen[ch.EventID]
		seen[ch.EventID]++
		marker := fmt.Sprintf("[%s/%d]", ch.EventID, n)
		idx := slices.IndexFunc(inv.Lines, func(l odoo.InvoiceLine) bool { return !used[l.ID] && strings.Contains(l.Name, marker) })
		if idx < 0 {
			diffs = append(diffs, Difference{Type: ChargeMismatch, ShipmentID: sh.ID, Customer: cust, Subject: marker,
				Evidence: Evidence{Waybill: ch.Amount.String() + " " + strings.TrimSpace(ch.Type+" "+ch.Code), Odoo: "no service line for the charge on invoice " + invoiceName(inv),
					OdooModel: "account.move", OdooIDs: []int{inv.ID}},
				Action: "add the charge to the invoice in Odoo, or credit the shipment"})
			continue
		}
		l := inv.Lines[idx]
		used[l.ID] = true
		services = append(services, l.Subtotal)
		got, err := money.ParseDecimal(strconv.FormatFloat(l.Subtotal, 'f', -1, 64), ch.Amount.Currency)
		if err != nil || got != ch.Amount {
			odooAmt := strconv.FormatFloat(l.Subtotal, 'f', -1, 64)
			if err == nil {
				odooAmt = got.String()
			}
			diffs = append(diffs, Difference{Type: ChargeMismatch, ShipmentID: sh.ID, Customer: cust, Subject: marker,
				Evidence: Evidence{Waybill: ch.Amount.String(), Odoo: odooAmt + " on invoice line " + strconv.Itoa(l.ID),
					OdooModel: "account.move.line", OdooIDs: []int{inv.ID, l.ID}},
				Action: "correct the service line in Odoo or re-rate the shipment"})
		}
	}
	invoiced := map[string]float64{}
	ids := []int{inv.ID}
	for _, l := range inv.Lines {
		if used[l.ID] || strings.Contains(l.Name, "[") && codes[l.Product.ID] == "" {
			continue
		}
		invoiced[codes[l.Product.ID]] += l.Quantity
	}
	if sh.POD == nil {
		return diffs, services
	}
	diffs = append(diffs, compareQuantities(sh, cust, "delivered", func(l shipment.Line) *quantity.Quantity { return l.Delivered }, invoiced,
		"invoiced on "+invoiceName(inv), "account.move", ids,
		"correct the invoice in Odoo (credit note) or the proof of delivery")...)
	return diffs, services
}

func invoiceName(inv odoo.InvoiceWithLines) string {
	if inv.Name != "" && inv.Name != "/" {
		return inv.Name
	}
	return fmt.Sprintf("draft invoice %d", inv.ID)
}

// compareQuantities compares a quantity of sh's lines, per SKU, with
// Odoo's quantities per product code. Only SKUs of the shipment count:
// the service lines of charges have codes the shipment does not ship.
func compareQuantities(sh *shipment.Shipment, cust, what string, qty func(shipment.Line) *quantity.Quantity,
	odooQty map[string]float64, odooWhat, model string, ids []int, action string) []Difference {
	type sum struct {
		r    *big.Rat
		unit quantity.Unit
	}
	ours := map[string]*sum{}
	var skus []string
	for _, l := range sh.Lines {
		s := ours[l.SKU]
		if s == nil {
			s = &sum{r: new(big.Rat), unit: l.Quantity.Unit()}
			ours[l.SKU] = s
			skus = append(skus, l.SKU)
		}
		if q := qty(l); q != nil {
			s.r.Add(s.r, q.Rat())
		}
	}
	var diffs []Difference
	for _, sku := range skus {
		s := ours[sku]
		theirs := new(big.Rat)
		if f, ok := odooQty[sku]; ok {
			if _, ok := theirs.SetString(strconv.FormatFloat(f, 'f', -1, 64)); !ok {
				theirs = new(big.Rat)
			}
		}
		if s.r.Cmp(theirs) == 0 {
			continue
		}
		diffs = append(diffs, Difference{Type: QuantityMismatch, ShipmentID: sh.ID, Customer: cust, Subject: sku,
			Evidence: Evidence{Waybill: what + " " + decimalOf(s.r) + " " + string(s.unit), Odoo: decimalOf(theirs) + " " + odooWhat,
				OdooModel: model, OdooIDs: ids},
			Action: action})
	}
	return diffs
}

func decimalOf(r *big.Rat) string {
	q, err := quantity.New(r, quantity.Unit("C62"))
	if err != nil {
		return r.FloatString(6)
	}
	return q.Decimal()
}

func lineQuantities(sh *shipment.Shipment, qty func(shipment.Line) *quantity.Quantity) string {
	var parts []string
	for _, l := range sh.Lines {
		if q := qty(l); q != nil {
			parts = append(parts, l.SKU+" "+q.Decimal())
		}
	}
	return strings.Join(parts, ", ")
}

// totalSum adds up one customer's day.
type totalSum struct {
	shipments, invoices int
	currency            string
	rated               *big.Rat
	services, invTotal  *big.Rat
}

func (t *totalSum) addRated(m money.Money) {
	if t.rated == nil {
		t.rated = new(big.Rat)
	}
	if t.currency == "" {
		t.currency = m.Currency
	}
	r, ok := new(big.Rat).SetString(m.Decimal())
	if ok {
		t.rated.Add(t.rated, r)
	}
}

func (t *totalSum) addFloat(dst **big.Rat, f float64) {
	if *dst == nil {
		*dst = new(big.Rat)
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'f', -1, 64))
	if ok {
		(*dst).Add(*dst, r)
	}
}

func (t *totalSum) total(cust string) CustomerTotal {
	f := func(r *big.Rat) string {
		if r == nil {
			return "0.00"
		}
		return r.FloatString(2)
	}
	return CustomerTotal{Customer: cust, Shipments: t.shipments, Currency: t.currency, Rated: f(t.rated),
		InvoicedServices: f(t.services), InvoiceTotal: f(t.invTotal), Invoices: t.invoices}
}
