// Package jsonmap turns JSON webhook payloads into canonical tracking
// events ([tracking.Event]) with declarative mapping files: JSON pointers
// (RFC 6901) pick plain fields, CEL expressions (cel.dev/cel-go) compute
// the rest, and code tables translate a partner's status codes.
//
// [Load] reads a mapping file (YAML) and validates all of it at once:
// unknown or repeated keys, bad pointer syntax, CEL syntax and type errors,
// unknown canonical statuses, kinds and exception types in code tables.
// Every problem is a [*LoadError] with its line; the returned error joins
// them ([LoadErrors] splits them again). The resulting [*Mapping] is
// immutable and safe for concurrent use; [Mapping.Apply] maps one payload
// with the settings of one partner ([tracking.Partner]) and returns a
// [tracking.Mapped]: its events sorted by occurred_at then source_event_id,
// duplicates inside the payload dropped and counted. A payload that is not
// JSON gives a [*JSONError] (errors.Is [ErrInvalidJSON]) with line and
// column; one the mapping cannot turn into valid events (a required field
// missing, a value of the wrong type, a status code in no table, a time
// without a zone…) gives a [*ValidationError] listing every problem by
// JSON pointer. Either way Apply returns no events, and never panics.
//
// [Builtin] returns the mappings shipped for EasyPost, AfterShip and
// project44 ([Builtins] lists them); their YAML files, in mappings/, are
// also examples of the language, as are testdata/ternvalley.yaml,
// testdata/ridgeback.yaml and testdata/batch.yaml, written for partner
// feeds that have no built-in mapping.
//
// The package is pure: no I/O besides reading the zone database, no clock,
// no logging.
//
// # A mapping file
//
//	format: easypost                      # Event.Format: easypost, json, …
//	description: what the mapping is for  # optional, free text
//	require: [/id, /result/tracking_code] # fields the payload must have
//	vars:                                 # optional: named values, once per payload
//	  est: payload.result.?carrier_detail.?est_delivery_date_local.orValue(null)
//	keys:                                 # optional: shipment keys every block shares
//	  tracking_number: $/result/tracking_code
//	events:                               # one or more event blocks
//	  - from: /result/tracking_details
//	    status:
//	      code: 'event.status + "/" + event.status_detail'
//	      table: {pre_transit/label_created: info_received}
//	      default: unknown
//	    time: /datetime
//
// Top-level keys:
//
//   - format (required): the name recorded in every event's Format, lower
//     case. The built-in mappings use their vendor's name; partner
//     mappings use json.
//   - description: free text.
//   - require: a pointer or a list of pointers, from the payload root. A
//     payload where any of them is absent, null or an empty string is
//     rejected with a [*ValidationError] that lists every one missing,
//     before anything else is mapped. List what identifies and correlates
//     the payload: without it the payload can be neither deduplicated nor
//     matched to a shipment.
//   - vars: named values computed once per payload, in order, each able to
//     use the ones before it (see Vars).
//   - keys: shipment keys shared by every block; a block's own keys
//     override them one by one.
//   - events (required): the list of event blocks. Each block reads its
//     elements and makes one event of each; the events of all blocks are
//     then sorted and deduplicated together.
//
// YAML anchors and aliases may be used to repeat parts; merge keys (<<)
// may not.
//
// # Values
//
// Wherever a field takes a value, it is written as one of:
//
//   - a JSON pointer starting with "/": from the current event element
//     (the element of the block's array, or the payload for a block
//     without from). "/tracking_location/city".
//   - a JSON pointer starting with "$": "$" is the payload root, so
//     "$/result/carrier" is read from the root whatever the element;
//     "$name" and "$name/0/type" read var name. In require and from, a
//     pointer starting with "/" is from the payload root too.
//   - a bare word, in the fields that have a vocabulary: kind (milestone,
//     eta_update, appointment, position, note), the weight kind (actual,
//     declared, billed) and unit (kg, lb, lbs, oz, g, t and their UN/ECE
//     and X12 codes), exception.type and location.role (origin,
//     destination).
//   - otherwise a CEL expression. A constant text is a CEL string
//     literal, quoted for YAML too: signer: '"FRONT DESK"'.
//
// Pointers follow RFC 6901: ~1 stands for "/" and ~0 for "~" in a member
// name, array indexes are plain decimals. A pointer that does not resolve
// (a missing member, an index out of range, a step into a scalar) gives an
// absent value; so does null, an empty CEL optional and a string that is
// empty or only spaces. An absent value leaves its field unset, except
// where it is required (id, time, status code, require): there it is a
// problem, reported with the pointer that was tried. Strings are trimmed.
// A number picked where text is wanted gives its text as sent (36.8 gives
// "36.8"); a PRO number keeps its leading zeros only if the partner sent
// it as a string.
//
// # CEL
//
// Expressions see these variables:
//
//   - payload: the whole document (dyn);
//   - event: the current element (dyn), in a block;
//   - index: the element's position in its array (int), in a block;
//   - each var defined before, by its name (dyn).
//
// JSON objects are maps, arrays lists, integral numbers int and other
// numbers double. Selecting a missing member is an error: guard with
// has(event.x), or select optionally: event.?x.orValue(d) is d when x is
// missing (but null when x is there and null). A CEL result of null or an
// empty optional is absent. Besides the standard library (size,
// contains, startsWith, matches, timestamp, conversions, the has, all,
// exists, filter and map macros…) the environment has CEL's optional
// types, the strings extension (split, trim, lowerAscii, upperAscii,
// replace, substring, indexOf, join, format…), cross-type numeric
// comparisons, and two functions of its own:
//
//   - hash(list) string: a 32-hex-digit digest of the list's elements
//     (strings, numbers, booleans, null, timestamps), for event ids.
//     hash(["a", "b"]) and hash(["ab"]) differ.
//   - first(list) dyn: the first element, or null for an empty list.
//
// Both CEL branches of a conditional must have the same type, so
// 'cond ? "text" : null' does not compile; write "" for absent text, an
// optional (optional.of(x) / optional.none()), or a payload value, which
// is dyn. Expressions are type-checked when the mapping is loaded: an
// expression whose type cannot suit its field (a list for an id, a string
// for when) is a load error. Every evaluation has a cost limit
// (cel.CostLimit, 100000) and so has each payload as a whole (ten
// million), so no mapping can hang; an evaluation that fails is a problem
// of the payload. Everything is deterministic: there is no clock.
//
// # Vars
//
// vars, at the top level or in a block, is a mapping from names to values
// (usually CEL). A block's vars are computed per element, after when.
// Later values use a var by name in CEL, or with a "$name" pointer:
//
//	vars:
//	  stop: 'has(event.stopId) ? first(payload.stops.filter(s, s.id == event.stopId)) : null'
//	location:
//	  city: $stop/location/address/city
//
// A name must be a CEL identifier that is not payload, event, index or a
// reserved word, and unique in its scope.
//
// # Event blocks
//
// Each entry of events takes these keys; all but time are optional.
//
//   - from: a pointer, from the payload root, to an array (each element is
//     an event) or an object (one event). Without from (and from_expr) the
//     payload itself is the one event (or, for an array, each element is). An absent or null array gives no
//     events; anything else that is not an array or object is a problem.
//   - from_expr: instead of from, a CEL expression (payload and the
//     top-level vars) giving a list or a map.
//   - when: a CEL expression; elements for which it is false are skipped.
//     It sees event and index but not the block's vars.
//   - vars: see Vars.
//   - id: the event's SourceEventID, which becomes its CloudEvent id. Omit
//     it to use a hash of (format, kind, status raw code, the time as
//     sent, shipment keys). Either way it must be stable: a partner that
//     repeats its history must get the same ids, so never build an id from
//     index or from the webhook's own delivery id when the payload repeats
//     earlier events.
//   - kind: milestone (the default), eta_update, appointment, position or
//     note; a status table entry's kind takes precedence.
//   - keys: the shipment keys, by their names in [tracking.Keys]: scac,
//     pro, bol, po (a list, or a text; list items are trimmed and empty
//     ones dropped), tracking_number, carrier, consignment_id,
//     odoo_picking, sale_order, customer_ref, provider_id. Every event
//     must name a shipment ([tracking.Keys.Refs]); when none of its keys
//     is present, each one tried is reported missing.
//   - status: a status code value and its table (see Status codes).
//   - substatus, reason, raw_reason: text values; substatus and reason
//     override the table entry's.
//   - exception: the exception overlay, {type, reason, reason_code}, laid
//     over the table entry's. type must be an exception type
//     ([tracking.ExceptionTypes]); when it is absent, the partner's
//     reason codes ([tracking.Partner.ReasonCodes]) may give it from
//     reason_code.
//   - time (required): the event time (see Times).
//   - eta, appointment: a window, {start, end, date}. start and end are
//     times like time; one without the other gives an instant window
//     (start = end); end before start is a problem. date, a civil date
//     YYYY-MM-DD, is used only when start and end are absent: an
//     estimated delivery day is a date, never midnight UTC.
//   - location: {name, city, region, postal_code, country, unlocode, lat,
//     lon, role}. country is converted to ISO 3166-1 alpha-2 with
//     [tracking.Country] (an unknown alpha-2 code is kept, an unknown
//     alpha-3 code is a problem); unlocode is upper-cased; role is
//     lower-cased.
//   - position: {lat, lon, speed_kmh, accuracy_m}, numbers (or numeric
//     strings); lat and lon are required and range-checked, speed and
//     accuracy rounded to 3 decimals. Convert other units in CEL.
//   - weights: a list of {value, unit, kind} (or one such mapping). value
//     is a number or a string, "1,250.5" or "1180 lbs" (a unit inside the
//     value wins); unit defaults to the partner's WeightUnit; kind is
//     actual, declared or billed. Each becomes a [tracking.Weight] in kg
//     via [tracking.ParseWeight].
//   - pieces: a count: 3, "3" or "3 PLT".
//   - handling_units: {count, packaging}; a count like "3 PLT" gives the
//     packaging too when packaging is not mapped.
//   - equipment: text.
//   - signer: text; the proof-of-delivery signer.
//   - remarks: a value or a list of values, each text or a list of texts.
//
// A block must give shipment keys (its own or the top-level ones) and, if
// its kind is the constant milestone or omitted, a status.
//
// # Status codes
//
//	status:
//	  code: [/subtag, /tag]            # one value or a list; each may give a list
//	  raw_code: /tag                   # optional: what Event.RawCode records
//	  table:
//	    InTransit: in_transit
//	    InTransit_002: picked_up
//	    AttemptFail_003: {status: delivery_attempted, reason: consignee_closed}
//	    Exception_012: {status: exception, exception: damaged}
//	    TRACKING_START: {kind: note}
//	  default: unknown
//
// code gives the candidate codes, in order; the first is recorded as
// RawCode unless raw_code says otherwise. Each candidate is looked up in
// the partner's own codes ([tracking.Partner.StatusCodes]) and then in the
// table; the first hit wins, else default, else the event is a problem.
// When the block's own kind is not milestone, a missing or unknown code is
// not a problem: the event just takes nothing from the table.
// Table keys are matched exactly. A table entry is a canonical status, or
// a mapping with status, substatus, reason, kind and exception (a type, or
// {type, reason, reason_code}). Only milestones keep a status; an entry of
// another kind must not have one. Without a table the code itself must be
// a canonical status; the short form "status: /status" says just that.
//
// # Times
//
// A time is a value, or {value, zone, location_zone, epoch}. The value is
// read as:
//
//   - a string in RFC 3339 or its ISO 8601 variants: "T" or a space
//     between date and time, seconds optional, fractional seconds, an
//     offset with or without colon ("-0800"), hours only ("+01") or
//     after a space. The instant is exact; tz_source is explicit_offset
//     and tz the offset ("-08:00", or UTC for "Z").
//   - a number: epoch seconds (milliseconds with epoch: ms); tz_source
//     utc. A string of digits is epoch only when epoch (s or ms) is set.
//   - a CEL timestamp: an instant, tz_source utc.
//   - a string without a zone ("2025-11-12 16:40:00"): a local reading,
//     resolved with [tracking.Resolve] in the zone named by zone (an IANA
//     name; tz_source location), else the zone of the event's location
//     (tracking.ZoneOf: UN/LOCODE, US state or Canadian province, single-zone
//     country; tz_source location) unless location_zone is false, else the
//     partner's default zone (tz_source partner_default). With none of
//     them the event is a problem ([tracking.ErrNoZone]).
//
// occurred_at is the UTC instant, occurred_at_local the wall-clock reading
// as sent. Years outside 1900–9999 are a problem.
//
// # Duplicates and order
//
// Apply sorts the events of a payload by occurred_at, then
// source_event_id (then content, so the result never depends on element
// order), and keeps the first of each group of duplicates: events with the
// same source_event_id (the provider repeated itself), and milestones with
// the same shipment keys, status, exception type and occurred_at truncated
// to the minute (the same milestone under another id or written with
// another offset). Mapped.Dropped counts what was dropped. Deduplication
// across payloads is the caller's: the ids are stable for that.
//
// # Partner settings
//
// Apply consults, of the [tracking.Partner]: Zone (local times without a
// zone), WeightUnit (weights without a unit), StatusCodes (before the
// mapping's table) and ReasonCodes (exception types from reason codes).
// A Zone that is not a known IANA zone is an error of the partner's
// configuration, not of the payload.
package jsonmap
