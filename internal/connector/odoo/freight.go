package odoo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/shipment"
)

// vendorBill bills an approved carrier invoice as one vendor bill of the
// carrier's partner, one line per charge on the service product of its
// type (ServiceProducts, else the product whose code is the charge's
// code). The bill is found by partner and reference (the carrier's
// invoice number) before it is created, so a repeat never bills twice.
func (c *Connector) vendorBill(ctx context.Context, a *connector.Action) error {
	var req shipment.CarrierBill
	if err := json.Unmarshal(a.Payload, &req); err != nil || req.InvoiceNumber == "" || len(req.Charges) == 0 {
		return connector.Permanent(fmt.Errorf("odoo %s: payload is not a carrier invoice to bill: %v", a.Kind, err))
	}
	cl, err := c.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.shipments.lock("vendor-bill:" + shipment.CarrierKey(req.Carrier) + "/" + req.InvoiceNumber)()
	partner, err := c.carrierPartner(ctx, cl, req.Carrier)
	if err != nil {
		return err
	}
	p := &VendorBillParams{PartnerID: partner, Ref: req.InvoiceNumber, Date: req.InvoiceDate, Post: c.opts.PostBills}
	for _, ch := range req.Charges {
		code := c.opts.ServiceProducts[ch.Type]
		if code == "" {
			code = ch.Code
		}
		desc := ch.Description
		if desc == "" {
			desc = strings.TrimSpace(ch.Type + " " + ch.Code)
		}
		desc += " (carrier invoice " + req.InvoiceNumber + ", shipment " + req.ShipmentID + ")"
		amount, _ := new(big.Rat).SetString(ch.Amount.Decimal())
		if p.Currency == "" {
			p.Currency = ch.Amount.Currency
		} else if p.Currency != ch.Amount.Currency {
			return connector.Permanent(fmt.Errorf("billing carrier invoice %s: charges in %s and %s: one bill has one currency", req.InvoiceNumber, p.Currency, ch.Amount.Currency))
		}
		p.Lines = append(p.Lines, VendorBillLine{ServiceCode: code, Description: desc, Quantity: 1, PriceUnit: float(amount)})
	}
	bill, err := cl.EnsureVendorBill(ctx, p)
	if err != nil {
		return fmt.Errorf("billing carrier invoice %s of shipment %s: %w", req.InvoiceNumber, req.ShipmentID, err)
	}
	if c.opts.OnBilled != nil {
		if err := c.opts.OnBilled(ctx, a, req, bill); err != nil {
			return connector.Retryable(fmt.Errorf("recording the vendor bill of carrier invoice %s: %w", req.InvoiceNumber, err), 0)
		}
	}
	return nil
}

// carrierPartner finds the Odoo partner that bills for carrier: the one
// its ref names (System:res.partner/ID), else the one whose internal
// reference (ref) is its SCAC.
func (c *Connector) carrierPartner(ctx context.Context, cl *Client, carrier *shipment.Carrier) (int, error) {
	if carrier == nil {
		return 0, connector.Permanent(fmt.Errorf("the carrier invoice names no carrier, and neither does its shipment"))
	}
	if ext, ok := strings.CutPrefix(carrier.Ref, c.opts.System+":res.partner/"); ok {
		if id, err := strconv.Atoi(ext); err == nil && id > 0 {
			return id, nil
		}
	}
	if carrier.SCAC == "" {
		return 0, connector.Permanent(fmt.Errorf("carrier %q has no SCAC and no ref %s:res.partner/ID: no Odoo partner to bill", carrier.Ref, c.opts.System))
	}
	ids, err := cl.Search(ctx, "res.partner", Domain{Leaf("ref", "=", carrier.SCAC)}, &SearchOptions{Limit: 2})
	if err != nil {
		return 0, fmt.Errorf("finding the partner of carrier %s: %w", carrier.SCAC, err)
	}
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return 0, connector.Permanent(fmt.Errorf("no Odoo partner has the internal reference %s: give the carrier's vendor that reference, then replay", carrier.SCAC))
	}
	return 0, connector.Permanent(fmt.Errorf("several Odoo partners have the internal reference %s: keep it on the carrier's vendor only, then replay", carrier.SCAC))
}
