package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
)

// ConfigFile is a file the configuration names whose content matters, such
// as the rating rules.
type ConfigFile struct {
	// Path is where it was read.
	Path string `json:"path"`
	// SHA256 is the hex SHA-256 of its content.
	SHA256 string `json:"sha256"`
}

// HashFile returns a ConfigFile for path.
func HashFile(path string) (ConfigFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ConfigFile{}, err
	}
	sum := sha256.Sum256(b)
	return ConfigFile{Path: path, SHA256: hex.EncodeToString(sum[:])}, nil
}

// Startup is what a start-up records: the effective configuration and the
// files it names.
type Startup struct {
	// Config is the effective configuration with its secrets redacted,
	// as JSON.
	Config json.RawMessage
	// Files are the files the configuration names, by what names them:
	// billing.rules_file, intake.sources_file, mapping:<source id>.
	Files map[string]ConfigFile
}

// configLoaded is the details of a config.loaded entry.
type configLoaded struct {
	ConfigSHA256 string                `json:"config_sha256"`
	Files        map[string]ConfigFile `json:"files"`
}

// configChanged is the details of a config.changed entry.
type configChanged struct {
	// Changed names what changed: "configuration" for the configuration
	// itself, else the keys of Startup.Files.
	Changed []string `json:"changed"`
	// PreviousSeq is the previous start-up's config.loaded entry.
	PreviousSeq int64 `json:"previous_seq"`
	// Before and After are the hashes of what changed ("" for a file
	// that was not named before, or is no more).
	Before map[string]string `json:"before"`
	After  map[string]string `json:"after"`
}

// RecordStartup appends config.loaded with hashes of st and, when they
// differ from the previous start-up's config.loaded, config.changed naming
// what changed. It returns what changed (nil on the first start-up).
func (s *Store) RecordStartup(ctx context.Context, st Startup) ([]string, error) {
	sum := sha256.Sum256(st.Config)
	now := configLoaded{ConfigSHA256: hex.EncodeToString(sum[:]), Files: st.Files}
	if now.Files == nil {
		now.Files = map[string]ConfigFile{}
	}
	prevEntry, err := s.Last(ctx, ActionConfigLoaded)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if _, err := s.Append(ctx, Record{Actor: "system", Action: ActionConfigLoaded, Details: now}); err != nil {
		return nil, err
	}
	if prevEntry == nil {
		return nil, nil
	}
	var prev configLoaded
	if err := json.Unmarshal(prevEntry.Details, &prev); err != nil {
		return nil, fmt.Errorf("reading config.loaded entry %d: %w", prevEntry.Seq, err)
	}
	ch := configChanged{PreviousSeq: prevEntry.Seq, Before: map[string]string{}, After: map[string]string{}}
	if prev.ConfigSHA256 != now.ConfigSHA256 {
		ch.Changed = append(ch.Changed, "configuration")
		ch.Before["configuration"], ch.After["configuration"] = prev.ConfigSHA256, now.ConfigSHA256
	}
	names := slices.Sorted(maps.Keys(now.Files))
	for name := range prev.Files {
		if _, ok := now.Files[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		before, after := prev.Files[name].SHA256, now.Files[name].SHA256
		if before != after {
			ch.Changed = append(ch.Changed, name)
			ch.Before[name], ch.After[name] = before, after
		}
	}
	if len(ch.Changed) == 0 {
		return nil, nil
	}
	if _, err := s.Append(ctx, Record{Actor: "system", Action: ActionConfigChanged, Details: ch}); err != nil {
		return nil, err
	}
	return ch.Changed, nil
}
