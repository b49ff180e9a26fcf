package odoosim

import (
	"slices"
	"testing"
	"time"
)

func TestDomains(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		azure, box := 15, b.product("E-COM08")
		cases := []struct {
			name   string
			model  string
			domain []any
			want   func(ids []int) bool
		}{
			{"eq", "res.partner", []any{[]any{"name", "=", "Azure Interior"}}, func(ids []int) bool { return slices.Equal(ids, []int{azure}) }},
			{"ilike", "res.partner", []any{[]any{"name", "ilike", "azure"}}, func(ids []int) bool { return slices.Equal(ids, []int{azure}) }},
			{"like is case sensitive", "res.partner", []any{[]any{"name", "like", "azure"}}, func(ids []int) bool { return len(ids) == 0 }},
			{"=like", "res.partner", []any{[]any{"name", "=like", "Azure%"}}, func(ids []int) bool { return slices.Equal(ids, []int{azure}) }},
			{"=ilike", "res.partner", []any{[]any{"name", "=ilike", "azure interior"}}, func(ids []int) bool { return slices.Equal(ids, []int{azure}) }},
			{"in", "res.partner", []any{[]any{"id", "in", []any{azure, 999}}}, func(ids []int) bool { return slices.Equal(ids, []int{azure}) }},
			{"not in", "res.partner", []any{[]any{"id", "not in", []any{azure}}, []any{"name", "ilike", "azure"}}, func(ids []int) bool { return len(ids) == 0 }},
			{"or", "res.partner", []any{"|", []any{"id", "=", azure}, []any{"id", "=", 1}}, func(ids []int) bool { return slices.Contains(ids, 1) && slices.Contains(ids, azure) && len(ids) == 2 }},
			{"not", "res.partner", []any{"!", []any{"id", "!=", azure}}, func(ids []int) bool { return slices.Equal(ids, []int{azure}) }},
			{"and with or", "res.partner", []any{"&", []any{"is_company", "=", true}, "|", []any{"id", "=", azure}, []any{"id", "=", 3}}, func(ids []int) bool { return slices.Equal(ids, []int{azure}) }},
			{"gt", "product.product", []any{[]any{"qty_available", ">", 1000}}, func(ids []int) bool { return len(ids) == 1 }},
			{"false", "res.partner", []any{[]any{"id", "=", azure}, []any{"vat", "=", false}}, func(ids []int) bool { return len(ids) == 1 }},
			{"dotted", "stock.quant", []any{[]any{"product_id", "=", box}, []any{"location_id.usage", "=", "internal"}}, func(ids []int) bool { return len(ids) == 1 }},
			{"child_of", "stock.quant", []any{[]any{"product_id", "=", box}, []any{"location_id", "child_of", b.sim.Demo().StockLocationID}}, func(ids []int) bool { return len(ids) == 1 }},
			{"m2o by name", "stock.quant", []any{[]any{"product_id", "ilike", "Storage Box"}}, func(ids []int) bool { return len(ids) == 1 }},
		}
		for _, tc := range cases {
			ids := b.search(tc.model, tc.domain, nil)
			if !tc.want(ids) {
				t.Errorf("%s: %v gave %v", tc.name, tc.domain, ids)
			}
		}
		// dotted path through a many2one to a char
		so := b.createOrder(azure, "DOT-1", "E-COM08", 1)
		b.must("sale.order", "action_confirm", []any{[]any{so}}, nil)
		pk := b.pickingsOf(so)[0]
		origin := b.read("stock.picking", pk, "origin")["origin"]
		if ids := b.search("stock.move", []any{[]any{"picking_id.origin", "=", origin}}, nil); len(ids) != 1 {
			t.Errorf("picking_id.origin: got %v", ids)
		}
		if ids := b.search("stock.move", []any{[]any{"sale_line_id.order_id", "=", so}}, nil); len(ids) != 1 {
			t.Errorf("sale_line_id.order_id: got %v", ids)
		}
		// limit, offset, order
		all := b.search("res.partner", []any{}, map[string]any{"order": "id asc"})
		page := b.search("res.partner", []any{}, map[string]any{"order": "id asc", "limit": 2, "offset": 1})
		if !slices.Equal(page, all[1:3]) {
			t.Errorf("limit/offset: got %v, want %v", page, all[1:3])
		}
		desc := b.search("res.partner", []any{}, map[string]any{"order": "id desc", "limit": 1})
		if desc[0] != all[len(all)-1] {
			t.Errorf("order desc: got %v", desc)
		}
		if n := toInt(t, b.must("res.partner", "search_count", []any{[]any{[]any{"id", "in", []any{1, azure}}}}, nil)); n != 2 {
			t.Errorf("search_count: got %d", n)
		}
		// errors
		re := b.wantErr(excValueError, "sale.order", "search_read", []any{[]any{[]any{"no_field", "=", 1}}}, map[string]any{"fields": []any{"name"}})
		kind := "leaf"
		if b.sim.Version() >= 19 {
			kind = "condition"
		}
		if want := "Invalid field sale.order.no_field in " + kind + " ('no_field', '=', 1)"; re.Data.Message != want {
			t.Errorf("unknown field in domain: got %q, want %q", re.Data.Message, want)
		}
	})
}

func TestRecordErrors(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		v := b.sim.Version()
		// read drops missing ids
		rows := b.must("res.partner", "read", []any{[]any{15, 999999}}, map[string]any{"fields": []any{"name"}}).([]any)
		if len(rows) != 1 {
			t.Errorf("read with a missing id: got %v", rows)
		}
		if rows := b.must("res.partner", "read", []any{[]any{999999}}, nil).([]any); len(rows) != 0 {
			t.Errorf("read missing: got %v", rows)
		}
		re := b.wantErr(excMissingError, "res.partner", "write", []any{[]any{999999}, map[string]any{"name": "x"}}, nil)
		if want := "Record does not exist or has been deleted.\n(Record: res.partner(999999,), User: 2)"; re.Data.Message != want {
			t.Errorf("write missing: got %q, want %q", re.Data.Message, want)
		}
		b.wantErr(excMissingError, "sale.order", "action_confirm", []any{[]any{999999}}, nil)
		b.wantErr(excMissingError, "sale.order", "create", []any{map[string]any{"partner_id": 999999}}, nil)
		re = b.wantErr(excAccessError, "sale.order", "_create_invoices", []any{[]any{1}}, nil)
		if want := "Private methods (such as 'sale.order._create_invoices') cannot be called remotely."; re.Data.Message != want {
			t.Errorf("private: got %q", re.Data.Message)
		}
		if v >= 18 {
			b.wantErr(excAccessError, "res.partner", "sudo", []any{[]any{1}}, nil)
		}
		re = b.wantErr(excAttributeError, "sale.order", "no_such_method", []any{[]any{1}}, nil)
		if want := "The method 'sale.order.no_such_method' does not exist"; re.Data.Message != want {
			t.Errorf("unknown method: got %q", re.Data.Message)
		}
		re = b.wantErr(excUserError, "no.such.model", "search", []any{[]any{}}, nil)
		if re.Data.Message != "Object no.such.model doesn't exist" {
			t.Errorf("unknown model: got %q", re.Data.Message)
		}
		re = b.wantErr(excValueError, "sale.order", "write", []any{[]any{1}, map[string]any{"no_field": 1}}, nil)
		if re.Data.Message != "Invalid field 'no_field' on model 'sale.order'" {
			t.Errorf("unknown field in vals: got %q", re.Data.Message)
		}
		re = b.wantErr(excValidationError, "sale.order", "create", []any{map[string]any{"order_line": []any{}}}, nil)
		if !contains(re.Data.Message, "The operation cannot be completed") || !contains(re.Data.Message, "(partner_id)") {
			t.Errorf("missing required: got %q", re.Data.Message)
		}
		code := 200
		if v >= 19 {
			code = 0
		}
		if re.Code != code || re.Message != "Odoo Server Error" {
			t.Errorf("error envelope: got code %d message %q, want %d", re.Code, re.Message, code)
		}
		b.wantErr(excTypeError, "res.partner", "search_read", []any{[]any{}}, map[string]any{"bogus": 1})
		// create shapes
		if _, ok := b.must("res.partner", "create", []any{map[string]any{"name": "one"}}, nil).(float64); !ok {
			t.Errorf("create with a dict must return an int")
		}
		if ids := toInts(t, b.must("res.partner", "create", []any{[]any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}}, nil)); len(ids) != 2 {
			t.Errorf("create with a list: got %v", ids)
		}
	})
}

func TestX2ManyCommands(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	p := toInt(t, b.must("res.partner", "create", []any{map[string]any{"name": "Parent", "is_company": true,
		"child_ids": []any{[]any{0, 0, map[string]any{"name": "C1"}}, []any{0, 0, map[string]any{"name": "C2"}}}}}, nil))
	kids := toInts(t, b.read("res.partner", p, "child_ids")["child_ids"])
	if len(kids) != 2 {
		t.Fatalf("children: got %v", kids)
	}
	if dn := b.read("res.partner", kids[0], "display_name")["display_name"]; dn != "Parent, C1" {
		t.Errorf("child display_name: got %v", dn)
	}
	other := toInt(t, b.must("res.partner", "create", []any{map[string]any{"name": "Other"}}, nil))
	b.must("res.partner", "write", []any{[]any{p}, map[string]any{"child_ids": []any{
		[]any{1, kids[0], map[string]any{"name": "C1b"}}, []any{2, kids[1], 0}, []any{4, other}}}}, nil)
	kids2 := toInts(t, b.read("res.partner", p, "child_ids")["child_ids"])
	if len(kids2) != 2 || !slices.Contains(kids2, other) || slices.Contains(kids2, kids[1]) {
		t.Errorf("after 1/2/4: got %v", kids2)
	}
	if n := b.read("res.partner", kids[0], "name")["name"]; n != "C1b" {
		t.Errorf("command 1: got %v", n)
	}
	b.must("res.partner", "write", []any{[]any{p}, map[string]any{"child_ids": []any{[]any{6, 0, []any{other}}}}}, nil)
	if kids3 := toInts(t, b.read("res.partner", p, "child_ids")["child_ids"]); !slices.Equal(kids3, []int{other}) {
		t.Errorf("command 6: got %v", kids3)
	}
	b.must("res.partner", "write", []any{[]any{p}, map[string]any{"child_ids": []any{[]any{5, 0, 0}}}}, nil)
	if kids4 := toInts(t, b.read("res.partner", p, "child_ids")["child_ids"]); len(kids4) != 0 {
		t.Errorf("command 5: got %v", kids4)
	}
	// many2many set and link on the invoicing wizard
	so := b.createOrder(15, "", "E-COM08", 1)
	w := toInt(t, b.must("sale.advance.payment.inv", "create", []any{map[string]any{"advance_payment_method": "delivered",
		"sale_order_ids": []any{[]any{6, 0, []any{so}}}}}, nil))
	if ids := toInts(t, b.read("sale.advance.payment.inv", w, "sale_order_ids")["sale_order_ids"]); !slices.Equal(ids, []int{so}) {
		t.Errorf("m2m command 6: got %v", ids)
	}
}

func TestWriteDateAndRollback(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	first := b.read("res.partner", 15, "write_date")["write_date"].(string)
	if len(first) != 19 {
		t.Fatalf("write_date format: got %q", first)
	}
	mark := time.Now().UTC().Add(-time.Second).Format("2006-01-02 15:04:05")
	if ids := b.search("res.partner", []any{[]any{"write_date", ">=", mark}}, nil); len(ids) != 0 {
		t.Errorf("demo records changed since start: %v", ids)
	}
	b.must("res.partner", "write", []any{[]any{15}, map[string]any{"ref": "C-15"}}, nil)
	if ids := b.search("res.partner", []any{[]any{"write_date", ">=", mark}}, nil); !slices.Equal(ids, []int{15}) {
		t.Errorf("changed since watermark: got %v, want [15]", ids)
	}
	// a failing call commits nothing: the first line is created, the second fails
	before := toInt(t, b.must("sale.order.line", "search_count", []any{[]any{}}, nil))
	beforeSO := toInt(t, b.must("sale.order", "search_count", []any{[]any{}}, nil))
	b.wantErr(excMissingError, "sale.order", "create", []any{map[string]any{"partner_id": 15, "order_line": []any{
		[]any{0, 0, map[string]any{"product_id": b.product("E-COM08")}},
		[]any{0, 0, map[string]any{"product_id": 999999}}}}}, nil)
	if n := toInt(t, b.must("sale.order.line", "search_count", []any{[]any{}}, nil)); n != before {
		t.Errorf("lines after a failed create: got %d, want %d", n, before)
	}
	if n := toInt(t, b.must("sale.order", "search_count", []any{[]any{}}, nil)); n != beforeSO {
		t.Errorf("orders after a failed create: got %d, want %d", n, beforeSO)
	}
}

func TestMessagePost(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Version: 19})
	so := b.createOrder(15, "", "E-COM08", 1)
	mid := toInt(t, b.must("sale.order", "message_post", []any{[]any{so}}, map[string]any{"body": "Shipped with TRACK-1", "message_type": "comment"}))
	rows := b.must("mail.message", "search_read", []any{[]any{[]any{"model", "=", "sale.order"}, []any{"res_id", "=", so}}},
		map[string]any{"fields": []any{"body", "message_type", "author_id"}}).([]any)
	if len(rows) != 1 {
		t.Fatalf("messages: got %v", rows)
	}
	m := rows[0].(map[string]any)
	if toInt(t, m["id"]) != mid || m["body"] != "<p>Shipped with TRACK-1</p>" || m["message_type"] != "comment" {
		t.Errorf("message: got %v", m)
	}
	if ids := toInts(t, b.read("sale.order", so, "message_ids")["message_ids"]); !slices.Equal(ids, []int{mid}) {
		t.Errorf("message_ids: got %v", ids)
	}
}

func TestCalls(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.ResetCalls()
	b.must("res.partner", "search_count", []any{[]any{}}, nil)
	b.must("res.partner", "search_count", []any{[]any{}}, nil)
	if _, err := b.jsonrpc("common", "login", b.sim.Database(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	got := b.sim.Calls()
	if got["res.partner.search_count"] != 2 || got["common.login"] != 1 {
		t.Errorf("calls: got %v", got)
	}
	b.sim.ResetCalls()
	if n := len(b.sim.Calls()); n != 0 {
		t.Errorf("after reset: %d keys", n)
	}
}

func TestNewRejectsVersion(t *testing.T) {
	t.Parallel()
	for _, v := range []int{15, 20, -1} {
		if _, err := New(Options{Version: v}); err == nil {
			t.Errorf("New(%d): got nil error", v)
		}
	}
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() != 18 || s.Database() != "odoo" || s.Login() != "admin" || s.APIKey() != "sandbox-odoo-api-key" || s.UID() != 2 {
		t.Errorf("defaults: %d %s %s %s %d", s.Version(), s.Database(), s.Login(), s.APIKey(), s.UID())
	}
	nd, err := New(Options{NoDemo: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(nd.Demo().Products) != 0 || nd.Demo().WarehouseID == 0 {
		t.Errorf("NoDemo: got %+v", nd.Demo())
	}
	d := s.Demo()
	for _, code := range []string{"FREIGHT", "DETENTION", "LIFTGATE", "LUMPER", "RESIDENTIAL", "REWEIGH"} {
		if d.Services[code] == 0 {
			t.Errorf("service %s missing", code)
		}
	}
	if len(d.Lots) < 2 || d.CarrierID == 0 || len(d.Customers) < 3 {
		t.Errorf("demo: %+v", d)
	}
}

func TestSmallPublicMethods(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Version: 19})
	ctx := b.must("res.users", "context_get", []any{}, nil).(map[string]any)
	if ctx["uid"] != 2.0 || ctx["lang"] != "en_US" {
		t.Errorf("context_get: got %v", ctx)
	}
	p := toInt(t, b.must("res.partner", "create", []any{map[string]any{"name": "Archive me"}}, nil))
	b.must("res.partner", "action_archive", []any{[]any{p}}, nil)
	if ids := b.search("res.partner", []any{[]any{"id", "=", p}}, nil); len(ids) != 0 {
		t.Errorf("archived partner still found: %v", ids)
	}
	if ids := b.search("res.partner", []any{[]any{"id", "=", p}}, map[string]any{"context": map[string]any{"active_test": false}}); len(ids) != 1 {
		t.Errorf("active_test false: got %v", ids)
	}
	if ids := b.search("res.partner", []any{[]any{"id", "=", p}, []any{"active", "=", false}}, nil); len(ids) != 1 {
		t.Errorf("domain on active: got %v", ids)
	}
	if got := b.must("sale.order", "check_access_rights", []any{"read"}, map[string]any{"raise_exception": false}); got != true {
		t.Errorf("check_access_rights: got %v", got)
	}
}
