package apikey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// mustCreateWith creates a key and fails the test on error.
func mustCreateWith(t testing.TB, s *Store, p *CreateParams) (string, *Key) {
	t.Helper()
	plain, k, err := s.CreateWith(context.Background(), p)
	if err != nil {
		t.Fatalf("CreateWith(%+v): %v", p, err)
	}
	return plain, k
}

func TestCreateWithLabelExpiryLimit(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		s := newStore(db, clk)
		s.DefaultLabel = "test"
		expires := clk.Now().Add(720 * time.Hour)

		plain, k := mustCreateWith(t, s, &CreateParams{Name: "tms", Scopes: []Scope{EventsWrite}, Label: "prod",
			ExpiresAt: expires, Limit: &Limit{Rate: 50, Burst: 100}})
		if !strings.HasPrefix(plain, "wb_prod_"+k.ID+"_") || len(plain) != plaintextLen+len("prod_") {
			t.Errorf("plaintext %q: want wb_prod_%s_<43 characters>", plain, k.ID)
		}
		want := &Key{ID: k.ID, Name: "tms", Scopes: []Scope{EventsWrite}, CreatedAt: clk.Now(), Label: "prod",
			ExpiresAt: &expires, Limit: &Limit{Rate: 50, Burst: 100}}
		if diff := cmp.Diff(want, k); diff != "" {
			t.Errorf("CreateWith mismatch (-want +got):\n%s", diff)
		}

		// The default label, and a burst of one second's worth.
		clk.Advance(time.Second) // List orders by creation
		plainDef, def := mustCreateWith(t, s, &CreateParams{Name: "ci", Scopes: []Scope{ShipmentsRead}, Limit: &Limit{Rate: 2.5}})
		if def.Label != "test" || !strings.HasPrefix(plainDef, "wb_test_") {
			t.Errorf("key without a label: got label %q, plaintext %q; want test and wb_test_…", def.Label, plainDef)
		}
		if diff := cmp.Diff(&Limit{Rate: 2.5, Burst: 3}, def.Limit); diff != "" {
			t.Errorf("limit without a burst mismatch (-want +got):\n%s", diff)
		}
		// Rate 0 is an explicit "unlimited", unlike no limit at all.
		clk.Advance(time.Second)
		_, unl := mustCreateWith(t, s, &CreateParams{Name: "loadgen", Scopes: []Scope{EventsWrite}, Limit: &Limit{}})
		if unl.Limit == nil || !unl.Limit.Unlimited() {
			t.Errorf("key with rate 0: got limit %v, want an unlimited one", unl.Limit)
		}

		// What was stored is what List and Verify (another process) see.
		keys, err := s.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if diff := cmp.Diff([]Key{*k, *def, *unl}, keys); diff != "" {
			t.Errorf("List mismatch (-want +got):\n%s", diff)
		}
		got, err := newStore(db, clk).Verify(ctx, plain)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if diff := cmp.Diff(k, got); diff != "" {
			t.Errorf("Verify mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestCreateWithInvalid(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := newStore(sqldbtest.SQLite(t), clk)
	for _, tt := range []struct {
		name    string
		p       CreateParams
		wantBad string
	}{
		{"upper-case label", CreateParams{Label: "Prod"}, `label "Prod"`},
		{"label with dash", CreateParams{Label: "pre-prod"}, `label "pre-prod"`},
		{"long label", CreateParams{Label: strings.Repeat("a", 17)}, "label"},
		{"expiry now", CreateParams{ExpiresAt: clk.Now()}, "not in the future"},
		{"expiry past", CreateParams{ExpiresAt: clk.Now().Add(-time.Hour)}, "not in the future"},
		{"negative rate", CreateParams{Limit: &Limit{Rate: -1}}, "rate -1"},
		{"huge rate", CreateParams{Limit: &Limit{Rate: 2e6}}, "rate"},
		{"negative burst", CreateParams{Limit: &Limit{Rate: 1, Burst: -1}}, "burst -1"},
		{"burst without rate", CreateParams{Limit: &Limit{Burst: 5}}, "burst without a rate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Name, p.Scopes = "ci", []Scope{Admin}
			_, _, err := s.CreateWith(t.Context(), &p)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantBad) {
				t.Errorf("CreateWith(%+v) = %v, want an ErrInvalid naming %s", p, err, tt.wantBad)
			}
		})
	}
	s.DefaultLabel = "Bad"
	if _, _, err := s.Create(t.Context(), "ci", []Scope{Admin}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Create with a bad default label = %v, want ErrInvalid", err)
	}
}

func TestCreateNameTaken(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		s := newStore(db, clk)
		_, first := mustCreate(t, s, "tms", EventsWrite)

		_, _, err := s.Create(ctx, "tms", []Scope{Admin})
		var taken *NameTakenError
		if !errors.As(err, &taken) || !errors.Is(err, ErrNameTaken) {
			t.Fatalf("Create(name of an active key) = %v, want a *NameTakenError", err)
		}
		if diff := cmp.Diff(&NameTakenError{Name: "tms", ID: first.ID}, taken); diff != "" {
			t.Errorf("NameTakenError mismatch (-want +got):\n%s", diff)
		}
		if keys, _ := s.List(ctx); len(keys) != 1 {
			t.Errorf("after the refused creation: got %d keys, want 1", len(keys))
		}

		// A revoked key's name may be used again.
		if _, err := s.Revoke(ctx, first.ID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		_, second := mustCreateWith(t, s, &CreateParams{Name: "tms", Scopes: []Scope{EventsWrite}, ExpiresAt: clk.Now().Add(time.Hour)})
		// So may an expired key's, once it has expired.
		if _, _, err := s.Create(ctx, "tms", []Scope{EventsWrite}); !errors.Is(err, ErrNameTaken) {
			t.Errorf("Create(name of a key expiring later) = %v, want ErrNameTaken", err)
		}
		clk.Advance(time.Hour)
		_, third := mustCreate(t, s, "tms", EventsWrite)

		// By name, Revoke picks the one active key.
		got, err := s.Revoke(ctx, "tms")
		if err != nil || got.ID != third.ID {
			t.Errorf("Revoke(tms) = %v, %v; want key %s (%s has expired)", got, err, third.ID, second.ID)
		}
	})
}

func TestVerifyExpired(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		cli := newStore(db, clk)
		server := newStore(db, clk)
		plain, k := mustCreateWith(t, cli, &CreateParams{Name: "temp", Scopes: []Scope{EventsWrite}, ExpiresAt: clk.Now().Add(time.Hour)})

		clk.Advance(time.Hour - time.Microsecond)
		if _, err := server.Verify(ctx, plain); err != nil {
			t.Fatalf("Verify just before expiry: %v", err)
		}
		// Expiry needs no reload: the cached key knows when it expires.
		clk.Advance(time.Microsecond)
		if _, err := server.Verify(ctx, plain); !errors.Is(err, ErrExpired) {
			t.Errorf("Verify at expiry = %v, want ErrExpired", err)
		}
		if n := server.loads.Load(); n != 1 {
			t.Errorf("got %d loads, want 1", n)
		}
		// Only a caller who knows the secret learns that it expired.
		if _, err := server.Verify(ctx, otherSecret(plain)); err != ErrUnknown {
			t.Errorf("Verify(wrong secret of an expired key) = %v, want ErrUnknown", err)
		}
		// Revocation is reported before expiry.
		if _, err := cli.Revoke(ctx, k.ID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if _, err := cli.Verify(ctx, plain); !errors.Is(err, ErrRevoked) {
			t.Errorf("Verify(revoked and expired) = %v, want ErrRevoked", err)
		}
	})
}

func TestVerifyLabel(t *testing.T) {
	t.Parallel()
	s := newStore(sqldbtest.SQLite(t), nil)
	plain, k := mustCreateWith(t, s, &CreateParams{Name: "tms", Scopes: []Scope{EventsWrite}, Label: "prod"})
	secret := plain[len(plain)-secretLen:]
	for _, tt := range []struct {
		name, in string
		want     error
	}{
		{"as issued", plain, nil},
		{"another label", plaintext("test", k.ID, secret), ErrUnknown},
		{"no label", plaintext("", k.ID, secret), ErrUnknown},
		{"empty label", "wb__" + k.ID + "_" + secret, ErrMalformed},
		{"upper-case label", "wb_PROD_" + k.ID + "_" + secret, ErrMalformed},
		{"label too long", plaintext(strings.Repeat("p", 17), k.ID, secret), ErrMalformed},
	} {
		if _, err := s.Verify(t.Context(), tt.in); err != tt.want {
			t.Errorf("%s: Verify(%q) = %v, want %v", tt.name, tt.in, err, tt.want)
		}
	}
	// A key without a label keeps the original format.
	plain, _ = mustCreate(t, s, "old", EventsWrite)
	if len(plain) != plaintextLen {
		t.Errorf("unlabelled plaintext %q: want %d characters", plain, plaintextLen)
	}
	if _, err := s.Verify(t.Context(), plain); err != nil {
		t.Errorf("Verify(unlabelled key) = %v", err)
	}
}

func TestAllow(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := newStore(sqldbtest.SQLite(t), clk)
	s.DefaultLimit = Limit{Rate: 1, Burst: 1}
	_, a := mustCreateWith(t, s, &CreateParams{Name: "a", Scopes: []Scope{EventsWrite}, Limit: &Limit{Rate: 2, Burst: 3}})
	_, b := mustCreateWith(t, s, &CreateParams{Name: "b", Scopes: []Scope{EventsWrite}, Limit: &Limit{Rate: 2, Burst: 3}})
	_, def := mustCreate(t, s, "default", EventsWrite)
	_, unl := mustCreateWith(t, s, &CreateParams{Name: "unlimited", Scopes: []Scope{EventsWrite}, Limit: &Limit{}})

	allow := func(k *Key, wantOK bool, wantWait time.Duration) {
		t.Helper()
		wait, ok := s.Allow(k)
		if ok != wantOK || wait != wantWait {
			t.Fatalf("Allow(%s) = %v, %t; want %v, %t", k.Name, wait, ok, wantWait, wantOK)
		}
	}
	for range 3 {
		allow(a, true, 0)
	}
	allow(a, false, 500*time.Millisecond)
	allow(a, false, 500*time.Millisecond) // a refusal takes no token
	// b has its own bucket, full while a's is empty.
	for range 3 {
		allow(b, true, 0)
	}
	clk.Advance(500 * time.Millisecond)
	allow(a, true, 0)
	allow(a, false, 500*time.Millisecond)

	// Without a limit of its own a key has the default.
	allow(def, true, 0)
	allow(def, false, time.Second)
	for range 1000 {
		allow(unl, true, 0)
	}
}

func TestAllowConcurrent(t *testing.T) {
	t.Parallel()
	s := newStore(sqldbtest.SQLite(t), newFakeClock()) // the clock stands still: no refill
	_, hammered := mustCreateWith(t, s, &CreateParams{Name: "hammered", Scopes: []Scope{EventsWrite}, Limit: &Limit{Rate: 1, Burst: 5}})
	_, calm := mustCreateWith(t, s, &CreateParams{Name: "calm", Scopes: []Scope{EventsWrite}, Limit: &Limit{Rate: 1, Burst: 80}})

	var mu sync.Mutex
	allowed := map[string]int{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				k := hammered
				if i%2 == 0 {
					k = calm
				}
				if _, ok := s.Allow(k); ok {
					mu.Lock()
					allowed[k.Name]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff(map[string]int{"hammered": 5, "calm": 80}, allowed); diff != "" {
		t.Errorf("allowed requests mismatch (-want +got):\n%s", diff)
	}
}

func TestAllowDropsInactiveKeys(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := newStore(sqldbtest.SQLite(t), clk)
	s.DefaultLimit = Limit{Rate: 10, Burst: 10}
	var keys []*Key
	for i := range 3 {
		p := &CreateParams{Name: fmt.Sprintf("k%d", i), Scopes: []Scope{EventsWrite}}
		if i == 2 {
			p.ExpiresAt = clk.Now().Add(time.Minute)
		}
		plain, k := mustCreateWith(t, s, p)
		if _, err := s.Verify(t.Context(), plain); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		s.Allow(k)
		keys = append(keys, k)
	}
	count := func() (n int) {
		s.limiters.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	if n := count(); n != 3 {
		t.Fatalf("got %d limiters, want 3", n)
	}
	if _, err := s.Revoke(t.Context(), keys[0].ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := s.Verify(t.Context(), unknownKey()); !errors.Is(err, ErrUnknown) { // reloads
		t.Fatalf("Verify(unknown) = %v", err)
	}
	if _, found := s.limiters.Load(keys[1].ID); count() != 1 || !found {
		t.Errorf("after revoking one key and the expiry of another: got %d limiters (active key's present: %t), want only the active key's", count(), found)
	}
}

func TestLastUse(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clk := newFakeClock()
		s := newStore(db, clk)
		plain, _ := mustCreate(t, s, "ci", EventsWrite)
		lastUse := func() *time.Time {
			t.Helper()
			keys, err := newStore(db, clk).List(ctx)
			if err != nil || len(keys) != 1 {
				t.Fatalf("List = %v, %v", keys, err)
			}
			return keys[0].LastUsedAt
		}
		verify := func() {
			t.Helper()
			if _, err := s.Verify(ctx, plain); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		}
		flush := func() {
			t.Helper()
			if err := s.flushUses(ctx); err != nil {
				t.Fatalf("flushUses: %v", err)
			}
		}

		first := clk.Now()
		verify()
		// The request path writes nothing.
		if got := lastUse(); got != nil {
			t.Fatalf("last use before Run wrote it: got %v, want none", got)
		}
		flush()
		if got := lastUse(); got == nil || !got.Equal(first) {
			t.Fatalf("last use: got %v, want %v", got, first)
		}
		// Within a minute, uses cost no write.
		for range 50 {
			clk.Advance(time.Second)
			verify()
		}
		flush()
		if n := s.useWrites.Load(); n != 1 {
			t.Errorf("50 uses within a minute of the first: got %d writes in all, want 1", n)
		}
		clk.Advance(10 * time.Second) // a minute after the first use
		verify()
		flush()
		if got, want := lastUse(), first.Add(time.Minute); got == nil || !got.Equal(want) {
			t.Errorf("last use a minute later: got %v, want %v", got, want)
		}
		if n := s.useWrites.Load(); n != 2 {
			t.Errorf("got %d writes, want 2", n)
		}
	})
}

func TestRunRecordsUse(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	s := newStore(db, nil)
	plain, _ := mustCreate(t, s, "ci", EventsWrite)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if _, err := s.Verify(t.Context(), plain); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		keys, err := s.List(t.Context())
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if keys[0].LastUsedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not record the use within 10 s")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an outcome
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestRunFlushesAtStop(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	s := newStore(db, nil)
	plain, _ := mustCreate(t, s, "ci", EventsWrite)
	if _, err := s.Verify(t.Context(), plain); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // Run starts stopped: it only writes what is pending
	if err := s.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	keys, err := s.List(t.Context())
	if err != nil || keys[0].LastUsedAt == nil {
		t.Errorf("after Run stopped: got %v, %v; want the use recorded", keys, err)
	}
}

// TestRequireLabel: a store of the prod environment accepts prod keys
// only; the same keys verify on a store without the requirement.
func TestRequireLabel(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(db, newFakeClock())
		prod, _ := mustCreateWith(t, s, &CreateParams{Name: "prod-key", Scopes: []Scope{EventsWrite}, Label: "prod"})
		test, _ := mustCreateWith(t, s, &CreateParams{Name: "test-key", Scopes: []Scope{EventsWrite}, Label: "test"})
		none, _ := mustCreateWith(t, s, &CreateParams{Name: "plain-key", Scopes: []Scope{EventsWrite}})
		for _, plain := range []string{prod, test, none} {
			if _, err := s.Verify(ctx, plain); err != nil {
				t.Fatalf("without a required label: %v", err)
			}
		}
		p := newStore(db, newFakeClock())
		p.RequireLabel = "prod"
		if _, err := p.Verify(ctx, prod); err != nil {
			t.Errorf("a prod key on prod: %v", err)
		}
		for name, plain := range map[string]string{"test": test, "unlabelled": none} {
			if _, err := p.Verify(ctx, plain); !errors.Is(err, ErrUnknown) {
				t.Errorf("a %s key on prod: got %v, want ErrUnknown", name, err)
			}
		}
	})
}
