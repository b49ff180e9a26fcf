package odoo

// Profile holds the field and method names that differ between Odoo major
// versions (reference §0 and the 18→19 field diff). The [Client] picks one
// from the detected version; operations read names from it so that no raw,
// version-dependent field name leaks to callers.
type Profile struct {
	// Version is the Odoo major version, 16 to 19.
	Version int

	// MoveDoneField is the stock.move field written to set the shipped
	// quantity: "quantity_done" (16) or "quantity" (17+).
	MoveDoneField string
	// MoveLineDoneField is the stock.move.line field holding the shipped
	// quantity: "qty_done" (16) or "quantity" (17+).
	MoveLineDoneField string
	// MoveLineReservedField is the stock.move.line field holding the
	// reserved quantity: "reserved_uom_qty" (16) or "quantity" (17+, where
	// reserved and done quantities are one field told apart by picked).
	MoveLineReservedField string
	// HasPicked reports the "picked" flag on moves and move lines (17+).
	HasPicked bool
	// ImmediateTransfer reports the stock.immediate.transfer wizard that
	// button_validate returns when nothing is done yet (16).
	ImmediateTransfer bool

	// StorableField and StorableValue say how a product is storable:
	// detailed_type = "product" (16, 17) or is_storable = true (18+).
	StorableField string
	StorableValue any
	// ProductTypeConsumable is the product type value of goods: "product"
	// (16, 17, on detailed_type/type) or "consu" (18+, with is_storable).
	ProductTypeConsumable string

	// ReturnMethod is the stock.return.picking method that creates the
	// return: "create_returns" (16, 17) or "action_create_returns" (18+).
	ReturnMethod string
	// ReturnLinesDefaultZero reports that return wizard lines start at 0
	// (18+) rather than at the delivered quantity (16, 17).
	ReturnLinesDefaultZero bool
	// HasReturnID reports stock.picking.return_id (17+); on 16 a return is
	// found through its moves' origin_returned_move_id.
	HasReturnID bool

	// SaleLineUoMField and SaleLineTaxField are the sale.order.line unit
	// and taxes fields: product_uom/tax_id (≤18), product_uom_id/tax_ids (19).
	SaleLineUoMField string
	SaleLineTaxField string
	// SaleOrderLocked reports the sale.order "locked" boolean (17+); 16
	// has the "done" state instead.
	SaleOrderLocked bool
	// HasDeliveryStatus reports sale.order.delivery_status
	// (pending/started/partial/full), read on 17+. The 16 profile does not
	// read it: the field is not documented for 16, and an unknown field
	// name fails the whole call.
	HasDeliveryStatus bool
	// CancelNeedsNoWarning reports that sale.order.action_cancel returns a
	// wizard unless the context has disable_cancel_warning (≤18).
	CancelNeedsNoWarning bool
	// MoveHasName reports the required stock.move name field (≤18;
	// removed in 19).
	MoveHasName bool
	// HasMovesWithoutPackage reports stock.picking.move_ids_without_package
	// (≤18; removed in 19).
	HasMovesWithoutPackage bool
	// PackageModel is "stock.quant.package" (≤18) or "stock.package" (19).
	PackageModel string
	// ProcurementGroupField is the picking/move procurement link:
	// "group_id" (≤18) or "reference_ids" (19, stock.reference).
	ProcurementGroupField string
	// NameSearchDomainKW is the name_search keyword for the domain: "args"
	// (≤18) or "domain" (19).
	NameSearchDomainKW string
	// ScrapLocationFlag reports stock.location.scrap_location (≤18); on 19
	// scrap locations are found by usage "inventory".
	ScrapLocationFlag bool
	// UserGroupsField is "groups_id" (≤18) or "group_ids" (19).
	UserGroupsField string
	// JSONRPCErrorCode is the error.code of JSON-RPC error envelopes: 200
	// (≤18) or 0 (19). Informational; the client branches on names.
	JSONRPCErrorCode int
}

// ProfileFor returns the profile of Odoo major version v. Versions below 16
// get the 16 profile and versions above 19 the 19 profile.
func ProfileFor(v int) Profile {
	v = min(max(v, MinVersion), MaxVersion)
	p := Profile{
		Version:                v,
		MoveDoneField:          "quantity",
		MoveLineDoneField:      "quantity",
		MoveLineReservedField:  "quantity",
		HasPicked:              true,
		StorableField:          "is_storable",
		StorableValue:          true,
		ProductTypeConsumable:  "consu",
		ReturnMethod:           "action_create_returns",
		ReturnLinesDefaultZero: true,
		HasReturnID:            true,
		SaleLineUoMField:       "product_uom",
		SaleLineTaxField:       "tax_id",
		SaleOrderLocked:        true,
		HasDeliveryStatus:      true,
		CancelNeedsNoWarning:   true,
		MoveHasName:            true,
		HasMovesWithoutPackage: true,
		PackageModel:           "stock.quant.package",
		ProcurementGroupField:  "group_id",
		NameSearchDomainKW:     "args",
		ScrapLocationFlag:      true,
		UserGroupsField:        "groups_id",
		JSONRPCErrorCode:       200,
	}
	if v <= 17 {
		p.StorableField, p.StorableValue = "detailed_type", "product"
		p.ProductTypeConsumable = "product"
		p.ReturnMethod = "create_returns"
		p.ReturnLinesDefaultZero = false
	}
	if v == 16 {
		p.MoveDoneField = "quantity_done"
		p.MoveLineDoneField = "qty_done"
		p.MoveLineReservedField = "reserved_uom_qty"
		p.HasPicked = false
		p.ImmediateTransfer = true
		p.HasReturnID = false
		p.SaleOrderLocked = false
		p.HasDeliveryStatus = false
	}
	if v >= 19 {
		p.SaleLineUoMField, p.SaleLineTaxField = "product_uom_id", "tax_ids"
		p.CancelNeedsNoWarning = false
		p.MoveHasName = false
		p.HasMovesWithoutPackage = false
		p.PackageModel = "stock.package"
		p.ProcurementGroupField = "reference_ids"
		p.NameSearchDomainKW = "domain"
		p.ScrapLocationFlag = false
		p.UserGroupsField = "group_ids"
		p.JSONRPCErrorCode = 0
	}
	return p
}
