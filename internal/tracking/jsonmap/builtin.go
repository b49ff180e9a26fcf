package jsonmap

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// builtins holds the vendor mappings shipped with Waybill, one YAML file
// per format.
//
//go:embed mappings/*.yaml
var builtins embed.FS

// Builtins returns the names of the built-in mappings, sorted: aftership,
// easypost, project44.
func Builtins() []string {
	names, err := fs.Glob(builtins, "mappings/*.yaml")
	if err != nil {
		return nil // the pattern is constant and valid
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(n, "mappings/"), ".yaml"))
	}
	slices.Sort(out)
	return out
}

// Builtin loads the built-in mapping name (see [Builtins]). Each call
// compiles the mapping afresh; keep the result, which is safe to share.
// An unknown name gives an error wrapping [ErrUnknownMapping].
func Builtin(name string) (*Mapping, error) {
	if !slices.Contains(Builtins(), name) {
		return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownMapping, name, strings.Join(Builtins(), ", "))
	}
	data, err := builtins.ReadFile("mappings/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("reading built-in mapping %s: %w", name, err)
	}
	m, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("loading built-in mapping %s: %w", name, err)
	}
	return m, nil
}
