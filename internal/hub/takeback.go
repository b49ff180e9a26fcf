package hub

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/event"
)

// Limits of the shipment.exception schema for the fields takeBackFailed
// fills.
const (
	exceptionIDMax = 64
	descriptionMax = 2000
)

// takeBackFailed records that Odoo could not carry out an approved
// exception's take-back (damaged goods it will not scrap for lack of stock
// where they came back to, say) as a shipment.exception event owned by the
// warehouse, through intake like any other: it opens a review item with
// the reason. Its id is the action's and the exception's, so a retried
// action reports the same event, and each exception of one action its own.
func (h *Hub) takeBackFailed(ctx context.Context, a *connector.Action, exceptionID, reason string) error {
	d := event.ShipmentExceptionData{
		Category:    "other",
		ExceptionID: clip("takeback-"+exceptionID, exceptionIDMax),
		OwnerRole:   "warehouse",
		Description: clip(printable(reason), descriptionMax),
	}
	return h.report(ctx, a, odooSource, event.ShipmentException, ":takeback-failed:"+exceptionID, d)
}

// printable is s as event text can hold it: what Odoo answered may hold
// invalid UTF-8 or NUL characters, which intake refuses.
func printable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
