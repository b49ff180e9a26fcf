// Package rating prices a delivered shipment with rules written in CEL in a
// versioned YAML rules file. It is pure: no I/O besides [Load] reading the
// file, no clock, no mutable global state.
//
// # Lifecycle and concurrency
//
// [Load] or [Parse] reads a rules file and compiles every CEL expression
// once; they report every problem in the file at once, as an errors.Join of
// [*ParseError] values with the file, line and column, the rule id and the
// key, like a compiler. The resulting [*Rules] is immutable and safe for
// concurrent use. [FactsFrom] derives [Facts] from a canonical
// shipment.Shipment, and [Rules.Rate] turns facts into [Charge] values.
// Rating is deterministic: the same rules and facts give the same charges in
// the same order. A rating error is a [*RateError] naming the rule; an
// unknown fact that a rule needs wraps [ErrUnknownFact].
//
// # Rules file
//
//	version: "2026.03"      # required text, recorded on every charge
//	currency: USD           # required default ISO 4217 currency
//	description: …          # optional
//	rules:                  # required, evaluated as described below
//	  - id: acme-ltl        # required, unique: letters, digits, . _ -
//	    kind: freight       # required: freight, fuel, detention, accessorial, reweigh
//	    description: …      # optional charge description
//	    code: "400"         # optional charge code (defaults below)
//	    customers: [odoo:res.partner/42]   # optional: only these customer refs
//	    default: true       # optional: only customers no rule of the group names
//	    when: facts.weight_kg <= 4500      # optional CEL condition (bool)
//	    currency: EUR       # optional, overrides the file's currency
//	    …                   # the kind's own keys
//
// Kinds and their keys (N is a number, see below; D a duration such as
// "2h" or "15m", in whole minutes):
//
//   - freight (type linehaul, code 400): either per (shipment, kg, pallet or
//     km) and rate N, or amount N; optional minimum N. Per kg bills
//     weight_kg (or measured_weight_kg after a reweigh), per pallet
//     pallets, per km distance_km; a missing fact is a rating error unless
//     the rule's when guards it with has().
//   - fuel (type fuel, code 405): percent N of the sum of the linehaul
//     charges rated for the shipment (freight rules only, never
//     accessorials), in the rule's currency. No linehaul, no fuel charge.
//   - detention (type detention, code DET): free_time D (required; "0s" for
//     none), increment D (default "1m"), hourly_rate N, optional maximum N,
//     optional minutes (CEL int, default facts.dwell_minutes). Billable
//     minutes = minutes − free time, rounded up to a multiple of the
//     increment; amount = billable minutes × hourly_rate / 60, capped at
//     maximum. Nothing is charged when billable minutes ≤ 0.
//   - accessorial: type (liftgate, residential, inside_delivery,
//     redelivery, layover, lumper, accessorial or other; codes LFT, RES,
//     IDL, RCL, LAY, UNL, MSC, MSC) and amount N. The when condition is
//     what triggers it.
//   - reweigh (code WTV for its fee): tolerance_percent and/or tolerance_kg
//     (plain numbers), optional fee N. When both weight_kg and
//     measured_weight_kg are known and the measured weight exceeds the
//     declared one by more than the tolerance (more than both when both are
//     set), freight rules per kg are re-rated on the measured weight
//     ([Charge.ReratedBy] names the reweigh rule) and the fee is charged
//     (type accessorial). Freight per kg records both weights as evidence
//     whenever a reweigh rule applied. At most one reweigh rule may apply.
//
// Unknown keys, keys of another kind, duplicate keys and duplicate ids are
// errors.
//
// A number N is a plain decimal literal (0.32, "145.00"; no exponents), or a
// CEL expression that gives a decimal or decimal text. Numbers are never
// negative. Every amount is computed exactly (math/big) and rounded half to
// even to the currency's minor unit once, at the end of each charge; a
// charge that rounds to zero is not emitted.
//
// # Which rules apply
//
// A rule with customers applies only to those customer refs. A rule with
// default: true applies only to shipments whose customer no rule of the
// same group (kind and charge type) names: it is the tariff for everyone
// without a contract. A rule with neither applies to every shipment. Then
// its when condition, if any, must hold. Rules are evaluated reweigh
// first, then freight, then detention and accessorials, then fuel; charges
// come out in the order of their rules in the file.
//
// # CEL
//
// Expressions see one variable, facts. Besides the standard CEL functions
// and macros (has, exists, all, filter, map, in, startsWith, …) they have
// an exact decimal type:
//
//   - decimal(string), decimal(int): "12.50" → decimal; the text must be a
//     plain decimal.
//   - decimal + - * / decimal or int, unary -, and < <= > >= with a decimal
//     or an int; == and != between decimals only. The decimal must be on
//     the left: facts.weight_kg * 2, not 2 * facts.weight_kg. Division by
//     zero is a rating error.
//   - ceil(decimal), floor(decimal), min(decimal, decimal),
//     max(decimal, decimal), sum(list(decimal)).
//
// Doubles never reach an amount: an expression for a number must give a
// decimal or decimal text, which the type checker enforces.
//
// # Facts
//
// Facts are read as facts.NAME. A fact that is unknown is absent, not zero:
// test it with has(facts.NAME); reading it without has() is a rating error.
// Collections are always present, possibly empty. Decimals are exact.
//
//	shipment_id              string   canonical shipment id
//	customer_ref             string   customer ref (shipment customer.ref)
//	customer_name            string   customer name
//	carrier_ref              string   carrier ref
//	carrier_scac             string   carrier SCAC
//	vehicle_type             string   vehicle type
//	origin_country           string   ISO 3166-1 alpha-2 country of the origin
//	origin_postal_code       string   postal code of the origin
//	origin_region            string   region or state of the origin
//	origin_city              string   city of the origin
//	origin_lat               double   latitude of the origin, degrees
//	origin_lon               double   longitude of the origin, degrees
//	destination_country      string   as origin_country, for the destination
//	destination_postal_code  string   as origin_postal_code
//	destination_region       string   as origin_region
//	destination_city         string   as origin_city
//	destination_lat          double   as origin_lat
//	destination_lon          double   as origin_lon
//	distance_km              decimal  km, great-circle (haversine) distance from
//	                                  origin to destination, rounded to 0.1 km;
//	                                  only when both have coordinates
//	weight_kg                decimal  kg, declared weight (shipment weight, else
//	                                  the sum of line weights when every line has one)
//	measured_weight_kg       decimal  kg, measured weight (scale, carrier reweigh)
//	handling_units           int      handling units of any kind, a partial one
//	                                  counted as one
//	handling_unit_type       string   UN/ECE Rec 20 code of the handling units (XPX…)
//	pallets                  int      pallets: handling_units when they are XPX
//	line_count               int      number of shipment lines
//	lines                    list     lines: line_id, sku, quantity (decimal),
//	                                  unit (Rec 20 code), delivered (decimal, in
//	                                  unit; absent before delivery), weight_kg
//	                                  (decimal, kg)
//	loaded_at                timestamp  loading time (UTC)
//	departed_at              timestamp  departure time (UTC)
//	arrived_at               timestamp  arrival time: the last arrival at or
//	                                    before delivery (UTC)
//	delivered_at             timestamp  delivery time: the delivered milestone,
//	                                    else the proof of delivery (UTC)
//	dwell_minutes            int      minutes, delivered_at − arrived_at rounded
//	                                  down; only when both are known and in order
//	milestones               map(string, timestamp)  first time of each milestone
//	                                  type without "shipment.": loaded, departed,
//	                                  arrived, delayed, delivered, …
//	exceptions               list     exceptions: id, category, status (open or
//	                                  resolved), reason_code
//	references               map(string, string)  shipment references
//	reported_charges         list     charges reported by carriers: code, type,
//	                                  description, amount (decimal, major units),
//	                                  currency, quantity (decimal), unit,
//	                                  invoice_number
//
// For each milestone type the first milestone in time is used, preferring
// one that was not reported late.
//
// # Evidence
//
// Each [Charge] records in Facts exactly the facts its rule read: in its
// when condition and expressions (present facts only, as they were read,
// including those tested with has()), customer_ref when the rule selects by
// customer, and the facts its kind needs (weight_kg, pallets, distance_km,
// dwell_minutes). A derived fact brings the facts it was derived from:
// distance_km the coordinates, dwell_minutes arrived_at and delivered_at.
package rating
