package connector

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/waybill/waybill/internal/shipment"
)

// Errors returned by [Registry.Register].
var (
	// ErrUnknownKind reports a kind that is not one of [Kinds].
	ErrUnknownKind = errors.New("unknown action kind")
	// ErrAlreadyRegistered reports a kind that already has a connector.
	ErrAlreadyRegistered = errors.New("action kind already has a connector")
)

// Registry maps each action kind to the one connector that handles it. One
// connector may handle several kinds. cmd/waybill fills it at start-up; the
// job runner reads it. The zero value is not usable; call [NewRegistry]. A
// Registry is safe for concurrent use.
type Registry struct {
	mu         sync.RWMutex
	connectors map[string]Connector
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{connectors: make(map[string]Connector)}
}

// Register makes c the connector of kind. It fails with [ErrUnknownKind] when
// kind is not one of [Kinds], with [ErrAlreadyRegistered] when kind already
// has a connector, and when c is nil.
func (r *Registry) Register(kind string, c Connector) error {
	if !shipment.KnownAction(kind) {
		return fmt.Errorf("registering connector for %q: %w", kind, ErrUnknownKind)
	}
	if c == nil {
		return fmt.Errorf("registering connector for %q: nil connector", kind)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.connectors[kind]; ok {
		return fmt.Errorf("registering connector %q for %q: %w (%q)", c.Name(), kind, ErrAlreadyRegistered, prev.Name())
	}
	r.connectors[kind] = c
	return nil
}

// Replace makes c the connector of kind, in place of any other: for a
// connector that routes some actions itself and passes the rest to the one
// it replaces.
func (r *Registry) Replace(kind string, c Connector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connectors[kind] = c
}

// Lookup returns the connector of kind, and whether there is one.
func (r *Registry) Lookup(kind string) (Connector, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.connectors[kind]
	return c, ok
}

// Kinds returns the kinds that have a connector, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.connectors))
	for k := range r.connectors {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Close closes every registered connector that implements io.Closer, once
// each however many kinds it serves, and returns their errors joined. Call
// it at shutdown, after the job runner has stopped.
func (r *Registry) Close() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var errs []error
	closed := make(map[io.Closer]bool)
	for _, kind := range shipment.ActionKinds() {
		c, ok := r.connectors[kind].(io.Closer)
		if !ok || closed[c] {
			continue
		}
		closed[c] = true
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing connector %s: %w", r.connectors[kind].Name(), err))
		}
	}
	return errors.Join(errs...)
}
