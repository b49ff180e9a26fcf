package jsonmap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidJSON is wrapped by the [*JSONError] that [Mapping.Apply]
// returns for a payload that is not one well-formed JSON value. Retrying
// such a payload cannot help.
var ErrInvalidJSON = errors.New("payload is not valid json")

// ErrUnknownMapping is returned by [Builtin] for a name it does not know.
var ErrUnknownMapping = errors.New("unknown built-in mapping")

// JSONError says where a payload stops being JSON. It wraps
// [ErrInvalidJSON] and the error of encoding/json.
type JSONError struct {
	// Line and Column are 1-based; Column counts bytes.
	Line, Column int
	// Offset is the 0-based byte offset of the offending byte, or the
	// length of the payload when it ends early.
	Offset int64
	// Err is the decoder's error: a *json.SyntaxError, or
	// io.ErrUnexpectedEOF for a truncated payload.
	Err error
}

// Error returns, for example, "payload is not valid json: line 10, column
// 66: invalid character '}' looking for beginning of object key string".
func (e *JSONError) Error() string {
	return fmt.Sprintf("%v: line %d, column %d: %v", ErrInvalidJSON, e.Line, e.Column, e.Err)
}

// Unwrap returns [ErrInvalidJSON] and the decoder's error.
func (e *JSONError) Unwrap() []error { return []error{ErrInvalidJSON, e.Err} }

// Problem is one defect of a payload found by [Mapping.Apply].
type Problem struct {
	// Pointer is the JSON pointer (RFC 6901), from the payload root, of the
	// field concerned: the field itself for a plain pick, the event element
	// for a computed value. It is empty when the element has no address in
	// the payload (elements of from_expr).
	Pointer string `json:"pointer,omitempty"`
	// Field is the mapping field that failed, such as "events[0].time",
	// and Line its line in the mapping file.
	Field string `json:"field"`
	Line  int    `json:"line,omitempty"`
	// Missing is true when the field is absent, null or empty.
	Missing bool `json:"missing,omitempty"`
	// Msg says what is wrong, in lower case.
	Msg string `json:"msg"`
}

// String returns, for example, "/msg/id (require): missing".
func (p Problem) String() string {
	var b strings.Builder
	if p.Pointer != "" {
		b.WriteString(p.Pointer)
		b.WriteString(" (")
		b.WriteString(p.Field)
		b.WriteString(")")
	} else {
		b.WriteString(p.Field)
	}
	b.WriteString(": ")
	b.WriteString(p.Msg)
	return b.String()
}

// ValidationError is returned by [Mapping.Apply] for a well-formed JSON
// payload that the mapping cannot turn into valid events: a required field
// is missing (so the payload can be neither deduplicated nor correlated), a
// value has the wrong type or cannot be read, a status code is in no table,
// or an expression fails. Nothing of the payload should be stored as an
// event; keep the raw body for inspection.
type ValidationError struct {
	// Format is the mapping's format.
	Format string
	// Problems lists every defect found, in payload order. At most
	// [MaxProblems] are kept; Omitted counts the rest.
	Problems []Problem
	Omitted  int
}

// MaxProblems bounds the problems a [ValidationError] lists.
const MaxProblems = 100

// Error returns, for example, "aftership payload: /event_id (require):
// missing; /msg/id (require): missing".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format)
	b.WriteString(" payload: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	if e.Omitted > 0 {
		b.WriteString("; and ")
		b.WriteString(strconv.Itoa(e.Omitted))
		b.WriteString(" more")
	}
	return b.String()
}

// Missing returns the pointers of the fields that are missing, in order,
// each once.
func (e *ValidationError) Missing() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range e.Problems {
		if p.Missing && p.Pointer != "" && !seen[p.Pointer] {
			seen[p.Pointer] = true
			out = append(out, p.Pointer)
		}
	}
	return out
}

// LoadError is one problem of a mapping file found by [Load]. Load reports
// every problem at once, joined with errors.Join; [LoadErrors] takes them
// apart again.
type LoadError struct {
	// Line and Column locate the YAML node concerned (1-based), or are 0
	// when the problem concerns the whole file.
	Line, Column int
	// Path names the node, such as "events[0].status.table.OFD".
	Path string
	// Msg says what is wrong, in lower case.
	Msg string
	// Err is the underlying error, such as CEL's issues, or nil.
	Err error
}

// Error returns, for example, "line 12: events[0].time: unknown key
// "zone_name"".
func (e *LoadError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }

// LoadErrors returns every *LoadError in err, which is typically the error
// returned by [Load], in order. It returns nil when err holds none.
func LoadErrors(err error) []*LoadError {
	var out []*LoadError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *LoadError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			var le *LoadError
			if errors.As(err, &le) {
				out = append(out, le)
			}
		}
	}
	walk(err)
	return out
}
