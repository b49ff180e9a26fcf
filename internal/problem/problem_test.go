package problem_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/problem"
)

var update = flag.Bool("update", false, "rewrite docs/errors.md")

func render() string {
	var b strings.Builder
	b.WriteString("# API errors\n\n<!-- Generated from internal/problem by `go test ./internal/problem -update`. Do not edit. -->\n\n")
	b.WriteString("Every error is an RFC 9457 problem document (`application/problem+json`) with `type` (" + problem.TypeBase + "<code>), `title`, `status`, `detail`, `instance`, a stable `code`, and, where the request had located problems, `errors`: a list of `{location, message}` where `location` is a JSON pointer into the body (`/data/lines/0/quantity/unit`) or a parameter (`query.limit`).\n\n")
	b.WriteString("| code | status | when |\n|---|---|---|\n")
	for _, e := range problem.Codes {
		fmt.Fprintf(&b, "| `%s` | %d | %s |\n", e.Code, e.Status, e.When)
	}
	return b.String()
}

func TestErrorsDocCurrent(t *testing.T) {
	const path = "../../docs/errors.md"
	if *update {
		if err := os.WriteFile(path, []byte(render()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != render() {
		t.Errorf("%s is stale: run go test ./internal/problem -update", path)
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/events", nil)
	problem.Write(rec, req, &problem.Details{Status: 422, Code: problem.CodeInvalidEvent, Detail: "bad",
		Errors: []problem.FieldError{{Location: "/data/lines/0", Message: "required"}}})
	if got := rec.Header().Get("Content-Type"); got != problem.ContentType {
		t.Errorf("got content type %q, want %q", got, problem.ContentType)
	}
	var d map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d["type"] != problem.TypeBase+"invalid-event" || d["title"] != "Invalid event" || d["instance"] != "/v1/events" || d["status"] != float64(422) {
		t.Errorf("got %v", d)
	}
}
