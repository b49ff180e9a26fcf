package trackpage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/sqldb"
)

// ErrNotFound is returned for a link that does not exist.
var ErrNotFound = errors.New("tracking link not found")

// Link is a signed link to a shipment's tracking page, as stored.
type Link struct {
	ID         string     `json:"id"`
	ShipmentID string     `json:"shipment_id"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// CreatedBy is the id of the API key that made it.
	CreatedBy string `json:"created_by,omitempty"`
}

// Active reports whether the link leads to a page at now.
func (l *Link) Active(now time.Time) bool {
	return l.RevokedAt == nil && now.Before(l.ExpiresAt)
}

// Store keeps the links in the tracking_links table.
type Store struct {
	db *sqldb.DB
}

// NewStore returns the links store of db.
func NewStore(db *sqldb.DB) *Store { return &Store{db: db} }

const linkColumns = `id, shipment_id, created_at, expires_at, revoked_at, created_by`

// Insert stores l.
func (s *Store) Insert(ctx context.Context, l *Link) error {
	_, err := s.db.ExecContext(ctx, s.db.Dialect.Rebind(`INSERT INTO tracking_links (`+linkColumns+`) VALUES (?, ?, ?, ?, NULL, ?)`),
		l.ID, l.ShipmentID, l.CreatedAt.UnixMicro(), l.ExpiresAt.UnixMicro(), l.CreatedBy)
	if err != nil {
		return fmt.Errorf("storing tracking link: %w", err)
	}
	return nil
}

// Get returns the link with id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Link, error) {
	row := s.db.Reader.QueryRowContext(ctx, s.db.Dialect.Rebind(`SELECT `+linkColumns+` FROM tracking_links WHERE id = ?`), id)
	l, err := scanLink(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading tracking link: %w", err)
	}
	return l, nil
}

// List returns the links of shipment shipmentID, newest first, at most
// limit of them.
func (s *Store) List(ctx context.Context, shipmentID string, limit int) ([]*Link, error) {
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(`SELECT `+linkColumns+` FROM tracking_links
WHERE shipment_id = ? ORDER BY created_at DESC, id LIMIT ?`), shipmentID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing tracking links: %w", err)
	}
	defer rows.Close()
	out := []*Link{}
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, fmt.Errorf("listing tracking links: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tracking links: %w", err)
	}
	return out, nil
}

// Revoke marks the link with id revoked at at, unless it already is, and
// returns it; ErrNotFound when there is none.
func (s *Store) Revoke(ctx context.Context, id string, at time.Time) (*Link, error) {
	if _, err := s.db.ExecContext(ctx, s.db.Dialect.Rebind(`UPDATE tracking_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`),
		at.UnixMicro(), id); err != nil {
		return nil, fmt.Errorf("revoking tracking link: %w", err)
	}
	return s.Get(ctx, id)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanLink(row rowScanner) (*Link, error) {
	var (
		l                Link
		created, expires int64
		revoked          sql.NullInt64
	)
	if err := row.Scan(&l.ID, &l.ShipmentID, &created, &expires, &revoked, &l.CreatedBy); err != nil {
		return nil, err
	}
	l.CreatedAt, l.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	if revoked.Valid {
		t := time.UnixMicro(revoked.Int64).UTC()
		l.RevokedAt = &t
	}
	return &l, nil
}
