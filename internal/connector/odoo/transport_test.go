package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
)

// reply is one canned HTTP answer of the replay server.
type reply struct {
	status int
	ctype  string
	header map[string]string
	body   string
	// hang blocks the handler until the request's context ends.
	hang bool
	// drop closes the connection without answering.
	drop bool
}

// replayServer answers JSON-RPC logins itself and every other request with
// the next reply from its queue (the last one repeats).
type replayServer struct {
	*httptest.Server
	mu      sync.Mutex
	replies []reply
	bodies  []string
	headers []http.Header
	paths   []string
}

func newReplay(t *testing.T, replies ...reply) *replayServer {
	t.Helper()
	rs := &replayServer{replies: replies}
	rs.Server = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *replayServer) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if strings.Contains(string(b), `"authenticate"`) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc": "2.0", "id": 1, "result": 2}`)
		return
	}
	rs.mu.Lock()
	rs.bodies = append(rs.bodies, string(b))
	rs.headers = append(rs.headers, r.Header.Clone())
	rs.paths = append(rs.paths, r.URL.Path)
	rep := reply{status: 500, body: "no reply queued"}
	if len(rs.replies) > 0 {
		rep = rs.replies[0]
		if len(rs.replies) > 1 {
			rs.replies = rs.replies[1:]
		}
	}
	rs.mu.Unlock()
	switch {
	case rep.drop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("no hijacker")
		}
		conn, _, _ := hj.Hijack()
		_ = conn.Close()
		return
	case rep.hang:
		<-r.Context().Done()
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.ctype == "" {
		rep.ctype = "application/json; charset=utf-8"
	}
	w.Header().Set("Content-Type", rep.ctype)
	w.WriteHeader(cmpOrInt(rep.status, 200))
	_, _ = io.WriteString(w, rep.body)
}

func cmpOrInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func (rs *replayServer) lastBody() string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.bodies) == 0 {
		return ""
	}
	return rs.bodies[len(rs.bodies)-1]
}

func testConfig(url string, version int, protocol string) Config {
	return Config{
		URL: url, Database: "logi", Login: "admin", APIKey: "admin",
		Version: version, Protocol: protocol, Timeout: 5 * time.Second,
		RateLimit: 1000, BreakerFailures: 1000, BreakerCooldown: time.Second,
	}
}

func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func rpcError(code int, name, msg string) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 5, "error": map[string]any{
		"code": code, "message": "Odoo Server Error",
		"data": map[string]any{"name": name, "debug": "<traceback>", "message": msg, "arguments": []string{msg}, "context": map[string]any{}},
	}})
	return string(b)
}

func json2Error(name, msg string) string {
	b, _ := json.Marshal(map[string]any{"name": name, "message": msg, "arguments": []string{msg}, "context": map[string]any{}, "debug": "<traceback>"})
	return string(b)
}

type wantErr struct {
	kind      ErrorKind
	permanent bool
	after     time.Duration
	sentinel  error
	unknown   bool // wraps connector.ErrOutcomeUnknown
}

func checkErr(t *testing.T, err error, w wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want kind %s", w.kind)
	}
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("got %T %v, want an *odoo.Error", err, err)
	}
	if oe.Kind != w.kind {
		t.Errorf("got kind %s, want %s (%v)", oe.Kind, w.kind, err)
	}
	permanent, after := connector.Classify(err)
	if permanent != w.permanent {
		t.Errorf("got permanent %t, want %t (%v)", permanent, w.permanent, err)
	}
	if after != w.after {
		t.Errorf("got retry-after %s, want %s", after, w.after)
	}
	if w.sentinel != nil && !errors.Is(err, w.sentinel) {
		t.Errorf("errors.Is(%v, %v) = false", err, w.sentinel)
	}
	if got := errors.Is(err, connector.ErrOutcomeUnknown); got != w.unknown {
		t.Errorf("got errors.Is(err, ErrOutcomeUnknown) = %t, want %t", got, w.unknown)
	}
}

func TestJSONRPCErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		rep  reply
		want wantErr
	}{
		{"access denied (x18#5)", reply{body: rpcError(200, "odoo.exceptions.AccessDenied", "Access Denied")},
			wantErr{kind: KindAccessDenied, permanent: true, sentinel: ErrAccessDenied}},
		{"private method (x18#40)", reply{body: rpcError(200, "odoo.exceptions.AccessError", "Private methods (such as 'sale.order._create_invoices') cannot be called remotely.")},
			wantErr{kind: KindAccessError, permanent: true, sentinel: ErrAccessError}},
		{"unknown method (x18#41)", reply{body: rpcError(200, "builtins.AttributeError", "The method 'sale.order.no_such_method' does not exist")},
			wantErr{kind: KindInvalid, permanent: true, sentinel: ErrInvalid}},
		{"unknown model (x18#42)", reply{body: rpcError(200, "odoo.exceptions.UserError", "Object no.such.model doesn't exist")},
			wantErr{kind: KindUser, permanent: true, sentinel: ErrUser}},
		{"unknown field (x18#44)", reply{body: rpcError(200, "builtins.ValueError", "Invalid field sale.order.no_field in leaf ('no_field', '=', 1)")},
			wantErr{kind: KindInvalid, permanent: true}},
		{"missing required (x18#47)", reply{body: rpcError(200, "odoo.exceptions.ValidationError", "The operation cannot be completed")},
			wantErr{kind: KindValidation, permanent: true, sentinel: ErrValidation}},
		{"missing record (x18#101)", reply{body: rpcError(200, "odoo.exceptions.MissingError", "Record does not exist or has been deleted.")},
			wantErr{kind: KindMissing, permanent: true, sentinel: ErrMissing}},
		{"code 0 on 19 (j19 §5)", reply{body: rpcError(0, "odoo.exceptions.UserError", "You can not delete a sent quotation")},
			wantErr{kind: KindUser, permanent: true}},
		{"serialization failure", reply{body: rpcError(200, "psycopg2.errors.SerializationFailure", "could not serialize access due to concurrent update")},
			wantErr{kind: KindConcurrency, sentinel: ErrConcurrency}},
		{"old serialization name", reply{body: rpcError(200, "psycopg2.extensions.TransactionRollbackError", "could not serialize access due to concurrent update")},
			wantErr{kind: KindConcurrency}},
		{"generic psycopg2 with serialize text", reply{body: rpcError(200, "psycopg2.DatabaseError", "ERROR: could not serialize access due to read/write dependencies")},
			wantErr{kind: KindConcurrency}},
		{"lock error", reply{body: rpcError(0, "odoo.exceptions.LockError", "row locked")},
			wantErr{kind: KindConcurrency}},
		{"unknown exception name", reply{body: rpcError(200, "odoo.addons.x.MyError", "boom")},
			wantErr{kind: KindUnknown, sentinel: ErrUnknown}},
		{"error without data", reply{body: `{"jsonrpc":"2.0","id":1,"error":{"code":200,"message":"Odoo Server Error"}}`},
			wantErr{kind: KindUnknown}},
		{"error of wrong type", reply{body: `{"jsonrpc":"2.0","id":1,"error":"boom"}`},
			wantErr{kind: KindUnknown}},
		{"data of wrong types", reply{body: `{"jsonrpc":"2.0","id":1,"error":{"code":"x","data":{"name":7,"message":[1]}}}`},
			wantErr{kind: KindUnknown}},
		{"400 invalid json (raw18)", reply{status: 400, ctype: "text/html; charset=utf-8", body: "Invalid JSON data"},
			wantErr{kind: KindInvalid, permanent: true}},
		{"415 html (j19 §7)", reply{status: 415, ctype: "text/html", body: "<!doctype html><title>415 Unsupported Media Type</title>"},
			wantErr{kind: KindInvalid, permanent: true}},
		{"404 html", reply{status: 404, ctype: "text/html", body: "<!DOCTYPE html><html>…</html>"},
			wantErr{kind: KindInvalid, permanent: true}},
		{"500 text", reply{status: 500, ctype: "text/plain", body: "Internal Server Error"},
			wantErr{kind: KindServer, sentinel: ErrServer}},
		{"502 html from a proxy", reply{status: 502, ctype: "text/html", body: "<html><body><h1>502 Bad Gateway</h1></body></html>"},
			wantErr{kind: KindOutcomeUnknown, unknown: true, sentinel: ErrOutcomeUnknown}},
		{"503 with retry-after", reply{status: 503, header: map[string]string{"Retry-After": "7"}, ctype: "text/html", body: "<h1>maintenance</h1>"},
			wantErr{kind: KindServer, after: 7 * time.Second}},
		{"429 with retry-after", reply{status: 429, header: map[string]string{"Retry-After": "3"}, body: "slow down"},
			wantErr{kind: KindRateLimited, after: 3 * time.Second, sentinel: ErrRateLimited}},
		{"200 html", reply{status: 200, ctype: "text/html", body: "<!doctype html><html></html>"},
			wantErr{kind: KindOutcomeUnknown, unknown: true}},
		{"200 garbage", reply{body: "{\"jsonrpc\": \"2.0\", \"res"},
			wantErr{kind: KindOutcomeUnknown, unknown: true}},
		{"200 wrong result type", reply{body: `{"jsonrpc":"2.0","id":1,"result":"not a list"}`},
			wantErr{kind: KindDecode, permanent: true, sentinel: ErrDecode}},
		{"200 list of non-records", reply{body: `{"jsonrpc":"2.0","id":1,"result":[1,2,3]}`},
			wantErr{kind: KindDecode, permanent: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := newReplay(t, tc.rep)
			c := newTestClient(t, testConfig(rs.URL, 18, ""))
			_, err := c.SearchRead(t.Context(), "sale.order", nil, &SearchOptions{Fields: []string{"name"}})
			checkErr(t, err, tc.want)
		})
	}
}

func TestJSON2Errors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		rep  reply
		want wantErr
	}{
		{"bad key 401", reply{status: 401, header: map[string]string{"WWW-Authenticate": "Bearer"}, body: json2Error("werkzeug.exceptions.Unauthorized", "Invalid apikey")},
			wantErr{kind: KindAccessDenied, permanent: true, sentinel: ErrAccessDenied}},
		{"private 403", reply{status: 403, body: json2Error("odoo.exceptions.AccessError", "Private methods (such as 'res.partner.sudo') cannot be called remotely.")},
			wantErr{kind: KindAccessError, permanent: true}},
		{"unknown model 404", reply{status: 404, body: json2Error("werkzeug.exceptions.NotFound", "the model 'no.such.model' does not exist")},
			wantErr{kind: KindInvalid, permanent: true}},
		{"missing 404", reply{status: 404, body: json2Error("odoo.exceptions.MissingError", "Record does not exist or has been deleted.")},
			wantErr{kind: KindMissing, permanent: true, sentinel: ErrMissing}},
		{"no database 404 html", reply{status: 404, ctype: "text/html", body: "<!DOCTYPE html>No database is selected"},
			wantErr{kind: KindInvalid, permanent: true}},
		{"lock 409", reply{status: 409, body: json2Error("odoo.exceptions.LockError", "locked")},
			wantErr{kind: KindConcurrency}},
		{"415 html", reply{status: 415, ctype: "text/html", body: "<title>415</title>"},
			wantErr{kind: KindInvalid, permanent: true}},
		{"user error 422", reply{status: 422, body: json2Error("odoo.exceptions.UserError", "The entry INV/2026/00010 (id 57) must be in draft.")},
			wantErr{kind: KindUser, permanent: true}},
		{"signature 422", reply{status: 422, body: json2Error("werkzeug.exceptions.UnprocessableEntity", "got an unexpected keyword argument 'args'")},
			wantErr{kind: KindInvalid, permanent: true}},
		{"value error 500", reply{status: 500, body: json2Error("builtins.ValueError", "Invalid field 'no_field' on 'sale.order'")},
			wantErr{kind: KindInvalid, permanent: true}},
		{"serialization 500", reply{status: 500, body: json2Error("psycopg2.errors.SerializationFailure", "could not serialize access due to concurrent update")},
			wantErr{kind: KindConcurrency, sentinel: ErrConcurrency}},
		{"unknown name 500", reply{status: 500, body: json2Error("odoo.addons.x.Boom", "boom")},
			wantErr{kind: KindServer}},
		{"503 html retry-after", reply{status: 503, ctype: "text/html", header: map[string]string{"Retry-After": "12"}, body: "<h1>down</h1>"},
			wantErr{kind: KindServer, after: 12 * time.Second}},
		{"504 proxy", reply{status: 504, ctype: "text/html", body: "<h1>Gateway Timeout</h1>"},
			wantErr{kind: KindOutcomeUnknown, unknown: true}},
		{"200 html (18 answers json2 so)", reply{status: 200, ctype: "text/html", body: "<!DOCTYPE html><html></html>"},
			wantErr{kind: KindOutcomeUnknown, unknown: true}},
		{"200 result of wrong type", reply{status: 200, body: `{"a": 1}`},
			wantErr{kind: KindDecode, permanent: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := newReplay(t, tc.rep)
			c := newTestClient(t, testConfig(rs.URL, 19, ""))
			_, err := c.SearchRead(t.Context(), "sale.order", nil, &SearchOptions{Fields: []string{"name"}})
			checkErr(t, err, tc.want)
		})
	}
}

func TestWireFormat(t *testing.T) {
	t.Parallel()
	t.Run("jsonrpc execute_kw", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{body: `{"jsonrpc": "2.0", "id": 9}`})
		c := newTestClient(t, testConfig(rs.URL, 18, ""))
		res, err := c.Execute(t.Context(), "account.move", "button_draft", []int{25}, &CallOptions{Context: map[string]any{"lang": "en_US"}})
		if err != nil || res != nil {
			t.Fatalf("got %s, %v; want nil, nil for a reply without result (raw18 id 9)", res, err)
		}
		var env struct {
			Params struct {
				Service, Method string
				Args            []json.RawMessage
			}
		}
		if err := json.Unmarshal([]byte(rs.lastBody()), &env); err != nil {
			t.Fatal(err)
		}
		if env.Params.Service != "object" || env.Params.Method != "execute_kw" || len(env.Params.Args) != 7 {
			t.Fatalf("got %s", rs.lastBody())
		}
		for i, want := range []string{`"logi"`, `2`, `"admin"`, `"account.move"`, `"button_draft"`, `[[25]]`, `{"context":{"lang":"en_US"}}`} {
			if got := string(env.Params.Args[i]); got != want {
				t.Errorf("arg %d: got %s, want %s", i, got, want)
			}
		}
	})
	t.Run("jsonrpc search_read positional domain", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{body: `{"jsonrpc": "2.0", "id": 62, "result": [{"id": 21, "name": "WH/OUT/00016", "state": "assigned", "move_ids": [45], "origin": "S00027 - HUB-TEST-0002"}]}`})
		c := newTestClient(t, testConfig(rs.URL, 18, ""))
		recs, err := c.SearchRead(t.Context(), "stock.picking", Domain{Leaf("sale_id", "=", 27)}, &SearchOptions{Fields: []string{"name", "state", "move_ids", "origin"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].ID() != 21 || recs[0].String("state") != "assigned" || recs[0].IDs("move_ids")[0] != 45 {
			t.Fatalf("got %v", recs)
		}
		if !strings.Contains(rs.lastBody(), `"stock.picking","search_read",[[["sale_id","=",27]]],{`) {
			t.Errorf("got body %s", rs.lastBody())
		}
	})
	t.Run("json2 named args and headers", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{body: `true`})
		c := newTestClient(t, testConfig(rs.URL, 19, ""))
		if err := c.Write(t.Context(), "stock.move", []int{45}, map[string]any{"quantity": 2, "picked": true}); err != nil {
			t.Fatal(err)
		}
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if got, want := rs.paths[0], "/json/2/stock.move/write"; got != want {
			t.Errorf("got path %s, want %s", got, want)
		}
		h := rs.headers[0]
		if h.Get("Authorization") != "bearer admin" || h.Get("X-Odoo-Database") != "logi" || h.Get("Content-Type") != "application/json" {
			t.Errorf("got headers %v", h)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal([]byte(rs.bodies[0]), &body); err != nil {
			t.Fatal(err)
		}
		if string(body["ids"]) != "[45]" || string(body["vals"]) != `{"picked":true,"quantity":2}` || len(body) != 2 {
			t.Errorf("got body %s", rs.bodies[0])
		}
	})
	t.Run("json2 create returns a list, null is nil", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{body: `[26]`}, reply{body: `null`})
		c := newTestClient(t, testConfig(rs.URL, 19, ""))
		ids, err := c.Create(t.Context(), "sale.order", []map[string]any{{"partner_id": 15}}, nil)
		if err != nil || len(ids) != 1 || ids[0] != 26 {
			t.Fatalf("got %v, %v", ids, err)
		}
		if !strings.Contains(rs.lastBody(), `"vals_list":[{"partner_id":15}]`) {
			t.Errorf("got body %s", rs.lastBody())
		}
		res, err := c.Execute(t.Context(), "account.move", "button_draft", []int{57}, nil)
		if err != nil || res != nil {
			t.Fatalf("got %s, %v; want nil result", res, err)
		}
	})
	t.Run("jsonrpc create returns an int", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{body: `{"jsonrpc": "2.0", "id": 12, "result": 25}`})
		c := newTestClient(t, testConfig(rs.URL, 18, ""))
		ids, err := c.Create(t.Context(), "sale.order", []map[string]any{{"partner_id": 15}}, nil)
		if err != nil || len(ids) != 1 || ids[0] != 25 {
			t.Fatalf("got %v, %v", ids, err)
		}
	})
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		cfg := testConfig("http://"+addr, 19, "")
		c := newTestClient(t, cfg)
		_, err = c.Read(t.Context(), "sale.order", []int{1}, nil)
		checkErr(t, err, wantErr{kind: KindUnavailable, sentinel: ErrUnavailable})
	})
	t.Run("dropped after send", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{drop: true})
		c := newTestClient(t, testConfig(rs.URL, 18, ""))
		_, err := c.Execute(t.Context(), "sale.advance.payment.inv", "create_invoices", []int{1}, nil)
		checkErr(t, err, wantErr{kind: KindOutcomeUnknown, unknown: true})
	})
	t.Run("timeout after send", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{hang: true})
		cfg := testConfig(rs.URL, 19, "")
		cfg.Timeout = 200 * time.Millisecond
		c := newTestClient(t, cfg)
		_, err := c.Execute(t.Context(), "stock.picking", "button_validate", []int{1}, nil)
		checkErr(t, err, wantErr{kind: KindOutcomeUnknown, unknown: true})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want it to wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		t.Parallel()
		rs := newReplay(t, reply{hang: true})
		c := newTestClient(t, testConfig(rs.URL, 19, ""))
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Read(ctx, "sale.order", []int{1}, nil)
		if permanent, _ := connector.Classify(err); err == nil || permanent {
			t.Fatalf("got %v, want a retryable error", err)
		}
	})
}

func TestGarbageNeverPanics(t *testing.T) {
	t.Parallel()
	bodies := []string{
		``, `null`, `[]`, `{}`, `"x"`, `12`, `{"result":`, `{"result":{"a":[1,{"b":null}]}}`,
		`{"jsonrpc":"2.0","result":[{"id":"x","name":[1,2,3],"move_ids":"nope","write_date":17}]}`,
		`{"jsonrpc":"2.0","result":[null,{"id":1},7]}`, `<html>`, "\x00\xff\xfe", `{"error":{"data":null}}`,
		`{"error":{"data":{"name":null}}}`, `{"error":[]}`, `[{"id":1,"sale_id":[false,false],"partner_id":"x"}]`,
	}
	for _, proto := range []int{18, 19} {
		for _, st := range []int{200, 400, 404, 422, 500, 502, 503} {
			for _, b := range bodies {
				rs := newReplay(t, reply{status: st, body: b})
				c := newTestClient(t, testConfig(rs.URL, proto, ""))
				_, _, err := c.ChangedPickings(t.Context(), time.Time{}, time.Minute, 10)
				_ = err
				_, _ = c.PickingReservation(t.Context(), 1)
				_, _ = c.InvoiceDelivered(t.Context(), 1, "R", true)
				_, _ = c.ValidatePicking(t.Context(), 1, []ShipLine{{ProductID: 1, Quantity: 1}}, BackorderCreate)
				rs.Close()
			}
		}
	}
}

func TestRecordAccessors(t *testing.T) {
	t.Parallel()
	var recs []Record
	src := `[{"id": 20, "name": "WH/OUT/00015", "origin": false, "sale_id": [25, "S00025"], "partner_id": 15, "carrier_id": false,
		"scheduled_date": "2026-11-26 15:42:28", "date_done": false, "move_ids": [41, 42], "weight": 0.05, "picked": true}]`
	if err := json.Unmarshal([]byte(src), &recs); err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	if r.ID() != 20 || r.String("origin") != "" || r.M2O("sale_id") != (Many2One{25, "S00025"}) || r.M2O("partner_id").ID != 15 ||
		r.M2O("carrier_id").ID != 0 || r.Float("weight") != 0.05 || !r.Bool("picked") || len(r.IDs("move_ids")) != 2 {
		t.Errorf("accessors got wrong values for %v", r)
	}
	if got, want := r.Time("scheduled_date"), time.Date(2026, 11, 26, 15, 42, 28, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	if !r.Time("date_done").IsZero() {
		t.Errorf("date_done false: got %s, want zero", r.Time("date_done"))
	}
}

func TestValidateAnswersWizards(t *testing.T) {
	t.Parallel()
	// Untracked goods: the picking is read from its moves alone.
	moves := `{"jsonrpc":"2.0","id":1,"result":[{"id":45,"picking_id":[21,"WH/OUT/00016"],"product_id":[18,"Storage Box"],"product_uom_qty":5.0,"quantity":5.0,"picked":false,"state":"assigned","product_uom":[1,"Units"],"location_id":[8,"WH/Stock"],"location_dest_id":[5,"Customers"],"move_line_ids":[40]}]}`
	sms := `{"jsonrpc":"2.0","id":20,"result":{"name":"SMS","type":"ir.actions.act_window","view_mode":"form","res_model":"confirm.stock.sms","views":[[1111,"form"]],"view_id":1111,"target":"new","res_id":1,"context":{"button_validate_picking_ids":[21]}}}`
	bo := `{"jsonrpc":"2.0","id":64,"result":{"name":"Create Backorder?","type":"ir.actions.act_window","view_mode":"form","res_model":"stock.backorder.confirmation","views":[[896,"form"]],"view_id":896,"target":"new","context":{"button_validate_picking_ids":[21],"default_show_transfers":false,"default_pick_ids":[[4,21]]}}}`
	rs := newReplay(t,
		reply{body: moves},
		reply{body: `{"jsonrpc":"2.0","id":1,"result":true}`}, // write
		reply{body: sms}, // button_validate
		reply{body: bo},  // dont_send_sms re-runs the validation
		reply{body: `{"jsonrpc":"2.0","id":65,"result":1}`},    // wizard create
		reply{body: `{"jsonrpc":"2.0","id":66,"result":true}`}, // process_cancel_backorder
		reply{body: `{"jsonrpc":"2.0","id":1,"result":[{"id":21,"state":"done","backorder_ids":[]}]}`},
	)
	c := newTestClient(t, testConfig(rs.URL, 18, ""))
	vr, err := c.ValidatePicking(t.Context(), 21, []ShipLine{{ProductID: 18, Quantity: 2}}, BackorderCancel)
	if err != nil || vr.State != PickingDone || vr.BackorderID != 0 {
		t.Fatalf("got %+v, %v", vr, err)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	want := []string{
		`"stock.move","search_read",[[["picking_id","=",21]]]`,
		`"stock.picking","write",[[21],{"move_ids":[[1,45,{"picked":true,"quantity":2}]]}]`,
		`"stock.picking","button_validate",[[21]],{"context":{"button_validate_picking_ids":[21],"picking_ids_not_to_backorder":[21],"skip_backorder":true,"skip_sms":true}}`,
		`"confirm.stock.sms","dont_send_sms",[[1]],{"context":{"button_validate_picking_ids":[21],"picking_ids_not_to_backorder":[21]}}`,
		`"stock.backorder.confirmation","create",[[{}]],{"context":{"button_validate_picking_ids":[21],"default_pick_ids":[[4,21]],"default_show_transfers":false,"picking_ids_not_to_backorder":[21]}}`,
		`"stock.backorder.confirmation","process_cancel_backorder",[[1]]`,
		`"stock.picking","read",[[21]],{"fields":["state","backorder_ids"]}`,
	}
	if len(rs.bodies) != len(want) {
		t.Fatalf("got %d calls, want %d:\n%s", len(rs.bodies), len(want), strings.Join(rs.bodies, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(rs.bodies[i], w) {
			t.Errorf("call %d: got %s, want it to contain %s", i, rs.bodies[i], w)
		}
	}
}
