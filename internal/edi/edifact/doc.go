// Package edifact reads UN/EDIFACT interchanges and extracts the status
// events of IFTSTA messages. It is pure: no I/O, no clock, no logging.
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
// references and FTX free text. Mapping these to canonical events, resolving
// time zones and code lists is left to callers.
//
// Functional groups (UNG/UNE) and repeating data elements are not supported:
// a UNG is rejected with [ErrEnvelope], and a repetition separator declared
// in UNA is kept as data.
//
// The values returned by Parse and Statuses are plain data owned by the
// caller. Their strings share one copy of the input, so keeping any of them
// keeps that copy alive. The package keeps no state and is safe for
// concurrent use.
package edifact
