package source

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/source/payload"
)

// ErrBadCursor is returned for a page cursor List did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// SourceSummary is what is stored of one source's payloads.
type SourceSummary struct {
	Source   string
	Payloads int64
	// LastReceived is when its newest payload was received.
	LastReceived time.Time
}

// Summaries returns, for every source with stored payloads, how many
// there are and when the newest came, by source. It reads the
// (source, received_at) index only.
func (s *Store) Summaries(ctx context.Context) ([]SourceSummary, error) {
	rows, err := s.db.Reader.QueryContext(ctx, `SELECT source, COUNT(*), MAX(received_at) FROM source_payloads GROUP BY source ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("summing up stored payloads: %w", err)
	}
	defer rows.Close()
	var out []SourceSummary
	for rows.Next() {
		var sum SourceSummary
		var at int64
		if err := rows.Scan(&sum.Source, &sum.Payloads, &at); err != nil {
			return nil, fmt.Errorf("summing up stored payloads: %w", err)
		}
		sum.LastReceived = time.UnixMicro(at).UTC()
		out = append(out, sum)
	}
	return out, rows.Err()
}

// ListParams selects a page of stored payloads.
type ListParams struct {
	// Source keeps one source's payloads; empty takes every source.
	Source string
	// Limit is the page size.
	Limit int
	// Cursor is the Next of the page before; empty for the first page.
	Cursor string
}

// List returns a page of stored payloads without their bodies or event
// links, the newest first, and the cursor of the next page ("" at the
// end). With a source it reads the (source, received_at) index.
func (s *Store) List(ctx context.Context, p ListParams) ([]*payload.Payload, string, error) {
	before, beforeID := int64(1<<62), ""
	if p.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		at, id, ok := strings.Cut(string(raw), "|")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || id == "" {
			return nil, "", ErrBadCursor
		}
		before, beforeID = n, id
	}
	const cols = `id, source, channel, name, content_type, sha256, received_at, correlation_id, status, error, events, duplicates`
	q := `SELECT ` + cols + ` FROM source_payloads WHERE (received_at < ? OR (received_at = ? AND id < ?))`
	args := []any{before, before, beforeID}
	if beforeID == "" {
		q = `SELECT ` + cols + ` FROM source_payloads WHERE received_at <= ?`
		args = []any{before}
	}
	if p.Source != "" {
		q += ` AND source = ?`
		args = append(args, p.Source)
	}
	q += ` ORDER BY received_at DESC, id DESC LIMIT ?`
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(q), append(args, p.Limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("listing payloads: %w", err)
	}
	defer rows.Close()
	var out []*payload.Payload
	for rows.Next() {
		var pl payload.Payload
		var at int64
		if err := rows.Scan(&pl.ID, &pl.Source, &pl.Channel, &pl.Name, &pl.ContentType, &pl.SHA256, &at, &pl.CorrelationID,
			&pl.Status, &pl.Error, &pl.Events, &pl.Duplicates); err != nil {
			return nil, "", fmt.Errorf("listing payloads: %w", err)
		}
		pl.ReceivedAt = time.UnixMicro(at).UTC()
		out = append(out, &pl)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing payloads: %w", err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		last := out[len(out)-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.ReceivedAt.UnixMicro(), 10) + "|" + last.ID))
	}
	return out, next, nil
}
