package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/sqldb"
)

// Filter selects manifest entries: a kind ("" for all) and a range of
// days, From to To inclusive (zero for unbounded).
type Filter struct {
	Kind     string
	From, To time.Time
}

// match reports whether e passes f.
func (f Filter) match(e FileEntry) bool {
	if f.Kind != "" && e.Kind != f.Kind {
		return false
	}
	if !f.From.IsZero() && e.Day < f.From.UTC().Format(dayLayout) {
		return false
	}
	return f.To.IsZero() || e.Day <= f.To.UTC().Format(dayLayout)
}

func (f Filter) check() error {
	if f.Kind == "" {
		return nil
	}
	_, err := newMover(nil, f.Kind)
	return err
}

// FileStatus is a manifest entry and whether its file checks out.
type FileStatus struct {
	FileEntry
	// Err is nil when the file is there with its checksum; otherwise it
	// matches ErrMissing or ErrChecksum.
	Err error
}

// List returns the manifest entries of dir that pass f, each with its
// file checked against its checksum.
func List(dir string, f Filter) ([]FileStatus, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	man, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	var out []FileStatus
	for _, e := range man.Files {
		if f.match(e) {
			out = append(out, FileStatus{FileEntry: e, Err: checkFile(dir, e)})
		}
	}
	return out, nil
}

// Query selects archived rows in Search: the kind and days of Filter, and
// fields every matching row has. Events match on ID (the event id),
// Source, SourceID, CorrelationID and ShipmentID; payloads on ID,
// Source, CorrelationID and SourceID (an event made from it); audit
// entries on ID (the seq or the subject).
type Query struct {
	Filter
	ID, Source, SourceID, CorrelationID, ShipmentID string
}

// ErrNoCriteria is returned by Search for a query without a field to
// match.
var ErrNoCriteria = errors.New("archive search needs an id, a source, a source id, a correlation id or a shipment id")

// Search reads the files of q's kind and days, in order, and calls found
// with each row that matches. It reads the files without the directory's
// lock: files are never changed once listed in the manifest.
func Search(ctx context.Context, dir string, q Query, found func(Row) error) error {
	if q.Kind == "" {
		return fmt.Errorf("%w \"\": want events, payloads or audit", ErrUnknownKind)
	}
	if q.ID == "" && q.Source == "" && q.SourceID == "" && q.CorrelationID == "" && q.ShipmentID == "" {
		return ErrNoCriteria
	}
	m, err := newMover(nil, q.Kind)
	if err != nil {
		return err
	}
	man, err := readManifest(dir)
	if err != nil {
		return err
	}
	for _, e := range man.Files {
		if !q.match(e) {
			continue
		}
		err := readLines(dir, e, pageSize, func(lines [][]byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, l := range lines {
				r, err := m.decode(l)
				if err != nil {
					return fmt.Errorf("%s: %w", e.File, err)
				}
				if r.Match(q) {
					if err := found(r); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// RestoreReport is what Restore put back.
type RestoreReport struct {
	// Files are the files read.
	Files []FileEntry
	// Rows counts the rows inserted; rows already in the database are
	// left as they are and not counted.
	Rows int64
}

// ErrNoFiles is returned by Restore for a day without archive files.
var ErrNoFiles = errors.New("no archive files for that kind and day")

// Restore puts back the rows of kind archived for day, from every part of
// that day. Rows already in the database stay as they are, so restoring
// twice changes nothing. The files are marked unpurged first: the next
// archive run moves the rows out again, once it finds them older than the
// retention.
func Restore(ctx context.Context, db *sqldb.DB, dir, kind string, day time.Time, now time.Time) (RestoreReport, error) {
	var rep RestoreReport
	m, err := newMover(db, kind)
	if err != nil {
		return rep, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return rep, fmt.Errorf("locking the archive %s: %w", dir, err)
	}
	defer unlock()
	man, err := readManifest(dir)
	if err != nil {
		return rep, err
	}
	dayText := day.UTC().Format(dayLayout)
	var files []string
	at := now.UTC()
	for i := range man.Files {
		e := &man.Files[i]
		if e.Kind == kind && e.Day == dayText {
			if err := checkFile(dir, *e); err != nil {
				return rep, err
			}
			e.Purged, e.RestoredAt = false, &at
			files = append(files, e.File)
		}
	}
	if len(files) == 0 {
		return rep, fmt.Errorf("%s %s: %w", kind, dayText, ErrNoFiles)
	}
	if err := man.write(dir); err != nil {
		return rep, err
	}
	for _, name := range files {
		e := man.entry(name)
		err := readLines(dir, *e, pageSize, func(lines [][]byte) error {
			n, err := m.restore(ctx, lines)
			rep.Rows += n
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("restoring %s: %w", e.File, err)
		}
		rep.Files = append(rep.Files, *e)
	}
	return rep, nil
}

// VerifyReport is what Verify checked.
type VerifyReport struct {
	// Files counts the files checked against their checksums.
	Files int
	// AuditEntries counts the archived audit entries whose chain was
	// checked; Anchor is the last of them (nil when there is none).
	AuditEntries int64
	Anchor       *Anchor
}

// Verify checks every file of dir's manifest against its checksum, and
// the archived audit entries as one chain: from the first entry, each
// hashed, linked and signed right (keys from ring), up to the anchor the
// database's hot chain goes on from (audit_anchor). It returns every file
// that fails (errors matching ErrMissing or ErrChecksum) and the first
// broken audit entry (a *audit.BrokenError), joined.
func Verify(ctx context.Context, db *sqldb.DB, dir string, ring *audit.KeyRing) (VerifyReport, error) {
	var rep VerifyReport
	man, err := readManifest(dir)
	if err != nil {
		return rep, err
	}
	var errs []error
	var auditFiles []FileEntry
	for _, e := range man.Files {
		if err := checkFile(dir, e); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Files++
		if e.Kind == KindAudit {
			auditFiles = append(auditFiles, e)
		}
	}
	if len(errs) > 0 {
		return rep, errors.Join(errs...)
	}
	dbAnchor, err := readAnchor(ctx, db)
	if err != nil {
		return rep, err
	}
	anchorHash := "" // the archived hash of the database anchor's entry
	sort.Slice(auditFiles, func(i, j int) bool { return keyNum(auditFiles[i].FirstKey) < keyNum(auditFiles[j].FirstKey) })
	after, prev := int64(0), audit.GenesisHash
	m := &auditLog{}
	for _, e := range auditFiles {
		err := readLines(dir, e, pageSize, func(lines [][]byte) error {
			entries := make([]audit.Entry, 0, len(lines))
			for _, l := range lines {
				r, err := m.decode(l)
				if err != nil {
					return fmt.Errorf("%s: %w", e.File, err)
				}
				a := r.(*AuditRow)
				if dbAnchor != nil && a.Seq == dbAnchor.Seq {
					anchorHash = a.Hash
				}
				entries = append(entries, audit.Entry{Seq: a.Seq, Time: time.UnixMicro(a.At).UTC(), Actor: a.Actor, Action: a.Action, Subject: a.Subject,
					Details: []byte(a.Details), PrevHash: a.PrevHash, Hash: a.Hash, KeyID: a.KeyID, Signature: a.Signature})
			}
			var err error
			after, prev, err = audit.VerifyEntries(ring, after, prev, entries)
			rep.AuditEntries += int64(len(entries))
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("%s: %w", e.File, err)
		}
	}
	if after > 0 {
		rep.Anchor = &Anchor{Seq: after, Hash: prev}
	}
	switch {
	case dbAnchor == nil && rep.Anchor == nil:
	case dbAnchor == nil:
		return rep, &audit.BrokenError{Seq: 1, Reason: fmt.Sprintf("the archive holds entries to seq %d but the database has no archive anchor", after)}
	case dbAnchor.Seq > after:
		return rep, &audit.BrokenError{Seq: after + 1, Reason: fmt.Sprintf("missing from the archive: the database's anchor is seq %d", dbAnchor.Seq)}
	case dbAnchor.Hash != anchorHash:
		// The anchor may lag the archive (rows written, not yet deleted),
		// never disagree with it.
		return rep, &audit.BrokenError{Seq: dbAnchor.Seq, Reason: "its archived hash is not the database's anchor"}
	}
	return rep, nil
}

func keyNum(k string) int64 {
	n, _ := strconv.ParseInt(k, 10, 64)
	return n
}

// readAnchor reads audit_anchor, nil when there is none.
func readAnchor(ctx context.Context, db *sqldb.DB) (*Anchor, error) {
	var a Anchor
	err := db.Reader.QueryRowContext(ctx, `SELECT seq, hash FROM audit_anchor WHERE id = 1`).Scan(&a.Seq, &a.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the audit anchor: %w", err)
	}
	return &a, nil
}
