package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func newSigner(t testing.TB) *audit.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return audit.NewSigner(priv)
}

// clock is a test clock that moves one second per reading.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// fill appends n entries: key.created for odd seqs, review.decided for even.
func fill(t *testing.T, s *audit.Store, n int) []*audit.Entry {
	t.Helper()
	var out []*audit.Entry
	for i := 1; i <= n; i++ {
		r := audit.Record{Actor: "cli:ops", Action: audit.ActionKeyCreated, Subject: fmt.Sprintf("k%d", i),
			Details: map[string]any{"name": fmt.Sprintf("key-%d", i), "scopes": []string{"admin"}}}
		if i%2 == 0 {
			r = audit.Record{Actor: "key:claims", Action: audit.ActionReviewDecided, Subject: fmt.Sprintf("r%d", i),
				Details: map[string]string{"decision": "approve"}}
		}
		e, err := s.Append(t.Context(), r)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func exec(t *testing.T, db *sqldb.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), db.Dialect.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestAppendAndVerify(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		signer := newSigner(t)
		s := audit.NewStore(db, signer, &audit.StoreOptions{Now: clock()})
		ring := audit.NewKeyRing(signer.Public())

		rep, err := s.Verify(t.Context(), ring)
		if err != nil {
			t.Fatalf("verify empty: %v", err)
		}
		if got, want := rep.String(), "ok: 0 entries, last seq 0, head hash "+audit.GenesisHash; got != want {
			t.Errorf("empty: got %q, want %q", got, want)
		}

		entries := fill(t, s, 5)
		first := entries[0]
		if first.Seq != 1 || first.PrevHash != audit.GenesisHash || first.KeyID != signer.ID() {
			t.Errorf("first entry: seq %d prev %s key %s", first.Seq, first.PrevHash, first.KeyID)
		}
		if got, want := first.Time, time.Date(2026, 12, 1, 8, 0, 1, 123456000, time.UTC); !got.Equal(want) {
			t.Errorf("time: got %v, want %v (UTC, microseconds)", got, want)
		}
		if got, want := string(first.Details), `{"name":"key-1","scopes":["admin"]}`; got != want {
			t.Errorf("details: got %s, want %s", got, want)
		}
		for i := 1; i < len(entries); i++ {
			if entries[i].PrevHash != entries[i-1].Hash || entries[i].Seq != int64(i+1) {
				t.Errorf("entry %d: seq %d, prev %s, want seq %d, prev %s", i, entries[i].Seq, entries[i].PrevHash, i+1, entries[i-1].Hash)
			}
		}
		rep, err = s.Verify(t.Context(), ring)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		want := &audit.Report{Entries: 5, LastSeq: 5, HeadHash: entries[4].Hash}
		if diff := cmp.Diff(want, rep); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
		if _, err := s.Verify(t.Context(), ring, audit.Anchor{Seq: 3, Hash: entries[2].Hash}); err != nil {
			t.Errorf("verify with a good anchor: %v", err)
		}

		// What List returns is what Append returned.
		list, _, err := s.List(t.Context(), audit.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(*entries[4], list[0]); diff != "" {
			t.Errorf("listed entry 5 (-appended +listed):\n%s", diff)
		}
	})
}

func TestVerifyNamesTheFirstBadEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tamper  func(t *testing.T, db *sqldb.DB, entries []*audit.Entry)
		anchors func(entries []*audit.Entry) []audit.Anchor
		other   bool // verify with another key
		want    audit.BrokenError
	}{{
		name: "details changed",
		tamper: func(t *testing.T, db *sqldb.DB, _ []*audit.Entry) {
			exec(t, db, `UPDATE audit_log SET details = ? WHERE seq = 3`, `{"name":"key-3","scopes":["events:write"]}`)
		},
		want: audit.BrokenError{Seq: 3, Reason: "changed: its hash does not match its content"},
	}, {
		name: "actor changed",
		tamper: func(t *testing.T, db *sqldb.DB, _ []*audit.Entry) {
			exec(t, db, `UPDATE audit_log SET actor = 'key:someone-else' WHERE seq = 2`)
		},
		want: audit.BrokenError{Seq: 2, Reason: "changed: its hash does not match its content"},
	}, {
		name: "middle entry deleted",
		tamper: func(t *testing.T, db *sqldb.DB, _ []*audit.Entry) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 3`)
		},
		want: audit.BrokenError{Seq: 3, Reason: "missing (removed?): the chain goes on at seq 4"},
	}, {
		name: "middle entry deleted and the rest renumbered",
		tamper: func(t *testing.T, db *sqldb.DB, _ []*audit.Entry) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 3`)
			exec(t, db, `UPDATE audit_log SET seq = 3 WHERE seq = 4`)
			exec(t, db, `UPDATE audit_log SET seq = 4 WHERE seq = 5`)
			exec(t, db, `UPDATE audit_head SET seq = 4`)
		},
		want: audit.BrokenError{Seq: 3, Reason: "its prev_hash is not the hash of the entry before"},
	}, {
		name: "last entry deleted",
		tamper: func(t *testing.T, db *sqldb.DB, _ []*audit.Entry) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 5`)
		},
		want: audit.BrokenError{Seq: 5, Reason: "missing (removed?): the head records seq 5"},
	}, {
		name: "last entry deleted and the head rewound: the anchor catches it",
		tamper: func(t *testing.T, db *sqldb.DB, entries []*audit.Entry) {
			exec(t, db, `DELETE FROM audit_log WHERE seq = 5`)
			exec(t, db, `UPDATE audit_head SET seq = 4, hash = ?`, entries[3].Hash)
		},
		anchors: func(entries []*audit.Entry) []audit.Anchor {
			return []audit.Anchor{{Seq: 5, Hash: entries[4].Hash}}
		},
		want: audit.BrokenError{Seq: 5, Reason: "missing (removed?): the anchor records seq 5"},
	}, {
		name: "hash recomputed after a change: the signature fails",
		tamper: func(t *testing.T, db *sqldb.DB, entries []*audit.Entry) {
			e := *entries[1]
			e.Details = []byte(`{"decision":"reject"}`)
			exec(t, db, `UPDATE audit_log SET details = ?, hash = ? WHERE seq = 2`, string(e.Details), e.CanonicalHash())
		},
		want: audit.BrokenError{Seq: 2, Reason: "its signature does not verify with key %s (hash rewritten?)"},
	}, {
		name:   "signed by a key the key file does not hold",
		tamper: func(*testing.T, *sqldb.DB, []*audit.Entry) {},
		other:  true,
		want:   audit.BrokenError{Seq: 1, Reason: "signed by key %s, which the key file does not hold"},
	}, {
		name: "an entry added beyond the head",
		tamper: func(t *testing.T, db *sqldb.DB, entries []*audit.Entry) {
			exec(t, db, `UPDATE audit_head SET seq = 4, hash = ?`, entries[3].Hash)
		},
		want: audit.BrokenError{Seq: 5, Reason: "beyond the head, which records seq 4 (added around the chain?)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
				signer := newSigner(t)
				s := audit.NewStore(db, signer, &audit.StoreOptions{Now: clock()})
				entries := fill(t, s, 5)
				tt.tamper(t, db, entries)
				ring := audit.NewKeyRing(signer.Public())
				want := tt.want
				if tt.other {
					ring = audit.NewKeyRing(newSigner(t).Public())
				}
				if strings.Contains(want.Reason, "%s") {
					want.Reason = fmt.Sprintf(want.Reason, signer.ID())
				}
				var anchors []audit.Anchor
				if tt.anchors != nil {
					anchors = tt.anchors(entries)
				}
				rep, err := s.Verify(t.Context(), ring, anchors...)
				var be *audit.BrokenError
				if !errors.As(err, &be) {
					t.Fatalf("verify: got %v, %v; want a *BrokenError", rep, err)
				}
				if !errors.Is(err, audit.ErrBroken) {
					t.Errorf("errors.Is(%v, ErrBroken) is false", err)
				}
				if diff := cmp.Diff(want, *be); diff != "" {
					t.Errorf("broken entry (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// A signature rewritten with another key fails verification.
func TestVerifyForgedSignature(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	signer := newSigner(t)
	fill(t, audit.NewStore(db, signer, nil), 3)
	forger := newSigner(t)
	// The forger re-signs entry 2 but cannot claim the server's key id
	// with a valid signature.
	forged := audit.NewStore(sqldbtest.SQLite(t), forger, nil)
	fe, err := forged.Append(t.Context(), audit.Record{Actor: "x", Action: "y"})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, db, `UPDATE audit_log SET signature = ? WHERE seq = 2`, fe.Signature)
	_, err = audit.NewStore(db, nil, nil).Verify(t.Context(), audit.NewKeyRing(signer.Public()))
	want := &audit.BrokenError{Seq: 2, Reason: "its signature does not verify with key " + signer.ID() + " (hash rewritten?)"}
	if diff := cmp.Diff(error(want), err, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Concurrent appends form one chain without gaps.
func TestAppendConcurrent(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		signer := newSigner(t)
		s := audit.NewStore(db, signer, nil)
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if _, err := s.Append(context.WithoutCancel(t.Context()), audit.Record{Actor: "system", Action: "test.concurrent",
						Subject: fmt.Sprintf("%d-%d", w, i)}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("append: %v", err)
		}
		rep, err := s.Verify(t.Context(), audit.NewKeyRing(signer.Public()))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Entries != workers*each || rep.LastSeq != workers*each {
			t.Errorf("got %s, want %d entries", rep, workers*each)
		}
	})
}

// An entry appended in a transaction that rolls back leaves no trace, and
// the chain goes on from the head before it.
func TestAppendTxRollsBackWithTheChange(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		signer := newSigner(t)
		s := audit.NewStore(db, signer, nil)
		fill(t, s, 1)
		boom := errors.New("the change failed")
		err := db.InTx(t.Context(), func(tx *sql.Tx) error {
			if _, err := s.AppendTx(t.Context(), tx, audit.Record{Actor: "system", Action: "rules.changed"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want %v", err, boom)
		}
		e, err := s.Append(t.Context(), audit.Record{Actor: "system", Action: "rules.changed"})
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != 2 {
			t.Errorf("seq after a rolled-back append: got %d, want 2", e.Seq)
		}
		if _, err := s.Verify(t.Context(), audit.NewKeyRing(signer.Public())); err != nil {
			t.Errorf("verify: %v", err)
		}
	})
}

func TestAppendRefuses(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	tests := []struct {
		name  string
		store *audit.Store
		rec   audit.Record
		want  error
	}{
		{"no signer", audit.NewStore(db, nil, nil), audit.Record{Actor: "a", Action: "b"}, audit.ErrNoSigner},
		{"no actor", audit.NewStore(db, newSigner(t), nil), audit.Record{Action: "b"}, audit.ErrInvalid},
		{"no action", audit.NewStore(db, newSigner(t), nil), audit.Record{Actor: "a"}, audit.ErrInvalid},
		{"details not an object", audit.NewStore(db, newSigner(t), nil), audit.Record{Actor: "a", Action: "b", Details: []int{1}}, audit.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.store.Append(t.Context(), tt.rec); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		s := audit.NewStore(db, newSigner(t), &audit.StoreOptions{Now: clock()})
		entries := fill(t, s, 7)
		seqs := func(list []audit.Entry) []int64 {
			out := []int64{}
			for _, e := range list {
				out = append(out, e.Seq)
			}
			return out
		}
		tests := []struct {
			name string
			p    audit.ListParams
			want []int64
		}{
			{"all, newest first", audit.ListParams{}, []int64{7, 6, 5, 4, 3, 2, 1}},
			{"by action", audit.ListParams{Action: audit.ActionReviewDecided}, []int64{6, 4, 2}},
			{"by action prefix", audit.ListParams{Action: "key."}, []int64{7, 5, 3, 1}},
			{"by actor", audit.ListParams{Actor: "cli:ops"}, []int64{7, 5, 3, 1}},
			{"since", audit.ListParams{Since: entries[4].Time}, []int64{7, 6, 5}},
			{"no match", audit.ListParams{Action: "nothing"}, []int64{}},
		}
		for _, tt := range tests {
			list, next, err := s.List(t.Context(), tt.p)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, seqs(list)); diff != "" || next != "" {
				t.Errorf("%s: next %q (-want +got):\n%s", tt.name, next, diff)
			}
		}
		// Paging.
		var got []int64
		cursor := ""
		for range 10 {
			list, next, err := s.List(t.Context(), audit.ListParams{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, seqs(list)...)
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff([]int64{7, 6, 5, 4, 3, 2, 1}, got); diff != "" {
			t.Errorf("paged (-want +got):\n%s", diff)
		}
		if _, _, err := s.List(t.Context(), audit.ListParams{Cursor: "x"}); !errors.Is(err, audit.ErrBadCursor) {
			t.Errorf("bad cursor: got %v, want ErrBadCursor", err)
		}
		last, err := s.Last(t.Context(), audit.ActionReviewDecided)
		if err != nil || last.Seq != 6 {
			t.Errorf("Last: got %v, %v; want seq 6", last, err)
		}
		if _, err := s.Last(t.Context(), "nothing"); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("Last of nothing: got %v, want ErrNotFound", err)
		}
	})
}

func TestParseAnchor(t *testing.T) {
	t.Parallel()
	h := audit.GenesisHash[:63] + "A"
	if a, err := audit.ParseAnchor("12:" + h); err != nil || a.Seq != 12 || a.Hash != audit.GenesisHash[:63]+"a" {
		t.Errorf("got %+v, %v", a, err)
	}
	for _, bad := range []string{"", "12", "x:" + h, "0:" + h, "12:abc", "12:" + h[:63] + "z"} {
		if _, err := audit.ParseAnchor(bad); err == nil {
			t.Errorf("ParseAnchor(%q): no error", bad)
		}
	}
}

func TestRecordStartup(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		signer := newSigner(t)
		s := audit.NewStore(db, signer, nil)
		st := audit.Startup{Config: []byte(`{"a":1}`), Files: map[string]audit.ConfigFile{
			"billing.rules_file":  {Path: "rules.yaml", SHA256: "aa"},
			"intake.sources_file": {Path: "sources.yaml", SHA256: "bb"},
		}}
		steps := []struct {
			name   string
			change func(*audit.Startup)
			want   []string
		}{
			{"first start", func(*audit.Startup) {}, nil},
			{"same again", func(*audit.Startup) {}, nil},
			{"rules changed", func(st *audit.Startup) {
				st.Files["billing.rules_file"] = audit.ConfigFile{Path: "rules.yaml", SHA256: "cc"}
			}, []string{"billing.rules_file"}},
			{"config changed, mapping added, sources gone", func(st *audit.Startup) {
				st.Config = []byte(`{"a":2}`)
				st.Files["mapping:acme"] = audit.ConfigFile{Path: "acme.yaml", SHA256: "dd"}
				delete(st.Files, "intake.sources_file")
			}, []string{"configuration", "intake.sources_file", "mapping:acme"}},
		}
		for _, step := range steps {
			step.change(&st)
			got, err := s.RecordStartup(t.Context(), st)
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if diff := cmp.Diff(step.want, got); diff != "" {
				t.Errorf("%s: changed (-want +got):\n%s", step.name, diff)
			}
		}
		changed, _, err := s.List(t.Context(), audit.ListParams{Action: audit.ActionConfigChanged})
		if err != nil || len(changed) != 2 {
			t.Fatalf("config.changed entries: %d, %v; want 2", len(changed), err)
		}
		want := `{"changed":["billing.rules_file"],"previous_seq":2,"before":{"billing.rules_file":"aa"},"after":{"billing.rules_file":"cc"}}`
		if got := string(changed[1].Details); got != want {
			t.Errorf("details:\n got %s\nwant %s", got, want)
		}
		if _, err := s.Verify(t.Context(), audit.NewKeyRing(signer.Public())); err != nil {
			t.Error(err)
		}
	})
}

// Verifying while entries are appended sees one consistent snapshot: the
// new entries are neither missing from the head nor beyond it.
func TestVerifyWhileAppending(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		signer := newSigner(t)
		s := audit.NewStore(db, signer, nil)
		ring := audit.NewKeyRing(signer.Public())
		done := make(chan error, 1)
		go func() {
			for i := range 300 {
				if _, err := s.Append(context.WithoutCancel(t.Context()), audit.Record{Actor: "system", Action: "test.append", Subject: fmt.Sprint(i)}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for {
			if _, err := s.Verify(t.Context(), ring); err != nil {
				t.Fatalf("verify during appends: %v", err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				return
			default:
			}
		}
	})
}
