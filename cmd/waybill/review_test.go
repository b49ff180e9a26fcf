package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
)

// TestReviewCommands decides a review from the CLI while a hub serves the
// same data directory, as an operator would.
func TestReviewCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.DataDir = dir
	cfg.Storage.SQLiteSynchronous = "normal"
	cfg.Processor.PollInterval = 20 * time.Millisecond
	h, err := hub.New(t.Context(), cfg, hub.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := h.Keys.Create(t.Context(), "test", []apikey.Scope{apikey.Admin})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	get := func(path string) map[string]any {
		req, _ := http.NewRequest(http.MethodGet, h.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	ten := `{"value":"10","unit":"C62"}`
	for i, e := range [][2]string{
		{"shipment.planned", `{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":` + ten + `}]}`},
		{"inventory.reserved", `{"lines":[{"line_id":"1","quantity":` + ten + `}]}`},
		{"shipment.loaded", `{"lines":[{"line_id":"1","quantity":{"value":"8","unit":"C62"}}]}`},
		{"shipment.delivered", `{"pod":{"signer":"A","signed_at":"2026-11-26T12:00:00Z","lines":[{"line_id":"1","quantity":` + ten + `}]}}`},
	} {
		body := fmt.Sprintf(`{"specversion":"1.0","id":"cli-%d","source":"test","type":%q,"subject":"tms:CLI-1","time":"2026-11-26T1%d:00:00Z","data":%s}`, i, e[0], i, e[1])
		req, _ := http.NewRequest(http.MethodPost, h.URL()+"/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/cloudevents+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: %d %s", e[0], resp.StatusCode, out)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for get("/v1/shipments/tms:CLI-1")["state"] != "delivered" {
		if time.Now().After(deadline) {
			t.Fatal("shipment not delivered")
		}
		time.Sleep(20 * time.Millisecond)
	}

	run := func(args ...string) (string, error) {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(t.Context())
		return out.String(), err
	}
	out, err := run("review", "list", "--data", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var item struct {
		ID, Kind, Status, Reason string
		ShipmentID               string `json:"shipment_id"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &item); err != nil || item.Kind != "pod" || item.Status != "open" ||
		!strings.Contains(item.Reason, "delivered 10 C62 exceeds the 8 C62 loaded") {
		t.Fatalf("review list: %q (%v)", out, err)
	}
	if out, err := run("review", "list", "--data", dir); err != nil || !strings.Contains(out, item.ID) || !strings.HasPrefix(out, "ID") {
		t.Errorf("review list table: %q %v", out, err)
	}
	if _, err := run("review", "decide", item.ID, "maybe", "--data", dir); err == nil || !strings.Contains(err.Error(), "must be approve, reject or resolve") {
		t.Errorf("bad decision: %v", err)
	}
	if _, err := run("review", "decide", "nope", "approve", "--data", dir); err == nil || !strings.Contains(err.Error(), "no review nope") {
		t.Errorf("unknown review: %v", err)
	}
	out, err = run("review", "decide", item.ID, "approve", "--reason", "driver counted twice", "--actor", "cli:ops", "--data", dir)
	if err != nil || !strings.Contains(out, "approve recorded as event") {
		t.Fatalf("decide: %q %v", out, err)
	}
	if out, err := run("audit", "list", "--json", "--action", "review.decided", "--data", dir); err != nil ||
		!strings.Contains(out, `"actor":"cli:ops"`) || !strings.Contains(out, `"subject":"`+item.ID+`"`) {
		t.Errorf("the decision in the audit trail: %q %v", out, err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for get("/v1/shipments/tms:CLI-1")["billable"] != true {
		if time.Now().After(deadline) {
			t.Fatalf("not billable after the decision: %v", get("/v1/shipments/tms:CLI-1")["blocked_reason"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := get("/v1/review/" + item.ID)
	if r["status"] != "approved" || r["actor"] != "cli:ops" || r["note"] != "driver counted twice" {
		t.Errorf("review after the decision: %v", r)
	}
	if _, err := run("review", "decide", item.ID, "reject", "--data", dir); err == nil || !strings.Contains(err.Error(), "already approved") {
		t.Errorf("contrary decision: %v", err)
	}
}
