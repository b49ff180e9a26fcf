// Package tender offers loads to carriers that work by EDI: a dispatch
// release for a shipment whose carrier is such a carrier becomes an X12
// 204 load tender, written to the carrier's outbox folder, where the
// transfer agent (AS2, SFTP) picks it up. The carrier answers with a 990
// and reports with 214s, which come back through the carrier's source
// profile.
//
// A shipment whose carrier has no tender folder goes to the next
// connector of its kind (the TMS or the webhook), if any.
//
// Every 204 is stored as an outbound payload before it is written, under
// the action's idempotency key: a retried action writes the same bytes,
// with the same control number, so the carrier's translator sees a
// repeat, not a second tender. The file is written under a temporary name
// and renamed, so the agent never picks up half a file.
package tender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/edi/x12"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/source/payload"
)

// Carrier is a carrier that takes load tenders by EDI.
type Carrier struct {
	// Source is the carrier's source profile id.
	Source string
	// SCAC is the carrier's code: shipments whose carrier has it are
	// tendered to it.
	SCAC string
	// Dir is the outbox folder 204s are written to.
	Dir string
	// SenderID and SenderQualifier are Waybill's X12 id (ISA06/ISA05).
	SenderID, SenderQualifier string
	// ReceiverID and ReceiverQualifier are the carrier's (ISA08/ISA07).
	ReceiverID, ReceiverQualifier string
}

// Store keeps outbound payloads and hands out control numbers:
// source.Store.
type Store interface {
	NextControl(ctx context.Context, name string) (int, error)
	Insert(ctx context.Context, p *payload.Payload) error
	Outbound(ctx context.Context, source, name string) (*payload.Payload, error)
}

// Connector writes load tenders. Create it with New; safe for concurrent
// use.
type Connector struct {
	carriers map[string]Carrier
	next     connector.Connector
	store    Store
	now      func() time.Time
}

// New returns the tender connector for carriers, passing other shipments
// to next (nil: nothing to do for them).
func New(carriers []Carrier, next connector.Connector, store Store) (*Connector, error) {
	c := &Connector{carriers: map[string]Carrier{}, next: next, store: store, now: time.Now}
	for _, cr := range carriers {
		if cr.SCAC == "" || cr.Dir == "" || cr.SenderID == "" {
			return nil, fmt.Errorf("tender carrier %s: SCAC, folder and sender id are required", cr.Source)
		}
		if _, dup := c.carriers[cr.SCAC]; dup {
			return nil, fmt.Errorf("tender carrier %s: SCAC %s is already another source's", cr.Source, cr.SCAC)
		}
		if err := os.MkdirAll(cr.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("tender carrier %s: %w", cr.Source, err)
		}
		c.carriers[cr.SCAC] = cr
	}
	return c, nil
}

// Name implements connector.Connector.
func (c *Connector) Name() string { return "tender" }

// Close closes the next connector when it can be.
func (c *Connector) Close() error {
	if cl, ok := c.next.(interface{ Close() error }); ok {
		return cl.Close()
	}
	return nil
}

// Deliver implements connector.Connector for dispatch.release (an
// original tender) and dispatch.update (a change).
func (c *Connector) Deliver(ctx context.Context, a *connector.Action) error {
	var sh shipment.Shipment
	if err := json.Unmarshal(a.Payload, &sh); err != nil {
		return connector.Permanent(fmt.Errorf("decoding shipment %s: %w", a.ShipmentID, err))
	}
	cr, ok := c.carriers[scacOf(&sh)]
	if !ok {
		if c.next == nil {
			return nil
		}
		return c.next.Deliver(ctx, a)
	}
	p, err := c.store.Outbound(ctx, cr.Source, a.IdempotencyKey)
	switch {
	case errors.Is(err, payload.ErrNotFound):
		if p, err = c.build(ctx, cr, &sh, a); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	name := fmt.Sprintf("204-%s-%s.edi", safe(sh.ID), p.ID[len(p.ID)-12:])
	return writeAtomic(filepath.Join(cr.Dir, name), p.Body)
}

func (c *Connector) build(ctx context.Context, cr Carrier, sh *shipment.Shipment, a *connector.Action) (*payload.Payload, error) {
	t := x12.Tender{
		SenderID: cr.SenderID, SenderQualifier: cr.SenderQualifier,
		ReceiverID: cr.ReceiverID, ReceiverQualifier: cr.ReceiverQualifier,
		SCAC: cr.SCAC, ShipmentID: sh.References["bol"], BOL: sh.References["bol"],
		Shipper: party(sh.Origin), Consignee: party(sh.Destination),
	}
	if t.ReceiverID == "" {
		t.ReceiverID, t.ReceiverQualifier = cr.SCAC, "02"
	}
	if t.ShipmentID == "" {
		t.ShipmentID = sh.ID
	}
	if po := sh.References["po"]; po != "" {
		t.PO = []string{po}
	}
	if a.Kind == shipment.ActionDispatchUpdate {
		t.Purpose = x12.PurposeChange
	}
	if w := sh.PickupWindow; w != nil {
		t.Pickup = x12.Window{Start: w.Start, End: w.End, Zone: zoneOf(sh.Origin)}
	}
	if w := sh.DeliveryWindow; w != nil {
		t.Delivery = x12.Window{Start: w.Start, End: w.End, Zone: zoneOf(sh.Destination)}
	}
	if sh.Weight != nil {
		if kg, err := sh.Weight.In(quantity.KGM); err == nil {
			t.WeightKG = kg.Decimal()
		}
	}
	if hu := sh.HandlingUnits; hu != nil && hu.Rat().IsInt() {
		t.HandlingUnits = int(hu.Rat().Num().Int64())
		t.Packaging = packaging[string(hu.Unit())]
	}
	n, err := c.store.NextControl(ctx, "x12-out:"+cr.Source)
	if err != nil {
		return nil, err
	}
	now := c.now().UTC()
	body, err := x12.Build204(t, x12.Control{InterchangeControl: n, GroupControl: n, Time: now})
	if err != nil {
		// The shipment lacks what a tender needs: a person must fix it.
		return nil, connector.Permanent(fmt.Errorf("tendering shipment %s to %s: %w", sh.ID, cr.SCAC, err))
	}
	p := &payload.Payload{ID: uuid.Must(uuid.NewV7()).String(), Source: cr.Source, Channel: payload.ChannelOutbound,
		Name: a.IdempotencyKey, ContentType: "application/edi-x12", Body: body, ReceivedAt: now,
		CorrelationID: a.CorrelationID, Status: payload.StatusSent, Events: 0}
	if err := c.store.Insert(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

var packaging = map[string]string{"XPX": "PLT", "XCT": "CTN", "XBX": "BOX", "XCS": "CAS"}

func scacOf(sh *shipment.Shipment) string {
	if sh.Carrier == nil {
		return ""
	}
	return strings.ToUpper(sh.Carrier.SCAC)
}

func party(l *shipment.Location) x12.Party {
	if l == nil {
		return x12.Party{}
	}
	p := x12.Party{Name: l.Name, City: l.City, State: l.Region, PostalCode: l.PostalCode, Country: l.Country}
	if p.Name == "" {
		p.Name = l.City
	}
	if len(l.AddressLines) > 0 {
		p.Address = l.AddressLines[0]
	}
	if strings.HasPrefix(l.Ref, "odoo:") {
		p.ID = strings.TrimPrefix(l.Ref, "odoo:")
	}
	if i := strings.IndexByte(p.State, '-'); i >= 0 {
		p.State = p.State[i+1:]
	}
	return p
}

func zoneOf(l *shipment.Location) string {
	if l == nil {
		return ""
	}
	return l.Timezone
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// writeAtomic writes data to path through a temporary file in the same
// folder, synced, then renamed.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".204-*.tmp")
	if err != nil {
		return fmt.Errorf("writing tender: %w", err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing tender %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing tender %s: %w", path, err)
	}
	return nil
}
