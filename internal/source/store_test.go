package source_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func TestStore(t *testing.T) {
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := source.NewStore(db)

		// Replay protection survives a new Store (a restart).
		until := time.Now().Add(time.Minute)
		if seen, err := s.Seen(ctx, "p44", "msg_1", until); err != nil || seen {
			t.Fatalf("first delivery: seen %v err %v", seen, err)
		}
		if seen, err := source.NewStore(db).Seen(ctx, "p44", "msg_1", until); err != nil || !seen {
			t.Fatalf("replay: seen %v err %v", seen, err)
		}
		if seen, _ := s.Seen(ctx, "other", "msg_1", until); seen {
			t.Error("an id of another source counted as seen")
		}
		// Expired records let the id in again, and are swept.
		if seen, _ := s.Seen(ctx, "p44", "msg_old", time.Now().Add(-time.Second)); seen {
			t.Fatal("new id seen")
		}
		if seen, _ := s.Seen(ctx, "p44", "msg_old", until); seen {
			t.Error("an expired id still counted as seen")
		}
		if n, err := s.SweepSeen(ctx, time.Now().Add(2*time.Minute)); err != nil || n != 3 {
			t.Errorf("swept %d (%v), want 3", n, err)
		}

		// Control numbers count per name.
		for want := 1; want <= 3; want++ {
			if n, err := s.NextControl(ctx, "x12:xktl"); err != nil || n != want {
				t.Fatalf("control %d: got %d %v", want, n, err)
			}
		}
		if n, _ := s.NextControl(ctx, "x12:other"); n != 1 {
			t.Errorf("another partner's first control number is %d", n)
		}

		p := &payload.Payload{ID: "0193f0d2-6c1e-7a4b-9f2d-8e5c3b1a7d60", Source: "xktl", Channel: payload.ChannelEDI,
			Body: []byte("ISA*\x00binary"), ReceivedAt: time.Now(), CorrelationID: "c1"}
		p.Status, p.Events, p.EventIDs = payload.StatusAccepted, 2, []string{"b", "a", "a"}
		if err := s.Save(ctx, p, "/sources/xktl"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Body) != string(p.Body) || got.Status != payload.StatusAccepted || strings.Join(got.EventIDs, ",") != "a,b" || got.SHA256 == "" {
			t.Errorf("got %+v", got)
		}
		if ids, _ := s.PayloadsOf(ctx, "/sources/xktl", "a"); len(ids) != 1 || ids[0] != p.ID {
			t.Errorf("payloads of a: %v", ids)
		}
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, payload.ErrNotFound) {
			t.Errorf("missing payload: %v", err)
		}
	})
}

// intakeOn builds an Receiver over a real store and committer.
func intakeOn(t *testing.T, db *sqldb.DB, profiles *source.Profiles) (*source.Receiver, *intake.Store) {
	return intakeWith(t, db, profiles, 1<<20)
}

func intakeWith(t *testing.T, db *sqldb.DB, profiles *source.Profiles, maxBacklog int64) (*source.Receiver, *intake.Store) {
	t.Helper()
	v, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	backlog := &intake.Backlog{}
	events := intake.NewStore(db, backlog)
	c := intake.NewCommitter(events, &intake.CommitterOptions{MaxGroup: 100})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	in, err := source.NewReceiver(profiles, source.NewStore(db), intake.NewEmitter(c, &intake.EmitterOptions{Validator: v, Backlog: backlog, MaxBacklog: maxBacklog}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return in, events
}

func TestWatcher(t *testing.T) {
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ps, err := source.Load([]byte("sources:\n  - id: xktl\n    format: x12\n    auth: {scheme: api_key}\n"), "s.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := intakeOn(t, db, ps)
		dir := t.TempDir()
		copyFile := func(name, as string) {
			b, err := os.ReadFile(filepath.Join("../edi/x12/testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, as), b, 0o600); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Minute)
			os.Chtimes(filepath.Join(dir, as), old, old)
		}
		copyFile("x12-214-01-in-transit.edi", "in.edi")
		copyFile("neg-x12-wrong-se-count.edi", "bad.edi")
		copyFile("neg-x12-truncated-segment.edi", "cut.edi")
		copyFile("x12-214-04-exception-delay.edi", "still-writing.edi.part")
		os.WriteFile(filepath.Join(dir, "huge.edi"), bytes.Repeat([]byte("X"), 5000), 0o600) // above MaxBytes below
		old := time.Now().Add(-time.Minute)
		os.Chtimes(filepath.Join(dir, "huge.edi"), old, old)
		os.WriteFile(filepath.Join(dir, "fresh.edi"), []byte("ISA"), 0o600) // not settled yet

		folders, err := source.ParseFolders([]string{"xktl=" + dir}, ps)
		if err != nil {
			t.Fatal(err)
		}
		w := &source.Watcher{Receiver: in, Folders: folders, Interval: time.Hour, Settle: 10 * time.Second, MaxBytes: 1000, Logger: testLogger(t)}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }() // the first poll runs at once
		deadline := time.Now().Add(20 * time.Second)
		for !exists(filepath.Join(dir, "done", "in.edi")) || !exists(filepath.Join(dir, "failed", "huge.edi.error.txt")) || !exists(filepath.Join(dir, "failed", "cut.edi.error.txt")) || !exists(filepath.Join(dir, "failed", "bad.edi.error.txt")) {
			if time.Now().After(deadline) {
				t.Fatal("files not moved")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done
		if ack, err := os.ReadFile(filepath.Join(dir, "done", "in.edi.997")); err != nil || !strings.Contains(string(ack), "AK9*A") {
			t.Errorf("997 of in.edi: %q %v", ack, err)
		}
		if ack, _ := os.ReadFile(filepath.Join(dir, "failed", "bad.edi.997")); !strings.Contains(string(ack), "AK5*R*4") {
			t.Errorf("997 of bad.edi: %q", ack)
		}
		msg, _ := os.ReadFile(filepath.Join(dir, "failed", "cut.edi.error.txt"))
		if !strings.Contains(string(msg), "segment") {
			t.Errorf("error file of cut.edi: %q", msg)
		}
		for _, left := range []string{"still-writing.edi.part", "fresh.edi"} {
			if !exists(filepath.Join(dir, left)) {
				t.Errorf("%s was taken before it was complete", left)
			}
		}
		_, err = source.ParseFolders([]string{"nobody=/x", "xktl", "xktl=" + dir, "xktl=" + dir}, ps)
		for _, want := range []string{`unknown source "nobody"`, `"xktl" must be source=directory`, "directory listed twice"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("folder entries: %v, want %q", err, want)
			}
		}
	})
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, nil))
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// TestStandardWebhookRetry: a delivery Waybill could not take (intake
// full) is taken when the sender retries it under the same webhook-id;
// once handled, the same id again is a duplicate.
func TestStandardWebhookRetry(t *testing.T) {
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ps, err := source.Load([]byte("sources:\n  - id: p44\n    format: project44\n    auth: {scheme: standard_webhooks, secrets: [whsec_Zml4dHVyZS1vbmx5LXN0YW5kYXJkLXdlYmhvb2tzISE=]}\n"), "s.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile("../tracking/jsonmap/testdata/webhook-03-project44-ftl-tracking.json")
		if err != nil {
			t.Fatal(err)
		}
		key, _ := base64.StdEncoding.DecodeString("Zml4dHVyZS1vbmx5LXN0YW5kYXJkLXdlYmhvb2tzISE=")
		now := time.Now()
		ts := strconv.FormatInt(now.Unix(), 10)
		m := hmac.New(sha256.New, key)
		m.Write([]byte("msg_retry." + ts + "."))
		m.Write(body)
		h := http.Header{}
		h.Set("webhook-id", "msg_retry")
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		d := source.Delivery{Channel: payload.ChannelWebhook, Body: body, CorrelationID: "c", WebhookID: "msg_retry", WebhookTime: time.Unix(now.Unix(), 0)}

		full, _ := intakeWith(t, db, ps, 0)
		p, _ := full.Profile("p44")
		if err := full.Verify(t.Context(), p, h, body); err != nil {
			t.Fatal(err)
		}
		if _, err := full.Receive(t.Context(), p, d); !errors.Is(err, intake.ErrBacklogFull) {
			t.Fatalf("full intake: %v", err)
		}
		in, _ := intakeOn(t, db, ps)
		if err := in.Verify(t.Context(), p, h, body); err != nil {
			t.Fatalf("the retry was refused: %v", err)
		}
		if _, err := in.Receive(t.Context(), p, d); err != nil {
			t.Fatal(err)
		}
		if err := in.Verify(t.Context(), p, h, body); !errors.Is(err, source.ErrAlreadyHandled) {
			t.Errorf("the same id after it was handled: %v", err)
		}
	})
}

// TestReplay: a payload rejected for a code its mapping did not know gives
// its events once the mapping knows it.
func TestReplay(t *testing.T) {
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		dir := t.TempDir()
		mapping, err := os.ReadFile("../tracking/jsonmap/testdata/ternvalley.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(mapping), "DLV: delivered") {
			t.Fatal("the mapping changed: fix the test")
		}
		partial := strings.Replace(string(mapping), "DLV: delivered", "", 1)
		os.WriteFile(filepath.Join(dir, "full.yaml"), mapping, 0o600)
		os.WriteFile(filepath.Join(dir, "partial.yaml"), []byte(partial), 0o600)
		profiles := func(file string) *source.Profiles {
			ps, err := source.Load([]byte("sources:\n  - id: tern\n    format: json\n    mapping: "+file+"\n    auth: {scheme: api_key}\n    timezone: America/Denver\n"),
				filepath.Join(dir, "sources.yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return ps
		}
		body, err := os.ReadFile("../tracking/jsonmap/testdata/webhook-04-quirky-local-time-no-zone.json")
		if err != nil {
			t.Fatal(err)
		}
		before, _ := intakeOn(t, db, profiles("partial.yaml"))
		p, _ := before.Profile("tern")
		_, err = before.Receive(t.Context(), p, source.Delivery{Channel: payload.ChannelWebhook, Body: body, CorrelationID: "corr-1"})
		var rej *source.RejectedError
		if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "DLV") {
			t.Fatalf("the unknown code: %v", err)
		}
		after, _ := intakeOn(t, db, profiles("full.yaml"))
		rc, err := after.Replay(t.Context(), rej.Receipt.PayloadID)
		if err != nil {
			t.Fatal(err)
		}
		if rc.Status != payload.StatusAccepted || len(rc.Events) != 2 || rc.CorrelationID != "corr-1" {
			t.Fatalf("replay: %+v", rc)
		}
		again, err := after.Replay(t.Context(), rej.Receipt.PayloadID)
		if err != nil || again.Events[0].Duplicate != true || again.Events[1].Duplicate != true {
			t.Errorf("a second replay: %+v %v", again, err)
		}
		stored, err := source.NewStore(db).Get(t.Context(), rc.PayloadID)
		if err != nil || stored.Channel != payload.ChannelReplay || stored.Name != rej.Receipt.PayloadID || len(stored.EventIDs) != 2 {
			t.Errorf("the replay's payload: %+v %v", stored, err)
		}
		out := &payload.Payload{ID: "01a21bf0-0000-7000-8000-000000000001", Source: "tern", Channel: payload.ChannelOutbound,
			Body: []byte("ISA"), ReceivedAt: time.Now(), Status: payload.StatusSent}
		if err := source.NewStore(db).Insert(t.Context(), out); err != nil {
			t.Fatal(err)
		}
		if _, err := after.Replay(t.Context(), out.ID); !errors.Is(err, source.ErrNotReplayable) {
			t.Errorf("replaying an outbound payload: %v", err)
		}
		if _, err := after.Replay(t.Context(), "nope"); !errors.Is(err, payload.ErrNotFound) {
			t.Errorf("replaying nothing: %v", err)
		}
	})
}
