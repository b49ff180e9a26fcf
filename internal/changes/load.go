package changes

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

// Paths are the configured files under change control.
type Paths struct {
	// RulesFile is billing.rules_file; empty for none.
	RulesFile string
	// SourcesFile is intake.sources_file; empty for none. The JSON
	// mapping files its profiles name are under change control too.
	SourcesFile string
}

// Effective is what the hub runs with: the approved versions.
type Effective struct {
	// Rules are the approved rating rules; nil without a rules file.
	Rules *rating.Rules
	// Profiles are the approved source profiles, their JSON mappings
	// approved too; nil without a sources file.
	Profiles *source.Profiles
	// Pending are the changes that wait for approval, newest first.
	Pending []Change
}

// Load reads the configured files, records what changed (Sync), and
// returns the approved versions. proposer proposes new changes: system at
// start-up, the operator for a command.
//
// The mapping files are those the profiles of the sources file on disk and
// of its approved version name. A mapping file is read from disk by the
// profile loader too, so one that no longer loads stops Load even while
// its change is pending.
func (s *Store) Load(ctx context.Context, p Paths, proposer string) (*Effective, error) {
	eff := &Effective{}
	if p.RulesFile != "" {
		data, err := os.ReadFile(p.RulesFile)
		if err != nil {
			return nil, fmt.Errorf("billing.rules_file: %w", err)
		}
		c, err := s.sync(ctx, File{Name: NameRules, Kind: KindRules, Path: p.RulesFile, Content: data}, proposer, s.checkRules, s.whatIf)
		if err != nil {
			return nil, err
		}
		if eff.Rules, err = rating.Parse(c.Content, c.Path); err != nil {
			return nil, fmt.Errorf("billing.rules_file: the approved version (change %s): %w", c.ID, err)
		}
	}
	if p.SourcesFile != "" {
		data, err := os.ReadFile(p.SourcesFile)
		if err != nil {
			return nil, fmt.Errorf("intake.sources_file: %w", err)
		}
		c, err := s.sync(ctx, File{Name: NameSources, Kind: KindSources, Path: p.SourcesFile, Content: data}, proposer, s.checkSources, nil)
		if err != nil {
			return nil, err
		}
		if eff.Profiles, err = source.Load(c.Content, p.SourcesFile, s.opts.Environ); err != nil {
			return nil, fmt.Errorf("intake.sources_file: the approved version (change %s): %w", c.ID, err)
		}
		// The mappings of the file on disk, whether its change is
		// approved or not, so that a new mapping is seen and proposed.
		files := mappingFiles(eff.Profiles)
		if onDisk, err := source.Load(data, p.SourcesFile, s.opts.Environ); err == nil {
			for _, f := range mappingFiles(onDisk) {
				if !slices.Contains(files, f) {
					files = append(files, f)
				}
			}
		}
		approved := map[string]*jsonmap.Mapping{}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("mapping %s: %w", path, err)
			}
			c, err := s.sync(ctx, File{Name: KindMapping + ":" + path, Kind: KindMapping, Path: path, Content: data}, proposer, checkMapping, nil)
			if err != nil {
				return nil, err
			}
			if approved[path], err = jsonmap.Load(c.Content); err != nil {
				return nil, fmt.Errorf("mapping %s: the approved version (change %s): %w", path, c.ID, err)
			}
		}
		for _, pr := range eff.Profiles.All() {
			if m, ok := approved[pr.MappingFile]; ok && pr.MappingFile != "" {
				pr.Mapping = m
			}
		}
	}
	pending, err := s.List(ctx, StatusPending)
	if err != nil {
		return nil, err
	}
	eff.Pending = pending
	return eff, nil
}

func mappingFiles(ps *source.Profiles) []string {
	var out []string
	for _, p := range ps.All() {
		if p.MappingFile != "" && !slices.Contains(out, p.MappingFile) {
			out = append(out, p.MappingFile)
		}
	}
	return out
}

func (s *Store) checkRules(f File) error {
	_, err := rating.Parse(f.Content, f.Path)
	return err
}

func (s *Store) checkSources(f File) error {
	_, err := source.Load(f.Content, f.Path, s.opts.Environ)
	return err
}

func checkMapping(f File) error {
	_, err := jsonmap.Load(f.Content)
	return err
}

// whatIf tries proposed rules against the approved ones on the sample.
func (s *Store) whatIf(ctx context.Context, approved []byte, f File) (*WhatIf, error) {
	oldRules, err := rating.Parse(approved, f.Path)
	if err != nil {
		return nil, fmt.Errorf("the approved rules no longer compile: %w", err)
	}
	newRules, err := rating.Parse(f.Content, f.Path)
	if err != nil {
		return nil, err // checked before: not reached
	}
	if s.opts.Sample == nil {
		return TryRules(oldRules, newRules, nil), nil
	}
	ships, err := s.opts.Sample(ctx, s.opts.WhatIfShipments)
	if err != nil {
		return nil, fmt.Errorf("sampling billed shipments for the what-if: %w", err)
	}
	return TryRules(oldRules, newRules, ships), nil
}
