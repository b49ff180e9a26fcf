package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/workflow"
)

// serveLease is the lease the replica that applies events holds.
const serveLease = "serve"

// leaseTTL is how long a dead replica's lease lasts: the longest the
// others wait to take its work over.
const leaseTTL = 5 * time.Second

// rescueEvery is how often the lease holder makes the jobs that dead
// replicas left running runnable again.
const rescueEvery = 2 * time.Second

// backlogEvery is how often a replica reads the backlog of pending events
// back from the database: another replica applies what it accepted.
const backlogEvery = time.Second

// The channels replicas wake each other on: events stored pending (for
// the router), and partitions routed to (for their owners' processors).
const (
	pendingChannel = "waybill_events_pending"
	routedChannel  = "waybill_events_routed"
)

// listen wakes the router when another replica stored events, and the
// processor when events were routed to a partition this replica owns,
// until ctx is done. Without notifications, both find the events on their
// next poll.
func (h *Hub) listen(ctx context.Context) error {
	return h.DB.Listen(ctx, h.logger, []string{pendingChannel, routedChannel}, func(channel, payload string) {
		switch channel {
		case pendingChannel:
			h.router.Wake()
		case routedChannel:
			if slices.ContainsFunc(workflow.ParsePartList(payload), h.parts.Owns) {
				h.processor.Wake()
			}
		}
	})
}

// announce notifies pendingChannel each time intake has stored events
// (several stores in a row make one notification), so that the replica
// holding the lease routes them at once, until ctx is done. Only intake's
// committer signals it: events stored otherwise, such as by a test, are
// found by the router's poll.
func (h *Hub) announce(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.stored:
		}
		if err := h.DB.NotifyNow(ctx, pendingChannel, ""); err != nil && ctx.Err() == nil {
			h.logger.WarnContext(ctx, "telling the other replicas of stored events failed; they find them on their next poll", slog.Any("err", err))
		}
	}
}

// newReplicaID returns a replica id unique to this process: the host
// name and random bits.
func newReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "waybill"
	}
	host = strings.Map(func(r rune) rune {
		if r < '!' || r > '~' {
			return '-'
		}
		return r
	}, host)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// Replica returns this process's replica id, which is also its River
// client id.
func (h *Hub) Replica() string { return h.replica }

// LeaseHeld reports whether this replica holds the lease: it routes
// events and does the work done once per database.
func (h *Hub) LeaseHeld() bool { return h.lease.Held() }

// Partitions returns the processing partitions this replica owns now:
// all of them on SQLite.
func (h *Hub) Partitions() []int {
	if h.parts == nil {
		return []int{0}
	}
	return h.parts.Owned()
}

// Alone reports whether this replica does all the work there is: it holds
// the lease and every processing partition, as a lone replica does once
// it has started.
func (h *Hub) Alone() bool {
	return h.lease.Held() && (h.parts == nil || len(h.parts.Owned()) == h.parts.Count())
}

// deadReplicas is the DeadFunc of this server's database: on SQLite, which
// it owns alone, every other River client is dead; on PostgreSQL, the
// replicas that no longer hold their lock (sqldb.DB.ReplicaAlive).
func (h *Hub) deadReplicas(ctx context.Context) jobqueue.DeadFunc {
	if h.DB.Dialect.Engine != sqldb.Postgres {
		return jobqueue.AllDead
	}
	return func(id string) bool {
		if id == h.replica {
			return false
		}
		alive, err := h.DB.ReplicaAlive(ctx, id)
		return err == nil && !alive
	}
}

// rescueDead makes the jobs that dead replicas left running runnable
// again, every rescueEvery, until ctx is done.
func (h *Hub) rescueDead(ctx context.Context) error {
	t := time.NewTicker(rescueEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := h.Queue.Rescue(ctx, h.deadReplicas(ctx))
		if err != nil && ctx.Err() == nil {
			h.logger.WarnContext(ctx, "rescuing the jobs of dead replicas failed", slog.Any("err", err))
		}
		if n > 0 {
			h.logger.InfoContext(ctx, "jobs of a dead replica made runnable", slog.Int("jobs", n))
		}
	}
}

// refreshBacklog reads the backlog of pending events every backlogEvery:
// with several replicas, events one accepts are applied by another, and
// each keeps the backlog its intake limit is measured on.
func (h *Hub) refreshBacklog(ctx context.Context) error {
	t := time.NewTicker(backlogEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := h.Events.CountPending(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.logger.WarnContext(ctx, "reading the backlog failed", slog.Any("err", err))
			}
			continue
		}
		h.backlog.Set(n)
	}
}

// keepRegistration checks this replica's registration every
// rescueEvery and registers again when its session was cut.
func (h *Hub) keepRegistration(ctx context.Context) error {
	t := time.NewTicker(rescueEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := h.member.Keep(ctx); err != nil && ctx.Err() == nil {
			h.logger.WarnContext(ctx, "keeping this replica registered failed; others may take its running jobs over", slog.Any("err", err))
		}
	}
}

// KeyLabel is the label keys get by default: server.key_label_default,
// else server.environment.
func KeyLabel(s config.Server) string {
	if s.KeyLabelDefault != "" {
		return s.KeyLabelDefault
	}
	return s.Environment
}
