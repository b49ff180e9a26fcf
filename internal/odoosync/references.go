package odoosync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/event"
)

// references are the records a page of pickings points at, read in one
// call per model: partners (customers and their addresses), countries and
// products.
type references struct {
	partners  map[int]partner
	countries map[int]string // ISO code by id
	products  map[int]product
}

type partner struct {
	name, email, phone, vat, street, street2, city, zip string
	country                                             int
}

type product struct {
	code, name string
	weight     float64 // kg per unit
}

func (p *Poller) readReferences(ctx context.Context, cl *odoo.Client, pickings []odoo.Picking) (*references, error) {
	ref := &references{partners: map[int]partner{}, countries: map[int]string{}, products: map[int]product{}}
	var partnerIDs, productIDs []int
	for _, pk := range pickings {
		if pk.Partner.ID != 0 && !slices.Contains(partnerIDs, pk.Partner.ID) {
			partnerIDs = append(partnerIDs, pk.Partner.ID)
		}
		for _, m := range pk.Moves {
			if !slices.Contains(productIDs, m.Product.ID) {
				productIDs = append(productIDs, m.Product.ID)
			}
		}
	}
	recs, err := cl.Read(ctx, "res.partner", partnerIDs, []string{"name", "email", "phone", "vat", "street", "street2", "city", "zip", "country_id"})
	if err != nil {
		return nil, fmt.Errorf("reading customers: %w", err)
	}
	var countryIDs []int
	for _, r := range recs {
		var pa partner
		var id int
		var country odoo.Many2One
		_ = json.Unmarshal(r["id"], &id)
		str(r, "name", &pa.name)
		str(r, "email", &pa.email)
		str(r, "phone", &pa.phone)
		str(r, "vat", &pa.vat)
		str(r, "street", &pa.street)
		str(r, "street2", &pa.street2)
		str(r, "city", &pa.city)
		str(r, "zip", &pa.zip)
		_ = json.Unmarshal(r["country_id"], &country)
		pa.country = country.ID
		if country.ID != 0 && !slices.Contains(countryIDs, country.ID) {
			countryIDs = append(countryIDs, country.ID)
		}
		ref.partners[id] = pa
	}
	recs, err = cl.Read(ctx, "res.country", countryIDs, []string{"code"})
	if err != nil {
		return nil, fmt.Errorf("reading countries: %w", err)
	}
	for _, r := range recs {
		var id int
		var code string
		_ = json.Unmarshal(r["id"], &id)
		str(r, "code", &code)
		ref.countries[id] = code
	}
	recs, err = cl.Read(ctx, "product.product", productIDs, []string{"default_code", "name", "weight"})
	if err != nil {
		return nil, fmt.Errorf("reading products: %w", err)
	}
	for _, r := range recs {
		var id int
		var pr product
		_ = json.Unmarshal(r["id"], &id)
		str(r, "default_code", &pr.code)
		str(r, "name", &pr.name)
		_ = json.Unmarshal(r["weight"], &pr.weight)
		ref.products[id] = pr
	}
	return ref, nil
}

// str reads a char field; Odoo sends false for an empty one.
func str(r odoo.Record, field string, dst *string) {
	var s string
	if json.Unmarshal(r[field], &s) == nil {
		*dst = s
	}
}

// party is the customer of a picking in the canonical form.
func (ref *references) party(m odoo.Many2One, system string) *event.Party {
	out := &event.Party{Ref: system + ":res.partner/" + strconv.Itoa(m.ID), Name: m.Name}
	pa, ok := ref.partners[m.ID]
	if ok && pa.name != "" {
		out.Name = pa.name
	}
	if ok {
		out.Phone, out.VAT = pa.phone, pa.vat
	}
	return out
}

// address is the delivery address of a picking's partner.
func (ref *references) address(m odoo.Many2One, system string) *event.Location {
	out := &event.Location{Ref: system + ":res.partner/" + strconv.Itoa(m.ID), Name: m.Name}
	pa, ok := ref.partners[m.ID]
	if !ok {
		return out
	}
	for _, l := range []string{pa.street, pa.street2} {
		if l != "" {
			out.AddressLines = append(out.AddressLines, l)
		}
	}
	out.City, out.PostalCode = pa.city, pa.zip
	if c := ref.countries[pa.country]; len(c) == 2 {
		out.Country = c
	}
	return out
}
