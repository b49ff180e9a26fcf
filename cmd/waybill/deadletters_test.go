package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/shipment"
)

// TestDeadLetterReplayCommand replays a dead letter of a kind that this
// command's configuration has no connector for (as with a sandbox, whose
// connectors are the running server's): the job is enqueued for the server
// that owns the database, and the replay is recorded.
func TestDeadLetterReplayCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Storage.DataDir = dir
	db, err := openDB(t.Context(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	a := connector.Action{Kind: shipment.ActionPickingValidate, ShipmentID: "shp_7", IdempotencyKey: "idem-7", Payload: []byte(`{}`)}
	dead := jobqueue.NewDeadLetters(db)
	if err := dead.Record(t.Context(), &rivertype.JobRow{ID: 7, Attempt: 12}, a, errors.New("odoo unreachable")); err != nil {
		t.Fatal(err)
	}
	list, _, err := dead.List(t.Context(), 10, "")
	if err != nil || len(list) != 1 {
		t.Fatalf("dead letters: %v %v", list, err)
	}
	db.Close()

	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"dead-letters", "replay", list[0].ID, "--data", dir, "--actor", "ops:ana"})
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("replay: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "replayed "+list[0].ID+" as job ") {
		t.Errorf("replay output: %s", out.String())
	}

	db, err = openDB(t.Context(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := jobqueue.NewDeadLetters(db).Get(t.Context(), list[0].ID)
	if err != nil || len(got.Replays) != 1 || got.Replays[0].Actor != "ops:ana" {
		t.Fatalf("recorded replays: %+v %v", got, err)
	}
	var kind string
	if err := db.QueryRowContext(t.Context(), `SELECT kind FROM river_job WHERE id = ?`, got.Replays[0].JobID).Scan(&kind); err != nil || kind != "picking_validate" {
		t.Errorf("the replayed job: kind %q, %v", kind, err)
	}
}

// TestCommandActor checks that a command run without $USER still names
// who ran it, for the audit trail.
func TestCommandActor(t *testing.T) {
	t.Setenv("USER", "")
	cmd := newRootCmd()
	cmd.SetArgs([]string{"version"})
	if got := commandActor(cmd); got == "cli:" || !strings.HasPrefix(got, "cli:") {
		t.Errorf("without $USER: got %q, want cli:<the user>", got)
	}
	t.Setenv("USER", "ana")
	if got := commandActor(cmd); got != "cli:ana" {
		t.Errorf("with $USER: got %q, want cli:ana", got)
	}
}
