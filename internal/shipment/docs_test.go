package shipment_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/shipment"
)

var update = flag.Bool("update", false, "rewrite docs/states.md")

// renderStates renders docs/states.md from the state machine's tables.
func renderStates() string {
	var b strings.Builder
	b.WriteString("# Shipment states\n\n")
	b.WriteString("<!-- Generated from internal/shipment/state.go by `go test ./internal/shipment -run TestStatesDocCurrent -update`. Do not edit. -->\n\n")
	b.WriteString("A shipment's state is derived only from accepted events, applied one at a time in acceptance order. ")
	b.WriteString("Every event is kept in the shipment's timeline, sorted by when it happened, as `accepted` (possibly `late`) or `rejected` with its reason.\n\n")
	b.WriteString("## States\n\n")
	for _, s := range shipment.States() {
		fmt.Fprintf(&b, "- `%s`\n", s)
	}
	b.WriteString("\n## Transitions\n\n")
	b.WriteString("Every event type has its rows: applied while the shipment is in one of the states a row applies in, the event leads where the row says. ")
	b.WriteString("Under an open exception, a step is matched against the state the exception interrupted.\n\n")
	b.WriteString("| event | case | applies in | leads to |\n|---|---|---|---|\n")
	for _, tr := range shipment.Transitions() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", tr.Event, tr.When, fromStates(tr.From), stateName(tr.To))
	}
	b.WriteString("\n`invoiced` is entered by `shipment.invoiced`, which Waybill emits once the ERP confirms the invoice; no v1 event leads to `closed`.\n")
	b.WriteString("\n## Gates\n\n")
	b.WriteString("- **Dispatch release**: a shipment is released (and the `dispatch.release` action enqueued) only when every line is fully reserved, or when `workflow.partial_release` is on and some quantity is reserved. Until then `blocked_reason` lists the lines it waits for. `dispatch.assigned` and `shipment.loaded` before release are rejected with that reason.\n")
	b.WriteString("- **Loading**: loaded quantities may not exceed reserved quantities (compared exactly across compatible units); less is allowed. `shipment.loaded` enqueues `picking.validate`.\n")
	b.WriteString("- **Proof of delivery**: `shipment.delivered` needs a POD with signer, time and delivered quantity per line; delivered quantities may not exceed loaded quantities; a POD signed before departure is rejected.\n")
	b.WriteString("- **Billing**: a shipment becomes billable once delivered with a POD and no open exception and, when the Odoo connector validates pickings, once Odoo has validated its picking (`picking.validated`, which Waybill emits itself); `invoice.prepare` is then enqueued exactly once. While an exception is open or the validation is awaited, `blocked_reason` says so.\n")
	b.WriteString("\n## Out-of-order milestones\n\n")
	b.WriteString("A milestone whose target state ranks below the current state (or that happened before the latest applied milestone) is accepted as `late`: it takes its place in the timeline but never moves the state backwards. A milestone that arrives before its prerequisite (say `shipment.delivered` before `shipment.loaded`) is rejected with the reason.\n")
	b.WriteString("\n## Carrier tracking\n\n")
	b.WriteString("`shipment.tracked` events, made from carrier webhooks, X12 214 and EDIFACT IFTSTA, all take their place in the timeline with their canonical status. A milestone moves the shipment only through the gates above: a carrier's `in_transit` for a shipment that was never loaded is recorded only, with the reason. A carrier's `delivered` arrives the shipment and records the signer, but billing still waits for the proof of delivery with quantities. An exception overlay or damaged, short or refused lading opens an exception (`carrier-<category>`) for review; a carrier's `delay`, `weather` or `hold` exception is resolved by the carrier's next progress milestone. The same status at the same minute again, from any source and under any event id, is a duplicate and changes nothing.\n")
	b.WriteString("\n## Exception categories\n\n| category | owner role |\n|---|---|\n")
	for _, c := range shipment.ExceptionCategories() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c, shipment.OwnerRole(c))
	}
	b.WriteString("\nAn open exception holds the shipment in `exception` and blocks billing; milestones still record progress underneath. `shipment.exception` with `status: resolved` (and the same `exception_id`, which defaults to the category) closes it.\n")
	return b.String()
}

// stateName renders a state, or a pseudo-state of the transition table.
func stateName(s shipment.State) string {
	switch s {
	case shipment.NoShipment:
		return "no shipment"
	case shipment.Unchanged:
		return "unchanged"
	case shipment.Resumed:
		return "the state the exception interrupted"
	}
	return "`" + string(s) + "`"
}

// fromStates renders the states a row applies in, naming the common sets.
func fromStates(from []shipment.State) string {
	var notTerminal, notInvoiced []shipment.State
	for _, s := range shipment.States() {
		if !s.Terminal() {
			notTerminal = append(notTerminal, s)
			if s != shipment.Invoiced {
				notInvoiced = append(notInvoiced, s)
			}
		}
	}
	sorted := slices.Sorted(slices.Values(from))
	for _, set := range []struct {
		states []shipment.State
		name   string
	}{
		{shipment.States(), "any state"},
		{notTerminal, "any state that is not terminal"},
		{notInvoiced, "any state that is not terminal or `invoiced`"},
	} {
		if slices.Equal(sorted, slices.Sorted(slices.Values(set.states))) {
			return set.name
		}
	}
	parts := make([]string, len(from))
	for i, s := range from {
		parts[i] = stateName(s)
	}
	return strings.Join(parts, ", ")
}

func TestStatesDocCurrent(t *testing.T) {
	t.Parallel()
	const path = "../../docs/states.md"
	want := renderStates()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v (run with -update)", path, err)
	}
	if string(got) != want {
		t.Errorf("%s is stale: run go test ./internal/shipment -run TestStatesDocCurrent -update", path)
	}
}
