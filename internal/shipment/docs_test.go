package shipment_test

import (
	"flag"
	"fmt"
	"os"
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
	b.WriteString("\n## Transitions\n\n| event | applies in | leads to |\n|---|---|---|\n")
	for _, tr := range shipment.Transitions() {
		from := "any state that is not terminal"
		if len(tr.From) > 0 {
			var parts []string
			for _, f := range tr.From {
				parts = append(parts, "`"+string(f)+"`")
			}
			from = strings.Join(parts, ", ")
		}
		if tr.Event == "shipment.planned" {
			from = "(creates the shipment)"
		}
		to := "`" + string(tr.To) + "`"
		switch tr.Event {
		case "inventory.reserved":
			to = "`reserved` when every line is fully reserved, else `short`; then `released` (see gates)"
		case "shipment.exception":
			to = "`exception` (overlay; `resolved` returns to the interrupted state)"
		case "charges.reported":
			to = "unchanged (charges recorded)"
		case "shipment.tracked":
			to = "as `shipment.departed` for `picked_up`, `in_transit`, `out_for_delivery`, `available_for_pickup`, `delivery_attempted`; as `shipment.arrived` for `arrived_at_delivery` and `delivered`; otherwise unchanged (see carrier tracking)"
		case "review.decided":
			to = "as the decision requires (see billing)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", tr.Event, from, to)
	}
	b.WriteString("\n`invoiced` and `closed` are entered by the billing step once the ERP confirms the invoice; no v1 event leads there.\n")
	b.WriteString("\n## Gates\n\n")
	b.WriteString("- **Dispatch release**: a shipment is released (and the `dispatch.release` action enqueued) only when every line is fully reserved, or when `workflow.partial_release` is on and some quantity is reserved. Until then `blocked_reason` lists the lines it waits for. `dispatch.assigned` and `shipment.loaded` before release are rejected with that reason.\n")
	b.WriteString("- **Loading**: loaded quantities may not exceed reserved quantities (compared exactly across compatible units); less is allowed. `shipment.loaded` enqueues `picking.validate`.\n")
	b.WriteString("- **Proof of delivery**: `shipment.delivered` needs a POD with signer, time and delivered quantity per line; delivered quantities may not exceed loaded quantities; a POD signed before departure is rejected.\n")
	b.WriteString("- **Billing**: a shipment becomes billable once delivered with a POD and no open exception; `invoice.prepare` is then enqueued exactly once. While an exception is open, `blocked_reason` names it.\n")
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
