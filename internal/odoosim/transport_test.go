package odoosim

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		db := b.sim.Database()
		env, _ := b.jsonrpc("common", "login", db, "admin", "admin")
		if env["result"] != 2.0 {
			t.Errorf("login: got %v", env)
		}
		env, _ = b.jsonrpc("common", "login", db, "admin", "WRONG")
		if env["result"] != false {
			t.Errorf("wrong login: got %v, want false", env)
		}
		env, _ = b.jsonrpc("common", "authenticate", db, "admin", b.sim.APIKey(), map[string]any{})
		if env["result"] != 2.0 {
			t.Errorf("authenticate with the API key: got %v", env)
		}
		env, _ = b.jsonrpc("object", "execute_kw", db, 2, "WRONG", "res.partner", "search_count", []any{[]any{}})
		e, _ := env["error"].(map[string]any)
		data, _ := e["data"].(map[string]any)
		if data["name"] != excAccessDenied || data["message"] != "Access Denied" {
			t.Errorf("wrong password: got %v", env)
		}
		env, _ = b.jsonrpc("object", "execute_kw", db, 2, b.sim.APIKey(), "res.partner", "search_count", []any{[]any{}})
		if _, ok := env["result"].(float64); !ok {
			t.Errorf("API key as password: got %v", env)
		}
		env, _ = b.jsonrpc("object", "execute_kw", db, 999, "admin", "res.partner", "search_count", []any{[]any{}})
		if data := env["error"].(map[string]any)["data"].(map[string]any); data["name"] != excMissingError {
			t.Errorf("unknown uid: got %v", env)
		}
		env, _ = b.jsonrpc("object", "execute_kw", "nodb", 2, "admin", "res.partner", "search_count", []any{[]any{}})
		if data := env["error"].(map[string]any)["data"].(map[string]any); data["name"] != excOperational {
			t.Errorf("unknown db: got %v", env)
		}
		env, _ = b.jsonrpc("db", "list")
		if l, _ := env["result"].([]any); len(l) != 1 || l[0] != db {
			t.Errorf("db.list: got %v", env)
		}
		// JSON-2 exists on 19 only
		status, ct, body, err := b.post("/json/2/res.partner/search_count", "application/json", []byte(`{"domain":[]}`),
			map[string]string{"Authorization": "bearer " + b.sim.APIKey()})
		if err != nil {
			t.Fatal(err)
		}
		if b.sim.Version() < 19 {
			// 18.0 answers its HTML page with 200 (recorded); 16 and 17
			// answer the usual 404 page.
			want := 404
			if b.sim.Version() == 18 {
				want = 200
			}
			if status != want || !strings.Contains(ct, "html") {
				t.Errorf("JSON-2 on %d: got %d %s", b.sim.Version(), status, ct)
			}
			return
		}
		if status != 200 || strings.TrimSpace(string(body)) == "" {
			t.Errorf("JSON-2 search_count: got %d %s", status, body)
		}
		for _, tc := range []struct {
			auth, wantMsg string
		}{
			{"", "User not authenticated, use an API Key with a Bearer Authorization header."},
			{"bearer nope", "Invalid apikey"},
			{"bearer admin", "Invalid apikey"},
		} {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			status, _, body, _ := b.post("/json/2/res.partner/search_count", "application/json", []byte(`{"domain":[]}`), hdr)
			var e map[string]any
			_ = json.Unmarshal(body, &e)
			if status != 401 || e["message"] != tc.wantMsg || b.lastHeader("WWW-Authenticate") == "" {
				t.Errorf("auth %q: got %d %s", tc.auth, status, body)
			}
		}
	})
}

func TestJSON2Shapes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Version: 19})
	status, res := b.json2("res.partner", "create", map[string]any{"vals_list": map[string]any{"name": "single"}})
	if l, ok := res.([]any); status != 200 || !ok || len(l) != 1 {
		t.Errorf("create single object: got %d %v, want a list", status, res)
	}
	status, res = b.json2("res.partner", "read", []any{[]any{1}, []any{"name"}})
	if l, ok := res.([]any); status != 200 || !ok || len(l) != 0 {
		t.Errorf("array body: got %d %v, want 200 []", status, res)
	}
	status, res = b.json2("res.partner", "read", map[string]any{"ids": 1, "fields": []any{"name"}})
	if l, ok := res.([]any); status != 200 || !ok || len(l) != 1 {
		t.Errorf("bare int ids: got %d %v", status, res)
	}
	status, res = b.json2("res.partner", "search_count", map[string]any{"ids": []any{1}, "domain": []any{}})
	if status != 422 || res.(map[string]any)["message"] != "cannot call res.partner.search_count with ids" {
		t.Errorf("ids on a model method: got %d %v", status, res)
	}
	status, res = b.json2("sale.order", "read", map[string]any{"ids": []any{1}, "fields": []any{"no_field"}})
	if status != 500 || res.(map[string]any)["name"] != excValueError {
		t.Errorf("unknown field: got %d %v", status, res)
	}
	status, res = b.json2("sale.order", "write", map[string]any{"ids": []any{999999}, "vals": map[string]any{"note": "x"}})
	if status != 404 || res.(map[string]any)["name"] != excMissingError {
		t.Errorf("missing record: got %d %v", status, res)
	}
	status, res = b.json2("sale.order", "_create_invoices", map[string]any{"ids": []any{1}})
	if status != 403 {
		t.Errorf("private: got %d %v", status, res)
	}
	status, res = b.json2("account.move", "button_draft", map[string]any{"ids": []any{}})
	if status != 200 || res != nil {
		t.Errorf("None result: got %d %v, want null", status, res)
	}
	status, res = b.json2("sale.order", "name_search", map[string]any{"name": "S000", "domain": []any{}, "limit": 2})
	if l, _ := res.([]any); status != 200 || len(l) != 2 {
		t.Errorf("name_search with domain: got %d %v", status, res)
	}
	status, _ = b.json2("sale.order", "name_search", map[string]any{"name": "S000", "args": []any{}})
	if status != 422 {
		t.Errorf("name_search with args on 19: got %d, want 422", status)
	}
	// version endpoints
	for _, p := range []string{"/web/version", "/json/version"} {
		status, _, body, _ := b.get(p, nil)
		var vv map[string]any
		_ = json.Unmarshal(body, &vv)
		if status != 200 || vv["version"] != "19.0" {
			t.Errorf("%s: got %d %s", p, status, body)
		}
	}
	b18 := setup(t, Options{Version: 18})
	if status, _, _, _ := b18.get("/web/version", nil); status != 404 {
		t.Errorf("/web/version on 18: got %d, want 404", status)
	}
	status, _, body, _ := b18.post("/web/webclient/version_info", "application/json", []byte(`{"jsonrpc":"2.0","method":"call","params":{},"id":1}`), nil)
	if status != 200 || !strings.Contains(string(body), `"server_serie":"18.0"`) && !strings.Contains(string(body), `"server_serie": "18.0"`) {
		t.Errorf("version_info on 18: got %d %s", status, body)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	f := b.sim.Faults()
	count := func() int { return toInt(t, b.must("sale.order", "search_count", []any{[]any{}}, nil)) }
	create := func() (any, error) {
		return b.call("sale.order", "create", []any{map[string]any{"partner_id": 15}}, nil)
	}
	base := count()

	f.Inject("sale.order", "create", 1, FaultHTTP500)
	if _, err := create(); err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Errorf("FaultHTTP500: got %v", err)
	}
	f.Inject("", "", 1, FaultHTTP503)
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "call", "id": 1, "params": map[string]any{"service": "common", "method": "version", "args": []any{}}})
	status, _, _, _ := b.post("/jsonrpc", "application/json", body, nil)
	if status != 503 || b.lastHeader("Retry-After") != "1" {
		t.Errorf("FaultHTTP503: got %d Retry-After %q", status, b.lastHeader("Retry-After"))
	}
	f.Inject("sale.order", "", 1, FaultReset)
	if _, err := create(); err == nil {
		t.Errorf("FaultReset: got no error")
	}
	f.Inject("sale.order", "create", 1, FaultSerialization)
	_, err := create()
	if re, ok := err.(*rpcError); !ok || re.Data.Name != "psycopg2.errors.SerializationFailure" {
		t.Errorf("FaultSerialization: got %v", err)
	}
	if n := count(); n != base {
		t.Errorf("after transport faults and serialization: %d orders, want %d (nothing committed)", n, base)
	}
	f.Inject("sale.order", "create", 1, FaultDropAfterCommit)
	if _, err := create(); err == nil {
		t.Errorf("FaultDropAfterCommit: the client got a reply")
	}
	if n := count(); n != base+1 {
		t.Errorf("after FaultDropAfterCommit: %d orders, want %d (committed)", n, base+1)
	}
	// n calls, then back to normal; other models unaffected
	f.Inject("res.partner", "read", 2, FaultHTTP500)
	for i := 0; i < 2; i++ {
		if _, err := b.call("res.partner", "read", []any{[]any{15}}, nil); err == nil {
			t.Errorf("call %d: got no error", i)
		}
	}
	if _, err := b.call("res.partner", "read", []any{[]any{15}}, nil); err != nil {
		t.Errorf("third call: %v", err)
	}
	f.SetLatency(50 * time.Millisecond)
	start := time.Now()
	b.must("res.partner", "search_count", []any{[]any{}}, nil)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("latency: call took %v", d)
	}
	f.Inject("", "", 5, FaultHTTP500)
	f.Clear()
	start = time.Now()
	b.must("res.partner", "search_count", []any{[]any{}}, nil)
	if d := time.Since(start); d > 40*time.Millisecond {
		t.Errorf("after Clear: call took %v", d)
	}
	// JSON-2 serialization failure: HTTP 500
	b19 := setup(t, Options{Version: 19})
	b19.sim.Faults().Inject("res.partner", "search_count", 1, FaultSerialization)
	status, res := b19.json2("res.partner", "search_count", map[string]any{"domain": []any{}})
	if status != 500 || res.(map[string]any)["name"] != "psycopg2.errors.SerializationFailure" {
		t.Errorf("JSON-2 serialization: got %d %v", status, res)
	}
}

func TestDownUp(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	url := b.srv.URL()
	so := b.createOrder(15, "UP-1", "E-COM08", 1)
	if err := b.srv.Down(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.call("res.partner", "search_count", []any{[]any{}}, nil); err == nil {
		t.Errorf("call while down: got no error")
	}
	if err := b.srv.Up(); err != nil {
		t.Fatal(err)
	}
	if b.srv.URL() != url {
		t.Errorf("URL changed: %s → %s", url, b.srv.URL())
	}
	if ref := b.read("sale.order", so, "client_order_ref")["client_order_ref"]; ref != "UP-1" {
		t.Errorf("state after Up: got %v", ref)
	}
	if err := b.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := b.srv.Up(); err == nil {
		t.Errorf("Up after Close: got nil error")
	}
}

func TestBadBodies(t *testing.T) {
	t.Parallel()
	for _, v := range []int{18, 19} {
		b := setup(t, Options{Version: v})
		bodies := []string{
			"", "null", "[]", "{}", "1", `"x"`, `{"params":1}`, `{"params":{"service":1,"method":[],"args":{}}}`,
			`{"params":{"service":"object","method":"execute_kw","args":[]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin",null,null,null,null]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","res.partner","read",1,2]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","res.partner","read",[null],{"fields":7}]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","res.partner","search",[[["id","bad-op",1]]]]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","res.partner","search",[["&"]]]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","res.partner","search",[[[1,2]]]]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","res.partner","create",[[1,2]]]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","res.partner","write",[[15],{"child_ids":[[9,9]]}]]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","res.partner","write",[[15],{"child_ids":"x"}]]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","sale.order","search",[[]],{"order":"nope desc"}]}}`,
			`{"params":{"service":"object","method":"execute_kw","args":["odoo",2,"admin","stock.picking","button_validate",["x"]]}}`,
			`{"params":{"service":"common","method":"login","args":[]}}`,
		}
		rng := rand.New(rand.NewSource(1))
		for i := 0; i < 200; i++ {
			n := rng.Intn(60)
			buf := make([]byte, n)
			for j := range buf {
				buf[j] = "{}[]\":,0123456789abcdeftruenulsparmsvicobjetxkw "[rng.Intn(46)]
			}
			bodies = append(bodies, string(buf))
		}
		for _, body := range bodies {
			status, ct, data, err := b.post("/jsonrpc", "application/json", []byte(body), nil)
			if err != nil {
				t.Fatalf("%d %q: %v", v, body, err)
			}
			if status != 200 && status != 400 || status == 400 && string(data) != "Invalid JSON data" {
				t.Errorf("%d /jsonrpc %q: got %d %s %s", v, body, status, ct, data)
			}
			status, ct, _, err = b.post("/xmlrpc/2/object", "text/xml", []byte("<methodCall><methodName>execute_kw</methodName><params><param><value>"+body+"</value></param></params></methodCall>"), nil)
			if err != nil || status != 200 || !strings.Contains(ct, "xml") {
				t.Errorf("xmlrpc %q: got %d %s %v", body, status, ct, err)
			}
			if v == 19 {
				status, ct, data, err = b.post("/json/2/res.partner/search_read", "application/json", []byte(body),
					map[string]string{"Authorization": "bearer " + b.sim.APIKey()})
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(ct, "json") || strings.Contains(string(data), "internal error") {
					t.Errorf("json2 %q: got %d %s %s", body, status, ct, data)
				}
			}
		}
		// the simulator still answers
		if _, err := b.call("res.partner", "search_count", []any{[]any{}}, nil); err != nil {
			t.Errorf("after fuzzing: %v", err)
		}
	}
}
