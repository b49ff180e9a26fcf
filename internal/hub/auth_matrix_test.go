package hub_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestAuthMatrix checks every route of the published OpenAPI document
// against a key of every scope (and none), and every event type against
// every scope: a route answers 401 without a key and 403 to a key without
// its scope, and never refuses a key with it; only events:write (or admin)
// sends events, and no key sends the types only Waybill emits.
func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		// The tracking page is on, so that its routes are checked too.
		a := startAPIHub(t, opts, func(c *config.Config) {
			c.TrackingPage.Enabled = true
			c.TrackingPage.SigningKey = "test-only-tracking-signing-key-0123456789"
		}, nil)
		keys := map[apikey.Scope]string{}
		for _, sc := range apikey.Scopes() {
			secret, _, err := a.hub.Keys.Create(t.Context(), "matrix-"+strings.ReplaceAll(string(sc), ":", "-"), []apikey.Scope{sc})
			if err != nil {
				t.Fatal(err)
			}
			keys[sc] = secret
		}

		t.Run("routes", func(t *testing.T) {
			var doc struct {
				Paths map[string]map[string]struct {
					OperationID string                `json:"operationId"`
					Security    []map[string][]string `json:"security"`
				} `json:"paths"`
			}
			a.getJSON(t, "/v1/openapi.json", &doc)
			checked := 0
			for path, ops := range doc.Paths {
				for method, op := range ops {
					if len(op.Security) != 1 {
						continue // a vendor signature or a token may stand for the key
					}
					roles, ok := op.Security[0]["bearer"]
					if !ok {
						continue
					}
					checked++
					url := strings.NewReplacer("{id}", "x", "{type}", "x", "{source}", "x").Replace(path)
					method = strings.ToUpper(method)
					if status, _, body := send(t, a.url, method, url, ""); status != http.StatusUnauthorized {
						t.Errorf("%s %s without a key: got %d %s, want 401", method, path, status, body)
					}
					for sc, secret := range keys {
						allowed := len(roles) == 0 || slices.Contains(roles, string(sc)) || sc == apikey.Admin
						status, h, body := send(t, a.url, method, url, secret)
						switch {
						case allowed && (status == http.StatusUnauthorized || status == http.StatusForbidden):
							t.Errorf("%s %s with %s: got %d %s, want it allowed", method, path, sc, status, body)
						case !allowed:
							wantProblem(t, fmt.Sprintf("%s %s with %s", method, path, sc), status, h, body, http.StatusForbidden, problem.CodeForbidden)
						}
					}
				}
			}
			if checked < 10 {
				t.Errorf("checked only %d operations of the OpenAPI document", checked)
			}
		})

		t.Run("event types", func(t *testing.T) {
			examples := docExamples(t)
			stored := countEvents(t, a)
			accepted := 0
			for _, typ := range event.Types() {
				for sc, secret := range keys {
					body := examples[typ](fmt.Sprintf("matrix-%s-%s", typ, sc))
					status, h, out := send(t, a.url, http.MethodPost, "/v1/events", secret, body...)
					what := fmt.Sprintf("%s with %s", typ, sc)
					switch {
					case sc != apikey.EventsWrite && sc != apikey.Admin:
						wantProblem(t, what, status, h, out, http.StatusForbidden, problem.CodeForbidden)
					case !typ.External():
						p := wantProblem(t, what, status, h, out, http.StatusForbidden, problem.CodeForbidden)
						if !strings.Contains(p.Detail, "emitted by Waybill itself") {
							t.Errorf("%s: detail %q does not say why", what, p.Detail)
						}
					case status != http.StatusAccepted:
						t.Errorf("%s: got %d %s, want 202", what, status, out)
					default:
						accepted++
					}
				}
			}
			if got := countEvents(t, a); got != stored+accepted {
				t.Errorf("the events table grew by %d, want %d: a refused event was stored", got-stored, accepted)
			}

			// In a batch, the Waybill-only event is refused alone.
			batch := "[" + string(examples[event.ShipmentCancelled]("matrix-batch-1")[0]) + "," + string(examples[event.ShipmentInvoiced]("matrix-batch-2")[0]) + "]"
			status, _, out := send(t, a.url, http.MethodPost, "/v1/events", keys[apikey.EventsWrite], []byte(batch))
			var br intake.BatchReceipt
			if err := json.Unmarshal(out, &br); err != nil || status != http.StatusOK {
				t.Fatalf("batch: got %d %s", status, out)
			}
			if br.Accepted != 1 || br.Results[1].Status != http.StatusForbidden || br.Results[1].Problem.Code != problem.CodeForbidden {
				t.Errorf("batch: got %s, want the cancellation accepted and the invoice refused with 403", out)
			}
		})
	})
}

// send makes one request with key (none when empty) and an optional JSON
// body, and returns the answer.
func send(t *testing.T, base, method, path, key string, body ...[]byte) (int, http.Header, []byte) {
	t.Helper()
	var b []byte
	if len(body) > 0 {
		b = body[0]
	} else if method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut {
		b = []byte(`{}`)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	switch {
	case bytes.HasPrefix(b, []byte("[")):
		req.Header.Set("Content-Type", intake.ContentTypeBatch)
	case b != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, out.Bytes()
}

// docExamples returns, per event type, a function making the example of
// docs/events.md with the given id, dated now.
func docExamples(t *testing.T) map[event.Type]func(id string) [][]byte {
	t.Helper()
	md, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[event.Type]func(string) [][]byte{}
	for _, block := range strings.Split(string(md), "```json\n")[1:] {
		block = block[:strings.Index(block, "```")]
		var ev map[string]any
		if err := json.Unmarshal([]byte(block), &ev); err != nil {
			t.Fatalf("docs/events.md example: %v", err)
		}
		typ := event.Type(fmt.Sprint(ev["type"]))
		out[typ] = func(id string) [][]byte {
			ev["id"], ev["time"] = id, time.Now().UTC().Format(time.RFC3339)
			delete(ev, "traceparent")
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			return [][]byte{b}
		}
	}
	for _, typ := range event.Types() {
		if out[typ] == nil {
			t.Fatalf("docs/events.md has no example of %s", typ)
		}
	}
	return out
}

func countEvents(t *testing.T, a *apiHub) int {
	t.Helper()
	var n int
	if err := a.hub.DB.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
