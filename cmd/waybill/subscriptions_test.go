package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/subscription"
)

// TestSubscriptionsCommands manages a subscription from the command line:
// create (the secret last), list, update, rotate, replay, delete, with
// clear one-line errors for bad input.
func TestSubscriptionsCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runWaybill(t, append(args, "--data", filepath.Join(dir, "data"))...)
	}
	out, _, err := run("subscriptions", "create", "--url", "https://portal.example.com/hooks", "--events", "shipment.*,charges.*",
		"--owner", "cust-A", "--redact", "charges", "--description", "customer portal")
	if err != nil {
		t.Fatalf("create: %v %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("create printed %q, want the secret last", out)
	}
	var id string
	if _, err := fmt.Sscanf(lines[0], "created subscription %s", &id); err != nil {
		t.Fatalf("create printed %q", out)
	}
	out, _, err = run("subscriptions", "list")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "cust-A") || !strings.Contains(out, "customer portal") {
		t.Errorf("list: %q %v", out, err)
	}
	if out, _, err := run("subscriptions", "update", id, "--disable"); err != nil || !strings.Contains(out, "enabled false") {
		t.Errorf("update --disable: %q %v", out, err)
	}
	out, _, err = run("subscriptions", "rotate-secret", id)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || !strings.HasPrefix(lines[len(lines)-1], "whsec_") || lines[len(lines)-1] == secret {
		t.Errorf("rotate-secret: %q %v", out, err)
	}
	if out, _, err := run("subscriptions", "replay", id, "--since", "2026-01-01T00:00:00Z"); err != nil || !strings.Contains(out, "0 messages") {
		t.Errorf("replay: %q %v", out, err)
	}
	for _, bad := range [][]string{
		{"subscriptions", "create", "--url", "http://10.0.0.1/h", "--events", "shipment.*"},
		{"subscriptions", "create", "--url", "https://x.example.com", "--events", "parcel.*"},
		{"subscriptions", "create", "--url", "https://x.example.com", "--events", "shipment.*", "--filter", "shipment.state =="},
		{"subscriptions", "replay", id, "--since", "yesterday"},
		{"subscriptions", "get", "sub_nope"},
	} {
		if _, _, err := run(bad...); err == nil || strings.Contains(oneLine(err), "\n") {
			t.Errorf("%v: got %v, want a one-line error", bad, err)
		}
	}
	if out, _, err := run("subscriptions", "delete", id); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("delete: %q %v", out, err)
	}
	out, _, err = run("audit", "list")
	for _, action := range []string{"subscription.created", "subscription.updated", "subscription.secret_rotated", "subscription.replayed", "subscription.deleted"} {
		if err != nil || !strings.Contains(out, action) {
			t.Errorf("the audit trail lacks %s: %v", action, err)
		}
	}
}

// TestWebhooksVerify checks deliveries with the receivers' helper: a
// request signed by the delivery code verifies, from a raw HTTP request or
// from the body and flags; a tampered body, a wrong secret or a stale
// timestamp do not, with exit status 1.
func TestWebhooksVerify(t *testing.T) {
	t.Parallel()
	secret := subscription.NewSecret()
	body := []byte(`{"specversion":"1.0","id":"e1","type":"shipment.delivered"}`)
	now := time.Now()
	sig, err := subscription.Sign("msg_1", now, body, []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	request := func(b []byte, at time.Time, sig string) string {
		return fmt.Sprintf("POST /hooks HTTP/1.1\r\nHost: portal\r\nContent-Type: application/cloudevents+json\r\nContent-Length: %d\r\nwebhook-id: msg_1\r\nwebhook-timestamp: %d\r\nwebhook-signature: %s\r\n\r\n%s", len(b), at.Unix(), sig, b)
	}
	verify := func(stdin string, args ...string) (string, error) {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetIn(strings.NewReader(stdin))
		cmd.SetArgs(append([]string{"webhooks", "verify"}, args...))
		err := cmd.ExecuteContext(t.Context())
		return out.String(), err
	}
	if out, err := verify(request(body, now, sig), "--secret", secret); err != nil || !strings.HasPrefix(out, "authentic") {
		t.Errorf("a signed request: %q %v", out, err)
	}
	if out, err := verify(string(body), "--secret", secret, "--id", "msg_1", "--timestamp", fmt.Sprint(now.Unix()), "--signature", sig); err != nil || !strings.HasPrefix(out, "authentic") {
		t.Errorf("a signed body with flags: %q %v", out, err)
	}
	// During a rotation either secret verifies.
	if out, err := verify(request(body, now, sig), "--secret", subscription.NewSecret(), "--secret", secret); err != nil || !strings.HasPrefix(out, "authentic") {
		t.Errorf("two secrets: %q %v", out, err)
	}
	staleSig, _ := subscription.Sign("msg_1", now.Add(-time.Hour), body, []string{secret})
	for name, c := range map[string]struct{ stdin, secret string }{
		"tampered body": {request([]byte(strings.Replace(string(body), "delivered", "cancelled", 1)), now, sig), secret},
		"wrong secret":  {request(body, now, sig), subscription.NewSecret()},
		"stale":         {request(body, now.Add(-time.Hour), staleSig), secret},
	} {
		out, err := verify(c.stdin, "--secret", c.secret)
		if ee, ok := err.(exitError); !ok || ee != 1 || !strings.HasPrefix(out, "not authentic") {
			t.Errorf("%s: %q %v, want not authentic and exit 1", name, out, err)
		}
	}
	if _, err := verify("not http at all", "--secret", secret); err == nil || strings.Contains(oneLine(err), "\n") {
		t.Errorf("garbage on stdin: %v, want a one-line error", err)
	}
	if _, err := verify(request(body, now, sig), "--secret", "not-a-secret"); err == nil {
		t.Error("a malformed secret was accepted")
	}
}
