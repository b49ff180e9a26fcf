package connector_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/shipment"
)

// namedConnector is a connector that does nothing; the registry only needs
// a name.
type namedConnector string

func (c namedConnector) Name() string                                     { return string(c) }
func (c namedConnector) Deliver(context.Context, *connector.Action) error { return nil }

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	hook, odoo := namedConnector("webhook"), namedConnector("odoo")

	if got := r.Kinds(); len(got) != 0 {
		t.Errorf("Kinds() of an empty registry: got %v, want none", got)
	}
	for _, kind := range []string{shipment.ActionPickingValidate, shipment.ActionDispatchRelease} {
		if err := r.Register(kind, hook); err != nil {
			t.Fatalf("Register(%q, webhook): got error %v, want nil", kind, err)
		}
	}
	if err := r.Register(shipment.ActionInvoicePrepare, odoo); err != nil {
		t.Fatalf("Register(%q, odoo): got error %v, want nil", shipment.ActionInvoicePrepare, err)
	}

	if err := r.Register(shipment.ActionDispatchRelease, odoo); !errors.Is(err, connector.ErrAlreadyRegistered) {
		t.Errorf("Register of a registered kind: got error %v, want ErrAlreadyRegistered", err)
	}
	if err := r.Register("shipment.teleport", odoo); !errors.Is(err, connector.ErrUnknownKind) {
		t.Errorf("Register of an unknown kind: got error %v, want ErrUnknownKind", err)
	}
	if err := connector.NewRegistry().Register(shipment.ActionDispatchRelease, nil); err == nil {
		t.Errorf("Register of a nil connector: got nil error, want an error")
	}

	want := []string{"dispatch.release", "invoice.prepare", "picking.validate"}
	if diff := cmp.Diff(want, r.Kinds()); diff != "" {
		t.Errorf("Kinds() mismatch (-want +got):\n%s", diff)
	}
	for kind, wantName := range map[string]string{
		shipment.ActionDispatchRelease: "webhook",
		shipment.ActionPickingValidate: "webhook",
		shipment.ActionInvoicePrepare:  "odoo",
	} {
		c, ok := r.Lookup(kind)
		if !ok || c.Name() != wantName {
			t.Errorf("Lookup(%q): got (%v, %t), want (%s, true)", kind, c, ok, wantName)
		}
	}
	if c, ok := r.Lookup("shipment.teleport"); ok {
		t.Errorf("Lookup of an unregistered kind: got (%v, true), want (nil, false)", c)
	}
}

func TestRegistryConcurrentReads(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	if err := r.Register(shipment.ActionDispatchRelease, namedConnector("webhook")); err != nil {
		t.Fatalf("Register: %v", err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, ok := r.Lookup(shipment.ActionDispatchRelease); !ok {
					t.Errorf("Lookup(%q): got false, want true", shipment.ActionDispatchRelease)
					return
				}
				_ = r.Kinds()
			}
		})
	}
	wg.Go(func() { _ = r.Register(shipment.ActionInvoicePrepare, namedConnector("odoo")) })
	wg.Wait()
}

// closingConnector counts its Close calls.
type closingConnector struct {
	namedConnector
	closes int
	err    error
}

func (c *closingConnector) Close() error { c.closes++; return c.err }

func TestRegistryClose(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	odoo := &closingConnector{namedConnector: "odoo"}
	hook := &closingConnector{namedConnector: "webhook", err: errors.New("boom")}
	for kind, c := range map[string]connector.Connector{
		shipment.ActionPickingValidate: odoo, shipment.ActionInvoicePrepare: odoo, shipment.ActionDispatchRelease: hook,
	} {
		if err := r.Register(kind, c); err != nil {
			t.Fatal(err)
		}
	}
	err := r.Close()
	if err == nil || err.Error() != "closing connector webhook: boom" {
		t.Errorf("Close() = %v, want the webhook's error", err)
	}
	if odoo.closes != 1 || hook.closes != 1 {
		t.Errorf("closed odoo %d and webhook %d times, want once each", odoo.closes, hook.closes)
	}
	if err := connector.NewRegistry().Close(); err != nil {
		t.Errorf("Close() of an empty registry: %v", err)
	}
}
