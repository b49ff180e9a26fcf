package reconcile

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/sqldb"
)

// page reads one page of table's records newest first, by created_at then
// id, with scan, and returns the cursor of the next page ("" when this is
// the last). what names the records in errors. key gives a record's
// creation time and id, which the cursor holds.
func page[T any](ctx context.Context, db *sqldb.DB, what, table, columns string, p ListParams,
	scan func(rowScanner) (T, error), key func(T) (time.Time, string)) ([]T, string, error) {
	if p.Limit < 1 || p.Limit > 500 {
		return nil, "", fmt.Errorf("%w: limit %d is not 1..500", ErrInvalid, p.Limit)
	}
	beforeAt, beforeID := int64(1<<62), ""
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		at, id, ok := strings.Cut(string(b), "/")
		var n int64
		if _, serr := fmt.Sscan(at, &n); err != nil || !ok || serr != nil || id == "" {
			return nil, "", fmt.Errorf("%w: cursor", ErrInvalid)
		}
		beforeAt, beforeID = n, id
	}
	rows, err := db.Reader.QueryContext(ctx, db.Dialect.Rebind(`SELECT `+columns+` FROM `+table+`
WHERE created_at < ? OR (created_at = ? AND id < ?) ORDER BY created_at DESC, id DESC LIMIT ?`), beforeAt, beforeAt, beforeID, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("listing %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		rec, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing %s: %w", what, err)
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		at, id := key(out[len(out)-1])
		next = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d/%s", at.UnixMicro(), id))
	}
	return out, next, nil
}
