package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load returns the configuration built from the defaults, then the YAML file at
// path (none when path is ""), then the WAYBILL_ variables in environ (as from
// os.Environ, "NAME=value" each), validated.
//
// Unknown keys, unknown WAYBILL_ variables, values of the wrong type and
// invalid values are all reported at once: the error is an errors.Join of
// *KeyError values, file problems first (in file order), then environment
// problems (in environ order), then validation problems (in key order). A file
// that cannot be read or is not valid YAML is reported alone, with an error that
// is not a *KeyError. On error Load returns the zero Config.
//
// In the file, a key with no value (null) keeps its default. In the
// environment, a list is comma-separated, with spaces around items ignored:
// WAYBILL_CONNECTORS_WEBHOOK_ACTIONS="dispatch.release, invoice.prepare".
func Load(path string, environ []string) (Config, error) {
	ld := newLoader()
	if path != "" {
		if err := ld.loadFile(path); err != nil {
			return Config{}, err
		}
	}
	ld.loadEnv(environ)
	cfg := ld.cfg.Interface().(Config)
	for _, e := range cfg.validate() {
		if o, ok := ld.origins[e.Key]; ok {
			e.File, e.Line, e.Env = o.file, o.line, o.env
		}
		ld.errs = append(ld.errs, e)
	}
	if len(ld.errs) > 0 {
		return Config{}, joinFieldErrors(ld.errs)
	}
	return cfg, nil
}

// origin is where the value of a key came from.
type origin struct {
	file string
	line int
	env  string
}

type loader struct {
	cfg      reflect.Value // addressable Config
	byPath   map[string]leaf
	byEnv    map[string]leaf
	sections map[string]bool
	origins  map[string]origin
	errs     []*KeyError
}

func newLoader() *loader {
	cfg := Default()
	ls, secs := tree()
	ld := &loader{
		cfg:      reflect.ValueOf(&cfg).Elem(),
		byPath:   make(map[string]leaf, len(ls)),
		byEnv:    make(map[string]leaf, len(ls)),
		sections: make(map[string]bool, len(secs)),
		origins:  make(map[string]origin),
	}
	for _, l := range ls {
		ld.byPath[l.path] = l
		ld.byEnv[l.env] = l
	}
	for _, s := range secs {
		ld.sections[s.path] = true
	}
	return ld
}

func (ld *loader) set(l leaf, v any, o origin) {
	f := ld.cfg.FieldByIndex(l.index)
	switch v := v.(type) {
	case string:
		f.SetString(v)
	case int64:
		f.SetInt(v)
	case float64:
		f.SetFloat(v)
	case bool:
		f.SetBool(v)
	case time.Duration:
		f.SetInt(int64(v))
	case []string:
		f.Set(reflect.ValueOf(v))
	case reflect.Value:
		f.Set(v)
	default:
		panic(fmt.Sprintf("config: setting %s to %T", l.path, v))
	}
	ld.origins[l.path] = o
}

func (ld *loader) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file
		}
		return fmt.Errorf("parsing config file %s: %w", path, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return fmt.Errorf("parsing config file %s: %w", path, err)
	default:
		ld.errs = append(ld.errs, &KeyError{File: path, Line: extra.Line, Msg: "a config file holds a single YAML document"})
	}

	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	root = resolveAlias(root)
	switch {
	case isNull(root):
	case root.Kind != yaml.MappingNode:
		ld.errs = append(ld.errs, &KeyError{File: path, Line: root.Line, Msg: "must be a mapping of sections, such as server: and storage:"})
	default:
		ld.walk(path, root, "")
	}
	return nil
}

// walk applies the keys of mapping m, found at section path prefix ("" for the
// top level).
func (ld *loader) walk(file string, m *yaml.Node, prefix string) {
	seen := make(map[string]int)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolveAlias(m.Content[i+1])
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		fail := func(line int, msg string) {
			ld.errs = append(ld.errs, &KeyError{Key: key, File: file, Line: line, Msg: msg})
		}
		if k.Kind != yaml.ScalarNode {
			ld.errs = append(ld.errs, &KeyError{Key: prefix, File: file, Line: k.Line, Msg: "keys must be names, not lists or mappings"})
			continue
		}
		if k.ShortTag() == "!!merge" {
			fail(k.Line, "YAML merge keys (<<) are not supported")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			fail(k.Line, fmt.Sprintf("set twice; first set on line %d", first))
			continue
		}
		seen[k.Value] = k.Line

		if l, ok := ld.byPath[key]; ok {
			if isNull(v) {
				continue
			}
			if l.kind == kindText || l.kind == kindTexts {
				val, probs := textNodeValue(v, l)
				for _, p := range probs {
					fail(p.line, p.msg)
				}
				if len(probs) == 0 {
					ld.set(l, val, origin{file: file, line: v.Line})
				}
				continue
			}
			val, msg := nodeValue(v, l.kind)
			if msg != "" {
				fail(v.Line, msg)
				continue
			}
			ld.set(l, val, origin{file: file, line: v.Line})
			continue
		}
		if ld.sections[key] {
			switch {
			case isNull(v):
			case v.Kind != yaml.MappingNode:
				fail(v.Line, "must be a section (a mapping of keys), got "+describeNode(v, false))
			default:
				ld.walk(file, v, key)
			}
			continue
		}
		fail(k.Line, "unknown key"+ld.suggestKey(key))
	}
}

func (ld *loader) loadEnv(environ []string) {
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || strings.HasPrefix(name, EnvTestPrefix) || name == EnvConfigFile {
			continue
		}
		l, ok := ld.byEnv[name]
		if !ok {
			ld.errs = append(ld.errs, &KeyError{Env: name, Msg: "unknown configuration variable" + ld.suggestEnv(name)})
			continue
		}
		if l.kind == kindText || l.kind == kindTexts {
			val, msgs := textEnvValue(value, l)
			for _, msg := range msgs {
				ld.errs = append(ld.errs, &KeyError{Key: l.path, Env: name, Msg: msg})
			}
			if len(msgs) == 0 {
				ld.set(l, val, origin{env: name})
			}
			continue
		}
		val, msg := envValue(value, l.kind)
		if msg != "" {
			ld.errs = append(ld.errs, &KeyError{Key: l.path, Env: name, Msg: msg})
			continue
		}
		ld.set(l, val, origin{env: name})
	}
}

// nodeValue converts YAML value n to the Go type of kind. On failure it returns
// the problem in msg.
func nodeValue(n *yaml.Node, kind leafKind) (v any, msg string) {
	secret := kind == kindSecret
	if kind == kindStrings {
		if n.Kind != yaml.SequenceNode {
			return nil, "must be a list of strings, such as [a, b], got " + describeNode(n, false)
		}
		list := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			item = resolveAlias(item)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				return nil, "must be a list of strings, got an item that is " + describeNode(item, false)
			}
			list = append(list, item.Value)
		}
		return list, ""
	}
	if n.Kind != yaml.ScalarNode {
		return nil, "must be " + kindNoun(kind) + ", got " + describeNode(n, secret)
	}
	tag := n.ShortTag()
	switch kind {
	case kindString, kindSecret:
		return n.Value, ""
	case kindInt:
		var i int64
		if tag != "!!int" || n.Decode(&i) != nil || int64(int(i)) != i {
			return nil, "must be an integer, got " + describeNode(n, secret)
		}
		return i, ""
	case kindBool:
		var b bool
		if tag != "!!bool" || n.Decode(&b) != nil {
			return nil, "must be true or false, got " + describeNode(n, secret)
		}
		return b, ""
	case kindFloat:
		var f float64
		if (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, "must be a number, such as 0.25, got " + describeNode(n, secret)
		}
		return f, ""
	case kindDuration:
		d, err := time.ParseDuration(n.Value)
		if tag != "!!str" || err != nil {
			return nil, `must be a duration with a unit, such as "30s" or "250ms", got ` + describeNode(n, secret)
		}
		return d, ""
	}
	panic("config: unknown leaf kind")
}

// envValue converts environment value s to the Go type of kind. On failure it
// returns the problem in msg.
func envValue(s string, kind leafKind) (v any, msg string) {
	got := strconv.Quote(s)
	switch kind {
	case kindString, kindSecret:
		return s, ""
	case kindInt:
		i, err := strconv.ParseInt(s, 10, strconv.IntSize)
		if err != nil {
			return nil, "must be an integer, got " + got
		}
		return i, ""
	case kindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, "must be true or false, got " + got
		}
		return b, ""
	case kindFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, "must be a number, such as 0.25, got " + got
		}
		return f, ""
	case kindDuration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, `must be a duration with a unit, such as "30s" or "250ms", got ` + got
		}
		return d, ""
	case kindStrings:
		list := []string{}
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		return list, ""
	}
	panic("config: unknown leaf kind")
}

// problem is what is wrong with a value read from a file, and the line of
// the value or list item it is about.
type problem struct {
	line int
	msg  string
}

// textNodeValue parses YAML value n into the type of l, a kindText or
// kindTexts leaf. It returns every problem: one for each list item that does
// not parse.
func textNodeValue(n *yaml.Node, l leaf) (reflect.Value, []problem) {
	if l.kind == kindText {
		if n.Kind != yaml.ScalarNode {
			return reflect.Value{}, []problem{{n.Line, "must be a string, got " + describeNode(n, false)}}
		}
		v, err := parseText(l.typ, n.Value)
		if err != nil {
			return reflect.Value{}, []problem{{n.Line, err.Error()}}
		}
		return v, nil
	}
	if n.Kind != yaml.SequenceNode {
		return reflect.Value{}, []problem{{n.Line, "must be a list of strings, such as [a, b], got " + describeNode(n, false)}}
	}
	list := reflect.MakeSlice(l.typ, 0, len(n.Content))
	var probs []problem
	for _, item := range n.Content {
		item = resolveAlias(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			probs = append(probs, problem{item.Line, "must be a list of strings, got an item that is " + describeNode(item, false)})
			continue
		}
		v, err := parseText(l.typ.Elem(), item.Value)
		if err != nil {
			probs = append(probs, problem{item.Line, err.Error()})
			continue
		}
		list = reflect.Append(list, v)
	}
	return list, probs
}

// textEnvValue parses environment value s into the type of l, a kindText or
// kindTexts leaf; a list is comma-separated, as in envValue. It returns every
// problem: one for each list item that does not parse.
func textEnvValue(s string, l leaf) (reflect.Value, []string) {
	if l.kind == kindText {
		v, err := parseText(l.typ, s)
		if err != nil {
			return reflect.Value{}, []string{err.Error()}
		}
		return v, nil
	}
	list := reflect.MakeSlice(l.typ, 0, strings.Count(s, ",")+1)
	var msgs []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		v, err := parseText(l.typ.Elem(), item)
		if err != nil {
			msgs = append(msgs, err.Error())
			continue
		}
		list = reflect.Append(list, v)
	}
	return list, msgs
}

// parseText parses s into a new value of t, a type that isText accepts.
func parseText(t reflect.Type, s string) (reflect.Value, error) {
	p := reflect.New(t)
	if err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		return reflect.Value{}, err
	}
	return p.Elem(), nil
}

func kindNoun(kind leafKind) string {
	switch kind {
	case kindString, kindSecret:
		return "a string"
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindBool:
		return "true or false"
	case kindDuration:
		return `a duration with a unit, such as "30s"`
	}
	return "a list of strings"
}

// describeNode names what n holds for an error message; the value itself only
// for a scalar that is not secret.
func describeNode(n *yaml.Node, secret bool) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch {
	case isNull(n):
		return "null"
	case secret:
		return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
	case n.ShortTag() == "!!str":
		return strconv.Quote(n.Value)
	}
	return n.Value
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// suggestKey returns `; did you mean "x"?` for the known key or section
// nearest to key, or "" when none is near.
func (ld *loader) suggestKey(key string) string {
	var known []string
	for p := range ld.byPath {
		known = append(known, p)
	}
	for p := range ld.sections {
		known = append(known, p)
	}
	if s := nearest(key, known); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// suggestEnv is suggestKey for environment variable names.
func (ld *loader) suggestEnv(name string) string {
	var known []string
	for e := range ld.byEnv {
		known = append(known, e)
	}
	if s := nearest(name, known); s != "" {
		return "; did you mean " + s + "?"
	}
	return ""
}

// nearest returns the candidate with the smallest edit distance to s, if that
// distance is small for the length of s; otherwise "". Ties go to the
// alphabetically first candidate, so the result does not depend on map order.
func nearest(s string, candidates []string) string {
	best, bestDist := "", len(s)/3+1
	for _, c := range candidates {
		d := editDistance(s, c)
		if d < bestDist || d == bestDist && best != "" && c < best {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
