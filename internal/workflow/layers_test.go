package workflow_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/waybill/waybill/"

// storage is what links a package to the database: the SQL layer, the
// engines' drivers and the job queue.
var storage = []string{
	"database/sql",
	module + "internal/sqldb",
	module + "internal/intake",
	module + "internal/workflow",
	module + "internal/jobqueue",
	"github.com/riverqueue/river",
	"github.com/jackc/pgx/v5",
	"modernc.org/sqlite",
}

// TestLayers keeps the flow intake → workflow → shipment → outbox →
// connectors in the import graph: nothing below the workflow links the
// database, and the domain links no metrics, HTTP or connector code
// either. Connectors report back with events; they never read or write
// the workflow's tables.
func TestLayers(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	pure := append(slices.Clone(storage),
		"net/http",
		"github.com/prometheus/client_golang/prometheus",
		module+"internal/connector",
	)
	rules := []struct {
		pkg    string
		banned []string
	}{
		{"internal/shipment", pure},
		{"internal/event", pure},
		{"internal/quantity", pure},
		{"internal/money", pure},
		{"internal/tracking", pure},
		{"internal/rating", pure},
		{"internal/source/payload", pure},
		{"internal/connector", storage},
		{"internal/connector/odoo", storage},
		{"internal/connector/tms", storage},
		{"internal/connector/webhook", storage},
		{"internal/connector/tender", storage},
		// The workflow is given its job inserter; it does not know the
		// queue, the HTTP API, the hub that wires them or any one connector.
		{"internal/workflow", []string{module + "internal/jobqueue", module + "internal/server", module + "internal/hub", module + "internal/connector/odoo"}},
	}
	for _, r := range rules {
		deps := goListDeps(t, "./"+r.pkg)
		for _, dep := range deps {
			for _, b := range r.banned {
				// A module bans its packages too; a standard library
				// package only itself (database/sql/driver is the
				// interface uuid implements, not a database).
				if dep == b || strings.Contains(b, ".") && strings.HasPrefix(dep, b+"/") {
					t.Errorf("%s links %s", r.pkg, dep)
				}
			}
		}
	}
}

// goListDeps returns every package pkg links, from go list -deps.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, strings.TrimPrefix(pkg, "./")) && !slices.Contains(deps, module+strings.TrimPrefix(pkg, "./")) {
		t.Fatalf("go list -deps %s does not list the package itself: %v", pkg, deps)
	}
	return deps
}
