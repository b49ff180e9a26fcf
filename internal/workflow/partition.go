package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"hash/fnv"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
)

// Partitions is the number of partitions events are applied in when
// several replicas share a PostgreSQL database. It is fixed: a shipment's
// partition is a hash of its id, so changing it would move every shipment.
// It bounds how many replicas apply events at once.
const Partitions = 32

// Partitioner is the share of the partitions this replica owns
// (sqldb.Partitions).
type Partitioner interface {
	// Count is the number of partitions.
	Count() int
	// Owned is the partitions this replica owns now, sorted.
	Owned() []int
	// Fence checks in tx that this replica still owns parts, and keeps
	// them from moving until tx ends; an error wrapping
	// sqldb.ErrLeaseLost when it does not.
	Fence(ctx context.Context, tx *sql.Tx, parts []int) error
}

// PartitionOf is the partition of the shipment or order id, among n.
func PartitionOf(id string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// refPartition is the partition of an external reference that names no
// shipment or order yet: the first event that names it decides where the
// shipment it creates lives.
func refPartition(kind string, r shipment.Ref, n int) int {
	return PartitionOf(kind+"\x00"+r.String(), n)
}

// newIDIn returns a new id in partition part of n: a shipment created by
// an event routed to part stays with the replica that owns part. A part
// below zero is any partition.
func newIDIn(part, n int) string {
	if part < 0 || n <= 1 {
		return newID()
	}
	for {
		// One in n ids fits: n tries on average.
		if id := newID(); PartitionOf(id, n) == part {
			return id
		}
	}
}

// routeKeys are the references an event teaches its shipment, which
// partners' later events may name it by: the keys the processor learns
// from it (batch.learnKeys), as far as the event alone tells. A key that
// needs what an earlier event brought (a PRO from the plan with the SCAC of
// the assignment) is not among them; an event naming it is rerouted once
// the processor knows it.
func routeKeys(ev *intake.Pending) []shipment.Ref {
	var sh shipment.Shipment
	switch ev.Type {
	case event.ShipmentPlanned:
		var d event.ShipmentPlannedData
		if json.Unmarshal(ev.Data, &d) != nil {
			return nil
		}
		sh.References, sh.Carrier = d.References, d.Carrier
	case event.DispatchAssigned:
		var d event.DispatchAssignedData
		if json.Unmarshal(ev.Data, &d) != nil {
			return nil
		}
		sh.Carrier, sh.TrackingRef = d.Carrier, d.TrackingRef
	case event.ShipmentTracked:
		return shipment.TrackedRefs(ev.Data)
	default:
		return nil
	}
	return sh.KeyRefs()
}

// kindOf is the kind of object an event of typ is about.
func kindOf(typ event.Type) string {
	if typ == event.OrderConfirmed {
		return shipment.KindOrder
	}
	return shipment.KindShipment
}
