package connector_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/connector"
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
	for _, kind := range []string{connector.KindDispatchRelease, connector.KindPickingValidate} {
		if err := reg.Register(kind, hook); err != nil {
			fmt.Println(err)
		}
	}
	c, ok := reg.Lookup(connector.KindDispatchRelease)
	fmt.Println(c.Name(), ok)
	_, ok = reg.Lookup(connector.KindInvoicePrepare)
	fmt.Println(ok)
	fmt.Println(reg.Kinds())
	// Output:
	// webhook true
	// false
	// [dispatch.release picking.validate]
}
