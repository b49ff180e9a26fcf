package hub_test

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// apiContract checks answers against the OpenAPI document the hub
// publishes: every answer of the API tests must be documented, with a body
// that its schema accepts, so that generated clients can read it.
type apiContract struct {
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	ops      []contractOp
	cache    map[string]*jsonschema.Schema
}

type contractOp struct {
	method, template string
	pattern          *regexp.Regexp
	responses        map[string]map[string]bool // status → content types
}

const contractURL = "https://waybill.test/openapi.json"

func newAPIContract(t *testing.T, raw []byte) *apiContract {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("decoding the OpenAPI document: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(contractURL, doc); err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	ac := &apiContract{compiler: c, cache: map[string]*jsonschema.Schema{}}
	paths, _ := doc.(map[string]any)["paths"].(map[string]any)
	for tmpl, item := range paths {
		pattern := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$")
		for method, o := range item.(map[string]any) {
			op, ok := o.(map[string]any)
			if !ok {
				continue
			}
			co := contractOp{method: strings.ToUpper(method), template: tmpl, pattern: pattern, responses: map[string]map[string]bool{}}
			resps, _ := op["responses"].(map[string]any)
			for status, r := range resps {
				co.responses[status] = map[string]bool{}
				content, _ := r.(map[string]any)["content"].(map[string]any)
				for ct := range content {
					co.responses[status][ct] = true
				}
			}
			ac.ops = append(ac.ops, co)
		}
	}
	return ac
}

// check validates one answer to method path.
func (ac *apiContract) check(method, path string, status int, h http.Header, body []byte) error {
	path, _, _ = strings.Cut(path, "?")
	var op *contractOp
	for i := range ac.ops {
		o := &ac.ops[i]
		if (o.method == method || (method == http.MethodHead && o.method == http.MethodGet)) && o.pattern.MatchString(path) {
			// The most literal template wins (/v1/keys/x over /v1/keys/{id}).
			if op == nil || strings.Count(o.template, "{") < strings.Count(op.template, "{") {
				op = o
			}
		}
	}
	if op == nil {
		return nil // not a documented operation: 404s and 405s of the mux
	}
	code := strconv.Itoa(status)
	cts, ok := op.responses[code]
	if !ok {
		code, cts, ok = "default", op.responses["default"], op.responses["default"] != nil
	}
	if !ok {
		return fmt.Errorf("%s %s answered %d, which the OpenAPI document does not list", method, op.template, status)
	}
	if len(body) == 0 || method == http.MethodHead {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if !cts[ct] {
		return fmt.Errorf("%s %s answered %d as %q; the document lists %v", method, op.template, status, ct, cts)
	}
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return nil
	}
	esc := strings.NewReplacer("~", "~0", "/", "~1", "{", "%7B", "}", "%7D")
	ref := contractURL + "#/paths/" + esc.Replace(op.template) + "/" + strings.ToLower(op.method) + "/responses/" + code + "/content/" + esc.Replace(ct) + "/schema"
	ac.mu.Lock()
	sch, ok := ac.cache[ref]
	if !ok {
		var err error
		if sch, err = ac.compiler.Compile(ref); err != nil {
			ac.mu.Unlock()
			return fmt.Errorf("compiling the schema of %s %s %d: %v", method, op.template, status, err)
		}
		ac.cache[ref] = sch
	}
	ac.mu.Unlock()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s answered %d with a body that is not JSON: %v", method, op.template, status, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s %s answered %d with a body its documented schema refuses: %v\n%.2000s", method, op.template, status, err, body)
	}
	return nil
}
