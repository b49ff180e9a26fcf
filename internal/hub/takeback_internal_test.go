package hub

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/waybill/waybill/internal/event"
)

// TestTakeBackReasonIsEventText checks that whatever Odoo answers (NUL
// characters, invalid UTF-8, a very long text cut inside a character)
// becomes a reason intake accepts, so the review item always opens.
func TestTakeBackReasonIsEventText(t *testing.T) {
	t.Parallel()
	v, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for name, reason := range map[string]string{
		"nul":          "not enough stock\x00 at WH/Stock",
		"invalid utf8": "lot \xff\xfe LOT-1",
		"long":         strings.Repeat("é", descriptionMax),
	} {
		d := event.ShipmentExceptionData{Category: "other", ExceptionID: clip("takeback-"+strings.Repeat("x", 80), exceptionIDMax),
			OwnerRole: "warehouse", Description: clip(printable(reason), descriptionMax)}
		if !utf8.ValidString(d.Description) || strings.ContainsRune(d.Description, 0) || len(d.Description) > descriptionMax {
			t.Errorf("%s: description %q", name, d.Description)
		}
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Validate(event.ShipmentException, raw); err != nil {
			t.Errorf("%s: intake refuses the reason: %v", name, err)
		}
	}
}
