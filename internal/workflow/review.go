package workflow

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/shipment"
)

// ReviewParams selects a page of the review queue.
type ReviewParams struct {
	// Status filters by status when set: open, approved, rejected, resolved.
	Status string
	// OwnerRole filters by the role expected to act, when set.
	OwnerRole string
	// Limit is the page size, 1..500.
	Limit int
	// Cursor continues after the page that returned it.
	Cursor string
}

// ErrNoReview is returned for a review id that does not exist.
var ErrNoReview = errors.New("no such review")

// Reviews lists the review queue, oldest first, and the cursor of the next
// page ("" when this is the last).
func (s *Store) Reviews(ctx context.Context, p ReviewParams) ([]shipment.ReviewItem, string, error) {
	afterAt, afterID := int64(-1), ""
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		at, id, ok := strings.Cut(string(b), "/")
		n, perr := strconv.ParseInt(at, 10, 64)
		if err != nil || !ok || perr != nil || id == "" {
			return nil, "", ErrBadCursor
		}
		afterAt, afterID = n, id
	}
	q := s.db.Dialect.Rebind(`SELECT shipment_id, opened_at, doc FROM review_items
WHERE (? = '' OR status = ?) AND (? = '' OR owner_role = ?) AND (opened_at > ? OR (opened_at = ? AND id > ?))
ORDER BY opened_at, id LIMIT ?`)
	rows, err := s.db.Reader.QueryContext(ctx, q, p.Status, p.Status, p.OwnerRole, p.OwnerRole, afterAt, afterAt, afterID, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("listing reviews: %w", err)
	}
	defer rows.Close()
	var (
		out []shipment.ReviewItem
		ats []int64
	)
	for rows.Next() {
		var it shipment.ReviewItem
		var at int64
		var doc string
		if err := rows.Scan(&it.ShipmentID, &at, &doc); err != nil {
			return nil, "", fmt.Errorf("listing reviews: %w", err)
		}
		if err := json.Unmarshal([]byte(doc), &it.Review); err != nil {
			return nil, "", fmt.Errorf("decoding review: %w", err)
		}
		out, ats = append(out, it), append(ats, at)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing reviews: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		last := len(out) - 1
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ats[last], 10) + "/" + out[last].ID))
	}
	return out, next, nil
}

// GetReview returns one review with its shipment id.
func (s *Store) GetReview(ctx context.Context, id string) (shipment.ReviewItem, error) {
	var it shipment.ReviewItem
	var doc string
	err := s.db.Reader.QueryRowContext(ctx, s.db.Dialect.Rebind(`SELECT shipment_id, doc FROM review_items WHERE id = ?`), id).Scan(&it.ShipmentID, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return it, ErrNoReview
	}
	if err != nil {
		return it, fmt.Errorf("reading review %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(doc), &it.Review); err != nil {
		return it, fmt.Errorf("decoding review %s: %w", id, err)
	}
	return it, nil
}

// encodeReviews encodes the reviews of ships for one upsert per chunk.
func (s *Store) encodeReviews(ships []*shipment.Shipment) (docRows, error) {
	const upsert = ` ON CONFLICT (id) DO UPDATE SET status = excluded.status, owner_role = excluded.owner_role, decided_at = excluded.decided_at, doc = excluded.doc`
	const head = `INSERT INTO review_items (id, shipment_id, kind, status, owner_role, opened_at, decided_at, doc)`
	var all [][]any
	for _, sh := range ships {
		for _, r := range sh.Reviews {
			doc, err := json.Marshal(r)
			if err != nil {
				return docRows{}, fmt.Errorf("encoding review %s: %w", r.ID, err)
			}
			var decided any
			if r.DecidedAt != nil {
				decided = r.DecidedAt.UnixMicro()
			}
			all = append(all, []any{r.ID, sh.ID, r.Kind, r.Status, r.OwnerRole, r.OpenedAt.UnixMicro(), decided, string(doc)})
		}
	}
	return s.chunked(len(all), head, reviewColumns, upsert, func(args []any, i int) ([]any, error) {
		return append(args, all[i]...), nil
	})
}

// DecisionSource is the CloudEvents source of the review.decided events
// Waybill emits.
const DecisionSource = "waybill/review"

// DecisionEvent renders the review.decided event that records a decision
// on item. Its id is the review and the decision, so the same decision
// sent twice is a duplicate, and a different one a separate event that the
// shipment refuses once the review is closed.
func DecisionEvent(item shipment.ReviewItem, decision, actor, reason string, now time.Time) ([]byte, error) {
	return json.Marshal(event.CloudEvent{ID: item.ID + ":" + decision, Source: DecisionSource, Type: event.ReviewDecided,
		Subject: item.ShipmentID, Time: now.UTC(),
		Data: event.ReviewDecidedData{ReviewID: item.ID, Decision: decision, Actor: actor, Reason: reason}})
}
