package odoo_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/odoosim"
)

// Example ships a sale order's picking and invoices it, against the Odoo 19
// simulator.
func Example() {
	ctx := context.Background()
	srv, err := odoosim.Start(odoosim.Options{Version: 19})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	sim := srv.Sim()
	demo := sim.Demo()

	c, err := odoo.New(ctx, odoo.Config{URL: srv.URL(), Database: sim.Database(), APIKey: sim.APIKey()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("odoo", c.Version(), "over", c.Protocol())

	desk := demo.Products["FURN_0096"]
	so, err := c.EnsureSaleOrder(ctx, &odoo.SaleOrderParams{
		PartnerID: demo.Customers[0], ClientRef: "PO-1001", Confirm: true,
		Lines: []odoo.SaleLine{{ProductID: desk, Quantity: 3}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	vr, err := c.ValidatePicking(ctx, so.PickingIDs[0], []odoo.ShipLine{{ProductID: desk, Quantity: 2}}, odoo.BackorderCreate)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("picking", vr.State, "backorder:", vr.BackorderID != 0)

	inv, err := c.InvoiceDelivered(ctx, so.ID, "PO-1001", true)
	if err != nil {
		// The job runner decides from the class, never from the text.
		permanent, after := connector.Classify(err)
		fmt.Println(permanent, after, errors.Is(err, connector.ErrOutcomeUnknown))
		return
	}
	fmt.Println("invoice", inv.State, inv.Ref)
	// Output:
	// odoo 19 over json2
	// picking done backorder: true
	// invoice posted PO-1001
}
