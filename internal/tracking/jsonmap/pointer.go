package jsonmap

import (
	"fmt"
	"strconv"
	"strings"
)

// Where a pointer starts.
const (
	rootElement = iota // /a/b: the current event element
	rootPayload        // $/a/b or $: the payload root
	rootVar            // $name/a/b or $name: a var
)

// pointer is a JSON pointer (RFC 6901) with the mapping language's root
// prefix.
type pointer struct {
	root   int
	name   string // the var's name for rootVar
	tokens []string
	text   string // as written
}

// parsePointer reads a pointer as written in a mapping: "/a/b" from the
// event element, "$" or "$/a/b" from the payload root, "$name" or
// "$name/a/b" from a var. RFC 6901 escapes apply: ~0 is ~ and ~1 is /.
func parsePointer(s string) (pointer, error) {
	p := pointer{text: s, root: rootElement}
	rest := s
	if strings.HasPrefix(s, "$") {
		p.root = rootPayload
		name, tail, _ := strings.Cut(s[1:], "/")
		if name != "" {
			if !isIdent(name) {
				return pointer{}, fmt.Errorf("pointer %q: %q is not a var name", s, name)
			}
			p.root, p.name = rootVar, name
		}
		rest = ""
		if len(s) > 1+len(name) {
			rest = "/" + tail
		}
	}
	if rest == "" {
		return p, nil
	}
	if rest[0] != '/' {
		return pointer{}, fmt.Errorf("pointer %q does not start with / or $", s)
	}
	for _, tok := range strings.Split(rest[1:], "/") {
		t, err := unescapeToken(tok)
		if err != nil {
			return pointer{}, fmt.Errorf("pointer %q: %w", s, err)
		}
		p.tokens = append(p.tokens, t)
	}
	return p, nil
}

func unescapeToken(tok string) (string, error) {
	if !strings.Contains(tok, "~") {
		return tok, nil
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] != '~' {
			b.WriteByte(tok[i])
			continue
		}
		if i+1 >= len(tok) || (tok[i+1] != '0' && tok[i+1] != '1') {
			return "", fmt.Errorf("~ must be followed by 0 or 1 in %q", tok)
		}
		if tok[i+1] == '0' {
			b.WriteByte('~')
		} else {
			b.WriteByte('/')
		}
		i++
	}
	return b.String(), nil
}

func escapeToken(t string) string {
	if !strings.ContainsAny(t, "~/") {
		return t
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

// isIdent reports whether s is a CEL identifier that may name a var.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// walk follows the tokens from doc. It returns nil when a token does not
// resolve: a missing member, an index out of range or not a canonical
// array index, or a step into a scalar.
func (p *pointer) walk(doc any) any {
	cur := doc
	for _, t := range p.tokens {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[t]
			if !ok {
				return nil
			}
			cur = v
		case []any:
			i, ok := arrayIndex(t)
			if !ok || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// arrayIndex reads an RFC 6901 array index: digits without leading zeros.
func arrayIndex(t string) (int, bool) {
	if t == "" || len(t) > 9 || (len(t) > 1 && t[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// absolute returns the pointer from the payload root, given the element's
// own pointer, or "" when it cannot be told.
func (p *pointer) absolute(elem string, elemKnown bool) string {
	var base string
	switch p.root {
	case rootPayload:
	case rootElement:
		if !elemKnown {
			return ""
		}
		base = elem
	default:
		return ""
	}
	var b strings.Builder
	b.WriteString(base)
	for _, t := range p.tokens {
		b.WriteByte('/')
		b.WriteString(escapeToken(t))
	}
	return b.String()
}
