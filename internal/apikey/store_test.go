package apikey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newStore returns a Store on db whose clock is clk (the real clock when clk
// is nil).
func newStore(db *sqldb.DB, clk *fakeClock) *Store {
	s := NewStore(db)
	if clk != nil {
		s.now = clk.Now
	}
	return s
}

// mustCreate creates a key and fails the test on error.
func mustCreate(t testing.TB, s *Store, name string, scopes ...Scope) (string, *Key) {
	t.Helper()
	plain, k, err := s.Create(context.Background(), name, scopes)
	if err != nil {
		t.Fatalf("Create(%q, %v): %v", name, scopes, err)
	}
	return plain, k
}

// otherSecret returns plain with a different, well-formed secret.
func otherSecret(plain string) string {
	_, secret, _ := newPlaintext()
	return plain[:len(keyPrefix)+idLen+1] + secret
}

// unknownKey returns a well-formed key that no Store knows.
func unknownKey() string {
	id, secret, _ := newPlaintext()
	return keyPrefix + id + "_" + secret
}

func TestCreateVerify(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(db, nil)
		plain, k := mustCreate(t, s, "ci-bot", EventsWrite, ShipmentsRead, EventsWrite)

		if len(plain) != plaintextLen || !strings.HasPrefix(plain, "wb_"+k.ID+"_") {
			t.Fatalf("plaintext %q: want wb_%s_<43 characters>", plain, k.ID)
		}
		want := &Key{ID: k.ID, Name: "ci-bot", Scopes: []Scope{EventsWrite, ShipmentsRead}, CreatedAt: k.CreatedAt}
		if diff := cmp.Diff(want, k); diff != "" {
			t.Errorf("Create returned key mismatch (-want +got):\n%s", diff)
		}

		// This Store and a fresh one (another process) both accept the key.
		for name, s := range map[string]*Store{"same store": s, "other store": newStore(db, nil)} {
			got, err := s.Verify(ctx, plain)
			if err != nil {
				t.Fatalf("%s: Verify: %v", name, err)
			}
			if diff := cmp.Diff(k, got); diff != "" {
				t.Errorf("%s: Verify mismatch (-want +got):\n%s", name, diff)
			}
			if !got.Has(EventsWrite) || got.Has(Admin) {
				t.Errorf("%s: Has(events:write), Has(admin) = %t, %t; want true, false", name, got.Has(EventsWrite), got.Has(Admin))
			}
		}

		// The returned Key is the caller's: changing it changes nothing.
		got, _ := s.Verify(ctx, plain)
		got.Scopes[0] = Admin
		if again, _ := s.Verify(ctx, plain); again.Has(Admin) {
			t.Errorf("changing a Key returned by Verify changed the cache")
		}

		// Only the SHA-256 of the secret is stored.
		entries, err := s.load(ctx)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		secret := plain[len(plain)-secretLen:]
		if e := entries[k.ID]; e == nil || !e.ok || e.hash != sha256.Sum256([]byte(secret)) {
			t.Errorf("stored hash of %s is not SHA-256(secret)", k.ID)
		}
	})
}

func TestCreateInvalid(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(db, nil)
		tests := []struct {
			name    string
			keyName string
			scopes  []Scope
		}{
			{"empty name", "", []Scope{Admin}},
			{"long name", strings.Repeat("a", 65), []Scope{Admin}},
			{"space in name", "ci bot", []Scope{Admin}},
			{"no scopes", "ci", nil},
			{"unknown scope", "ci", []Scope{EventsWrite, "root"}},
		}
		for _, tt := range tests {
			plain, k, err := s.Create(t.Context(), tt.keyName, tt.scopes)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: Create(%q, %v) = %q, %v, %v; want an error matching ErrInvalid", tt.name, tt.keyName, tt.scopes, plain, k, err)
			}
		}
		keys, err := s.List(t.Context())
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(keys) != 0 {
			t.Errorf("List after invalid creates: got %d keys, want 0", len(keys))
		}
	})
}

func TestVerifyUnknown(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(db, nil)
		plain, _ := mustCreate(t, s, "ci", Admin)
		tests := map[string]string{
			"wrong secret": otherSecret(plain),
			"unknown id":   unknownKey(),
		}
		for name, presented := range tests {
			k, err := s.Verify(t.Context(), presented)
			if err != ErrUnknown { // identity, not errors.Is: the point is that nothing tells them apart
				t.Errorf("%s: Verify = %v, %v; want ErrUnknown itself", name, k, err)
			}
		}
	})
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(db, nil)
		plain, _ := mustCreate(t, s, "ci", Admin)
		id := plain[3:15]
		secret := plain[16:]
		// A canonical secret ends in a character whose low two bits are
		// zero; 'B' (1) is not canonical.
		nonCanonical := secret[:42] + "B"
		tests := []struct {
			name, in string
		}{
			{"empty", ""},
			{"prefix only", "wb_"},
			{"wrong prefix", "wk_" + id + "_" + secret},
			{"upper-case prefix", "WB_" + id + "_" + secret},
			{"no separator", "wb_" + id + secret},
			{"wrong separator", "wb_" + id + "-" + secret},
			{"short id", "wb_" + id[:11] + "_" + secret},
			{"long id", "wb_" + id + "0_" + secret},
			{"upper-case id", "wb_ABCDEF012345_" + secret},
			{"non-hex id", "wb_" + "g" + id[1:] + "_" + secret},
			{"short secret", "wb_" + id + "_" + secret[:42]},
			{"long secret", "wb_" + id + "_" + secret + "A"},
			{"padded secret", "wb_" + id + "_" + secret + "="},
			{"standard base64", "wb_" + id + "_" + secret[:42] + "+"},
			{"bad base64 character", "wb_" + id + "_" + "!" + secret[1:]},
			{"non-canonical secret", "wb_" + id + "_" + nonCanonical},
			{"surrounding space", " " + plain},
			{"bearer", "Bearer " + plain},
		}
		for _, tt := range tests {
			k, err := s.Verify(t.Context(), tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: Verify(%q) = %v, %v; want ErrMalformed", tt.name, tt.in, k, err)
			}
		}
		if n := s.loads.Load(); n != 0 {
			t.Errorf("malformed keys caused %d loads of the key table, want 0", n)
		}
	})
}

func TestRevokeFromOtherProcess(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		server := newStore(db, nil)
		server.CacheTTL = 20 * time.Millisecond
		cli := newStore(db, nil) // the CLI, in another process

		plain, k := mustCreate(t, cli, "ci", EventsWrite)
		if _, err := server.Verify(ctx, plain); err != nil {
			t.Fatalf("Verify before revocation: %v", err)
		}
		revoked, err := cli.Revoke(ctx, k.ID)
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if revoked.RevokedAt == nil {
			t.Fatalf("Revoke returned a key without RevokedAt")
		}
		want := *k
		want.RevokedAt = revoked.RevokedAt
		if diff := cmp.Diff(&want, revoked); diff != "" {
			t.Errorf("Revoke mismatch (-want +got):\n%s", diff)
		}

		// The server notices once its cache expires.
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := server.Verify(ctx, plain)
			if errors.Is(err, ErrRevoked) {
				break
			}
			if err != nil {
				t.Fatalf("Verify after revocation: %v", err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("Verify still accepts the key 5 s after revocation (CacheTTL %v)", server.CacheTTL)
			}
			time.Sleep(time.Millisecond) // polling interval, not a wait for an outcome
		}

		// A wrong secret for a revoked key does not reveal the revocation.
		if _, err := server.Verify(ctx, otherSecret(plain)); !errors.Is(err, ErrUnknown) {
			t.Errorf("Verify(wrong secret of revoked key) = %v, want ErrUnknown", err)
		}

		// Revoking again changes nothing.
		again, err := cli.Revoke(ctx, k.ID)
		if err != nil {
			t.Fatalf("Revoke again: %v", err)
		}
		if diff := cmp.Diff(revoked, again); diff != "" {
			t.Errorf("second Revoke mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestRevokeSameStoreIsImmediate(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(db, nil) // default CacheTTL: 5 s
		plain, k := mustCreate(t, s, "ci", Admin)
		if _, err := s.Verify(t.Context(), plain); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if _, err := s.Revoke(t.Context(), k.ID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if _, err := s.Verify(t.Context(), plain); !errors.Is(err, ErrRevoked) {
			t.Errorf("Verify right after Revoke on the same Store = %v, want ErrRevoked", err)
		}
	})
}

func TestRevokeByName(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		s := newStore(db, clk)
		create := func(name string) *Key {
			t.Helper()
			clk.Advance(time.Second)
			_, k := mustCreate(t, s, name, EventsWrite)
			return k
		}
		// Two active keys with one name: Create refuses that now, but
		// tables from before it did may hold them.
		legacy := func(name string) *Key {
			t.Helper()
			k := create(name + "-" + fmt.Sprint(clk.Now().Unix()))
			if _, err := db.ExecContext(ctx, db.Dialect.Rebind(`UPDATE api_keys SET name = ? WHERE id = ?`), name, k.ID); err != nil {
				t.Fatalf("renaming key %s: %v", k.ID, err)
			}
			k.Name = name
			return k
		}
		ci1, ci2, solo := legacy("ci"), legacy("ci"), create("solo")

		revoke := func(idOrName string, want *Key) {
			t.Helper()
			got, err := s.Revoke(ctx, idOrName)
			if err != nil {
				t.Fatalf("Revoke(%q): %v", idOrName, err)
			}
			if got.ID != want.ID || got.RevokedAt == nil {
				t.Fatalf("Revoke(%q) = key %s revoked at %v, want key %s revoked", idOrName, got.ID, got.RevokedAt, want.ID)
			}
		}
		ambiguous := func(name string, wantIDs ...string) {
			t.Helper()
			_, err := s.Revoke(ctx, name)
			var amb *AmbiguousError
			if !errors.As(err, &amb) || !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("Revoke(%q) = %v, want an *AmbiguousError", name, err)
			}
			if diff := cmp.Diff(&AmbiguousError{Name: name, IDs: wantIDs}, amb); diff != "" {
				t.Errorf("Revoke(%q) error mismatch (-want +got):\n%s", name, diff)
			}
			for _, id := range wantIDs {
				if !strings.Contains(err.Error(), id) {
					t.Errorf("Revoke(%q) error %q does not list %s", name, err, id)
				}
			}
		}

		revoke("solo", solo)
		revoke("solo", solo) // the one key named solo is revoked: a no-op
		ambiguous("ci", ci1.ID, ci2.ID)
		revoke(ci1.ID, ci1)
		revoke("ci", ci2) // the one active key named ci
		ambiguous("ci", ci1.ID, ci2.ID)

		if _, err := s.Revoke(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Revoke(unknown name) = %v, want ErrNotFound", err)
		}
		if _, err := s.Revoke(ctx, "000000000000"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Revoke(unknown id) = %v, want ErrNotFound", err)
		}

		// An id wins over a name.
		target := create("target")
		decoy := create(target.ID)
		revoke(target.ID, target)
		keys, err := s.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, k := range keys {
			if k.ID == decoy.ID && k.RevokedAt != nil {
				t.Errorf("Revoke(%q) revoked the key named %q too", target.ID, target.ID)
			}
		}
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		s := newStore(db, clk)

		keys, err := s.List(ctx)
		if err != nil || len(keys) != 0 {
			t.Fatalf("List on an empty table = %v, %v; want no keys", keys, err)
		}

		var want []Key
		var plains []string
		for i, scopes := range [][]Scope{{Admin}, {EventsWrite}, {ShipmentsRead, EventsWrite}} {
			clk.Advance(-time.Minute) // newest first in time, to check the order
			plain, k := mustCreate(t, s, "key-"+string(rune('a'+i)), scopes...)
			want = slices.Insert(want, 0, *k)
			plains = append(plains, plain)
		}
		revoked, err := s.Revoke(ctx, want[1].ID)
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		want[1].RevokedAt = revoked.RevokedAt

		got, err := s.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List mismatch (-want +got):\n%s", diff)
		}

		// No secret material in what List returns.
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("marshalling keys: %v", err)
		}
		for _, plain := range plains {
			secret := plain[len(plain)-secretLen:]
			sum := sha256.Sum256([]byte(secret))
			for what, s := range map[string]string{"secret": secret, "secret hash": hex.EncodeToString(sum[:])} {
				if strings.Contains(string(b), s) {
					t.Errorf("listed keys in JSON contain the %s %s:\n%s", what, s, b)
				}
			}
		}

		// JSON field names are snake_case; revoked_at appears once revoked.
		var fields []map[string]any
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatalf("unmarshalling keys: %v", err)
		}
		for i, f := range fields {
			var names []string
			for name := range f {
				names = append(names, name)
			}
			slices.Sort(names)
			wantNames := []string{"created_at", "id", "label", "name", "scopes"}
			if want[i].RevokedAt != nil {
				wantNames = []string{"created_at", "id", "label", "name", "revoked_at", "scopes"}
			}
			if diff := cmp.Diff(wantNames, names); diff != "" {
				t.Errorf("JSON fields of key %d mismatch (-want +got):\n%s", i, diff)
			}
		}
	})
}

func TestVerifyCache(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		server := newStore(db, clk)
		cli := newStore(db, clk)
		plain, k := mustCreate(t, cli, "ci", EventsWrite)

		if _, err := server.Verify(ctx, plain); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		for range 100 {
			if _, err := server.Verify(ctx, plain); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		}
		if n := server.loads.Load(); n != 1 {
			t.Errorf("101 verifications of a known key: got %d loads, want 1", n)
		}

		// A revocation elsewhere shows once the cache is CacheTTL old.
		if _, err := cli.Revoke(ctx, k.ID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		clk.Advance(CacheTTLDefault - time.Millisecond)
		if _, err := server.Verify(ctx, plain); err != nil {
			t.Errorf("Verify just inside CacheTTL = %v, want nil (cached)", err)
		}
		clk.Advance(time.Millisecond)
		if _, err := server.Verify(ctx, plain); !errors.Is(err, ErrRevoked) {
			t.Errorf("Verify at CacheTTL = %v, want ErrRevoked", err)
		}
		if n := server.loads.Load(); n != 2 {
			t.Errorf("got %d loads, want 2", n)
		}
	})
}

func TestVerifyUnknownIDReloads(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		server := newStore(db, clk)
		cli := newStore(db, clk)

		if _, err := server.Verify(ctx, unknownKey()); !errors.Is(err, ErrUnknown) {
			t.Fatalf("Verify(unknown) = %v, want ErrUnknown", err)
		}
		// A key created elsewhere less than a second after the last load
		// waits for the next one.
		plain, _ := mustCreate(t, cli, "ci", EventsWrite)
		clk.Advance(unknownReloadInterval - time.Millisecond)
		if _, err := server.Verify(ctx, plain); !errors.Is(err, ErrUnknown) {
			t.Errorf("Verify(new key) within the reload interval = %v, want ErrUnknown", err)
		}
		// A flood of random ids costs nothing more.
		flood := func() {
			for range 1000 {
				if _, err := server.Verify(ctx, unknownKey()); !errors.Is(err, ErrUnknown) {
					t.Fatalf("Verify(unknown) = %v, want ErrUnknown", err)
				}
			}
		}
		flood()
		if n := server.loads.Load(); n != 1 {
			t.Errorf("got %d loads, want 1", n)
		}
		// A second after the last load, an unknown id reloads at once.
		clk.Advance(time.Millisecond)
		if _, err := server.Verify(ctx, plain); err != nil {
			t.Errorf("Verify(new key) after the reload interval = %v, want nil", err)
		}
		flood()
		if n := server.loads.Load(); n != 2 {
			t.Errorf("got %d loads, want 2", n)
		}
	})
}

func TestVerifyDatabaseDown(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		s := newStore(db, clk)
		plain, _ := mustCreate(t, s, "ci", EventsWrite)
		if _, err := s.Verify(ctx, plain); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		db.Close()

		// A fresh cache needs no database.
		if _, err := s.Verify(ctx, plain); err != nil {
			t.Errorf("Verify with a fresh cache and a closed database = %v, want nil", err)
		}
		// A stale one cannot vouch for the key: the error is not a verdict.
		clk.Advance(CacheTTLDefault)
		for _, presented := range []string{plain, unknownKey()} {
			_, err := s.Verify(ctx, presented)
			if err == nil || errors.Is(err, ErrUnknown) || errors.Is(err, ErrRevoked) || errors.Is(err, ErrMalformed) {
				t.Errorf("Verify with a stale cache and a closed database = %v, want a database error", err)
			}
		}
	})
}

func TestVerifyWaitRespectsContext(t *testing.T) {
	t.Parallel()
	s := newStore(sqldbtest.SQLite(t), nil)
	plain, _ := mustCreate(t, s, "ci", EventsWrite)

	s.reloading <- struct{}{} // a reload that never ends
	defer func() { <-s.reloading }()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Verify(ctx, plain); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify while a reload hangs = %v, want context.DeadlineExceeded", err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(db, nil)
		s.CacheTTL = time.Millisecond // reload often, to race reloads with lookups
		cli := newStore(db, nil)

		var plains []string
		for _, name := range []string{"a", "b", "c", "doomed"} {
			plain, _ := mustCreate(t, cli, name, EventsWrite)
			plains = append(plains, plain)
		}
		doomed := plains[3]

		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := cli.Revoke(ctx, "doomed"); err != nil {
				t.Errorf("Revoke: %v", err)
			}
			for i := range 5 {
				if _, _, err := s.Create(ctx, fmt.Sprintf("more-%d", i), []Scope{ShipmentsRead}); err != nil {
					t.Errorf("Create: %v", err)
				}
			}
		})
		for range 8 {
			wg.Go(func() {
				for i := range 200 {
					plain := plains[i%3]
					if k, err := s.Verify(ctx, plain); err != nil || !k.Has(EventsWrite) {
						t.Errorf("Verify(valid) = %v, %v", k, err)
						return
					}
					if _, err := s.Verify(ctx, otherSecret(plain)); !errors.Is(err, ErrUnknown) {
						t.Errorf("Verify(wrong secret) = %v, want ErrUnknown", err)
						return
					}
					if _, err := s.Verify(ctx, doomed); err != nil && !errors.Is(err, ErrRevoked) {
						t.Errorf("Verify(key being revoked) = %v, want nil or ErrRevoked", err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

// BenchmarkVerify measures Verify of a valid key on a fresh cache: the path
// every request takes.
func BenchmarkVerify(b *testing.B) {
	s := NewStore(sqldbtest.SQLite(b))
	s.CacheTTL = time.Hour
	for i := range 1000 { // a realistic table, not a single entry
		mustCreate(b, s, fmt.Sprintf("filler-%d", i), EventsWrite)
	}
	plain, _ := mustCreate(b, s, "bench", EventsWrite)
	ctx := context.Background()
	if _, err := s.Verify(ctx, plain); err != nil {
		b.Fatalf("Verify: %v", err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Verify(ctx, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Verify(ctx, plain); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	if n := s.loads.Load(); n != 1 {
		b.Errorf("got %d loads of the key table, want 1", n)
	}
}
