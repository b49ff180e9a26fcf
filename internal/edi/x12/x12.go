package x12

// Delimiters are the separators an interchange declares in its ISA segment.
type Delimiters struct {
	// Element separates elements: the byte right after "ISA".
	Element byte
	// Component separates the components of a composite element: ISA16.
	Component byte
	// Repetition is ISA11 when the interchange version is 00402 or later and
	// ISA11 is not alphanumeric, otherwise 0. Parse does not split repeated
	// elements; the separator stays in the component text.
	Repetition byte
	// Segment terminates a segment: the byte right after ISA16.
	Segment byte
}

// Segment is one segment of an interchange.
type Segment struct {
	// ID is the segment tag, for example "AT7".
	ID string
	// Elements holds the data elements after the ID; Elements[0] is element 01.
	// Each element is split into its components; a simple element has one
	// component. ISA elements are never split.
	Elements [][]string
	// Pos is the 1-based position of the segment in the interchange (ISA is 1).
	Pos int
}

// Element returns element i (1-based, as in "SE01"), or "" when the segment
// has fewer elements. For a composite element it returns the first component;
// use [Segment.Component] for the others.
func (s Segment) Element(i int) string {
	return s.Component(i, 1)
}

// Component returns component j (1-based) of element i (1-based), or "" when
// it is absent.
func (s Segment) Component(i, j int) string {
	if i < 1 || i > len(s.Elements) {
		return ""
	}
	e := s.Elements[i-1]
	if j < 1 || j > len(e) {
		return ""
	}
	return e[j-1]
}

// Interchange is an ISA…IEA envelope.
type Interchange struct {
	// Delimiters are the separators read from the ISA segment.
	Delimiters Delimiters
	// ISA is the interchange header. Its elements keep their space padding.
	ISA Segment
	// IEA is the interchange trailer, or nil when the input ended without one.
	IEA *Segment
	// SenderQualifier and SenderID are ISA05 and ISA06, with padding removed.
	SenderQualifier, SenderID string
	// ReceiverQualifier and ReceiverID are ISA07 and ISA08, with padding removed.
	ReceiverQualifier, ReceiverID string
	// Version is ISA12, for example "00401".
	Version string
	// ControlNumber is ISA13.
	ControlNumber string
	// Usage is ISA15: "P" for production, "T" for test.
	Usage string
	// Groups are the functional groups in input order.
	Groups []Group
}

// Group is a GS…GE functional group.
type Group struct {
	// GS is the group header.
	GS Segment
	// GE is the group trailer, or nil when it is missing.
	GE *Segment
	// FunctionalID is GS01, for example "QM" for 214 sets.
	FunctionalID string
	// SenderID and ReceiverID are GS02 and GS03.
	SenderID, ReceiverID string
	// ControlNumber is GS06.
	ControlNumber string
	// Version is GS08, for example "004010".
	Version string
	// Transactions are the transaction sets in input order.
	Transactions []Transaction
	// End is the position of the GE segment, or the position where it was
	// expected when it is missing.
	End int
}

// Transaction is an ST…SE transaction set.
type Transaction struct {
	// Code is ST01, the transaction set identifier, for example "214".
	Code string
	// ControlNumber is ST02.
	ControlNumber string
	// Segments are the segments from ST to SE inclusive. The last one is not
	// an SE when the trailer is missing.
	Segments []Segment
	// End is the position of the SE segment, or the position where it was
	// expected when it is missing.
	End int
}
