package intake

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
	own        *Parser // Waybill's own events
	outside    *Parser // events mapped from sources' payloads
	committer  *Committer
	backlog    *Backlog
	maxBacklog int64
}

// EmitterOptions configures an Emitter.
type EmitterOptions struct {
	// Validator checks event data; required.
	Validator *event.Validator
	// Backlog is the count of unprocessed events, and MaxBacklog the count
	// above which events are refused with ErrBacklogFull.
	Backlog    *Backlog
	MaxBacklog int64
	// Window bounds event times around now, as for events over HTTP.
	Window TimeWindow
}

// NewEmitter returns an Emitter that stores through c.
func NewEmitter(c *Committer, opts *EmitterOptions) *Emitter {
	return &Emitter{
		own:       &Parser{Validator: opts.Validator, Internal: true, Window: opts.Window},
		outside:   &Parser{Validator: opts.Validator, Window: opts.Window},
		committer: c, backlog: opts.Backlog, maxBacklog: opts.MaxBacklog,
	}
}

// Emit parses raw CloudEvents (structured JSON) made by Waybill itself,
// which may be of the types only Waybill emits, and stores them in one
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
		ev, err := e.own.Parse(raw, Hints{})
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		evs[i] = ev
	}
	return e.Submit(ctx, evs)
}

// Parse parses and validates one CloudEvent made from what a producer
// outside Waybill sent (a source profile's payload), for a caller that sorts
// out invalid events itself before Submit. Types that only Waybill emits
// are refused with a *ForbiddenTypeError, as over HTTP.
func (e *Emitter) Parse(raw []byte) (*Event, error) {
	return e.outside.Parse(raw, Hints{})
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
