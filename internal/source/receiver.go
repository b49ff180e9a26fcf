package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/source/verify"
	"github.com/waybill/waybill/internal/tracking"
)

// ErrUnknownSource is returned for a source id no profile has.
var ErrUnknownSource = errors.New("unknown source")

// ErrUnauthenticated wraps the reason a webhook's signature was refused
// (one of package verify's errors).
var ErrUnauthenticated = errors.New("webhook not authenticated")

// ErrAlreadyHandled is returned by Verify for a correctly signed Standard
// Webhooks delivery whose id was handled before: a sender's retry after a
// lost answer, or a replay. Either way it must change nothing, and the
// sender should stop retrying: the caller answers it as a duplicate.
var ErrAlreadyHandled = errors.New("webhook id already handled")

// askOnly is the replay store the Standard Webhooks verifier consults: it
// asks whether an id was handled, and records nothing. Receive records the
// id once the payload is handled, so a delivery that failed on Waybill's
// side (intake full, database down) can be retried under the same id.
type askOnly struct {
	store *Store
	now   func() time.Time
}

func (a askOnly) Seen(ctx context.Context, source, id string, _ time.Time) (bool, error) {
	return a.store.Known(ctx, source, id, a.now())
}

// Receiver receives the payloads of configured sources: it verifies them,
// stores them as received, maps them and hands the events to the same
// intake path as POST /v1/events. Create it with NewReceiver; it is safe for
// concurrent use.
type Receiver struct {
	profiles  *Profiles
	store     *Store
	emitter   *intake.Emitter
	logger    *slog.Logger
	now       func() time.Time
	verifiers map[string]verify.Verifier

	payloads     *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	events       *prometheus.CounterVec
}

// ReceiverOptions configures a Receiver.
type ReceiverOptions struct {
	// Registerer registers the intake's metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// NowFunc is the clock of signature checks. Defaults to time.Now.
	NowFunc func() time.Time
}

// NewReceiver returns the receiver of profiles, storing payloads in store and
// events through emitter.
func NewReceiver(profiles *Profiles, store *Store, emitter *intake.Emitter, opts *ReceiverOptions) (*Receiver, error) {
	if opts == nil {
		opts = &ReceiverOptions{}
	}
	in := &Receiver{profiles: profiles, store: store, emitter: emitter, logger: opts.Logger, now: opts.NowFunc,
		verifiers: map[string]verify.Verifier{},
		payloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_source_payloads_total",
			Help: "Payloads received from configured sources, by source, channel and status (accepted, rejected, deferred, duplicate).",
		}, []string{"source", "channel", "status"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_source_auth_failures_total",
			Help: "Webhooks refused for their signature or key, by source and reason (missing, bad_signature, stale, malformed, bad_key).",
		}, []string{"source", "reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_source_events_total",
			Help: "Events made from source payloads, by source and outcome (new, repeat, conflict, invalid, dropped_in_payload).",
		}, []string{"source", "outcome"}),
	}
	if in.logger == nil {
		in.logger = slog.New(slog.DiscardHandler)
	}
	if in.now == nil {
		in.now = time.Now
	}
	var seen verify.Seen
	if store != nil {
		seen = askOnly{store: store, now: in.now}
	}
	for _, p := range profiles.All() {
		v, err := p.Verifier(seen)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", p.ID, err)
		}
		if v != nil {
			in.verifiers[p.ID] = v
		}
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(in.payloads, in.authFailures, in.events)
	}
	return in, nil
}

// Profile returns the profile of id, or an error wrapping ErrUnknownSource.
func (in *Receiver) Profile(id string) (*Profile, error) {
	p := in.profiles.Get(id)
	if p == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownSource, id)
	}
	return p, nil
}

// Verify checks a webhook's signature with its source's secrets. A
// refusal is counted and logged, and wraps ErrUnauthenticated and the
// verify reason. An api_key source is checked by the caller.
func (in *Receiver) Verify(ctx context.Context, p *Profile, h http.Header, body []byte) error {
	v := in.verifiers[p.ID]
	if v == nil {
		return nil
	}
	var err error
	if cv, ok := v.(verify.ContextVerifier); ok {
		err = cv.VerifyContext(ctx, h, body, in.now())
	} else {
		err = v.Verify(h, body, in.now())
	}
	if err == nil {
		return nil
	}
	reason := ""
	switch {
	case errors.Is(err, verify.ErrMissingSignature):
		reason = "missing"
	case errors.Is(err, verify.ErrBadSignature):
		reason = "bad_signature"
	case errors.Is(err, verify.ErrTimestampOutOfTolerance):
		reason = "stale"
	case errors.Is(err, verify.ErrReplayed):
		in.payloads.WithLabelValues(p.ID, payload.ChannelWebhook, payload.StatusDuplicate).Inc()
		in.logger.InfoContext(ctx, "webhook already handled", slog.String("source", p.ID), slog.String("webhook_id", h.Get("webhook-id")))
		return fmt.Errorf("%w: %s", ErrAlreadyHandled, h.Get("webhook-id"))
	case errors.Is(err, verify.ErrMalformed):
		reason = "malformed"
	default:
		// The replay store failed: unknown, not refused.
		return fmt.Errorf("verifying webhook of %s: %w", p.ID, err)
	}
	in.AuthFailed(ctx, p.ID, reason, err)
	return fmt.Errorf("%w: %w", ErrUnauthenticated, err)
}

// AuthFailed counts and logs a refused request of source.
func (in *Receiver) AuthFailed(ctx context.Context, source, reason string, err error) {
	in.authFailures.WithLabelValues(source, reason).Inc()
	in.logger.WarnContext(ctx, "source request refused", slog.String("source", source), slog.String("reason", reason), slog.Any("err", err))
}

// PayloadReceipt says what became of a payload.
type PayloadReceipt struct {
	PayloadID string `json:"payload_id" doc:"The stored payload: GET /v1/payloads/{id}."`
	Source    string `json:"source"`
	Status    string `json:"status" enum:"accepted,rejected,deferred,duplicate"`
	// Events are the events made from the payload, new or repeated.
	Events []PayloadEvent `json:"events"`
	// Dropped counts duplicates inside the payload itself.
	Dropped  int      `json:"dropped"`
	Problems []string `json:"problems,omitempty" doc:"Parts of the payload that failed while others were accepted, located."`
	// Ack is the X12 997 for an X12 payload.
	Ack           string `json:"ack,omitempty" doc:"The X12 997 functional acknowledgement of an X12 payload."`
	CorrelationID string `json:"correlation_id"`
}

// PayloadEvent is one event made from a payload.
type PayloadEvent struct {
	// ID is Waybill's id of the event (the original's, for a repeat);
	// SourceID is its CloudEvents id in the source /sources/{source}.
	ID       string `json:"id"`
	SourceID string `json:"source_id"`
	// EventURL shows what became of the event (GET /v1/events/{id}).
	EventURL  string `json:"event_url,omitempty"`
	Type      string `json:"type"`
	Subject   string `json:"subject"`
	Duplicate bool   `json:"duplicate,omitempty" doc:"The event was already accepted, from this payload's earlier delivery or another."`
	Conflict  bool   `json:"conflict,omitempty" doc:"An earlier event has this id with other content; the earlier one is kept."`
	Refused   bool   `json:"refused,omitempty" doc:"The database refused to store this event; it was not stored, and the payload's other events were."`
}

// RejectedError is returned by Receive for a payload nothing could be
// taken from. The payload is stored, with the reason.
type RejectedError struct {
	Receipt *PayloadReceipt
	Err     error
}

func (e *RejectedError) Error() string { return e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }

// Delivery is one payload to receive.
type Delivery struct {
	Channel       string
	Name          string // the file name, for folder deliveries
	ContentType   string
	Body          []byte
	CorrelationID string
	// WebhookID and WebhookTime are a Standard Webhooks delivery's
	// webhook-id and signed time: the id is remembered once the payload is
	// handled, until the time is out of tolerance.
	WebhookID   string
	WebhookTime time.Time
}

// Receive maps the payload, submits its events, then stores the payload
// with what became of it and its links to those events. The sender hears
// success only once both are durable; after a crash between the two it
// resends, its events are repeats, and the payload is stored then, so a
// payload is never lost and its events never doubled. (Storing the
// payload first would cost a third synchronous write per payload.) It
// returns the receipt; a *RejectedError when nothing could be taken from
// the payload, which is stored with the reason; intake.ErrBacklogFull
// (wrapped) when intake is full, so the sender should retry; another error
// when storing failed.
func (in *Receiver) Receive(ctx context.Context, p *Profile, d Delivery) (*PayloadReceipt, error) {
	now := in.now().UTC()
	pl := &payload.Payload{ID: uuid.Must(uuid.NewV7()).String(), Source: p.ID, Channel: d.Channel, Name: d.Name,
		ContentType: d.ContentType, Body: d.Body, ReceivedAt: now, CorrelationID: d.CorrelationID}
	rc := &PayloadReceipt{PayloadID: pl.ID, Source: p.ID, Events: []PayloadEvent{}, CorrelationID: d.CorrelationID}
	ctl, err := in.control(ctx, p, now)
	if err != nil {
		return nil, err
	}
	m, mapErr := p.Map(d.Body, ctl)
	rc.Ack, rc.Dropped, rc.Problems = string(m.Ack), m.Dropped, m.Problems
	if mapErr != nil {
		return nil, in.reject(ctx, pl, d, rc, mapErr)
	}
	raws, problems := p.CloudEvents(m.Mapped, d.CorrelationID, now)
	rc.Problems = append(rc.Problems, problems...)
	// Check each event alone, so one bad event cannot hold back the rest.
	var parsed []*intake.Event
	for _, raw := range raws {
		ev, err := in.emitter.Parse(raw)
		if err != nil {
			rc.Problems = append(rc.Problems, err.Error())
			in.events.WithLabelValues(p.ID, "invalid").Inc()
			continue
		}
		parsed = append(parsed, ev)
	}
	if len(parsed) == 0 {
		return nil, in.reject(ctx, pl, d, rc, fmt.Errorf("%w: no event could be made from it", ErrRejected))
	}
	results, err := in.emitter.Submit(ctx, parsed)
	if err != nil {
		pl.Status, pl.Error = payload.StatusDeferred, err.Error()
		if ferr := in.store.Save(context.WithoutCancel(ctx), pl, tracking.SourceURI(p.ID)); ferr != nil {
			in.logger.ErrorContext(ctx, "recording deferred payload", slog.String("payload_id", pl.ID), slog.Any("err", ferr))
		}
		in.payloads.WithLabelValues(p.ID, d.Channel, payload.StatusDeferred).Inc()
		return nil, fmt.Errorf("submitting events of payload %s: %w", pl.ID, err)
	}
	for i, r := range results {
		ev := parsed[i]
		er := PayloadEvent{ID: r.EventID, SourceID: ev.SourceID, Type: string(ev.Type), Subject: ev.Subject, Duplicate: r.Duplicate}
		if r.EventID != "" {
			er.EventURL = intake.EventURL(r.EventID)
		}
		outcome := "new"
		switch {
		case errors.Is(r.Err, intake.ErrRefused):
			er.Refused, outcome = true, "refused"
			rc.Problems = append(rc.Problems, fmt.Sprintf("event %s: %v", ev.SourceID, intake.ErrRefused))
		case errors.Is(r.Err, intake.ErrConflict):
			er.Conflict, outcome = true, "conflict"
			rc.Problems = append(rc.Problems, fmt.Sprintf("event %s: %v", ev.SourceID, r.Err))
		case r.Duplicate:
			outcome = "repeat"
			pl.Duplicates++
		}
		in.events.WithLabelValues(p.ID, outcome).Inc()
		rc.Events = append(rc.Events, er)
		pl.EventIDs = append(pl.EventIDs, ev.SourceID)
	}
	if rc.Dropped > 0 {
		in.events.WithLabelValues(p.ID, "dropped_in_payload").Add(float64(rc.Dropped))
	}
	pl.Status, pl.Events = payload.StatusAccepted, len(results)
	rc.Status = payload.StatusAccepted
	if err := in.store.Save(context.WithoutCancel(ctx), pl, tracking.SourceURI(p.ID)); err != nil {
		// The events are accepted but the sender is told otherwise: it
		// resends, its events are repeats, and the payload is stored then.
		return nil, err
	}
	in.payloads.WithLabelValues(p.ID, d.Channel, payload.StatusAccepted).Inc()
	in.handled(ctx, p, d)
	return rc, nil
}

// handled remembers a Standard Webhooks id once its payload is handled,
// accepted or rejected: the same delivery again changes nothing.
func (in *Receiver) handled(ctx context.Context, p *Profile, d Delivery) {
	if d.WebhookID == "" {
		return
	}
	tol := p.Auth.Tolerance
	if tol <= 0 {
		tol = verify.ToleranceDefault
	}
	if _, err := in.store.Seen(context.WithoutCancel(ctx), p.ID, d.WebhookID, d.WebhookTime.Add(tol)); err != nil {
		// Not remembered: a replay would be handled again, and its events
		// are repeats.
		in.logger.WarnContext(ctx, "remembering webhook id", slog.String("source", p.ID), slog.Any("err", err))
	}
}

func (in *Receiver) reject(ctx context.Context, pl *payload.Payload, d Delivery, rc *PayloadReceipt, err error) error {
	pl.Status, pl.Error = payload.StatusRejected, err.Error()
	rc.Status = payload.StatusRejected
	if ferr := in.store.Save(context.WithoutCancel(ctx), pl, ""); ferr != nil {
		return ferr
	}
	in.payloads.WithLabelValues(pl.Source, pl.Channel, payload.StatusRejected).Inc()
	if p := in.profiles.Get(pl.Source); p != nil {
		in.handled(ctx, p, d)
	}
	in.logger.InfoContext(ctx, "source payload rejected", slog.String("source", pl.Source), slog.String("payload_id", pl.ID), slog.Any("err", err))
	return &RejectedError{Receipt: rc, Err: err}
}

// control takes the 997 control numbers of an X12 payload.
func (in *Receiver) control(ctx context.Context, p *Profile, now time.Time) (Control, error) {
	if p.Format != FormatX12 {
		return Control{}, nil
	}
	n, err := in.store.NextControl(ctx, "x12:"+p.ID)
	if err != nil {
		return Control{}, err
	}
	return Control{InterchangeControl: n, GroupControl: n, Time: now}, nil
}

// PayloadsOf returns the ids of the stored payloads an event was made
// from, oldest first.
func (in *Receiver) PayloadsOf(ctx context.Context, eventSource, eventID string) ([]string, error) {
	return in.store.PayloadsOf(ctx, eventSource, eventID)
}

// Payload returns a stored payload with its body and event links.
func (in *Receiver) Payload(ctx context.Context, id string) (*payload.Payload, error) {
	return in.store.Get(ctx, id)
}

// sweepEvery is how often Run forgets expired webhook ids.
const sweepEvery = 10 * time.Minute

// Run forgets expired webhook ids now and then, until ctx is done.
func (in *Receiver) Run(ctx context.Context) error {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := in.store.SweepSeen(ctx, in.now()); err != nil && ctx.Err() == nil {
				in.logger.WarnContext(ctx, "sweeping webhook ids", slog.Any("err", err))
			}
		}
	}
}

// ErrNotReplayable is returned by Replay for a payload Waybill sent, not
// received.
var ErrNotReplayable = errors.New("payload cannot be replayed")

// Replay receives a stored payload again, as its source's profile maps it
// now: after a code table or mapping was fixed, a payload rejected before
// gives its events. It is stored anew (channel replay, named after the
// original) and keeps the original's correlation id; events it had given
// already are repeats. Its signature was checked when it first came.
func (in *Receiver) Replay(ctx context.Context, id string) (*PayloadReceipt, error) {
	orig, err := in.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if orig.Channel == payload.ChannelOutbound {
		return nil, fmt.Errorf("%w: %s is an outbound %s", ErrNotReplayable, id, orig.ContentType)
	}
	p, err := in.Profile(orig.Source)
	if err != nil {
		return nil, err
	}
	return in.Receive(ctx, p, Delivery{Channel: payload.ChannelReplay, Name: orig.ID, ContentType: orig.ContentType,
		Body: orig.Body, CorrelationID: orig.CorrelationID})
}
