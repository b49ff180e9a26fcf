// Package x12 reads and writes ANSI ASC X12 interchanges: the tokenizer, the
// envelope checks, 997 functional acknowledgements, the mappers that turn
// transportation sets into Waybill's canonical model (package tracking) and
// the 204 load tender writer. It does no I/O.
//
// [Parse] (parse.go) reads the delimiters from the fixed-width ISA segment,
// splits the input into [Segment] values and builds an [Interchange] of
// [Group] and [Transaction] values. It checks the envelope (ISA/IEA, GS/GE
// and ST/SE control numbers and counts) and reports every problem it finds
// as an [*Error] that carries the segment position and the acknowledgement
// code that applies. [Ack997] (ack.go) turns a parsed interchange and its
// errors into a 997 interchange written with the received delimiters.
//
// [Map] (map.go) dispatches the transaction sets of a parsed interchange on
// ST01 and collects a [tracking.Mapped]: [Map214] (map214.go) turns a 214
// shipment status into tracking events, [Map210] (map210.go) a 210 freight
// invoice into a tracking invoice with its totals reconciled, and [Map990]
// (map990.go) a 990 into a tender response. A set that cannot be mapped
// contributes nothing and gives *Error values located at the segment and
// element, with the 997 code to pass to Ack997; unsupported sets give code
// 1, unusable data code 5. Map skips what Parse rejected and drops events
// repeated within one interchange. Partner settings ([tracking.Partner])
// override the standard code tables and supply defaults (zone, currency,
// signer remark).
//
// [Build204] (build204.go) writes a [Tender] as a 204 interchange that Parse
// reads back without errors.
//
// All values are plain data. An Interchange is not modified after Parse
// returns, and the mappers only read it and the Partner, so all of them are
// safe to call from several goroutines.
package x12
