package intake

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// stringAttr returns the field of the string attribute called name, and
// false when name is not one.
func (env *envelope) stringAttr(name []byte) (**string, bool) {
	switch string(name) {
	case "specversion":
		return &env.SpecVersion, true
	case "id":
		return &env.ID, true
	case "source":
		return &env.Source, true
	case "type":
		return &env.Type, true
	case "subject":
		return &env.Subject, true
	case "time":
		return &env.Time, true
	case "datacontenttype":
		return &env.DataContentType, true
	case "correlationid":
		return &env.CorrelationID, true
	case "traceparent":
		return &env.Traceparent, true
	}
	return nil, false
}

// envelopeNames are the names json.Unmarshal matches to envelope fields,
// in any case.
var envelopeNames = []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype",
	"data_base64", "correlationid", "traceparent", "data"}

// decodeEnvelope decodes raw into env as json.Unmarshal does, for the
// usual shape of an event: a JSON object whose attributes are named
// exactly, once each, with string values free of escapes. It reports false
// for anything else, leaving env to json.Unmarshal, which decodes it or
// says what is wrong. It spares the reflection and the copies of the
// general decoder on every event.
func decodeEnvelope(raw []byte, env *envelope) bool {
	return json.Valid(raw) && decodeValidEnvelope(raw, env)
}

// decodeValidEnvelope is decodeEnvelope for raw already known to be valid
// JSON, such as an element of a batch that splitArray returned.
func decodeValidEnvelope(raw []byte, env *envelope) bool {
	// raw is valid JSON from here on: the reader only finds its way.
	r := jsonText{b: raw}
	r.space()
	if r.peek() != '{' {
		return false
	}
	r.i++
	var out envelope
	for {
		r.space()
		if r.peek() == '}' {
			break
		}
		name, ok := r.plainString()
		if !ok {
			return false
		}
		r.space()
		r.i++ // :
		r.space()
		if p, ok := out.stringAttr(name); ok {
			if *p != nil || r.peek() != '"' {
				return false
			}
			v, ok := r.plainString()
			if !ok {
				return false
			}
			s := string(v)
			*p = &s
		} else if n := string(name); n == "data" || n == "data_base64" {
			start := r.i
			r.skip()
			v := bytes.Clone(raw[start:r.i])
			if string(v) == "null" {
				return false
			}
			f := &out.Data
			if n == "data_base64" {
				f = &out.DataBase64
			}
			if *f != nil {
				return false
			}
			*f = v
		} else {
			for _, known := range envelopeNames {
				if strings.EqualFold(n, known) {
					return false
				}
			}
			r.skip()
		}
		r.space()
		if r.peek() == ',' {
			r.i++
		}
	}
	*env = out
	return true
}

// splitArray returns the elements of raw, a JSON array, as slices of it,
// each valid JSON text. It reports false when raw is not valid JSON or not
// an array. It reads a batch in one pass where json.Unmarshal into
// []json.RawMessage would scan it twice and copy every element.
func splitArray(raw []byte) ([][]byte, bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	r := jsonText{b: raw}
	r.space()
	if r.peek() != '[' {
		return nil, false
	}
	r.i++
	var out [][]byte
	for {
		r.space()
		if r.peek() == ']' {
			return out, true
		}
		start := r.i
		r.skip()
		out = append(out, raw[start:r.i])
		r.space()
		if r.peek() == ',' {
			r.i++
		}
	}
}

// jsonText reads valid JSON text.
type jsonText struct {
	b []byte
	i int
}

func (r *jsonText) peek() byte {
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

func (r *jsonText) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// plainString reads a string at r.i and returns its text, false if it has
// an escape or is not valid UTF-8 (the text would need decoding).
func (r *jsonText) plainString() ([]byte, bool) {
	if r.peek() != '"' {
		return nil, false
	}
	end := bytes.IndexByte(r.b[r.i+1:], '"')
	if end < 0 {
		return nil, false
	}
	s := r.b[r.i+1 : r.i+1+end]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return nil, false
	}
	r.i += end + 2
	return s, true
}

// skip moves past one value.
func (r *jsonText) skip() {
	depth := 0
	for r.i < len(r.b) {
		switch c := r.b[r.i]; c {
		case '"':
			r.i++
			for r.i < len(r.b) && r.b[r.i] != '"' {
				if r.b[r.i] == '\\' {
					r.i++
				}
				r.i++
			}
			r.i++
		case '{', '[':
			depth++
			r.i++
		case '}', ']':
			depth--
			r.i++
		default:
			// A number or a literal: up to the next delimiter.
			for r.i < len(r.b) && !strings.ContainsRune(",}] \t\r\n", rune(r.b[r.i])) {
				r.i++
			}
		}
		if depth == 0 {
			return
		}
		for r.i < len(r.b) && strings.ContainsRune(" \t\r\n,:", rune(r.b[r.i])) && depth > 0 {
			r.i++
		}
	}
}
