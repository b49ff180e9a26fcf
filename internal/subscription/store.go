package subscription

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
)

// doc is what the doc column holds.
type doc struct {
	EventTypes  []string `json:"event_types"`
	Filter      Filter   `json:"filter"`
	Description string   `json:"description,omitempty"`
	Redact      []string `json:"redact,omitempty"`
	RateLimit   float64  `json:"rate_limit,omitempty"`
}

const subColumns = `id, owner, url, doc, secrets, enabled, disabled_reason, failing_since, created_at, updated_at`

// secretsPlace binds a subscription's sealed secrets to its row.
func secretsPlace(id string) string { return seal.Place("subscriptions", "secrets", id) }

// store is the subscriptions' tables.
type store struct{ db *sqldb.DB }

func (st store) q(s string) string { return st.db.Dialect.Rebind(s) }

func (st store) scan(row interface{ Scan(...any) error }) (*Subscription, error) {
	var s Subscription
	var d, secrets string
	var failing sql.NullInt64
	var created, updated int64
	if err := row.Scan(&s.ID, &s.Owner, &s.URL, &d, &secrets, &s.Enabled, &s.DisabledReason, &failing, &created, &updated); err != nil {
		return nil, err
	}
	var dc doc
	if err := json.Unmarshal([]byte(d), &dc); err != nil {
		return nil, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	s.EventTypes, s.Filter, s.Description, s.Redact, s.RateLimit = dc.EventTypes, dc.Filter, dc.Description, dc.Redact, dc.RateLimit
	raw, err := st.db.Keyring.OpenText(secrets, secretsPlace(s.ID))
	if err != nil {
		return nil, fmt.Errorf("subscription %s: opening its secrets: %w", s.ID, err)
	}
	if err := json.Unmarshal(raw, &s.secrets); err != nil {
		return nil, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	if failing.Valid {
		t := time.UnixMicro(failing.Int64).UTC()
		s.FailingSince = &t
	}
	s.CreatedAt, s.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if s.program, err = compile(s.Filter.Expression); err != nil {
		return nil, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	return &s, nil
}

// fields returns the doc and sealed secrets columns of s.
func (st store) fields(s *Subscription) (string, string, error) {
	d, err := json.Marshal(doc{EventTypes: s.EventTypes, Filter: s.Filter, Description: s.Description, Redact: s.Redact, RateLimit: s.RateLimit})
	if err != nil {
		return "", "", err
	}
	sec, err := json.Marshal(s.secrets)
	if err != nil {
		return "", "", err
	}
	return string(d), st.db.Keyring.SealText(sec, secretsPlace(s.ID)), nil
}

func (st store) insert(ctx context.Context, s *Subscription) error {
	d, sec, err := st.fields(s)
	if err != nil {
		return err
	}
	_, err = st.db.ExecContext(ctx, st.q(`INSERT INTO subscriptions (`+subColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`),
		s.ID, s.Owner, s.URL, d, sec, s.Enabled, s.DisabledReason, s.CreatedAt.UnixMicro(), s.UpdatedAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("storing subscription: %w", err)
	}
	return nil
}

func (st store) update(ctx context.Context, s *Subscription) error {
	d, sec, err := st.fields(s)
	if err != nil {
		return err
	}
	var failing any
	if s.FailingSince != nil {
		failing = s.FailingSince.UnixMicro()
	}
	res, err := st.db.ExecContext(ctx, st.q(`UPDATE subscriptions SET url = ?, doc = ?, secrets = ?, enabled = ?, disabled_reason = ?, failing_since = ?, updated_at = ? WHERE id = ?`),
		s.URL, d, sec, s.Enabled, s.DisabledReason, failing, s.UpdatedAt.UnixMicro(), s.ID)
	if err != nil {
		return fmt.Errorf("updating subscription: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// get returns subscription id; one of another owner is not found.
func (st store) get(ctx context.Context, id, owner string) (*Subscription, error) {
	s, err := st.scan(st.db.QueryRowContext(ctx, st.q(`SELECT `+subColumns+` FROM subscriptions WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != "" && s.Owner != owner) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading subscription: %w", err)
	}
	return s, nil
}

// list returns the subscriptions of owner, or all for "".
func (st store) list(ctx context.Context, owner string) ([]*Subscription, error) {
	q, args := `SELECT `+subColumns+` FROM subscriptions ORDER BY created_at, id`, []any{}
	if owner != "" {
		q, args = st.q(`SELECT `+subColumns+` FROM subscriptions WHERE owner = ? ORDER BY created_at, id`), []any{owner}
	}
	rows, err := st.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing subscriptions: %w", err)
	}
	defer rows.Close()
	var out []*Subscription
	for rows.Next() {
		s, err := st.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (st store) delete(ctx context.Context, id string) error {
	return st.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM webhook_messages WHERE subscription_id = ?`, `DELETE FROM webhook_attempts WHERE subscription_id = ?`, `DELETE FROM subscriptions WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, st.q(q), id); err != nil {
				return fmt.Errorf("deleting subscription: %w", err)
			}
		}
		return nil
	})
}

// Message is one event for one subscription.
type Message struct {
	Subscription string
	Seq          int64 // the event's acceptance number
	ID           string
	ShipmentID   string
	EventType    string
	Body         []byte
	CreatedAt    time.Time
	Attempts     int
}

var messageColumns = []string{"bigint", "text", "text", "text", "text", "text", "bigint", "text", "bigint"}

// insertTx writes msgs in tx.
func (st store) insertTx(ctx context.Context, tx *sql.Tx, msgs []Message) error {
	ins := st.db.Dialect.NewInsert(`INSERT INTO webhook_messages (seq, id, subscription_id, shipment_id, event_type, body, created_at, state, next_attempt_at)`,
		messageColumns, ` ON CONFLICT (subscription_id, seq) DO NOTHING`)
	for start := 0; start < len(msgs); start += 500 {
		chunk := msgs[start:min(start+500, len(msgs))]
		args := make([]any, 0, len(chunk)*len(messageColumns))
		for _, m := range chunk {
			at := m.CreatedAt.UnixMicro()
			args = append(args, m.Seq, m.ID, m.Subscription, m.ShipmentID, m.EventType, string(m.Body), at, "pending", at)
		}
		q, args := ins.Statement(args)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("writing webhook messages: %w", err)
		}
	}
	return nil
}

// heads returns, for up to limit shipments of sub, the oldest pending
// message when it is due by now: one message per shipment, so a shipment's
// later message never overtakes an earlier one, while the other shipments
// go on.
func (st store) heads(ctx context.Context, sub string, now time.Time, limit int) ([]*Message, error) {
	rows, err := st.db.QueryContext(ctx, st.q(`SELECT m.seq, m.id, m.shipment_id, m.event_type, m.body, m.created_at, m.attempts FROM webhook_messages m
WHERE m.subscription_id = ? AND m.state = 'pending' AND m.next_attempt_at <= ?
AND m.seq = (SELECT MIN(x.seq) FROM webhook_messages x WHERE x.subscription_id = m.subscription_id AND x.shipment_id = m.shipment_id AND x.state = 'pending')
ORDER BY m.seq LIMIT ?`), sub, now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("reading webhook messages: %w", err)
	}
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		m := &Message{Subscription: sub}
		var body string
		var created int64
		if err := rows.Scan(&m.Seq, &m.ID, &m.ShipmentID, &m.EventType, &body, &created, &m.Attempts); err != nil {
			return nil, fmt.Errorf("reading webhook messages: %w", err)
		}
		m.Body, m.CreatedAt = []byte(body), time.UnixMicro(created).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// outcome is the end of one attempt: the message's new state (delivered,
// failed, or pending with its next attempt) and the attempt for the log.
type outcome struct {
	m       *Message
	state   string
	next    time.Time
	attempt Attempt
}

// settle records a round of attempts in one transaction, and now and then
// trims the delivery log of sub.
func (st store) settle(ctx context.Context, sub string, outs []outcome) error {
	now := time.Now().UnixMicro()
	return st.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, o := range outs {
			var delivered any
			if o.state == "delivered" {
				delivered = now
			}
			if _, err := tx.ExecContext(ctx, st.q(`UPDATE webhook_messages SET state = ?, attempts = attempts + 1, next_attempt_at = ?, delivered_at = ? WHERE subscription_id = ? AND seq = ?`),
				o.state, o.next.UnixMicro(), delivered, sub, o.m.Seq); err != nil {
				return fmt.Errorf("recording a delivery: %w", err)
			}
			a := o.attempt
			if _, err := tx.ExecContext(ctx, st.q(`INSERT INTO webhook_attempts (subscription_id, message_id, at, status, latency_us, response, error) VALUES (?, ?, ?, ?, ?, ?, ?)`),
				sub, a.MessageID, a.At.UnixMicro(), a.Status, int64(a.LatencyMS*1000), a.Response, a.Error); err != nil {
				return fmt.Errorf("logging a delivery: %w", err)
			}
		}
		if now%8 != 0 { // about one round in 8 trims the log
			return nil
		}
		_, err := tx.ExecContext(ctx, st.q(`DELETE FROM webhook_attempts WHERE subscription_id = ? AND at < (
SELECT MIN(at) FROM (SELECT at FROM webhook_attempts WHERE subscription_id = ? ORDER BY at DESC LIMIT `+fmt.Sprint(logKeep)+`) AS kept)`), sub, sub)
		return err
	})
}

// Attempt is one delivery attempt, as the delivery log lists it.
type Attempt struct {
	MessageID string    `json:"message_id"`
	At        time.Time `json:"at"`
	// Status is the endpoint's HTTP status, 0 when it did not answer.
	Status int `json:"status"`
	// Latency is how long the endpoint took, in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// Response is the start of the endpoint's answer (at most 512 bytes).
	Response string `json:"response,omitempty"`
	// Error says why the attempt failed without an answer.
	Error string `json:"error,omitempty"`
}

// logKeep is how many attempts the delivery log keeps per subscription.
const logKeep = 200

// attempts returns the latest attempts of sub, newest first.
func (st store) attempts(ctx context.Context, sub string, limit int) ([]Attempt, error) {
	rows, err := st.db.QueryContext(ctx, st.q(`SELECT message_id, at, status, latency_us, response, error FROM webhook_attempts WHERE subscription_id = ? ORDER BY at DESC LIMIT ?`), sub, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the delivery log: %w", err)
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		var at, lat int64
		if err := rows.Scan(&a.MessageID, &at, &a.Status, &lat, &a.Response, &a.Error); err != nil {
			return nil, err
		}
		a.At, a.LatencyMS = time.UnixMicro(at).UTC(), float64(lat)/1000
		out = append(out, a)
	}
	return out, rows.Err()
}

// due returns the enabled subscriptions with a message due by now.
func (st store) due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := st.db.QueryContext(ctx, st.q(`SELECT DISTINCT m.subscription_id FROM webhook_messages m
JOIN subscriptions s ON s.id = m.subscription_id
WHERE m.state = 'pending' AND m.next_attempt_at <= ? AND s.enabled LIMIT ?`), now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("looking for due deliveries: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// replay makes the messages of sub created since then pending again, due
// now, and returns how many.
func (st store) replay(ctx context.Context, sub string, since time.Time) (int64, error) {
	now := time.Now().UnixMicro()
	res, err := st.db.ExecContext(ctx, st.q(`UPDATE webhook_messages SET state = 'pending', attempts = 0, next_attempt_at = ?, delivered_at = NULL WHERE subscription_id = ? AND created_at >= ?`),
		now, sub, since.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("replaying: %w", err)
	}
	return res.RowsAffected()
}

// counts returns how many messages of sub are in each state.
func (st store) counts(ctx context.Context, sub string) (map[string]int64, error) {
	rows, err := st.db.QueryContext(ctx, st.q(`SELECT state, COUNT(*) FROM webhook_messages WHERE subscription_id = ? GROUP BY state`), sub)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// prune deletes the delivered and given-up messages written before then,
// and returns how many.
func (st store) prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := st.db.ExecContext(ctx, st.q(`DELETE FROM webhook_messages WHERE state <> 'pending' AND created_at < ?`), before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("pruning webhook messages: %w", err)
	}
	return res.RowsAffected()
}

// gauges counts the pending messages and the disabled subscriptions.
func (st store) gauges(ctx context.Context) (pending, disabled int64, err error) {
	err = st.db.Reader.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM webhook_messages WHERE state = 'pending'),
(SELECT COUNT(*) FROM subscriptions WHERE NOT enabled)`).Scan(&pending, &disabled)
	if err != nil {
		err = fmt.Errorf("counting webhook messages: %w", err)
	}
	return pending, disabled, err
}
