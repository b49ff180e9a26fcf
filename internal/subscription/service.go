package subscription

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/time/rate"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// Queue is the River queue deliveries run in.
const Queue = "webhooks"

// JobKind is the River job kind of a delivery.
const JobKind = "waybill.webhook"

// RetrySchedule is how long after each failed attempt a message is tried
// again: about three days in all, each wait with ±20 % jitter. After the
// last, the message is given up (failed).
var RetrySchedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour,
}

// Options configures a Service.
type Options struct {
	Targets Targets
	// DisableAfter disables an endpoint whose deliveries have failed for
	// that long. Defaults to 24h.
	DisableAfter time.Duration
	// RateLimit is the default deliveries a second to one endpoint, per
	// replica. Defaults to 10.
	RateLimit float64
	// Timeout bounds one delivery. Defaults to 10s.
	Timeout time.Duration
	// Workers is how many deliveries run at once; PerEndpoint how many of
	// them one endpoint may take. Default 32 and 4.
	Workers, PerEndpoint int
	// SecretOverlap is how long a rotated secret keeps signing beside the
	// new one. Defaults to 24h.
	SecretOverlap time.Duration
	// Schedule overrides RetrySchedule (tests).
	Schedule []time.Duration
	// Retention is how long delivered and given-up messages are kept, for
	// replays. Defaults to 30 days.
	Retention time.Duration
	// Source is the CloudEvents source of what is delivered. Defaults to
	// "waybill".
	Source     string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Service keeps the subscriptions, matches applied events to them and
// delivers.
type Service struct {
	st     store
	opts   Options
	jobs   Inserter
	client *http.Client
	logger *slog.Logger

	subs     atomic.Pointer[[]*Subscription] // enabled and not, by creation
	changed  chan struct{}
	mu       sync.Mutex
	limiters map[string]*rate.Limiter

	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
	disabled   *prometheus.CounterVec
}

// Inserter enqueues delivery jobs (jobqueue.Queue).
type Inserter interface {
	InsertManyTx(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error
	InsertMany(ctx context.Context, params []river.InsertManyParams) error
}

// New returns a Service on db. Call SetQueue before it runs.
func New(db *sqldb.DB, opts Options) *Service {
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = 24 * time.Hour
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 10
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 32
	}
	if opts.PerEndpoint <= 0 {
		opts.PerEndpoint = 4
	}
	if opts.SecretOverlap <= 0 {
		opts.SecretOverlap = 24 * time.Hour
	}
	if opts.Schedule == nil {
		opts.Schedule = RetrySchedule
	}
	if opts.Source == "" {
		opts.Source = "waybill"
	}
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: store{db}, opts: opts, logger: opts.Logger, changed: make(chan struct{}, 1),
		limiters: map[string]*rate.Limiter{},
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_webhook_deliveries_total",
			Help: "Attempts to deliver events to subscribed endpoints, by outcome: delivered, retry (failed, tried again later), failed (given up), gone (410, endpoint disabled).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waybill_webhook_delivery_seconds",
			Help:    "Time subscribed endpoints took to answer a delivery.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		disabled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_subscriptions_disabled_total",
			Help: "Subscriptions disabled by Waybill, by reason: gone (the endpoint answered 410), failing (failing for subscriptions.disable_after).",
		}, []string{"reason"}),
	}
	s.subs.Store(&[]*Subscription{})
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: s.checkDial}
	s.client = &http.Client{
		Timeout: opts.Timeout,
		Transport: &http.Transport{
			DialContext: dialer.DialContext, MaxIdleConnsPerHost: opts.PerEndpoint, IdleConnTimeout: time.Minute,
			TLSHandshakeTimeout: opts.Timeout, ResponseHeaderTimeout: opts.Timeout,
		},
		// A redirect is the endpoint's answer, not a second endpoint.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.deliveries, s.latency, s.disabled, &gauges{st: s.st})
	}
	return s
}

// checkDial refuses connections to non-public addresses unless allowed:
// a host name is checked on the address it resolved to, when it is
// dialled.
func (s *Service) checkDial(_, address string, _ syscall.RawConn) error {
	if s.opts.Targets.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !public(ap.Addr()) {
		return fmt.Errorf("%s is not a public address: set subscriptions.allow_private_targets to deliver there", address)
	}
	return nil
}

// SetQueue sets the queue delivery jobs go to.
func (s *Service) SetQueue(q Inserter) { s.jobs = q }

// Register adds the delivery worker (jobqueue.Extra).
func (s *Service) Register(w *river.Workers) { river.AddWorker(w, &worker{s: s}) }

// Workers is how many deliveries run at once.
func (s *Service) Workers() int { return s.opts.Workers }

// Run keeps the subscriptions current and enqueues the deliveries that are
// due (retries, replays, endpoints enabled again), until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	if err := s.reload(ctx); err != nil {
		s.logger.WarnContext(ctx, "loading subscriptions failed", slog.Any("err", err))
	}
	refresh := time.NewTicker(2 * time.Second)
	defer refresh.Stop()
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.changed:
			if err := s.reload(ctx); err != nil && ctx.Err() == nil {
				s.logger.WarnContext(ctx, "loading subscriptions failed", slog.Any("err", err))
			}
			s.sweep(ctx)
		case <-refresh.C:
			if err := s.reload(ctx); err != nil && ctx.Err() == nil {
				s.logger.WarnContext(ctx, "loading subscriptions failed", slog.Any("err", err))
			}
		case <-sweep.C:
			s.sweep(ctx)
		case <-prune.C:
			if n, err := s.st.prune(ctx, time.Now().Add(-s.opts.Retention)); err != nil && ctx.Err() == nil {
				s.logger.WarnContext(ctx, "pruning delivered webhook messages failed", slog.Any("err", err))
			} else if n > 0 {
				s.logger.InfoContext(ctx, "pruned delivered and given-up webhook messages past their retention", slog.Int64("messages", n))
			}
		}
	}
}

// reload reads the subscriptions again.
func (s *Service) reload(ctx context.Context) error {
	all, err := s.st.list(ctx, "")
	if err != nil {
		return err
	}
	s.subs.Store(&all)
	return nil
}

// touch reloads soon, after a change made here.
func (s *Service) touch(ctx context.Context) {
	_ = s.reload(ctx)
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// sweep enqueues a delivery job for every subscription with a message
// due: retries come due, replays, endpoints enabled again.
func (s *Service) sweep(ctx context.Context) {
	subs, err := s.st.due(ctx, time.Now(), 1000)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.WarnContext(ctx, "looking for due deliveries failed", slog.Any("err", err))
		}
		return
	}
	if err := s.enqueue(ctx, nil, subs); err != nil && ctx.Err() == nil {
		s.logger.WarnContext(ctx, "enqueueing deliveries failed", slog.Any("err", err))
	}
}

// deliverArgs are a delivery job's: the subscription whose due messages
// it delivers.
type deliverArgs struct {
	Subscription string `json:"subscription"`
}

func (deliverArgs) Kind() string { return JobKind }

// uniqueStates are the job states in which a subscription has its one
// job: a message written meanwhile is delivered by it, or by the sweep.
var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled}

// enqueue enqueues one job per subscription, in tx when it is set.
func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, subs []string) error {
	if s.jobs == nil || len(subs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(subs))
	for i, id := range subs {
		params[i] = river.InsertManyParams{Args: deliverArgs{Subscription: id}, InsertOpts: &river.InsertOpts{
			Queue: Queue, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates},
		}}
	}
	if tx != nil {
		return s.jobs.InsertManyTx(ctx, tx, params)
	}
	return s.jobs.InsertMany(ctx, params)
}

// Match returns the messages ev, just applied to sh, sends to the
// subscriptions that want it. It runs in the processor's batch, in
// memory.
func (s *Service) Match(sh *shipment.Shipment, ev *intake.Pending) []Message {
	subs := *s.subs.Load()
	if len(subs) == 0 || sh == nil {
		return nil
	}
	var out []Message
	var shipMap, evMap map[string]any
	for _, sub := range subs {
		if !sub.Enabled || !sub.wants(sh, string(ev.Type)) {
			continue
		}
		if sub.program != nil {
			if shipMap == nil {
				shipMap, evMap = asMap(sh), map[string]any{"type": string(ev.Type), "source": ev.Source, "subject": ev.Subject, "time": ev.Time.Format(time.RFC3339Nano)}
			}
			v, _, err := sub.program.Eval(map[string]any{"shipment": shipMap, "event": evMap})
			if err != nil || v.Value() != true {
				continue
			}
		}
		body, err := s.body(sub, sh, ev)
		if err != nil {
			s.logger.Warn("a webhook message cannot be built", slog.String("subscription", sub.ID), slog.String("event_id", ev.ID), slog.Any("err", err))
			continue
		}
		out = append(out, Message{Subscription: sub.ID, Seq: ev.Seq, ID: messageID(sub.ID, ev.ID), ShipmentID: sh.ID,
			EventType: string(ev.Type), Body: body, CreatedAt: time.Now().UTC()})
	}
	return out
}

// InsertTx writes msgs, and the jobs that deliver them, in tx: the
// transaction that applies their events.
func (s *Service) InsertTx(ctx context.Context, tx *sql.Tx, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := s.st.insertTx(ctx, tx, msgs); err != nil {
		return err
	}
	seen := map[string]bool{}
	var subs []string
	for _, m := range msgs {
		if !seen[m.Subscription] {
			seen[m.Subscription] = true
			subs = append(subs, m.Subscription)
		}
	}
	return s.enqueue(ctx, tx, subs)
}

// wants reports whether sub takes an event of typ about sh, by its types,
// owner and filter fields (not its expression).
func (sub *Subscription) wants(sh *shipment.Shipment, typ string) bool {
	ok := false
	for _, p := range sub.EventTypes {
		if matchType(p, typ) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	if sub.Owner != "" && customerOf(sh) != sub.Owner {
		return false
	}
	f := sub.Filter
	if f.Customer != "" && customerOf(sh) != f.Customer {
		return false
	}
	if f.Warehouse != "" && !contains(warehouseOf(sh), f.Warehouse) {
		return false
	}
	if f.Carrier != "" && !contains(carrierOf(sh), f.Carrier) {
		return false
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x != "" && x == v {
			return true
		}
	}
	return false
}

// asMap is sh as JSON values, for filter expressions.
func asMap(sh *shipment.Shipment) map[string]any {
	b, err := json.Marshal(sh)
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// messageID is the webhook-id of the message of event eventID to sub: the
// same on every attempt and replay, so receivers can drop repeats.
func messageID(sub, eventID string) string {
	sum := sha256.Sum256([]byte(sub + "\x00" + eventID))
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

// cloudEvent is the body of a delivery.
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
	CorrelationID   string          `json:"correlationid,omitempty"`
	ShipmentID      string          `json:"shipmentid"`
	ShipmentState   string          `json:"shipmentstate"`
}

// body is the CloudEvents JSON of ev for sub, with its redactions.
func (s *Service) body(sub *Subscription, sh *shipment.Shipment, ev *intake.Pending) ([]byte, error) {
	data := ev.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	if len(sub.Redact) > 0 {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		drop := map[string]bool{}
		for _, r := range sub.Redact {
			drop[r] = true
		}
		redact(v, drop)
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		data = b
	}
	return json.Marshal(cloudEvent{SpecVersion: "1.0", ID: ev.ID, Source: s.opts.Source, Type: string(ev.Type), Subject: ev.Subject,
		Time: ev.Time.UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Data: data,
		CorrelationID: ev.CorrelationID, ShipmentID: sh.ID, ShipmentState: string(sh.State)})
}

// redact removes the members named in drop from v, at any depth.
func redact(v any, drop map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if drop[k] {
				delete(x, k)
				continue
			}
			redact(e, drop)
		}
	case []any:
		for _, e := range x {
			redact(e, drop)
		}
	}
}

// worker delivers the due messages of one subscription.
type worker struct {
	river.WorkerDefaults[deliverArgs]
	s *Service
}

// Timeout bounds one run of a subscription's job.
func (w *worker) Timeout(*river.Job[deliverArgs]) time.Duration { return 2 * time.Minute }

// jobRun is how long one job delivers before it lets other endpoints'
// jobs have the worker: a slow endpoint keeps one worker, not all.
const jobRun = 2 * time.Second

// Work delivers rounds of messages: in each, the oldest due message of
// each of up to PerEndpoint·4 shipments, PerEndpoint at a time, then the
// outcomes in one transaction. A shipment whose message failed waits for
// its retry; the others go on. It ends when nothing is due (the sweep
// enqueues the job again when a retry comes due), and hands over after
// jobRun.
func (w *worker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	s := w.s
	sub, err := s.st.get(ctx, job.Args.Subscription, "")
	if errors.Is(err, ErrNotFound) {
		return nil // deleted: its messages went with it
	}
	if err != nil {
		return err
	}
	until := time.Now().Add(jobRun)
	for sub.Enabled {
		if time.Now().After(until) {
			return river.JobSnooze(time.Millisecond) // more, after other endpoints
		}
		heads, err := s.st.heads(ctx, sub.ID, time.Now(), s.opts.PerEndpoint*4)
		if err != nil || len(heads) == 0 {
			return err
		}
		if err := s.round(ctx, sub, heads); err != nil {
			return err
		}
	}
	return nil // disabled: its messages wait until it is enabled again
}

// round sends heads, PerEndpoint at a time, and records what came of
// them.
func (s *Service) round(ctx context.Context, sub *Subscription, heads []*Message) error {
	outs := make([]outcome, len(heads))
	slots := make(chan struct{}, s.opts.PerEndpoint)
	var wg sync.WaitGroup
	lim := s.limiter(sub)
	for i, m := range heads {
		if err := lim.Wait(ctx); err != nil {
			outs = outs[:i]
			break
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			outs[i] = s.attempt(ctx, sub, m)
		})
	}
	wg.Wait()
	if len(outs) == 0 {
		return ctx.Err()
	}
	if err := s.st.settle(ctx, sub.ID, outs); err != nil {
		return err
	}
	// What the round says of the endpoint.
	now := time.Now().UTC()
	gone, ok, failed := false, false, false
	for _, o := range outs {
		switch {
		case o.attempt.Status == http.StatusGone:
			gone = true
		case o.state == "delivered":
			ok = true
		default:
			failed = true
		}
	}
	switch {
	case gone:
		return s.disable(ctx, sub, "gone", "the endpoint answered 410 Gone")
	case ok && sub.FailingSince != nil:
		sub.FailingSince, sub.UpdatedAt = nil, now
		return s.st.update(ctx, sub)
	case failed && !ok && sub.FailingSince == nil:
		sub.FailingSince, sub.UpdatedAt = &now, now
		return s.st.update(ctx, sub)
	case failed && !ok && now.Sub(*sub.FailingSince) >= s.opts.DisableAfter:
		return s.disable(ctx, sub, "failing", fmt.Sprintf("its deliveries have failed since %s", sub.FailingSince.Format(time.RFC3339)))
	}
	return nil
}

// limiter is the rate limiter of sub's endpoint on this replica.
func (s *Service) limiter(sub *Subscription) *rate.Limiter {
	r := sub.RateLimit
	if r <= 0 {
		r = s.opts.RateLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[sub.ID]
	if l == nil || l.Limit() != rate.Limit(r) {
		l = rate.NewLimiter(rate.Limit(r), max(1, int(r)))
		s.limiters[sub.ID] = l
	}
	return l
}

// attempt delivers m once and returns what came of it.
func (s *Service) attempt(ctx context.Context, sub *Subscription, m *Message) outcome {
	now := time.Now()
	status, snippet, err := s.send(ctx, sub, m, now)
	took := time.Since(now)
	s.latency.Observe(took.Seconds())
	o := outcome{m: m, next: now, attempt: Attempt{MessageID: m.ID, At: now.UTC(), Status: status, Response: snippet,
		LatencyMS: float64(took.Microseconds()) / 1000}}
	if err != nil {
		o.attempt.Error = err.Error()
	}
	switch {
	case err == nil && status >= 200 && status < 300:
		s.deliveries.WithLabelValues("delivered").Inc()
		o.state = "delivered"
	case err == nil && status == http.StatusGone:
		// It stays pending: a replay once the endpoint is enabled again
		// sends it.
		s.deliveries.WithLabelValues("gone").Inc()
		o.state = "pending"
	case m.Attempts+1 > len(s.opts.Schedule):
		s.deliveries.WithLabelValues("failed").Inc()
		s.logger.WarnContext(ctx, "a webhook message was given up after its last attempt", slog.String("subscription", sub.ID), slog.String("message", m.ID))
		o.state = "failed"
	default:
		s.deliveries.WithLabelValues("retry").Inc()
		wait := s.opts.Schedule[m.Attempts]
		wait += time.Duration((rand.Float64()*0.4 - 0.2) * float64(wait))
		o.state, o.next = "pending", now.Add(wait)
	}
	return o
}

// disable turns sub off and says why, in the log and the metrics.
func (s *Service) disable(ctx context.Context, sub *Subscription, label, reason string) error {
	sub.Enabled, sub.DisabledReason, sub.UpdatedAt = false, reason, time.Now().UTC()
	if err := s.st.update(ctx, sub); err != nil {
		return err
	}
	s.disabled.WithLabelValues(label).Inc()
	s.logger.WarnContext(ctx, "subscription disabled: its owner can enable it again and replay what it missed",
		slog.String("subscription", sub.ID), slog.String("owner", sub.Owner), slog.String("url", sub.URL), slog.String("reason", reason))
	s.touch(ctx)
	return nil
}

// maxSnippet bounds the response kept in the delivery log.
const maxSnippet = 512

// send POSTs m to sub's endpoint, signed, and returns the status and the
// start of the response.
func (s *Service) send(ctx context.Context, sub *Subscription, m *Message, now time.Time) (int, string, error) {
	sig, err := Sign(m.ID, now, m.Body, sub.Secrets(now))
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(m.Body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("User-Agent", "Waybill-Webhooks/1")
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxSnippet))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, strings.ToValidUTF8(string(b), "?"), nil
}

// gauges reports what waits to be delivered and the endpoints disabled, on
// each scrape.
type gauges struct{ st store }

var (
	pendingDesc = prometheus.NewDesc("waybill_webhook_messages_pending",
		"Webhook messages waiting to be delivered (due now or waiting for a retry), all subscriptions together.", nil, nil)
	disabledDesc = prometheus.NewDesc("waybill_subscriptions_disabled",
		"Subscriptions disabled now: by their owner, after a 410 Gone, or after failing for subscriptions.disable_after.", nil, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- disabledDesc
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, disabled, err := g.st.gauges(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(disabledDesc, prometheus.GaugeValue, float64(disabled))
}
