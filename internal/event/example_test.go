package event_test

import (
	"errors"
	"fmt"

	"github.com/waybill/waybill/internal/event"
)

func ExampleValidator_Validate() {
	v, err := event.NewValidator()
	if err != nil {
		panic(err)
	}

	data := []byte(`{
		"category": "broken",
		"lines": [{"line_id": "5571", "quantity": {"value": "-2", "unit": "C62"}}],
		"severity": "high"
	}`)
	err = v.Validate(event.ShipmentException, data)

	var verr *event.ValidationError
	if errors.As(err, &verr) {
		for _, fe := range verr.Errors {
			fmt.Printf("%s: %s\n", fe.Pointer, fe.Message)
		}
	}
	// Output:
	// /data/category: must be one of damaged, refused, returned, short, lost, delay, route_changed, address, customs, weather, hold, other
	// /data/lines/0/quantity/value: must match pattern ^[0-9]+(\.[0-9]+)?$
	// /data/severity: unknown field
}
