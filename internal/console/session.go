package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/sqldb"
)

// session is one sign-in.
type session struct {
	KeyID     string
	CSRF      string
	ExpiresAt time.Time
}

// sessions owns the console_sessions table.
type sessions struct {
	db  *sqldb.DB
	ttl time.Duration
	now func() time.Time
}

// newToken returns 32 random bytes as URL-safe text.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// create starts a session for the key with id keyID and returns its token.
// Sessions expired for a day are deleted on the way.
func (s *sessions) create(ctx context.Context, keyID string) (string, *session, error) {
	now := s.now()
	token := newToken()
	sess := &session{KeyID: keyID, CSRF: newToken(), ExpiresAt: now.Add(s.ttl)}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Dialect.Rebind(`DELETE FROM console_sessions WHERE expires_at < ?`),
			now.Add(-24*time.Hour).UnixMicro()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.db.Dialect.Rebind(
			`INSERT INTO console_sessions (token_hash, key_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
			hashToken(token), keyID, sess.CSRF, now.UnixMicro(), sess.ExpiresAt.UnixMicro())
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("starting a console session: %w", err)
	}
	return token, sess, nil
}

// errNoSession is returned by get for a token that names no live session.
var errNoSession = errors.New("no console session")

// get returns the live session of token: errNoSession when it is unknown,
// expired or signed out.
func (s *sessions) get(ctx context.Context, token string) (*session, error) {
	if token == "" {
		return nil, errNoSession
	}
	var sess session
	var expires int64
	var revoked sql.NullInt64
	err := s.db.Reader.QueryRowContext(ctx, s.db.Dialect.Rebind(
		`SELECT key_id, csrf_token, expires_at, revoked_at FROM console_sessions WHERE token_hash = ?`), hashToken(token)).
		Scan(&sess.KeyID, &sess.CSRF, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("reading the console session: %w", err)
	}
	sess.ExpiresAt = time.UnixMicro(expires)
	if revoked.Valid || !s.now().Before(sess.ExpiresAt) {
		return nil, errNoSession
	}
	return &sess, nil
}

// revoke signs the session of token out.
func (s *sessions) revoke(ctx context.Context, token string) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.db.Dialect.Rebind(
			`UPDATE console_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL`), s.now().UnixMicro(), hashToken(token))
		return err
	})
	if err != nil {
		return fmt.Errorf("signing out: %w", err)
	}
	return nil
}
