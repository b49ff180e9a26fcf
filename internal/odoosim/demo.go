package odoosim

import "fmt"

// idPlan lines the seeded ids up with the recorded transcripts of a version, so that replayed
// requests refer to the same records (reference fixtures odoo18/ and odoo19/).
type idPlan struct {
	locView, locPartners, locCustomers, locVendors, locWH, locStock, locInventory, locScrap int
	products                                                                                map[string]int
	freeProduct                                                                             int
	next                                                                                    map[string]int // table -> next id
	seqs                                                                                    map[string]int
}

func (s *Sim) plan() idPlan {
	if s.version >= 19 {
		return idPlan{locView: 1, locPartners: 0, locCustomers: 2, locVendors: 3, locWH: 4, locStock: 5, locInventory: 14, locScrap: 16,
			products:    map[string]int{"FURN_7800": 8, "FURN_0096": 13, "FURN_0098": 14, "DESK0005": 15, "FURN_0097": 16, "DESK0006": 18},
			freeProduct: 19,
			next: map[string]int{"sale.order": 26, "sale.order.line": 51, "stock.picking": 20, "stock.move": 43, "stock.move.line": 38,
				"account.move": 57, "account.move.line": 135, "product.product": 58, "res.partner": 45},
			seqs: map[string]int{"sale.order": 26, "picking.WH/OUT": 14, "picking.WH/IN": 6, "INV/YEAR": 9}}
	}
	return idPlan{locView: 1, locPartners: 2, locCustomers: 5, locVendors: 4, locWH: 7, locStock: 8, locInventory: 14, locScrap: 16,
		products:    map[string]int{"E-COM07": 17, "E-COM08": 18, "E-COM10": 20, "DESK0005": 45, "DESK0006": 46},
		freeProduct: 21,
		next: map[string]int{"sale.order": 25, "sale.order.line": 51, "stock.picking": 20, "stock.move": 41, "stock.move.line": 36,
			"account.move": 25, "account.move.line": 58, "product.product": 51, "res.partner": 45},
		seqs: map[string]int{"sale.order": 24, "picking.WH/OUT": 14, "picking.WH/IN": 6, "INV/YEAR": 4}}
}

type demoProduct struct {
	code, name string
	price      float64
	qty        float64
	tracking   string
	lots       map[string]float64
	service    bool
	policy     string
}

var demoProducts = []demoProduct{
	{code: "E-COM07", name: "Large Cabinet", price: 320, qty: 500},
	{code: "E-COM08", name: "Storage Box", price: 15.8, qty: 18},
	{code: "E-COM10", name: "Pedal Bin", price: 47, qty: 22},
	{code: "DESK0005", name: "Customizable Desk (Custom, White)", price: 750, qty: 65},
	{code: "DESK0006", name: "Customizable Desk (Custom, Black)", price: 750, qty: 70},
	{code: "FURN_7800", name: "Desk Combination", price: 450, qty: 2855},
	{code: "FURN_0096", name: "Customizable Desk (White, Steel)", price: 750, qty: 45},
	{code: "FURN_0098", name: "Customizable Desk (White, Aluminium)", price: 750, qty: 55},
	{code: "FURN_0097", name: "Customizable Desk (Black, Steel)", price: 750, qty: 50},
	{code: "LOT-RESIN", name: "Resin Pellets 25kg (lot tracked)", price: 42, tracking: "lot",
		lots: map[string]float64{"RESIN-0001": 30, "RESIN-0002": 20}},
	{code: "LOT-PAINT", name: "Industrial Paint 20L (lot tracked)", price: 89, tracking: "lot",
		lots: map[string]float64{"PAINT-0001": 10, "PAINT-0002": 15}},
	{code: "E-COM11", name: "Cabinet with Doors", price: 140, qty: 2},
	{code: "SN-SCAN", name: "Handheld Scanner (serial tracked)", price: 310, tracking: "serial",
		lots: map[string]float64{"SCAN-0001": 1, "SCAN-0002": 1, "SCAN-0003": 1}},
}

var demoServices = []demoProduct{
	{code: "FREIGHT", name: "Freight charge", price: 0},
	{code: "DETENTION", name: "Detention", price: 75},
	{code: "LIFTGATE", name: "Liftgate delivery", price: 45},
	{code: "LUMPER", name: "Lumper fee", price: 60},
	{code: "RESIDENTIAL", name: "Residential delivery", price: 35},
	{code: "REWEIGH", name: "Reweigh / reclass", price: 25},
}

// seed creates the records of a fresh database and, with demo, demo data shaped like Odoo's.
func (s *Sim) seed(t *txn, demo bool) error {
	pl := s.plan()
	ins := func(model string, id int, vals record) int {
		if id != 0 {
			vals["id"] = id
		}
		return t.insert(model, vals)
	}
	ins("res.currency", 1, record{"name": "USD", "symbol": "$", "active": true, "rounding": 0.01})
	ins("res.country", 233, record{"name": "United States", "code": "US"})
	ins("uom.uom", 1, record{"name": "Units", "rounding": 0.01, "active": true, "factor": 1.0, "uom_type": "reference"})
	ins("res.partner", 1, record{"name": "My Company (San Francisco)", "is_company": true, "street": "250 Executive Park Blvd, Suite 3400",
		"city": "San Francisco", "zip": "94134", "country_id": 233, "email": "info@yourcompany.com", "phone": "+1 555-555-5556", "company_id": 1})
	ins("res.partner", 2, record{"name": "OdooBot", "email": "odoobot@example.com", "active": false})
	ins("res.partner", 3, record{"name": "Mitchell Admin", "email": "admin@yourcompany.example.com", "company_id": 1, "parent_id": 1})
	ins("res.company", 1, record{"name": "YourCompany", "partner_id": 1, "currency_id": 1, "country_id": 233, "active": true})
	ins("res.users", 1, record{"name": "OdooBot", "login": "__system__", "partner_id": 2, "company_id": 1, "active": false})
	ins("res.users", s.uid, record{"name": "Mitchell Admin", "login": s.login, "partner_id": 3, "company_id": 1,
		"company_ids": []int{1}, "tz": "Europe/Brussels", "lang": "en_US"})
	ins("stock.location", pl.locView, record{"name": "Physical Locations", "usage": "view"})
	parent := 0
	if pl.locPartners != 0 {
		ins("stock.location", pl.locPartners, record{"name": "Partners", "usage": "view"})
		parent = pl.locPartners
	}
	ins("stock.location", pl.locCustomers, record{"name": "Customers", "usage": "customer", "location_id": parent})
	ins("stock.location", pl.locVendors, record{"name": "Vendors", "usage": "supplier", "location_id": parent})
	ins("stock.location", pl.locWH, record{"name": "WH", "usage": "view", "location_id": pl.locView, "company_id": 1})
	ins("stock.location", pl.locStock, record{"name": "Stock", "usage": "internal", "location_id": pl.locWH, "company_id": 1, "warehouse_id": 1})
	ins("stock.location", 0, record{"name": "Virtual Locations", "usage": "view"})
	ins("stock.location", pl.locInventory, record{"name": "Inventory adjustment", "usage": "inventory", "company_id": 1})
	scrap := record{"name": "Scrap", "usage": "inventory", "company_id": 1}
	if s.version <= 18 {
		scrap["scrap_location"] = true
	}
	ins("stock.location", pl.locScrap, scrap)
	ins("stock.warehouse", 1, record{"name": "YourCompany", "code": "WH", "company_id": 1, "partner_id": 1, "lot_stock_id": pl.locStock,
		"view_location_id": pl.locWH, "in_type_id": 1, "out_type_id": 2, "delivery_steps": "ship_only", "reception_steps": "one_step", "sequence": 10})
	ins("stock.picking.type", 1, record{"name": "Receipts", "code": "incoming", "warehouse_id": 1, "sequence_code": "IN",
		"default_location_src_id": pl.locVendors, "default_location_dest_id": pl.locStock, "reservation_method": "at_confirm",
		"create_backorder": "ask", "company_id": 1, "sequence": 1, "return_picking_type_id": 2})
	ins("stock.picking.type", 2, record{"name": "Delivery Orders", "code": "outgoing", "warehouse_id": 1, "sequence_code": "OUT",
		"default_location_src_id": pl.locStock, "default_location_dest_id": pl.locCustomers, "reservation_method": "at_confirm",
		"create_backorder": "ask", "company_id": 1, "sequence": 2, "return_picking_type_id": 1})
	journal := "Customer Invoices"
	if s.version >= 19 {
		journal = "Sales"
	}
	ins("account.journal", 1, record{"name": journal, "code": "INV", "type": "sale", "company_id": 1})
	purchases := "Vendor Bills"
	if s.version >= 19 {
		purchases = "Purchases"
	}
	ins("account.journal", 2, record{"name": purchases, "code": "BILL", "type": "purchase", "company_id": 1})
	ins("account.account", 26, record{"name": "Product Sales", "code": "400000"})
	ins("account.payment.term", 6, record{"name": "End of Following Month"})
	s.demo = Demo{CompanyID: 1, WarehouseID: 1, StockLocationID: pl.locStock, CustomerLocationID: pl.locCustomers,
		OutPickingTypeID: 2, InPickingTypeID: 1, ScrapLocationID: pl.locScrap}
	if !demo {
		s.demo = Demo{CompanyID: 1, WarehouseID: 1, StockLocationID: pl.locStock, CustomerLocationID: pl.locCustomers,
			OutPickingTypeID: 2, InPickingTypeID: 1, ScrapLocationID: pl.locScrap}
		return nil
	}
	return s.seedDemo(t, pl)
}

func (s *Sim) seedDemo(t *txn, pl idPlan) error {
	type partner struct {
		id                                    int
		name, street, city, zip, email, phone string
		country                               int
		customer, company                     bool
		parent                                int
	}
	partners := []partner{
		{8, "Wood Corner", "1839 Arbor Way", "Turlock", "95380", "wood.corner26@example.com", "(623)-853-7197", 233, false, true, 0},
		{9, "Acme Corporation", "1 Acme Road", "Denver", "80202", "acme_corp@yourcompany.example.com", "(603)-996-3829", 233, s.version >= 19, true, 0},
		{10, "Deco Addict", "77 Santa Barbara Rd", "Pleasant Hill", "94523", "deco_addict@yourcompany.example.com", "(603)-996-3830", 233, s.version <= 18, true, 0},
		{15, "Azure Interior", "4557 De Silva St", "Fremont", "94538", "azure.Interior24@example.com", "(870)-931-0505", 233, true, true, 0},
		{26, "Brandon Freeman", "4557 De Silva St", "Fremont", "94538", "brandon.freeman55@example.com", "(355)-687-3262", 233, s.version <= 18, false, 15},
	}
	if s.version >= 19 {
		t.insert("res.country", record{"id": 128, "name": "Liechtenstein", "code": "LI"})
		t.insert("res.country", record{"id": 139, "name": "Montenegro", "code": "ME"})
		partners = append(partners,
			partner{12, "OpenWood", "Schaanerstrasse 1", "Vaduz", "9490", "wow@example.com", "+352 123 456 789", 128, true, true, 0},
			partner{13, "LightsUp", "Bulevar Svetog Petra 10", "Podgorica", "81000", "lightsup@example.com", "+372 123 1234", 139, true, true, 0})
	}
	for _, c := range partners {
		rank := 0
		if c.customer {
			rank = 1
		}
		t.insert("res.partner", record{"id": c.id, "name": c.name, "is_company": c.company, "street": c.street, "city": c.city,
			"zip": c.zip, "country_id": c.country, "email": c.email, "phone": c.phone, "customer_rank": rank, "type": "contact",
			"lang": "en_US", "parent_id": c.parent})
		if c.customer {
			s.demo.Customers = append(s.demo.Customers, c.id)
		}
	}
	free := pl.freeProduct
	nextFree := func() int {
		for {
			id := free
			free++
			used := false
			for _, v := range pl.products {
				if v == id {
					used = true
				}
			}
			if !used && t.rec("product.product", id) == nil {
				return id
			}
		}
	}
	mkProduct := func(p demoProduct, id int) (int, error) {
		vals := map[string]any{"name": p.name, "default_code": p.code, "list_price": p.price, "weight": 0.01}
		if p.service {
			vals["type"] = "service"
			vals["invoice_policy"] = "order"
		} else {
			if s.version >= 18 {
				vals["type"] = "consu"
				vals["is_storable"] = true
			} else {
				vals["type"] = "product"
			}
			vals["invoice_policy"] = "delivery"
			vals["tracking"] = strOr(p.tracking, "none")
		}
		vals["id"] = float64(id)
		conv, _, err := t.convert(t.m("product.product"), vals)
		if err != nil {
			return 0, err
		}
		conv["id"] = id
		t.m("product.product").defaults(t, conv)
		pid := t.insert("product.product", conv)
		return pid, t.m("product.product").created(t, pid)
	}
	s.demo.Products = map[string]int{}
	s.demo.Lots = map[string]int{}
	s.demo.Services = map[string]int{}
	for _, p := range demoProducts {
		id, ok := pl.products[p.code]
		if !ok {
			id = nextFree()
		}
		pid, err := mkProduct(p, id)
		if err != nil {
			return fmt.Errorf("creating demo product %s: %w", p.code, err)
		}
		s.demo.Products[p.code] = pid
		if p.qty > 0 {
			t.insert("stock.quant", record{"product_id": pid, "location_id": pl.locStock, "quantity": p.qty, "company_id": 1,
				"in_date": t.nowStr(), "product_uom_id": 1})
		}
		for _, name := range sortedKeys(p.lots) {
			lot := t.insert("stock.lot", record{"name": name, "product_id": pid, "company_id": 1})
			s.demo.Lots[name] = lot
			t.insert("stock.quant", record{"product_id": pid, "location_id": pl.locStock, "lot_id": lot, "quantity": p.lots[name],
				"company_id": 1, "in_date": t.nowStr(), "product_uom_id": 1})
		}
	}
	for _, p := range demoServices {
		p.service = true
		pid, err := mkProduct(p, nextFree())
		if err != nil {
			return fmt.Errorf("creating demo service %s: %w", p.code, err)
		}
		s.demo.Services[p.code] = pid
	}
	// carriers and their delivery products
	carriers := []struct {
		name, typ, code string
		price           float64
	}{
		{"Standard delivery", "fixed", "Delivery_007", 0},
		{"The Poste", "base_on_rule", "Delivery_009", 20},
		{"Local Delivery", "fixed", "Delivery_010", 5},
	}
	for i, c := range carriers {
		pid, err := mkProduct(demoProduct{code: c.code, name: c.name, price: c.price, service: true}, nextFree())
		if err != nil {
			return err
		}
		t.insert("delivery.carrier", record{"id": i + 1, "name": c.name, "delivery_type": c.typ, "product_id": pid, "fixed_price": c.price,
			"invoice_policy": "estimated", "integration_level": "rate", "company_id": 1, "sequence": 10 + i})
	}
	s.demo.CarrierID = 3
	// demo quotations and orders; 4, 6, 7, 8 confirmed
	cab := s.demo.Products["E-COM07"]
	for i := 1; i <= 8; i++ {
		partner := s.demo.Customers[i%len(s.demo.Customers)]
		id, err := t.create(t.m("sale.order"), map[string]any{"partner_id": float64(partner),
			"order_line": []any{[]any{0.0, 0.0, map[string]any{"product_id": float64(cab), "product_uom_qty": 1.0}}}})
		if err != nil {
			return fmt.Errorf("creating demo order: %w", err)
		}
		if i == 4 || i >= 6 {
			if err := t.confirmOrder(id); err != nil {
				return err
			}
		}
		if i == 6 {
			// two draft delivery orders entered by hand, as in Odoo's demo data
			for j := 0; j < 2; j++ {
				if _, err := t.create(t.m("stock.picking"), map[string]any{"picking_type_id": 2.0, "partner_id": float64(partner),
					"move_ids": []any{[]any{0.0, 0.0, map[string]any{"product_id": float64(s.demo.Products["E-COM10"]), "product_uom_qty": 1.0}}}}); err != nil {
					return fmt.Errorf("creating demo picking: %w", err)
				}
			}
		}
	}
	// line the counters up with the transcripts
	for tbl, n := range pl.next {
		if tb := t.db.table(tbl); tb.next < n {
			tb.next = n
		}
	}
	year := t.now.UTC().Year()
	for k, v := range pl.seqs {
		if k == "INV/YEAR" {
			k = fmt.Sprintf("INV/%d", year)
		}
		if t.db.seqs[k] < v {
			t.db.seqs[k] = v
		}
	}
	return nil
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
