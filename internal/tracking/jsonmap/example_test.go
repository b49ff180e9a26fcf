package jsonmap_test

import (
	"errors"
	"fmt"

	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

// A partner feed with local times, its own codes and no event ids.
func Example() {
	m, err := jsonmap.Load([]byte(`
format: json
require: [/tracking]
keys:
  tracking_number: $/tracking
events:
  - from: /updates
    status:
      code: /code
      table: {OFD: out_for_delivery, DLV: delivered}
    time: /at                      # no zone: the partner's default applies
    signer: 'event.?received_by.orValue(null)'
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := m.Apply([]byte(`{"tracking": "T-1", "updates": [
		{"code": "DLV", "at": "2025-11-12 18:05:00", "received_by": "FRONT DESK"},
		{"code": "OFD", "at": "2025-11-12 16:40:00"}]}`),
		&tracking.Partner{Zone: "America/Denver"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range got.Events {
		fmt.Println(ev.Status, ev.OccurredAt.Format("2006-01-02T15:04Z07:00"), ev.TZSource, ev.POD != nil)
	}
	// Output:
	// out_for_delivery 2025-11-12T23:40Z partner_default false
	// delivered 2025-11-13T01:05Z partner_default true
}

// A payload the mapping cannot correlate is rejected with every missing
// field.
func ExampleValidationError() {
	m, err := jsonmap.Builtin("aftership")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = m.Apply([]byte(`{"event": "tracking_update", "msg": {"slug": "dhl"}}`), nil)
	var ve *jsonmap.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Missing())
	}
	// Output:
	// [/event_id /msg/id /msg/tracking_number]
}
