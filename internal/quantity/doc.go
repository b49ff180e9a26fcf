// Package quantity holds measured amounts (weights, volumes, lengths, piece
// counts, handling units) tagged with a UN/ECE Recommendation 20 unit code,
// and converts between units exactly.
//
// A [Unit] is an upper-case Rec 20 code such as KGM, LBR, MTQ or XPX. Every
// known unit belongs to one dimension (count, mass, volume, length, or one of
// the handling units pallet, carton, box and case) and has an exact factor to
// that dimension's base unit (C62, KGM, MTQ, MTR). Codes are case-insensitive
// on input, and the packaging aliases partners send (PX, PLT and PL for
// pallets, CT, BX, CS and CA) are normalised to their Rec 20 X-codes by
// [ParseUnit]. Handling units convert only to themselves: a pallet is never a
// number of pieces.
//
// A [Quantity] is an exact rational value with a unit. It is built by [Parse]
// from a plain decimal string (what carriers and EDI partners send) or by
// [New] from a *big.Rat, and it is never rounded while it is converted
// ([Quantity.In]), compared ([Quantity.Cmp]) or summed ([Quantity.Add],
// [Quantity.Sub]). Arithmetic uses math/big, never float64. Rounding happens
// only when a value that has no finite decimal expansion (for example
// 1 KGM in LBR) is written out by [Quantity.Decimal], and that rounding is
// half to even at 9 fractional digits.
//
// Quantities are immutable values: every method returns a new Quantity, so
// they are safe for concurrent use and may be copied freely. Compare them
// with [Quantity.Cmp], not with ==, which compares internal pointers.
//
// In JSON a Quantity is {"value":"12.5","unit":"KGM"}, with the value as a
// string so that it survives decoders that use float64.
package quantity
