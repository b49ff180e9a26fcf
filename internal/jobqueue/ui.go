package jobqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/riverqueue/river/riverdriver"
	"riverqueue.com/riverui"
)

// ErrUIUnsupported is returned by Queue.UI when River UI has no driver for
// the queue's database engine.
var ErrUIUnsupported = errors.New("river ui does not support this database engine")

// UIOptions configure River UI.
type UIOptions struct {
	// Prefix is the path River UI is served under, such as /console/jobs;
	// its pages, assets and JSON API (Prefix+"/api/…") all live below it.
	Prefix string
	// Logger receives River UI's own logs; nil discards them.
	Logger *slog.Logger
}

// UI is River's own web UI (riverqueue.com/riverui) over the queue's
// River client: its single-page app and the JSON API it calls, which lists
// and shows jobs and queues and can retry, cancel and delete jobs and pause
// and resume queues. It does no access control of its own: whoever mounts
// it decides who may use it.
//
// Serve requests with ServeHTTP, and call Run for as long as it is served:
// Run keeps the job counts River UI shows cached in the background.
// A UI is safe for concurrent use.
type UI struct {
	handler *riverui.Handler
}

// UI builds River UI over the queue. It returns ErrUIUnsupported when
// River UI cannot work with the queue's database engine (it supports
// PostgreSQL and SQLite).
func (q *Queue) UI(opts UIOptions) (*UI, error) {
	switch name := q.client.Driver().DatabaseName(); name {
	case riverdriver.DatabaseNamePostgres, riverdriver.DatabaseNameSQLite:
	default:
		return nil, fmt.Errorf("%w: %s", ErrUIUnsupported, name)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(q.client, nil),
		// Outbound jobs carry the action's payload (addresses, lines):
		// the list shows kinds and states, a job's page its arguments.
		JobListHideArgsByDefault: true,
		Logger:                   logger,
		Prefix:                   opts.Prefix,
	})
	if err != nil {
		return nil, fmt.Errorf("building river ui: %w", err)
	}
	return &UI{handler: h}, nil
}

// ServeHTTP serves River UI's pages, assets and JSON API.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.handler.ServeHTTP(w, r) }

// Run starts River UI's background count cache and returns when ctx is
// done. River UI stops its background work when ctx ends; it gives no way
// to wait for that, but the work is a timer loop whose in-flight query is
// bound to ctx, so it ends at once.
func (u *UI) Run(ctx context.Context) error {
	if err := u.handler.Start(ctx); err != nil {
		return fmt.Errorf("starting river ui: %w", err)
	}
	<-ctx.Done()
	return nil
}
