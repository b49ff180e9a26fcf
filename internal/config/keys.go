package config

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Environment variable names that Load treats specially.
const (
	// EnvPrefix starts the name of every environment variable that sets a key:
	// WAYBILL_ followed by the key path upper-cased with "." replaced by "_".
	EnvPrefix = "WAYBILL_"
	// EnvTestPrefix starts the names of test settings, such as
	// WAYBILL_TEST_POSTGRES_URL; Load ignores them.
	EnvTestPrefix = "WAYBILL_TEST_"
	// EnvConfigFile names the config file for cmd/waybill; Load ignores it.
	EnvConfigFile = "WAYBILL_CONFIG"
)

// KeyDoc describes one configuration key, for documentation and tooling.
type KeyDoc struct {
	// Path is the key path, such as "intake.max_backlog".
	Path string
	// Env is the environment variable that sets the key, such as
	// "WAYBILL_INTAKE_MAX_BACKLOG".
	Env string
	// Type is "string", "secret", "integer", "number", "boolean", "duration"
	// or "list of strings".
	Type string
	// Default is the default as written in YAML: "127.0.0.1:8080" (quoted),
	// 1000, true, 30s, [dispatch.release, picking.validate]. It is always "" (two
	// quote characters) for a secret.
	Default string
	// Doc is the key's description, from the doc comment of its field in
	// config.go without the leading field name.
	Doc string
	// Secret reports whether the value is a Secret.
	Secret bool
}

// Keys describes every key of the Config tree, in the order of config.go.
func Keys() []KeyDoc {
	d := reflect.ValueOf(Default())
	ls := leaves()
	keys := make([]KeyDoc, len(ls))
	for i, l := range ls {
		keys[i] = l.keyDoc(d.FieldByIndex(l.index), docText(l.path))
	}
	return keys
}

// Example returns a commented YAML config file that sets every key to its
// default, secrets empty. Loading it gives Default.
func Example() string {
	return renderExample(Keys(), docText)
}

type leafKind int

const (
	kindString leafKind = iota
	kindSecret
	kindInt
	kindBool
	kindDuration
	kindStrings
	// kindText is a type written as a string that parses itself (Zone,
	// OperatingHours): see isText.
	kindText
	// kindTexts is a list of kindText values, written as a list of strings.
	kindTexts
	// kindFloat is a number that may have a fraction, such as 0.25.
	kindFloat
)

var (
	secretType          = reflect.TypeFor[Secret]()
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	stringerType        = reflect.TypeFor[fmt.Stringer]()
)

func (k leafKind) String() string {
	return [...]string{"string", "secret", "integer", "boolean", "duration", "list of strings", "string", "list of strings", "number"}[k]
}

// isText reports whether t is a key type written as a string and held
// parsed: *t parses the string (encoding.TextUnmarshaler) and t writes it
// back in the same syntax (fmt.Stringer).
func isText(t reflect.Type) bool {
	return t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textUnmarshalerType) && t.Implements(stringerType)
}

// leaf is one key of the Config tree: a field that is not a section.
type leaf struct {
	path  string
	env   string
	index []int // reflect index path from Config
	kind  leafKind
	typ   reflect.Type // the field's type
	owner reflect.Type // struct type that declares the field
	field string       // Go field name
}

// section is a struct-typed field of the Config tree, such as "connectors.webhook".
type section struct {
	path string
	typ  reflect.Type
}

// leaves returns every key of Config, in declaration order.
func leaves() []leaf {
	ls, _ := tree()
	return ls
}

// tree walks Config by reflection, following the koanf tags.
func tree() ([]leaf, []section) {
	var (
		ls   []leaf
		secs []section
	)
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := f.Tag.Get("koanf")
			if name == "" {
				panic("config: field " + t.Name() + "." + f.Name + " has no koanf tag")
			}
			path := prefix + name
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct && !isText(f.Type) {
				secs = append(secs, section{path: path, typ: f.Type})
				walk(f.Type, path+".", idx)
				continue
			}
			ls = append(ls, leaf{
				path:  path,
				env:   EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_")),
				index: idx,
				kind:  kindOf(f.Type, path),
				typ:   f.Type,
				owner: t,
				field: f.Name,
			})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return ls, secs
}

func kindOf(t reflect.Type, path string) leafKind {
	switch {
	case t == secretType:
		return kindSecret
	case t == durationType:
		return kindDuration
	case isText(t):
		return kindText
	case t.Kind() == reflect.Slice && isText(t.Elem()):
		return kindTexts
	case t.Kind() == reflect.String:
		return kindString
	case t.Kind() == reflect.Int:
		return kindInt
	case t.Kind() == reflect.Bool:
		return kindBool
	case t.Kind() == reflect.Float64:
		return kindFloat
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return kindStrings
	}
	panic("config: key " + path + " has unsupported type " + t.String())
}

func (l leaf) keyDoc(def reflect.Value, doc string) KeyDoc {
	k := KeyDoc{Path: l.path, Env: l.env, Type: l.kind.String(), Doc: doc, Secret: l.kind == kindSecret}
	if k.Secret {
		k.Default = `""`
	} else {
		k.Default = renderValue(def, l.kind)
	}
	return k
}

// renderValue writes v as a YAML value.
func renderValue(v reflect.Value, kind leafKind) string {
	switch kind {
	case kindString, kindSecret:
		return strconv.Quote(v.String())
	case kindInt:
		return strconv.FormatInt(v.Int(), 10)
	case kindBool:
		return strconv.FormatBool(v.Bool())
	case kindFloat:
		f := strconv.FormatFloat(v.Float(), 'f', -1, 64)
		if !strings.Contains(f, ".") {
			f += ".0"
		}
		return f
	case kindDuration:
		return formatDuration(time.Duration(v.Int()))
	case kindStrings:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = yamlListItem(v.Index(i).String())
		}
		return "[" + strings.Join(items, ", ") + "]"
	case kindText:
		return strconv.Quote(v.Interface().(fmt.Stringer).String())
	case kindTexts:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = yamlListItem(v.Index(i).Interface().(fmt.Stringer).String())
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	panic("config: unknown leaf kind")
}

// formatDuration is time.Duration.String without zero trailing units: "2m", not "2m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

var plainListItem = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._/-]*$`)

// yamlListItem writes s as an item of a YAML flow list, quoted unless that is
// unnecessary.
func yamlListItem(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null":
		return strconv.Quote(s)
	}
	if plainListItem.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}

const exampleHeader = `# Waybill configuration file.
#
# Every key is optional; the values below are the defaults. An environment
# variable WAYBILL_<KEY> overrides a key: WAYBILL_INTAKE_MAX_BACKLOG=5000 sets
# intake.max_backlog. Unknown keys are errors. Durations take a unit: 250ms,
# 30s, 2m, 1h.
`

// renderExample writes keys as a commented YAML file; doc gives the description
// of each section path.
func renderExample(keys []KeyDoc, doc func(path string) string) string {
	var b strings.Builder
	b.WriteString(exampleHeader)
	var open []string // the sections currently open, outermost first
	for _, k := range keys {
		parts := strings.Split(k.Path, ".")
		parents, name := parts[:len(parts)-1], parts[len(parts)-1]
		same := 0
		for same < len(open) && same < len(parents) && open[same] == parents[same] {
			same++
		}
		open = open[:same]
		header := false // whether the last line written opens a section
		for _, p := range parents[same:] {
			indent := strings.Repeat("  ", len(open))
			open = append(open, p)
			if !header {
				b.WriteString("\n")
			}
			writeComment(&b, indent, doc(strings.Join(open, ".")))
			b.WriteString(indent + p + ":\n")
			header = true
		}
		indent := strings.Repeat("  ", len(open))
		if !header {
			b.WriteString("\n")
		}
		writeComment(&b, indent, k.Doc)
		b.WriteString(indent + name + ": " + k.Default + "\n")
	}
	return b.String()
}

// writeComment writes text as YAML comment lines of at most 80 columns.
func writeComment(b *strings.Builder, indent, text string) {
	const width = 80
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(indent)+2+len(line)+1+len(w) > width {
			b.WriteString(indent + "# " + line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		b.WriteString(indent + "# " + line + "\n")
	}
}
