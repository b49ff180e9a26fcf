package odoosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// bundle is a per-test running simulator plus a small JSON-RPC / JSON-2 client.
type bundle struct {
	t    *testing.T
	srv  *Server
	sim  *Sim
	http *http.Client

	mu   sync.Mutex // guards id and last (tests call concurrently)
	id   int
	last http.Header
}

func setup(t *testing.T, opts Options) *bundle {
	t.Helper()
	srv, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &bundle{t: t, srv: srv, sim: srv.Sim(), http: &http.Client{Timeout: 10 * time.Second}}
}

// rpcError is a decoded JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Name      string `json:"name"`
		Message   string `json:"message"`
		Arguments []any  `json:"arguments"`
	} `json:"data"`
}

func (e *rpcError) Error() string { return e.Data.Name + ": " + e.Data.Message }

// post sends a raw request and returns status, content type and body.
func (b *bundle) post(path, contentType string, body []byte, hdr map[string]string) (int, string, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, b.srv.URL()+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b.mu.Lock()
	b.last = resp.Header
	b.mu.Unlock()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), data, err
}

// jsonrpc calls a JSON-RPC service method and returns the raw envelope.
func (b *bundle) jsonrpc(service, method string, args ...any) (map[string]any, error) {
	b.mu.Lock()
	b.id++
	id := b.id
	b.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "call", "id": id,
		"params": map[string]any{"service": service, "method": method, "args": args}})
	status, _, data, err := b.post("/jsonrpc", "application/json", body, nil)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("status %d: %s", status, data)
	}
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", data, err)
	}
	return env, nil
}

// call runs execute_kw as admin and returns the result or the error object.
func (b *bundle) call(model, method string, args []any, kw map[string]any) (any, error) {
	a := []any{b.sim.Database(), b.sim.UID(), "admin", model, method, args}
	if kw != nil {
		a = append(a, kw)
	}
	env, err := b.jsonrpc("object", "execute_kw", a...)
	if err != nil {
		return nil, err
	}
	if e, ok := env["error"]; ok {
		raw, _ := json.Marshal(e)
		var re rpcError
		_ = json.Unmarshal(raw, &re)
		return nil, &re
	}
	return env["result"], nil
}

// must is call that fails the test on error.
func (b *bundle) must(model, method string, args []any, kw map[string]any) any {
	b.t.Helper()
	res, err := b.call(model, method, args, kw)
	if err != nil {
		b.t.Fatalf("%s.%s%v: %v", model, method, args, err)
	}
	return res
}

// wantErr asserts that a call fails with the given exception name.
func (b *bundle) wantErr(name, model, method string, args []any, kw map[string]any) *rpcError {
	b.t.Helper()
	_, err := b.call(model, method, args, kw)
	var re *rpcError
	if !errors.As(err, &re) {
		b.t.Fatalf("%s.%s: got err %v, want %s", model, method, err, name)
	}
	if re.Data.Name != name {
		b.t.Fatalf("%s.%s: got %s %q, want %s", model, method, re.Data.Name, re.Data.Message, name)
	}
	return re
}

// read returns one record as a map.
func (b *bundle) read(model string, id int, fields ...string) map[string]any {
	b.t.Helper()
	fl := make([]any, len(fields))
	for i, f := range fields {
		fl[i] = f
	}
	res := b.must(model, "read", []any{[]any{id}}, map[string]any{"fields": fl})
	rows, _ := res.([]any)
	if len(rows) != 1 {
		b.t.Fatalf("read %s %d: got %v", model, id, res)
	}
	return rows[0].(map[string]any)
}

// search returns ids.
func (b *bundle) search(model string, domain []any, kw map[string]any) []int {
	b.t.Helper()
	res := b.must(model, "search", []any{domain}, kw)
	return toInts(b.t, res)
}

func toInts(t *testing.T, v any) []int {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("got %T %v, want a list of ids", v, v)
	}
	out := make([]int, len(l))
	for i, e := range l {
		f, ok := e.(float64)
		if !ok {
			t.Fatalf("got %v, want ids", v)
		}
		out[i] = int(f)
	}
	return out
}

func toInt(t *testing.T, v any) int {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("got %T %v, want an int", v, v)
	}
	return int(f)
}

// m2oID extracts the id of a many2one read value.
func m2oID(v any) int {
	if l, ok := v.([]any); ok && len(l) == 2 {
		f, _ := l[0].(float64)
		return int(f)
	}
	return 0
}

// json2 calls /json/2 with the bearer key.
func (b *bundle) json2(model, method string, body any) (int, any) {
	b.t.Helper()
	raw, _ := json.Marshal(body)
	status, _, data, err := b.post("/json/2/"+model+"/"+method, "application/json", raw,
		map[string]string{"Authorization": "bearer " + b.sim.APIKey(), "X-Odoo-Database": b.sim.Database()})
	if err != nil {
		b.t.Fatalf("json2 %s.%s: %v", model, method, err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		b.t.Fatalf("json2 %s.%s: decoding %q: %v", model, method, data, err)
	}
	return status, v
}

func versions() []int { return []int{16, 17, 18, 19} }

// get sends a GET request.
func (b *bundle) get(path string, hdr map[string]string) (int, string, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, b.srv.URL()+path, nil)
	if err != nil {
		return 0, "", nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b.mu.Lock()
	b.last = resp.Header
	b.mu.Unlock()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), data, err
}

func (b *bundle) lastHeader(k string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		return ""
	}
	return b.last.Get(k)
}
