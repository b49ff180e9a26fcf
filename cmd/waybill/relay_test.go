package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/relay"
)

func runRelay(ctx context.Context, args ...string) (stdout string, err error) {
	root := &cobra.Command{Use: "waybill", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().String("config", "", "")
	root.AddCommand(newRelayCmd())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"relay"}, args...))
	err = root.ExecuteContext(ctx)
	return out.String(), err
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRelayCommand runs waybill relay with a hub that does not answer: a
// relay key is created, an event posted with it is accepted, and relay
// status reports the backlog, running and then stopped.
func TestRelayCommand(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "relay")
	keyFile := filepath.Join(t.TempDir(), "hub.key")
	if err := os.WriteFile(keyFile, []byte("wb_0123456789ab_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)

	t.Run("bad flags", func(t *testing.T) {
		for name, args := range map[string][]string{
			"batch":        {"--upstream", "http://127.0.0.1:1", "--key-file", keyFile, "--batch", "0"},
			"no key file":  {"--upstream", "http://127.0.0.1:1", "--key-file", filepath.Join(dir, "missing")},
			"upstream URL": {"--upstream", "hub.example.com", "--key-file", keyFile, "--data-dir", t.TempDir()},
		} {
			if _, err := runRelay(t.Context(), args...); err == nil || strings.Contains(oneLine(err), "\n") {
				t.Errorf("%s: got %v, want a one-line error", name, err)
			}
		}
		if _, err := runRelay(t.Context(), "status", "--data-dir", filepath.Join(dir, "none")); err == nil {
			t.Error("status of a directory with no relay database: got no error")
		}
	})

	out, err := runRelay(t.Context(), "keys", "create", "--name", "scanner-3", "--data-dir", dir)
	if err != nil {
		t.Fatalf("relay keys create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := runRelay(ctx, "--upstream", "http://"+freeAddr(t), "--key-file", keyFile, "--listen", listen,
			"--data-dir", dir, "--min-backoff", "10ms", "--max-backoff", "50ms")
		done <- err
	}()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("relay: %v", err)
			}
		})
	}
	defer stop()
	body := `{"specversion":"1.0","id":"scan-1","source":"site/test","type":"shipment.cancelled","subject":"SHP-1","time":"` +
		time.Now().UTC().Format(time.RFC3339) + `","data":{}}`
	client := &http.Client{}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+listen+"/v1/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("posting to the relay: got %d, want 202", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay does not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	status := func() (*relay.Status, error) {
		out, err := runRelay(t.Context(), "status", "--data-dir", dir, "--listen", listen, "--json")
		var st relay.Status
		if jerr := json.Unmarshal([]byte(out), &st); jerr != nil {
			t.Fatalf("relay status --json: %v\n%s", jerr, out)
		}
		return &st, err
	}
	for {
		st, err := status()
		if err != nil {
			t.Fatalf("relay status while running: %v", err)
		}
		if !st.Running || st.Backlog != 1 {
			t.Fatalf("relay status while running: got running %v, backlog %d; want true, 1", st.Running, st.Backlog)
		}
		if st.State == relay.StateRetrying && !st.UpstreamUp && st.LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay status: got state %s, want retrying", st.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err = runRelay(t.Context(), "status", "--data-dir", dir, "--listen", listen)
	if err != nil || !strings.Contains(out, "backlog:    1") || !strings.Contains(out, "state:      retrying (hub down)") {
		t.Errorf("relay status: got %v\n%s", err, out)
	}

	stop()
	st, err := status()
	var ee exitError
	if !errors.As(err, &ee) || st.Running || st.Backlog != 1 {
		t.Errorf("relay status once stopped: got %v, running %v, backlog %d; want exit 1, false, 1", err, st.Running, st.Backlog)
	}
}
