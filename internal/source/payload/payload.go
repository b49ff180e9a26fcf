// Package payload is what Waybill exchanges with partners, as it keeps it:
// a payload a source sent (a webhook, an EDI file, a dropped file) or one
// Waybill sent (a load tender), with what became of it. Package source
// stores payloads; this package is only their model, so that connectors
// can build them without linking the store.
package payload

import (
	"errors"
	"time"
)

// Payload statuses.
const (
	// StatusAccepted: mapped, and its events are accepted.
	StatusAccepted = "accepted"
	// StatusRejected: nothing could be taken from it; Error says why.
	StatusRejected = "rejected"
	// StatusDeferred: intake was full; the sender retries.
	StatusDeferred = "deferred"
	// StatusDuplicate: a Standard Webhooks delivery whose id was handled
	// before; not stored again.
	StatusDuplicate = "duplicate"
	// StatusSent: an outbound payload (a 204 load tender) handed to its
	// carrier's outbox.
	StatusSent = "sent"
)

// Channels a payload arrives by.
const (
	ChannelWebhook = "webhook"
	ChannelEDI     = "edi"
	ChannelFolder  = "folder"
	// ChannelReplay is a stored payload received again (Intake.Replay);
	// its name is the original's id.
	ChannelReplay = "replay"
	// ChannelOutbound is what Waybill sends a partner (a 204 load tender).
	ChannelOutbound = "outbound"
)

// ErrNotFound is returned for a payload that does not exist.
var ErrNotFound = errors.New("payload not found")

// Payload is one stored payload.
type Payload struct {
	ID            string    `json:"id"`
	Source        string    `json:"source"`
	Channel       string    `json:"channel"`
	Name          string    `json:"name,omitempty"`
	ContentType   string    `json:"content_type,omitempty"`
	SHA256        string    `json:"sha256"`
	Body          []byte    `json:"-"`
	ReceivedAt    time.Time `json:"received_at"`
	CorrelationID string    `json:"correlation_id"`
	Status        string    `json:"status"`
	Error         string    `json:"error,omitempty"`
	Events        int       `json:"events"`
	Duplicates    int       `json:"duplicates"`
	// EventIDs are the CloudEvents ids of the events made from it, in
	// the source /sources/{source}.
	EventIDs []string `json:"event_ids"`
}
