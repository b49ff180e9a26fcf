package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/quantity"
)

func TestNewData(t *testing.T) {
	t.Parallel()
	seen := map[reflect.Type]Type{}
	for _, typ := range Types() {
		d := NewData(typ)
		rt := reflect.TypeOf(d)
		if rt == nil || rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
			t.Errorf("NewData(%s) = %T, want a pointer to a struct", typ, d)
			continue
		}
		if other, ok := seen[rt]; ok {
			t.Errorf("NewData(%s) and NewData(%s) are both %s", typ, other, rt)
		}
		seen[rt] = typ
		if a, b := NewData(typ), NewData(typ); a == b {
			t.Errorf("NewData(%s) returned the same pointer twice", typ)
		}
	}
	if d := NewData("shipment.teleported"); d != nil {
		t.Errorf("NewData(unknown) = %T, want nil", d)
	}
}

// schemaDoc is a parsed schema document, to resolve its local $refs.
type schemaDoc struct {
	typ  Type
	defs map[string]any
}

func loadSchemaDoc(t *testing.T, typ Type) (schemaDoc, map[string]any) {
	t.Helper()
	raw, ok := Schema(typ)
	if !ok {
		t.Fatalf("Schema(%s): not found", typ)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	defs, _ := root["$defs"].(map[string]any)
	return schemaDoc{typ: typ, defs: defs}, root
}

// resolve follows node's $ref, if any, to its definition.
func (d schemaDoc) resolve(t *testing.T, node map[string]any) map[string]any {
	t.Helper()
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		def, ok := d.defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		if !ok {
			t.Fatalf("%s: $ref %q does not resolve", d.typ, ref)
		}
		node = def
	}
	t.Fatalf("%s: $ref loop", d.typ)
	return nil
}

// schemaTypes returns the JSON types node allows.
func schemaTypes(node map[string]any) []string {
	switch v := node["type"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, s := range v {
			out = append(out, fmt.Sprint(s))
		}
		return out
	}
	return nil
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	name     string
	goName   string
	typ      reflect.Type
	optional bool // omitempty or omitzero
}

func jsonFields(t *testing.T, rt reflect.Type) []jsonField {
	t.Helper()
	var out []jsonField
	for i := range rt.NumField() {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			t.Errorf("%s.%s: embedded fields are not supported here", rt, f.Name)
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			t.Errorf("%s.%s: no json name", rt, f.Name)
			continue
		}
		optList := strings.Split(opts, ",")
		out = append(out, jsonField{
			name: name, goName: f.Name, typ: f.Type,
			optional: slices.Contains(optList, "omitempty") || slices.Contains(optList, "omitzero"),
		})
	}
	return out
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	quantityType = reflect.TypeFor[quantity.Quantity]()
)

// matchSchema checks that the Go type rt and the schema node describe the
// same JSON, both ways, and reports every difference at loc.
func (d schemaDoc) matchSchema(t *testing.T, loc string, rt reflect.Type, node map[string]any) {
	t.Helper()
	for rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	node = d.resolve(t, node)
	types := schemaTypes(node)
	want := func(jsonType string) bool {
		if !slices.Contains(types, jsonType) {
			t.Errorf("%s %s: Go type %s, but the schema's type is %v, not %s", d.typ, loc, rt, types, jsonType)
			return false
		}
		return true
	}

	switch {
	case rt == timeType:
		if want("string") && node["format"] != "date-time" {
			t.Errorf("%s %s: Go type time.Time, but the schema's format is %v, not date-time", d.typ, loc, node["format"])
		}
		return
	case rt == quantityType:
		// quantity.Quantity writes {"value": "…", "unit": "…"}: both
		// required, nothing else.
		if !want("object") {
			return
		}
		props, _ := node["properties"].(map[string]any)
		keys := sortedKeys(props)
		if !slices.Equal(keys, []string{"unit", "value"}) {
			t.Errorf("%s %s: Go type quantity.Quantity, but the schema's properties are %v, want [unit value]", d.typ, loc, keys)
		}
		if req := stringList(node["required"]); !slices.Equal(req, []string{"unit", "value"}) {
			t.Errorf("%s %s: Go type quantity.Quantity, but the schema requires %v, want [unit value]", d.typ, loc, req)
		}
		return
	}

	switch rt.Kind() {
	case reflect.String:
		want("string")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want("integer")
	case reflect.Float32, reflect.Float64:
		want("number")
	case reflect.Bool:
		want("boolean")
	case reflect.Slice:
		if !want("array") {
			return
		}
		items, ok := node["items"].(map[string]any)
		if !ok {
			t.Errorf("%s %s: array without items", d.typ, loc)
			return
		}
		d.matchSchema(t, loc+"/items", rt.Elem(), items)
	case reflect.Map:
		if !want("object") {
			return
		}
		if rt.Key().Kind() != reflect.String {
			t.Errorf("%s %s: map key %s, want string", d.typ, loc, rt.Key())
		}
		if props, _ := node["properties"].(map[string]any); len(props) > 0 {
			t.Errorf("%s %s: Go type %s, but the schema names properties %v: use a struct", d.typ, loc, rt, sortedKeys(props))
		}
		pattern, _ := node["patternProperties"].(map[string]any)
		if len(pattern) != 1 {
			t.Errorf("%s %s: Go type %s, but the schema has %d patternProperties, want 1", d.typ, loc, rt, len(pattern))
			return
		}
		for p, v := range pattern {
			d.matchSchema(t, loc+"/patternProperties/"+p, rt.Elem(), v.(map[string]any))
		}
	case reflect.Struct:
		if !want("object") {
			return
		}
		props, _ := node["properties"].(map[string]any)
		required := stringList(node["required"])
		fields := jsonFields(t, rt)
		byName := map[string]jsonField{}
		for _, f := range fields {
			if _, dup := byName[f.name]; dup {
				t.Errorf("%s %s: %s has two fields named %q", d.typ, loc, rt, f.name)
			}
			byName[f.name] = f
			// Struct → schema: every field is a property.
			if _, ok := props[f.name]; !ok {
				t.Errorf("%s %s: %s.%s (json %q) is not a property of the schema", d.typ, loc, rt, f.goName, f.name)
			}
		}
		// Schema → struct: every property is a field, and a required one
		// is never left out.
		for _, name := range sortedKeys(props) {
			f, ok := byName[name]
			if !ok {
				t.Errorf("%s %s/%s: property has no field in %s", d.typ, loc, name, rt)
				continue
			}
			if slices.Contains(required, name) && f.optional {
				t.Errorf("%s %s/%s: required, but %s.%s has omitempty or omitzero", d.typ, loc, name, rt, f.goName)
			}
			d.matchSchema(t, loc+"/"+name, f.typ, props[name].(map[string]any))
		}
		for _, name := range required {
			if _, ok := props[name]; !ok {
				t.Errorf("%s %s: requires %q, which is not a property", d.typ, loc, name)
			}
		}
	default:
		t.Errorf("%s %s: unsupported Go type %s", d.typ, loc, rt)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func stringList(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		out = append(out, fmt.Sprint(s))
	}
	sort.Strings(out)
	return out
}

// TestDataMatchesSchema checks every data struct against its type's
// schema, both ways: every property (through $ref, items and nested
// objects) has a field with its JSON name and a compatible Go type, every
// required property a field without omitempty or omitzero, and every field
// a property.
func TestDataMatchesSchema(t *testing.T) {
	t.Parallel()
	for _, typ := range Types() {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			doc, root := loadSchemaDoc(t, typ)
			doc.matchSchema(t, "", reflect.TypeOf(NewData(typ)), root)
		})
	}
}

// propertyPaths returns the paths of every property the schema node
// describes, with "[]" for array items and "*" for pattern properties.
func (d schemaDoc) propertyPaths(t *testing.T, prefix string, node map[string]any, out map[string]bool) {
	t.Helper()
	node = d.resolve(t, node)
	if items, ok := node["items"].(map[string]any); ok {
		d.propertyPaths(t, prefix+"[]", items, out)
	}
	props, _ := node["properties"].(map[string]any)
	for name, p := range props {
		out[prefix+"/"+name] = true
		d.propertyPaths(t, prefix+"/"+name, p.(map[string]any), out)
	}
	if pattern, ok := node["patternProperties"].(map[string]any); ok {
		for _, p := range pattern {
			out[prefix+"/*"] = true
			d.propertyPaths(t, prefix+"/*", p.(map[string]any), out)
		}
	}
}

// valuePaths adds the paths of every member of the JSON value v to out,
// in the form of propertyPaths; members of maps whose schema has pattern
// properties are added as "*" too.
func valuePaths(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			out[prefix+"/"+k] = true
			out[prefix+"/*"] = true
			valuePaths(prefix+"/"+k, x, out)
			valuePaths(prefix+"/*", x, out)
		}
	case []any:
		for _, x := range v {
			valuePaths(prefix+"[]", x, out)
		}
	}
}

// dataExamples returns the data of each type's example in docs/events.md
// and in testdata/full, by name.
func dataExamples(t *testing.T) map[Type]map[string][]byte {
	t.Helper()
	out := map[Type]map[string][]byte{}
	add := func(typ Type, name string, data []byte) {
		if out[typ] == nil {
			out[typ] = map[string][]byte{}
		}
		out[typ][name] = data
	}
	markdown, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range jsonBlocks(t, markdown) {
		var ev docExample
		if err := json.Unmarshal([]byte(block), &ev); err != nil {
			t.Fatalf("docs/events.md: %v", err)
		}
		add(ev.Type, "docs/events.md", ev.Data)
	}
	for _, typ := range Types() {
		name := filepath.Join("testdata", "full", string(typ)+".json")
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("reading the full example of %s: %v", typ, err)
		}
		add(typ, name, raw)
	}
	return out
}

// TestDataExamples decodes each example of each type into the type's data
// struct, refusing unknown members, encodes it again and checks that the
// result is the same JSON and valid. The examples in testdata/full set
// every property the schema has, so every field is read and written.
func TestDataExamples(t *testing.T) {
	t.Parallel()
	v := setup(t)
	examples := dataExamples(t)
	for _, typ := range Types() {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			doc, root := loadSchemaDoc(t, typ)
			for name, data := range examples[typ] {
				d := NewData(typ)
				dec := json.NewDecoder(bytes.NewReader(data))
				dec.DisallowUnknownFields()
				if err := dec.Decode(d); err != nil {
					t.Errorf("%s: decoding into %T: %v", name, d, err)
					continue
				}
				got, err := json.Marshal(d)
				if err != nil {
					t.Errorf("%s: encoding %T: %v", name, d, err)
					continue
				}
				if err := v.Validate(typ, got); err != nil {
					t.Errorf("%s: Validate(%T encoded) = %v, want nil\n%s", name, d, err, got)
				}
				var want, back any
				if err := json.Unmarshal(data, &want); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(got, &back); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, back); diff != "" {
					t.Errorf("%s: encoding the decoded %T changed the data (-example +encoded):\n%s", name, d, diff)
				}
			}

			// The full example sets every property.
			full := examples[typ][filepath.Join("testdata", "full", string(typ)+".json")]
			var value any
			if err := json.Unmarshal(full, &value); err != nil {
				t.Fatal(err)
			}
			have, props := map[string]bool{}, map[string]bool{}
			valuePaths("", value, have)
			doc.propertyPaths(t, "", root, props)
			for _, p := range sortedKeys(toAny(props)) {
				if !have[p] {
					t.Errorf("testdata/full/%s.json does not set %s", typ, p)
				}
			}
		})
	}
}

func toAny(m map[string]bool) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
