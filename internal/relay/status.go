package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/waybill/waybill/internal/intake"
)

// Status is a relay's state: its queue, read from its database, and,
// while it runs, its forwarder's.
type Status struct {
	// Running says the live fields below come from a running relay.
	Running  bool   `json:"running"`
	Upstream string `json:"upstream,omitempty"`
	// State is one of StateIdle, StateForwarding, StateRetrying,
	// StateUnauthorized or StateStopped.
	State       string     `json:"state"`
	UpstreamUp  bool       `json:"upstream_up"`
	LastError   string     `json:"last_error,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty" doc:"When the hub last answered a batch"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`

	// Backlog counts the events waiting to be forwarded, the oldest
	// accepted at OldestPending.
	Backlog       int64      `json:"backlog"`
	OldestPending *time.Time `json:"oldest_pending,omitempty"`
	// Forwarded counts the events the hub holds; LastForwarded is when the
	// latest of them was.
	Forwarded     int64      `json:"forwarded"`
	LastForwarded *time.Time `json:"last_forwarded,omitempty"`
	// Rejected counts the dead letters: events the hub refused.
	Rejected    int64        `json:"rejected"`
	DeadLetters []DeadLetter `json:"dead_letters,omitempty"`
}

// DeadLetter is an event the hub refused, with its reason.
type DeadLetter struct {
	EventID    string    `json:"event_id"`
	Source     string    `json:"source"`
	SourceID   string    `json:"source_event_id"`
	Type       string    `json:"type"`
	Subject    string    `json:"subject"`
	AcceptedAt time.Time `json:"accepted_at"`
	RejectedAt time.Time `json:"rejected_at"`
	Reason     string    `json:"reason"`
}

// ReadStatus reads the queue of the relay database behind events, with up
// to deadLetters of the latest dead letters.
func ReadStatus(ctx context.Context, events *intake.Store, deadLetters int) (*Status, error) {
	sum, err := events.Summarize(ctx, intake.StateApplied)
	if err != nil {
		return nil, err
	}
	st := &Status{
		State:         StateStopped,
		Backlog:       sum.Counts[intake.StatePending],
		OldestPending: sum.OldestPending,
		Forwarded:     sum.Counts[intake.StateApplied],
		LastForwarded: sum.LastProcessed,
		Rejected:      sum.Counts[intake.StateRejected],
	}
	if deadLetters > 0 && st.Rejected > 0 {
		list, _, err := events.List(ctx, intake.ListParams{State: intake.StateRejected, Limit: deadLetters})
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			dl := DeadLetter{EventID: e.EventID, Source: e.Source, SourceID: e.SourceID, Type: e.Type, Subject: e.Subject,
				AcceptedAt: e.AcceptedAt, Reason: e.Reason}
			if e.ProcessedAt != nil {
				dl.RejectedAt = *e.ProcessedAt
			}
			st.DeadLetters = append(st.DeadLetters, dl)
		}
	}
	return st, nil
}

// Status returns the relay's status, its live part included.
func (r *Relay) Status(ctx context.Context, deadLetters int) (*Status, error) {
	st, err := ReadStatus(ctx, r.Events, deadLetters)
	if err != nil {
		return nil, err
	}
	live := r.Forwarder.live()
	st.Running, st.Upstream, st.State, st.UpstreamUp, st.LastError = true, r.opts.Forward.Upstream, live.state, live.upstreamUp, live.lastError
	if !live.lastSuccess.IsZero() {
		t := live.lastSuccess.UTC()
		st.LastSuccess = &t
	}
	if !live.nextAttempt.IsZero() {
		t := live.nextAttempt.UTC()
		st.NextAttempt = &t
	}
	return st, nil
}

// serveStatus serves GET /v1/relay/status: the relay's Status without its
// dead letters (the status command reads those from the database).
func (r *Relay) serveStatus(w http.ResponseWriter, req *http.Request) {
	st, err := r.Status(req.Context(), 0)
	if err != nil {
		r.logger.ErrorContext(req.Context(), "reading relay status failed", "err", err)
		http.Error(w, "reading the relay's status failed", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

// FetchLive reads the live part of a running relay's status from its
// GET /v1/relay/status at base (such as http://127.0.0.1:8090) into st.
// It returns an error when no relay answers there.
func FetchLive(ctx context.Context, base string, st *Status) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/relay/status", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/v1/relay/status answered %d", base, resp.StatusCode)
	}
	var live Status
	if err := json.NewDecoder(resp.Body).Decode(&live); err != nil {
		return fmt.Errorf("reading the relay's status: %w", err)
	}
	st.Running, st.Upstream, st.State, st.UpstreamUp, st.LastError = live.Running, live.Upstream, live.State, live.UpstreamUp, live.LastError
	st.LastSuccess, st.NextAttempt = live.LastSuccess, live.NextAttempt
	return nil
}

// parseUpstream checks the hub's base URL.
func parseUpstream(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("relay: the upstream must be the hub's base URL, such as https://hub.example.com")
	}
	return u, nil
}
