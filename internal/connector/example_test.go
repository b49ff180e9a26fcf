package connector_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/shipment"
)

func ExampleClassify() {
	errs := []error{
		connector.Permanent(errors.New("target rejected the payload")),
		connector.Retryable(errors.New("target is throttling"), 30*time.Second),
		fmt.Errorf("posting: %w", connector.ErrOutcomeUnknown),
	}
	for _, err := range errs {
		permanent, after := connector.Classify(err)
		fmt.Printf("permanent=%t retry_after=%v\n", permanent, after)
	}
	// Output:
	// permanent=true retry_after=0s
	// permanent=false retry_after=30s
	// permanent=false retry_after=0s
}

func ExampleRegistry() {
	reg := connector.NewRegistry()
	hook := namedConnector("webhook")
	for _, kind := range []string{shipment.ActionDispatchRelease, shipment.ActionPickingValidate} {
		if err := reg.Register(kind, hook); err != nil {
			fmt.Println(err)
		}
	}
	c, ok := reg.Lookup(shipment.ActionDispatchRelease)
	fmt.Println(c.Name(), ok)
	_, ok = reg.Lookup(shipment.ActionInvoicePrepare)
	fmt.Println(ok)
	fmt.Println(reg.Kinds())
	// Output:
	// webhook true
	// false
	// [dispatch.release picking.validate]
}
