package x12

import (
	"errors"
	"fmt"
)

// Error is a syntax or envelope error found in an interchange.
//
// Code is the acknowledgement code that applies. Its width tells the level:
//   - three digits ("001", "023"): a TA1 interchange note code (element I18),
//     used for ISA/IEA problems and input that ends early;
//   - one or two digits on GS/GE: a 997 AK9 functional group syntax error code
//     (element 716), for example "4" for mismatched control numbers;
//   - one or two digits elsewhere: a 997 AK5 transaction set syntax error code
//     (element 717), for example "4" for a wrong SE01 segment count.
type Error struct {
	// Pos is the 1-based position of the segment in the interchange (ISA is 1).
	// For a missing trailer it is the position where the trailer was expected.
	Pos int
	// Segment is the segment ID, for example "SE".
	Segment string
	// Element is the 1-based element number, or 0 when the error concerns the
	// whole segment.
	Element int
	// Code is the acknowledgement code, see the type documentation.
	Code string
	// Msg describes the problem.
	Msg string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Element > 0 {
		return fmt.Sprintf("segment %d (%s), element %d: %s", e.Pos, e.Segment, e.Element, e.Msg)
	}
	return fmt.Sprintf("segment %d (%s): %s", e.Pos, e.Segment, e.Msg)
}

// interchangeLevel reports whether e is an interchange-level (TA1) error.
func (e *Error) interchangeLevel() bool { return len(e.Code) == 3 }

// Errors returns every *Error contained in err, which is typically the error
// returned by [Parse]. It returns nil when err is nil or holds no *Error.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *Error:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			var xe *Error
			if errors.As(err, &xe) {
				out = append(out, xe)
			}
		}
	}
	walk(err)
	return out
}
