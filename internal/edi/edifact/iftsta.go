package edifact

import "fmt"

// Status is one STS segment of an IFTSTA message with the segments of its
// group (SG5) that describe it. Values are raw: codes are not mapped and
// times are not converted.
type Status struct {
	// Pos is the position of the STS segment in the interchange.
	Pos int
	// ConsignmentSeq is the CNI consolidation item number, such as "1".
	ConsignmentSeq string
	// ConsignmentRef is the CNI consignment reference (C503 document
	// number), such as "VH25110387".
	ConsignmentRef string
	// Category is the STS event category (C601), such as "1" (transport).
	Category string
	// Code is the STS status code (C555, UN/ECE Rec 24), such as "21".
	Code string
	// Reasons are the STS status reason codes (C556, element 9013) in order,
	// such as "7" (business closed). Nil when there are none.
	Reasons []string
	// Times are the DTM segments of the group.
	Times []DateTime
	// Place is the location identification of the first LOC+175 segment of
	// the group (usually a UN/LOCODE such as "NLRTM"), or "".
	Place string
	// Locations are all LOC segments of the group.
	Locations []Location
	// References are the RFF segments of the group.
	References []Reference
	// Texts are the FTX segments of the group.
	Texts []Text
}

// DateTime is a DTM C507 composite, kept as sent.
type DateTime struct {
	Qualifier string // 2005, such as "334" (status change date/time)
	Value     string // 2380, such as "202511121510"
	Format    string // 2379, such as "203" (CCYYMMDDHHMM, no zone)
}

// Location is a LOC segment.
type Location struct {
	Qualifier string // 3227, such as "175" (activity location)
	ID        string // C517 3225, such as "NLRTM"
	CodeList  string // C517 1131
	Agency    string // C517 3055, such as "6" (UN/ECE)
	Name      string // C517 3224
}

// Reference is an RFF C506 composite.
type Reference struct {
	Qualifier string // 1153, such as "CU" (consignor's reference)
	Value     string // 1154
}

// Text is an FTX segment.
type Text struct {
	Subject string   // 4451, such as "DEL" (delivery information)
	Lines   []string // C108 text literal components, release characters removed
}

// Statuses returns one [Status] per STS segment of an IFTSTA message, in
// order. RFF, DTM, LOC and FTX segments after an STS belong to it until the
// next STS or CNI; those inside a nested TDT, EQD or GID group are skipped.
// It returns an [*Error] wrapping [ErrEnvelope] when m is not an IFTSTA or an
// STS appears outside a CNI group.
func Statuses(m *Message) ([]Status, error) {
	if m.Type != "IFTSTA" {
		e := &Error{Tag: "UNH", Element: 2, Msg: fmt.Sprintf("message type %q is not IFTSTA", m.Type), Err: ErrEnvelope}
		if len(m.Segments) > 0 {
			e.Pos = m.Segments[0].Pos
		}
		return nil, e
	}
	var (
		out      []Status
		inCNI    bool
		seq, ref string
		cur      *Status // the open STS group, or nil; reset after every append to out
		nested   bool    // inside a TDT, EQD or GID group of cur
	)
	for i := range m.Segments {
		s := &m.Segments[i]
		switch s.Tag {
		case "CNI":
			inCNI = true
			seq, ref = s.Component(1, 1), s.Component(2, 1)
			cur = nil
		case "STS":
			if !inCNI {
				return nil, envelopeError(s, 0, "STS outside a CNI group")
			}
			out = append(out, Status{
				Pos:            s.Pos,
				ConsignmentSeq: seq,
				ConsignmentRef: ref,
				Category:       s.Component(1, 1),
				Code:           s.Component(2, 1),
				Reasons:        reasons(s),
			})
			cur, nested = &out[len(out)-1], false
		case "TDT", "EQD", "GID":
			nested = true
		case "DTM":
			if cur != nil && !nested {
				cur.Times = append(cur.Times, DateTime{Qualifier: s.Component(1, 1), Value: s.Component(1, 2), Format: s.Component(1, 3)})
			}
		case "RFF":
			if cur != nil && !nested {
				cur.References = append(cur.References, Reference{Qualifier: s.Component(1, 1), Value: s.Component(1, 2)})
			}
		case "LOC":
			if cur != nil && !nested {
				l := Location{Qualifier: s.Component(1, 1), ID: s.Component(2, 1), CodeList: s.Component(2, 2), Agency: s.Component(2, 3), Name: s.Component(2, 4)}
				cur.Locations = append(cur.Locations, l)
				if l.Qualifier == "175" && cur.Place == "" {
					cur.Place = l.ID
				}
			}
		case "FTX":
			if cur != nil && !nested {
				cur.Texts = append(cur.Texts, Text{Subject: s.Component(1, 1), Lines: textLines(s)})
			}
		}
	}
	return out, nil
}

// reasons returns the first component of STS elements 3 onwards that are not
// empty.
func reasons(s *Segment) []string {
	var rs []string
	for i := 3; i <= len(s.Elements); i++ {
		if r := s.Component(i, 1); r != "" {
			rs = append(rs, r)
		}
	}
	return rs
}

// textLines returns the non-empty components of FTX element 4 (C108).
func textLines(s *Segment) []string {
	var ls []string
	for _, l := range s.Element(4) {
		if l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}
