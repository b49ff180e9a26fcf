// Package edifact reads UN/EDIFACT interchanges and maps the status reports
// of IFTSTA messages to canonical tracking events. It is pure: no I/O, no
// clock, no logging.
//
// [Parse] turns the bytes of one interchange into an [Interchange]: the
// delimiters (from the optional UNA service string advice, or the defaults
// :+.? '), the UNB header fields and one [Message] per UNH…UNT. Each message
// holds its [Segment] values, UNH and UNT included, split into data elements
// and components with release characters already removed, so a released
// separator such as "17?:30" is the data "17:30". Whitespace and newlines
// after a segment terminator are ignored.
//
// Parse also checks the envelope: UNZ must count the messages and repeat the
// UNB control reference, and UNT must count the segments of its message
// (UNH and UNT included) and repeat the UNH reference. Every problem is
// reported as an [*Error] that names the segment position (1-based, UNA not
// counted), the tag and the data element; it wraps [ErrSyntax] or
// [ErrEnvelope] for callers that branch with errors.Is. Parse never panics on
// malformed input.
//
// [Statuses] is a small typed view of an IFTSTA message: one [Status] per STS
// segment, with its consignment (CNI), status and reason codes, DTM values
// (raw value and format code, not converted to UTC), LOC+175 place, RFF
// references and FTX free text.
//
// [MapIFTSTA] turns the statuses of every IFTSTA message of an interchange
// into canonical tracking.Event values (format "edifact_iftsta") in a
// tracking.Mapped: the CNI consignment, RFF references and NAD+CA carrier
// as shipment keys; the Rec 24 status code and 9013 reason codes mapped to
// the canonical vocabulary, the partner's tables (tracking.Partner) first;
// the DTM+334 time converted to UTC in the zone of the LOC+175 UN/LOCODE,
// else the partner's default zone, or read with its own offset (formats
// 303 and 304); the FTX+DEL signer as proof of delivery, other free text as
// remarks, and MEA weights in kilograms. Each event has a stable
// SourceEventID, and repeats within the interchange are dropped. A status
// it cannot map is an [*Error] wrapping [ErrContent], and no events are
// returned. The document date (DTM+137) is not used.
//
// Functional groups (UNG/UNE) and repeating data elements are not supported:
// a UNG is rejected with [ErrEnvelope], and a repetition separator declared
// in UNA is kept as data.
//
// The values returned by Parse, Statuses and MapIFTSTA are plain data owned
// by the caller. Their strings share one copy of the input, so keeping any of
// them keeps that copy alive. The package keeps no state and is safe for
// concurrent use; the same Interchange may be mapped by several goroutines.
// Parse, Statuses and MapIFTSTA never panic on malformed input.
package edifact
