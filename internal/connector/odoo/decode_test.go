package odoo

import (
	"encoding/json"
	"testing"
)

// FuzzDecoders feeds arbitrary bytes to every decoder of server replies;
// none may panic.
func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{
		`{"name":"odoo.exceptions.UserError","message":"x","arguments":["x"],"context":{},"debug":"tb"}`,
		`{"name":"SMS","type":"ir.actions.act_window","res_model":"confirm.stock.sms","res_id":1,"context":{"button_validate_picking_ids":[20]}}`,
		`[25, "S00025"]`, `false`, `25`, `[27]`, `"saas~18.3"`, `[[1,"x"],{"a":null}]`, `{"id":"x","move_ids":[1,"2",null]}`,
		"\x00", `{"res_id":1e400}`, `[1e308, -1]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := json.RawMessage(b)
		_, _ = decodeOdooError(raw)
		_, _ = decodeAction(raw)
		_, _ = decodeIDs(raw)
		_ = majorOf(raw)
		var m Many2One
		_ = m.UnmarshalJSON(b)
		var r Record
		if json.Unmarshal(b, &r) == nil {
			_ = r.ID()
			_ = r.M2O("id")
			_ = r.IDs("id")
			_ = r.Time("id")
			_ = r.Float("id")
			_ = r.Bool("id")
		}
		_ = retryAfter(map[string][]string{"Retry-After": {string(b)}}, zeroTime)
		_ = snippet(b)
	})
}

var zeroTime = parseOdooTime("2026-11-26 00:00:00")
