package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/waybill/waybill/internal/event"
)

// ErrBacklogFull is returned by Emitter.Emit when storing the events would
// take the backlog of unprocessed events above its limit.
var ErrBacklogFull = errors.New("intake backlog is full")

// Emitter feeds events produced inside Waybill, such as those of the Odoo
// poller, through the same validation, deduplication, group commit and
// back-pressure as events received over HTTP.
type Emitter struct {
	validator  *event.Validator
	committer  *Committer
	backlog    *Backlog
	maxBacklog int64
}

// NewEmitter returns an Emitter that validates with v, stores through c and
// refuses events while backlog exceeds maxBacklog.
func NewEmitter(v *event.Validator, c *Committer, backlog *Backlog, maxBacklog int64) *Emitter {
	return &Emitter{validator: v, committer: c, backlog: backlog, maxBacklog: maxBacklog}
}

// Emit parses raw CloudEvents (structured JSON) and stores them in one
// group. Every event must be valid: an invalid one is a defect of its
// producer, and Emit stores nothing and returns the *InvalidError with the
// event's index. It returns ErrBacklogFull, storing nothing, when the
// backlog cannot take them. Results are in order; a Result's Duplicate
// and Err (ErrConflict) say whether each event was new.
func (e *Emitter) Emit(ctx context.Context, raws [][]byte) ([]Result, error) {
	if len(raws) == 0 {
		return nil, nil
	}
	evs := make([]*Event, len(raws))
	for i, raw := range raws {
		ev, err := e.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		evs[i] = ev
	}
	return e.Submit(ctx, evs)
}

// Parse parses and validates one CloudEvent as Emit does, for a producer
// that sorts out invalid events itself before Submit.
func (e *Emitter) Parse(raw []byte) (*Event, error) {
	return Parse(raw, e.validator, Hints{})
}

// Submit stores events made by Parse in one group, as Emit does.
func (e *Emitter) Submit(ctx context.Context, evs []*Event) ([]Result, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	if e.backlog.Load()+int64(len(evs)) > e.maxBacklog {
		return nil, ErrBacklogFull
	}
	return e.committer.Submit(ctx, evs)
}
