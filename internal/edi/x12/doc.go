// Package x12 reads and writes ANSI ASC X12 interchanges: the tokenizer, the
// envelope checks and 997 functional acknowledgements. It does no I/O and does
// not map transaction sets to Waybill's canonical events.
//
// [Parse] reads the delimiters from the fixed-width ISA segment, splits the
// input into [Segment] values and builds an [Interchange] of [Group] and
// [Transaction] values. It checks the envelope (ISA/IEA, GS/GE and ST/SE
// control numbers and counts) and reports every problem it finds as an
// [*Error] that carries the segment position and the acknowledgement code
// that applies. [Ack997] turns a parsed interchange and its errors into a 997
// interchange written with the received delimiters.
//
// All values are plain data. An Interchange is not modified after Parse
// returns, so it is safe to read from several goroutines.
package x12
