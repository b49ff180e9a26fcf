package odoosim

import (
	"fmt"
	"strings"
)

// viewIDs are the ir.ui.view / ir.actions ids that appear in wizard actions, per version.
type viewIDs struct {
	sms, backorder, immediate, soCancel, scrapWarn         int
	invoiceAction, invoiceList, invoiceForm, invoiceSearch int
	cancelTemplate                                         int
}

func (s *Sim) views() viewIDs {
	if s.version >= 19 {
		return viewIDs{sms: 1123, backorder: 939, immediate: 940, soCancel: 1142, scrapWarn: 960,
			invoiceAction: 261, invoiceList: 737, invoiceForm: 743, invoiceSearch: 746, cancelTemplate: 14}
	}
	return viewIDs{sms: 1111, backorder: 896, immediate: 897, soCancel: 1130, scrapWarn: 917,
		invoiceAction: 262, invoiceList: 709, invoiceForm: 716, invoiceSearch: 719, cancelTemplate: 14}
}

// handModels are the models whose fields are not in the fixtures' fields_get dumps.
func (s *Sim) handModels() map[string]map[string]*field {
	v := s.version
	hm := map[string]map[string]*field{
		"res.company": fieldSpecs("name|char", "partner_id|many2one|res.partner", "currency_id|many2one|res.currency",
			"country_id|many2one|res.country", "email|char", "phone|char", "active|boolean", "sequence|integer"),
		"res.users": fieldSpecs("name|char", "login|char", "partner_id|many2one|res.partner", "company_id|many2one|res.company",
			"company_ids|many2many|res.company", "active|boolean", "email|char", "tz|char", "lang|char"),
		"res.currency": fieldSpecs("name|char", "symbol|char", "active|boolean", "rounding|float"),
		"res.country":  fieldSpecs("name|char", "code|char"),
		"uom.uom":      fieldSpecs("name|char", "rounding|float", "active|boolean"),
		"res.partner": fieldSpecs("name|char", "complete_name|char", "is_company|boolean", "parent_id|many2one|res.partner",
			"child_ids|one2many|res.partner|parent_id", "type|selection|contact,invoice,delivery,other",
			"street|char", "street2|char", "zip|char", "city|char", "state_id|many2one|res.country.state",
			"country_id|many2one|res.country", "email|char", "phone|char", "ref|char", "vat|char",
			"company_id|many2one|res.company", "active|boolean", "customer_rank|integer", "supplier_rank|integer",
			"comment|html", "lang|char", "user_ids|one2many|res.users|partner_id", "commercial_partner_id|many2one|res.partner",
			"message_ids|one2many|mail.message", "function|char", "website|char", "barcode|char"),
		"product.template": fieldSpecs("name|char", "default_code|char", "active|boolean", "list_price|float",
			"product_variant_ids|one2many|product.product|product_tmpl_id"),
		"stock.warehouse": fieldSpecs("name|char", "code|char", "company_id|many2one|res.company", "partner_id|many2one|res.partner",
			"lot_stock_id|many2one|stock.location", "view_location_id|many2one|stock.location",
			"out_type_id|many2one|stock.picking.type", "in_type_id|many2one|stock.picking.type",
			"pick_type_id|many2one|stock.picking.type", "pack_type_id|many2one|stock.picking.type",
			"int_type_id|many2one|stock.picking.type", "delivery_steps|selection|ship_only,pick_ship,pick_pack_ship",
			"reception_steps|selection|one_step,two_steps,three_steps", "active|boolean", "sequence|integer"),
		"stock.location": fieldSpecs("name|char", "complete_name|char", "usage|selection|supplier,view,internal,customer,inventory,production,transit",
			"location_id|many2one|stock.location", "child_ids|one2many|stock.location|location_id", "company_id|many2one|res.company",
			"barcode|char", "active|boolean", "warehouse_id|many2one|stock.warehouse", "quant_ids|one2many|stock.quant|location_id"),
		"stock.picking.type": fieldSpecs("name|char", "code|selection|incoming,outgoing,internal", "warehouse_id|many2one|stock.warehouse",
			"sequence_code|char", "default_location_src_id|many2one|stock.location", "default_location_dest_id|many2one|stock.location",
			"reservation_method|selection|at_confirm,manual,by_date", "create_backorder|selection|ask,always,never",
			"return_picking_type_id|many2one|stock.picking.type", "company_id|many2one|res.company", "active|boolean", "sequence|integer"),
		"delivery.carrier": fieldSpecs("name|char", "delivery_type|selection|fixed,base_on_rule", "product_id|many2one|product.product",
			"fixed_price|float", "invoice_policy|selection|estimated,real", "integration_level|selection|rate,rate_and_ship",
			"company_id|many2one|res.company", "active|boolean", "sequence|integer"),
		"account.journal":      fieldSpecs("name|char", "code|char", "type|selection|sale,purchase,cash,bank,general", "company_id|many2one|res.company"),
		"account.account":      fieldSpecs("name|char", "code|char"),
		"account.tax":          fieldSpecs("name|char", "amount|float", "type_tax_use|selection|sale,purchase,none"),
		"account.payment.term": fieldSpecs("name|char"),
		"stock.return.picking": fieldSpecs("picking_id|many2one|stock.picking", "product_return_moves|one2many|stock.return.picking.line|wizard_id",
			"location_id|many2one|stock.location", "company_id|many2one|res.company"),
		"stock.return.picking.line": fieldSpecs("wizard_id|many2one|stock.return.picking", "product_id|many2one|product.product",
			"quantity|float", "move_quantity|float", "move_id|many2one|stock.move", "uom_id|many2one|uom.uom", "to_refund|boolean"),
		"stock.backorder.confirmation": fieldSpecs("pick_ids|many2many|stock.picking", "show_transfers|boolean",
			"backorder_confirmation_line_ids|one2many|stock.backorder.confirmation.line|backorder_confirmation_id"),
		"stock.backorder.confirmation.line": fieldSpecs("backorder_confirmation_id|many2one|stock.backorder.confirmation",
			"picking_id|many2one|stock.picking", "to_backorder|boolean"),
		"confirm.stock.sms": fieldSpecs("company_id|many2one|res.company"),
		"stock.scrap": fieldSpecs("name|char", "product_id|many2one|product.product", "scrap_qty|float", "product_uom_id|many2one|uom.uom",
			"location_id|many2one|stock.location", "scrap_location_id|many2one|stock.location", "lot_id|many2one|stock.lot",
			"picking_id|many2one|stock.picking", "origin|char", "state|selection|draft,done", "date_done|datetime",
			"company_id|many2one|res.company", "move_ids|one2many|stock.move|scrap_id"),
		"stock.warn.insufficient.qty.scrap": fieldSpecs("scrap_id|many2one|stock.scrap", "product_id|many2one|product.product",
			"location_id|many2one|stock.location", "quantity|float"),
		"choose.delivery.carrier": fieldSpecs("order_id|many2one|sale.order", "carrier_id|many2one|delivery.carrier",
			"delivery_price|float", "display_price|float", "currency_id|many2one|res.currency", "company_id|many2one|res.company",
			"delivery_message|text"),
		"mail.message": fieldSpecs("model|char", "res_id|integer", "body|html", "subject|char",
			"message_type|selection|email,comment,notification,user_notification,auto_comment", "author_id|many2one|res.partner",
			"date|datetime", "partner_ids|many2many|res.partner", "subtype_id|many2one|mail.message.subtype", "record_name|char"),
	}
	if v >= 19 {
		hm["res.users"]["group_ids"] = &field{name: "group_ids", typ: "many2many", rel: "res.groups"}
	} else {
		hm["res.users"]["groups_id"] = &field{name: "groups_id", typ: "many2many", rel: "res.groups"}
		hm["res.partner"]["mobile"] = &field{name: "mobile", typ: "char"}
		hm["uom.uom"]["category_id"] = &field{name: "category_id", typ: "many2one", rel: "uom.category"}
		hm["uom.uom"]["factor"] = &field{name: "factor", typ: "float"}
		hm["uom.uom"]["uom_type"] = &field{name: "uom_type", typ: "selection", sel: []string{"bigger", "reference", "smaller"}}
		hm["stock.location"]["scrap_location"] = &field{name: "scrap_location", typ: "boolean"}
	}
	if v <= 17 {
		hm["stock.location"]["return_location"] = &field{name: "return_location", typ: "boolean"}
		hm["stock.return.picking"]["original_location_id"] = &field{name: "original_location_id", typ: "many2one", rel: "stock.location"}
	}
	if v >= 18 {
		hm["stock.scrap"]["scrap_reason_tag_ids"] = &field{name: "scrap_reason_tag_ids", typ: "many2many", rel: "stock.scrap.reason.tag"}
	}
	if v <= 18 {
		hm["sale.order.cancel"] = fieldSpecs("order_id|many2one|sale.order", "template_id|many2one|mail.template", "subject|char", "body|html")
	}
	if v == 16 {
		hm["stock.immediate.transfer"] = fieldSpecs("pick_ids|many2many|stock.picking", "show_transfers|boolean",
			"immediate_transfer_line_ids|one2many|stock.immediate.transfer.line|immediate_transfer_id")
		hm["stock.immediate.transfer.line"] = fieldSpecs("immediate_transfer_id|many2one|stock.immediate.transfer",
			"picking_id|many2one|stock.picking", "to_immediate|boolean")
	}
	return hm
}

// buildModels assembles every simulated model for the version.
func (s *Sim) buildModels() map[string]*model {
	cat := catalogFor(s.version)
	if s.version == 16 {
		delete(cat["sale.order"], "delivery_status")
	}
	for name, fs := range s.handModels() {
		cat[name] = fs
	}
	desc := map[string]string{"sale.order": "Sales Order", "sale.order.line": "Sales Order Line", "stock.picking": "Transfer",
		"stock.move": "Stock Move", "stock.move.line": "Product Moves (Stock Move Line)", "account.move": "Journal Entry",
		"account.move.line": "Journal Item", "product.product": "Product Variant", "stock.quant": "Quants", "stock.lot": "Lot/Serial",
		"res.partner": "Contact", "stock.scrap": "Scrap", "stock.location": "Inventory Locations", "stock.warehouse": "Warehouse",
		"delivery.carrier": "Shipping Methods", "stock.picking.type": "Picking Type"}
	orders := map[string]string{"sale.order": "date_order desc, id desc", "sale.order.line": "order_id, sequence, id",
		"stock.picking": "priority desc, scheduled_date asc, id desc", "stock.move": "sequence, id", "stock.move.line": "id",
		"account.move": "date desc, name desc, id desc", "account.move.line": "move_id, sequence, id",
		"product.product": "default_code, name, id", "res.partner": "complete_name asc, id desc", "stock.location": "complete_name, id",
		"stock.warehouse": "sequence, id", "stock.picking.type": "sequence, id", "delivery.carrier": "sequence, id",
		"mail.message": "id desc", "stock.quant": "id", "stock.lot": "name, id"}
	models := map[string]*model{}
	generic := s.genericMethods()
	for name, fs := range cat {
		addMagic(fs)
		m := &model{name: name, desc: desc[name], fields: fs, order: orders[name], methods: map[string]*method{}}
		for k, meth := range generic {
			m.methods[k] = meth
		}
		if m.has("message_ids") || name == "res.partner" {
			m.chatter = true
			m.methods["message_post"] = &method{params: []string{"body", "subject", "message_type", "subtype_xmlid", "partner_ids"},
				anyKW: true, fn: messagePost}
			m.inverse("message_ids", "res_id")
			m.compute("message_ids", func(t *txn, r record) any {
				id, _ := r["id"].(int)
				return t.where("mail.message", func(mr record) bool { return mr["model"] == name && mr["res_id"] == id })
			})
		}
		models[name] = m
	}
	if pp := models["product.product"]; pp != nil {
		for _, f := range []string{"type", "detailed_type"} {
			if fd := pp.fields[f]; fd != nil {
				fd.selOwner = "product.template"
			}
		}
	}
	models["res.users"].methods["context_get"] = &method{model: true, readonly: true, fn: func(t *txn, c *call) (any, error) {
		return newOmap().set("lang", "en_US").set("tz", "Europe/Brussels").set("uid", t.uid), nil
	}}
	s.models = models
	s.setupMaster()
	s.setupStock()
	s.setupSale()
	s.setupAccount()
	s.setupWizards()
	// display_name everywhere via the model's display function
	for _, m := range models {
		mm := m
		if f := mm.fields["display_name"]; f != nil && f.compute == nil {
			f.compute = func(t *txn, r record) any {
				id, _ := r["id"].(int)
				return t.displayName(mm.name, id)
			}
		}
	}
	return models
}

func messagePost(t *txn, c *call) (any, error) {
	if err := t.checkIDs(c); err != nil {
		return nil, err
	}
	if len(c.ids) != 1 {
		return nil, valueError("Expected singleton: %s(%s)", c.m.name, pyTupleIDs(c.ids))
	}
	body := ""
	if v, ok := c.arg("body"); ok {
		body = fmt.Sprint(v)
		if s, ok := v.(string); ok {
			body = s
		}
	}
	if body != "" && !strings.HasPrefix(strings.TrimSpace(body), "<") {
		body = "<p>" + body + "</p>"
	}
	mt := c.strArg("message_type", "notification")
	vals := record{"model": c.m.name, "res_id": c.ids[0], "body": body, "subject": c.strArg("subject", ""),
		"message_type": mt, "author_id": t.adminPartner(), "date": t.nowStr(),
		"record_name": t.displayName(c.m.name, c.ids[0])}
	if l, ok := c.arg("partner_ids"); ok {
		ids, _ := asIDs(l)
		vals["partner_ids"] = ids
	}
	id := t.insert("mail.message", vals)
	t.touch(c.m.name, c.ids[0])
	return id, nil
}

func (t *txn) adminPartner() int {
	if u := t.rec("res.users", t.uid); u != nil {
		id, _ := u["partner_id"].(int)
		return id
	}
	return 0
}

// setupMaster wires display names and computed fields of master data.
func (s *Sim) setupMaster() {
	m := s.models
	m["res.partner"].display = func(t *txn, r record) string {
		name, _ := r["name"].(string)
		if p, _ := r["parent_id"].(int); p != 0 {
			if name == "" {
				return t.displayName("res.partner", p)
			}
			return t.displayName("res.partner", p) + ", " + name
		}
		return name
	}
	m["res.partner"].compute("complete_name", func(t *txn, r record) any { return m["res.partner"].display(t, r) })
	m["res.partner"].compute("commercial_partner_id", func(t *txn, r record) any {
		id, _ := r["id"].(int)
		for i := 0; i < 10; i++ {
			p := t.rec("res.partner", id)
			if p == nil {
				break
			}
			if par, _ := p["parent_id"].(int); par != 0 && !truthy(p["is_company"]) {
				id = par
				continue
			}
			break
		}
		return id
	})
	m["res.partner"].required = []string{"name"}
	m["res.partner"].defaults = func(t *txn, r record) {
		setDefault(r, "type", "contact")
		setDefault(r, "lang", "en_US")
	}
	m["res.currency"].display = func(t *txn, r record) string { s, _ := r["name"].(string); return s }
	m["stock.location"].display = func(t *txn, r record) string { return locationName(t, r) }
	m["stock.location"].compute("complete_name", func(t *txn, r record) any { return locationName(t, r) })
	m["stock.picking.type"].display = func(t *txn, r record) string {
		name, _ := r["name"].(string)
		if wh, _ := r["warehouse_id"].(int); wh != 0 {
			return t.displayName("stock.warehouse", wh) + ": " + name
		}
		return name
	}
	m["mail.message"].display = func(t *txn, r record) string {
		if s, _ := r["subject"].(string); s != "" {
			return s
		}
		s, _ := r["record_name"].(string)
		return s
	}
	m["product.template"].required = []string{"name"}
}

func setDefault(r record, k string, v any) {
	if !truthy(r[k]) {
		r[k] = v
	}
}

func locationName(t *txn, r record) string {
	name, _ := r["name"].(string)
	parent, _ := r["location_id"].(int)
	usage, _ := r["usage"].(string)
	if parent != 0 && usage != "view" {
		return t.displayName("stock.location", parent) + "/" + name
	}
	return name
}
