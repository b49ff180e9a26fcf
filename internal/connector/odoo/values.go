package odoo

import (
	"encoding/json"
	"strings"
	"time"
)

// DateTimeLayout is the layout of Odoo datetimes on the wire: naive UTC.
const DateTimeLayout = "2006-01-02 15:04:05"

// DateLayout is the layout of Odoo dates on the wire.
const DateLayout = "2006-01-02"

// Many2One is a many2one value: a record id and its display name. The zero
// value is an empty reference (Odoo's false).
type Many2One struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// UnmarshalJSON accepts false, null, a bare id and [id, "name"].
func (m *Many2One) UnmarshalJSON(b []byte) error {
	*m = Many2One{}
	var id int
	if json.Unmarshal(b, &id) == nil {
		m.ID = id
		return nil
	}
	var pair []json.RawMessage
	if json.Unmarshal(b, &pair) == nil && len(pair) >= 1 {
		_ = json.Unmarshal(pair[0], &m.ID)
		if len(pair) >= 2 {
			m.Name = jsonString(pair[1])
		}
	}
	return nil
}

// ID returns the record's id, 0 when absent or not a number.
func (r Record) ID() int { return r.Int("id") }

// Int returns an integer field, 0 for false or a wrong type.
func (r Record) Int(f string) int {
	var n float64
	if json.Unmarshal(r[f], &n) != nil {
		return 0
	}
	return int(n)
}

// Float returns a float field, 0 for false or a wrong type.
func (r Record) Float(f string) float64 {
	var n float64
	if json.Unmarshal(r[f], &n) != nil {
		return 0
	}
	return n
}

// String returns a char, text or selection field, "" for false.
func (r Record) String(f string) string { return jsonString(r[f]) }

// Bool returns a boolean field.
func (r Record) Bool(f string) bool {
	var b bool
	_ = json.Unmarshal(r[f], &b)
	return b
}

// M2O returns a many2one field.
func (r Record) M2O(f string) Many2One {
	var m Many2One
	if raw, ok := r[f]; ok {
		_ = m.UnmarshalJSON(raw)
	}
	return m
}

// IDs returns an x2many field's ids; elements that are not ids are skipped.
func (r Record) IDs(f string) []int {
	var raw []json.RawMessage
	if json.Unmarshal(r[f], &raw) != nil {
		return nil
	}
	ids := make([]int, 0, len(raw))
	for _, x := range raw {
		var n int
		if json.Unmarshal(x, &n) == nil && n > 0 {
			ids = append(ids, n)
		}
	}
	return ids
}

// Time returns a datetime or date field in UTC, zero for false or a value
// it cannot parse.
func (r Record) Time(f string) time.Time { return parseOdooTime(r.String(f)) }

func parseOdooTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{DateTimeLayout, "2006-01-02 15:04:05.999999", DateLayout, time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// formatOdooTime formats t as an Odoo UTC datetime.
func formatOdooTime(t time.Time) string { return t.UTC().Format(DateTimeLayout) }
