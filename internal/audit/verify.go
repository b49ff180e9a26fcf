package audit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBroken matches every *BrokenError.
var ErrBroken = errors.New("audit trail broken")

// BrokenError names the first entry of the chain that fails verification,
// and why. It matches ErrBroken.
type BrokenError struct {
	// Seq is the first bad entry: changed, missing, or badly signed.
	Seq int64
	// Reason says what is wrong with it, in a few words.
	Reason string
}

func (e *BrokenError) Error() string { return fmt.Sprintf("entry %d: %s", e.Seq, e.Reason) }

// Is reports whether target is ErrBroken.
func (e *BrokenError) Is(target error) bool { return target == ErrBroken }

// Anchor is a (seq, hash) pair recorded outside the database, such as the
// head hash a verify printed last week. Verification fails when the entry
// at Seq is gone or has another hash: that catches entries removed from the
// end, which the chain alone cannot show.
type Anchor struct {
	Seq  int64
	Hash string
}

// ParseAnchor parses "SEQ:HASH".
func ParseAnchor(s string) (Anchor, error) {
	seqText, hash, ok := strings.Cut(s, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 1 {
		return Anchor{}, fmt.Errorf("anchor %q: want SEQ:HASH, such as 120:3f9a…", s)
	}
	if _, err := hex.DecodeString(hash); err != nil || len(hash) != 64 {
		return Anchor{}, fmt.Errorf("anchor %q: the hash must be 64 hex digits", s)
	}
	return Anchor{Seq: seq, Hash: strings.ToLower(hash)}, nil
}

// Report is what a successful Verify saw.
type Report struct {
	// Entries is how many entries were checked.
	Entries int64
	// LastSeq is the last entry's seq (0 for an empty trail).
	LastSeq int64
	// HeadHash is the last entry's hash (GenesisHash for an empty trail):
	// record it elsewhere and pass it back as an Anchor later.
	HeadHash string
	// ArchivedSeq is the last entry moved to the history archive (0 when
	// none was): the chain checked starts after it, from its hash.
	ArchivedSeq int64
}

// String renders the report on one line.
func (r *Report) String() string {
	s := fmt.Sprintf("ok: %d entries, last seq %d, head hash %s", r.Entries, r.LastSeq, r.HeadHash)
	if r.ArchivedSeq > 0 {
		s += fmt.Sprintf(" (from archived seq %d)", r.ArchivedSeq)
	}
	return s
}

// verifyPage is how many entries Verify reads per query.
const verifyPage = 1000

// Verify walks the whole chain in seq order and checks each entry: its seq
// follows the one before (a gap is a removed entry), its prev_hash is the
// hash before, its hash is that of its content, and its signature verifies
// with its key from ring. Then it checks the last entry against the head
// row and against anchors. The first failure is returned as a
// *BrokenError; other errors are the database's.
//
// Entries moved to the history archive are not in the database: the chain
// then starts after the archive's anchor (the last archived entry's seq
// and hash, kept in audit_anchor), and the archived part is checked by
// VerifyEntries over the archive's files. Anchors at or before the
// archive's anchor are not checked here.
func (s *Store) Verify(ctx context.Context, ring *KeyRing, anchors ...Anchor) (*Report, error) {
	rep := &Report{HeadHash: GenesisHash}
	want := map[int64]string{}
	for _, a := range anchors {
		want[a.Seq] = a.Hash
	}
	// One snapshot for the chain and the head, so that entries appended
	// meanwhile neither show as beyond the head nor go missing from it.
	// SQLite's read transaction is a snapshot whatever the level.
	tx, err := s.db.Reader.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	defer tx.Rollback()
	prevHash := GenesisHash
	after := int64(0)
	switch err := tx.QueryRowContext(ctx, qReadAnchor).Scan(&after, &prevHash); {
	case errors.Is(err, sql.ErrNoRows):
		after, prevHash = 0, GenesisHash
	case err != nil:
		return nil, fmt.Errorf("reading the audit archive anchor: %w", err)
	}
	rep.ArchivedSeq, rep.HeadHash = after, prevHash
	for {
		rows, err := tx.QueryContext(ctx, s.db.Dialect.Rebind(qChainPage), after, verifyPage)
		if err != nil {
			return nil, fmt.Errorf("reading the audit trail: %w", err)
		}
		page, err := scanEntries(rows)
		if err != nil {
			return nil, fmt.Errorf("reading the audit trail: %w", err)
		}
		for i := range page {
			e := &page[i]
			if err := checkEntry(e, after+1, prevHash, ring); err != nil {
				return nil, err
			}
			if h, ok := want[e.Seq]; ok && h != e.Hash {
				return nil, &BrokenError{Seq: e.Seq, Reason: "its hash is not the anchored one " + h}
			}
			after, prevHash = e.Seq, e.Hash
			rep.Entries++
		}
		if len(page) < verifyPage {
			break
		}
	}
	rep.LastSeq, rep.HeadHash = after, prevHash
	var headSeq int64
	var headHash string
	if err := tx.QueryRowContext(ctx, qReadHead).Scan(&headSeq, &headHash); err != nil {
		return nil, fmt.Errorf("reading the audit head: %w", err)
	}
	switch {
	case headSeq > after:
		return nil, &BrokenError{Seq: after + 1, Reason: fmt.Sprintf("missing (removed?): the head records seq %d", headSeq)}
	case headSeq < after:
		return nil, &BrokenError{Seq: headSeq + 1, Reason: fmt.Sprintf("beyond the head, which records seq %d (added around the chain?)", headSeq)}
	case headHash != prevHash:
		return nil, &BrokenError{Seq: after, Reason: "its hash is not the one the head records"}
	}
	for _, a := range anchors {
		if a.Seq <= rep.ArchivedSeq {
			continue
		}
		if a.Seq > after {
			return nil, &BrokenError{Seq: after + 1, Reason: fmt.Sprintf("missing (removed?): the anchor records seq %d", a.Seq)}
		}
	}
	return rep, nil
}

// VerifyEntries checks entries, in seq order, as Verify checks the chain
// in the database: they must go on from the entry after (its seq) with
// hash prevHash, without gaps, each hashed and signed right. It returns
// the last entry's seq and hash (after and prevHash for none), so that
// several runs of entries, such as the archive's daily files, are checked
// as one chain. The first failure is a *BrokenError.
func VerifyEntries(ring *KeyRing, after int64, prevHash string, entries []Entry) (int64, string, error) {
	for i := range entries {
		e := &entries[i]
		if err := checkEntry(e, after+1, prevHash, ring); err != nil {
			return after, prevHash, err
		}
		after, prevHash = e.Seq, e.Hash
	}
	return after, prevHash, nil
}

// checkEntry checks one entry against the chain so far.
func checkEntry(e *Entry, wantSeq int64, prevHash string, ring *KeyRing) error {
	switch {
	case e.Seq != wantSeq:
		return &BrokenError{Seq: wantSeq, Reason: fmt.Sprintf("missing (removed?): the chain goes on at seq %d", e.Seq)}
	case e.PrevHash != prevHash:
		return &BrokenError{Seq: e.Seq, Reason: "its prev_hash is not the hash of the entry before"}
	case e.CanonicalHash() != e.Hash:
		return &BrokenError{Seq: e.Seq, Reason: "changed: its hash does not match its content"}
	}
	raw, _ := hex.DecodeString(e.Hash)
	sig, err := hex.DecodeString(e.Signature)
	if err != nil {
		return &BrokenError{Seq: e.Seq, Reason: "its signature is not hex"}
	}
	known, ok := ring.verify(e.KeyID, raw, sig)
	switch {
	case !known:
		return &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("signed by key %s, which the key file does not hold", e.KeyID)}
	case !ok:
		return &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("its signature does not verify with key %s (hash rewritten?)", e.KeyID)}
	}
	return nil
}
