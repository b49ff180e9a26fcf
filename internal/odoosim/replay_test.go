package odoosim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// exchange is one recorded HTTP request/response pair.
type exchange struct {
	title       string
	method      string
	path        string
	reqHeaders  map[string]string
	reqBody     string
	status      int
	respCType   string
	respHeaders map[string]string
	respBody    string
}

// parseExchanges18 reads odoo18/exchanges.md ("--> request" / "<-- HTTP/1.1 status" / body).
func parseExchanges18(t *testing.T, path string) []exchange {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var out []exchange
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "--> ") || i+2 >= len(lines) {
			continue
		}
		status := 0
		if f := strings.Fields(lines[i+1]); len(f) >= 3 {
			status, _ = strconv.Atoi(f[2])
		}
		out = append(out, exchange{method: "POST", path: "/jsonrpc", reqBody: strings.TrimPrefix(lines[i], "--> "),
			reqHeaders: map[string]string{"Content-Type": "application/json"}, status: status,
			respCType: "application/json", respBody: lines[i+2]})
	}
	return out
}

// parseRaw18 reads odoo18/raw_protocol.txt.
func parseRaw18(t *testing.T, path string) []exchange {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	re := regexp.MustCompile(`^REQUEST \((\w+)(?: (\S+), ([^)]+))?\): ?(.*)$`)
	var out []exchange
	var cur *exchange
	stage := 0 // 0 none, 1 headers, 2 body
	var body []string
	flush := func() {
		if cur != nil {
			cur.respBody = strings.TrimSpace(strings.Join(body, "\n"))
			out = append(out, *cur)
		}
		cur, body, stage = nil, nil, 0
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := re.FindStringSubmatch(line); m != nil {
			flush()
			cur = &exchange{method: m[1], path: "/jsonrpc", reqBody: m[4], reqHeaders: map[string]string{}, respHeaders: map[string]string{}}
			if m[2] != "" {
				cur.path = m[2]
				cur.reqHeaders["Content-Type"] = m[3]
			}
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case stage == 0 && strings.HasPrefix(line, "HTTP/1.1 "):
			cur.status, _ = strconv.Atoi(strings.Fields(line)[1])
			stage = 1
		case stage == 1 && line == "":
			stage = 2
		case stage == 1:
			k, v, _ := strings.Cut(line, ": ")
			cur.respHeaders[k] = v
			if k == "Content-Type" {
				cur.respCType = v
			}
		case stage == 2:
			body = append(body, line)
		}
	}
	flush()
	for i := range out {
		ex := &out[i]
		if ex.method == "POST" && ex.reqHeaders["Content-Type"] == "" {
			ex.reqHeaders["Content-Type"] = "application/json"
			if strings.Contains(ex.respBody, "Request inferred type") {
				ex.reqHeaders["Content-Type"] = "text/plain"
			}
		}
	}
	return out
}

// parseJSON2md reads odoo19/json2.md: "### title", "Request:" ```http block, "Response:" ```http block.
func parseJSON2md(t *testing.T, path string) []exchange {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	lines := strings.Split(string(data), "\n")
	block := func(i int) ([]string, int) {
		var out []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			out = append(out, lines[i])
		}
		return out, i
	}
	var out []exchange
	title := ""
	var cur *exchange
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "### "):
			title = strings.TrimPrefix(line, "### ")
		case line == "Request:" && i+1 < len(lines) && lines[i+1] == "```http":
			var req []string
			req, i = block(i + 1)
			cur = &exchange{title: title, reqHeaders: map[string]string{}, respHeaders: map[string]string{}}
			if len(req) > 0 {
				f := strings.Fields(req[0])
				if len(f) >= 2 {
					cur.method, cur.path = f[0], f[1]
				}
			}
			j := 1
			for ; j < len(req) && req[j] != ""; j++ {
				k, v, _ := strings.Cut(req[j], ": ")
				cur.reqHeaders[k] = v
			}
			if j < len(req) {
				cur.reqBody = strings.Join(req[j+1:], "\n")
			}
		case line == "Response:" && i+1 < len(lines) && lines[i+1] == "```http" && cur != nil:
			var resp []string
			resp, i = block(i + 1)
			if len(resp) > 0 {
				if f := strings.Fields(resp[0]); len(f) >= 2 {
					cur.status, _ = strconv.Atoi(f[1])
				}
			}
			j := 1
			for ; j < len(resp) && resp[j] != ""; j++ {
				k, v, _ := strings.Cut(resp[j], ": ")
				cur.respHeaders[k] = v
				if k == "Content-Type" {
					cur.respCType = v
				}
			}
			if j < len(resp) {
				cur.respBody = strings.Join(resp[j+1:], "\n")
			}
			out = append(out, *cur)
			cur = nil
		}
	}
	return out
}

// idMap remaps ids recorded on the real server to the ids the simulator handed out.
type idMap map[int]int

// learn pairs recorded and actual ids: the result of create, res_id of actions, and the x2many
// lists of records that are already known to correspond (same id after mapping).
func (m idMap) learn(method string, rec, act any) {
	if method == "create" {
		switch r := rec.(type) {
		case float64:
			m.pair(r, act)
		case []any:
			if a, ok := act.([]any); ok && len(a) == len(r) {
				for i := range r {
					m.pair(r[i], a[i])
				}
			}
		}
		return
	}
	switch r := rec.(type) {
	case map[string]any:
		a, ok := act.(map[string]any)
		if !ok {
			return
		}
		if v, ok := r["res_id"]; ok {
			m.pair(v, a["res_id"])
		}
		m.learnRecord(r, a)
	case []any:
		a, ok := act.([]any)
		if !ok {
			return
		}
		for _, re := range r {
			ro, ok := re.(map[string]any)
			if !ok {
				continue
			}
			rid, _ := ro["id"].(float64)
			want := m.get(int(rid))
			for _, ae := range a {
				if ao, ok := ae.(map[string]any); ok {
					if aid, _ := ao["id"].(float64); int(aid) == want {
						m.learnRecord(ro, ao)
					}
				}
			}
		}
	}
}

func (m idMap) get(id int) int {
	if v, ok := m[id]; ok {
		return v
	}
	return id
}

func (m idMap) learnRecord(r, a map[string]any) {
	for k, v := range r {
		rl, ok1 := v.([]any)
		al, ok2 := a[k].([]any)
		if !ok1 || !ok2 || len(rl) != len(al) || !strings.HasSuffix(k, "_ids") && k != "order_line" && k != "product_return_moves" {
			continue
		}
		for i := range rl {
			m.pair(rl[i], al[i])
		}
	}
}

func (m idMap) pair(rec, act any) {
	r, ok1 := rec.(float64)
	a, ok2 := act.(float64)
	if ok1 && ok2 && r == float64(int(r)) && a == float64(int(a)) && r > 0 {
		if _, seen := m[int(r)]; !seen {
			m[int(r)] = int(a)
		}
	}
}

// apply rewrites ids (ints >= 20, to leave quantities alone) in a decoded request.
func (m idMap) apply(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = m.apply(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = m.apply(e)
		}
		return x
	case float64:
		if x >= 20 && x == float64(int(x)) {
			if n, ok := m[int(x)]; ok {
				return float64(n)
			}
		}
	}
	return v
}

// shapeDiff compares two JSON values by shape: same types, same object keys, error names/messages.
func shapeDiff(path string, rec, act any, diffs *[]string) {
	switch r := rec.(type) {
	case map[string]any:
		a, ok := act.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %T, want object", path, act))
			return
		}
		for k := range r {
			if _, ok := a[k]; !ok && k != "help" {
				*diffs = append(*diffs, fmt.Sprintf("%s: missing key %q", path, k))
			}
		}
		for k := range a {
			if _, ok := r[k]; !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s: extra key %q", path, k))
			}
		}
		for k, v := range r {
			if av, ok := a[k]; ok && k != "debug" && k != "help" {
				shapeDiff(path+"."+k, v, av, diffs)
			}
		}
	case []any:
		a, ok := act.([]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want list", path, short(act)))
			return
		}
		if (len(r) == 0) != (len(a) == 0) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %d elements, want %d", path, len(a), len(r)))
		}
		for i := 0; i < len(r) && i < len(a); i++ {
			shapeDiff(fmt.Sprintf("%s[%d]", path, i), r[i], a[i], diffs)
		}
	case string:
		if _, ok := act.(string); !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want string %q", path, short(act), r))
		}
	case float64:
		if _, ok := act.(float64); !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want number", path, short(act)))
		}
	case bool:
		if _, ok := act.(bool); !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want bool", path, short(act)))
		}
	case nil:
		if act != nil {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want null", path, short(act)))
		}
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		b = append(b[:80], "..."...)
	}
	return string(b)
}

// exactKeys are compared by value, not only by shape.
var exactKeys = map[string]bool{"state": true, "name": true, "message": true, "code": true, "type": true, "res_model": true,
	"picking_type_code": true, "invoice_status": true, "delivery_status": true, "origin": true, "picked": true,
	"payment_state": true, "move_type": true, "jsonrpc": true, "to_refund": true, "advance_payment_method": true,
	"view_mode": true, "target": true, "server_version": true, "version": true}

// valueDiff compares the values under exactKeys (where both sides have a scalar).
func valueDiff(path, key string, rec, act any, diffs *[]string) {
	switch r := rec.(type) {
	case map[string]any:
		a, _ := act.(map[string]any)
		for k, v := range r {
			if a != nil {
				valueDiff(path+"."+k, k, v, a[k], diffs)
			}
		}
	case []any:
		a, _ := act.([]any)
		for i := 0; i < len(r) && i < len(a); i++ {
			valueDiff(fmt.Sprintf("%s[%d]", path, i), key, r[i], a[i], diffs)
		}
	case string, bool:
		if exactKeys[key] && fmt.Sprint(rec) != fmt.Sprint(act) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want %s", path, short(act), short(rec)))
		}
	}
}
