package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// Kinds of archived rows.
const (
	KindEvents   = "events"
	KindPayloads = "payloads"
	KindAudit    = "audit"
)

// Kinds lists the kinds an Archiver moves, in the order it moves them:
// payloads before audit entries, events last, so a payload's events are
// still in the database when its eligibility is checked.
var Kinds = []string{KindPayloads, KindAudit, KindEvents}

// ManifestFile is the manifest's name in the archive directory.
const ManifestFile = "manifest.json"

// dayLayout is how days are written: UTC dates.
const dayLayout = "2006-01-02"

// Manifest lists the archive's files.
type Manifest struct {
	Version int         `json:"version"`
	Files   []FileEntry `json:"files"`
	// AuditAnchor is the last archived audit entry, nil before the first.
	AuditAnchor *Anchor `json:"audit_anchor,omitempty"`
}

// Anchor is an audit entry's seq and hash.
type Anchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// FileEntry describes one archive file.
type FileEntry struct {
	Kind string `json:"kind"`
	// Day is the UTC day of the rows, YYYY-MM-DD.
	Day string `json:"day"`
	// Part numbers the files of one kind and day from 1.
	Part int `json:"part"`
	// File is the file's path relative to the archive directory.
	File string `json:"file"`
	Rows int64  `json:"rows"`
	// FirstKey and LastKey are the first and last rows' keys: an event's
	// seq, a payload's id, an audit entry's seq.
	FirstKey string `json:"first_key"`
	LastKey  string `json:"last_key"`
	// LastHash is an audit file's last entry's hash: the audit anchor
	// once the file's entries are deleted.
	LastHash string `json:"last_hash,omitempty"`
	// SHA256 is the file's checksum, hex; Bytes its size.
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	// ArchivedAt is when the file was written.
	ArchivedAt time.Time `json:"archived_at"`
	// Purged is true once the rows the file holds are gone from the
	// database; false while they are still to delete, after a crash or a
	// restore.
	Purged bool `json:"purged"`
	// RestoredAt is when the file's rows were last put back, if ever.
	RestoredAt *time.Time `json:"restored_at,omitempty"`
}

// fileName is the path of a kind's day part, relative to the directory.
func fileName(kind, day string, part int) string {
	if part <= 1 {
		return filepath.Join(kind, day+".jsonl.gz")
	}
	return filepath.Join(kind, day+"."+strconv.Itoa(part)+".jsonl.gz")
}

// readManifest reads dir's manifest; a directory without one has an empty
// manifest.
func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &Manifest{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the archive manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading the archive manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("reading the archive manifest: version %d, want 1", m.Version)
	}
	return &m, nil
}

// write replaces dir's manifest with m, durably: a synced temporary file
// renamed over it, then the directory synced.
func (m *Manifest) write(dir string) error {
	sort.SliceStable(m.Files, func(i, j int) bool {
		a, b := m.Files[i], m.Files[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		return a.Part < b.Part
	})
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(dir, ManifestFile), func(f *os.File) error {
		_, err := f.Write(append(b, '\n'))
		return err
	}); err != nil {
		return fmt.Errorf("writing the archive manifest: %w", err)
	}
	return nil
}

// entry returns the entry of file, nil when there is none.
func (m *Manifest) entry(file string) *FileEntry {
	for i := range m.Files {
		if m.Files[i].File == file {
			return &m.Files[i]
		}
	}
	return nil
}

// nextPart is the part number of a new file of kind and day.
func (m *Manifest) nextPart(kind, day string) int {
	part := 1
	for _, f := range m.Files {
		if f.Kind == kind && f.Day == day && f.Part >= part {
			part = f.Part + 1
		}
	}
	return part
}

// writeFileSync writes path through fill into a temporary file beside it,
// syncs it, renames it over path and syncs the directory.
func writeFileSync(path string, fill func(*os.File) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
