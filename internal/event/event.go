package event

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

//go:embed schemas/*.json
var schemaFS embed.FS

// Type is a CloudEvents type attribute value that Waybill accepts, such as
// "shipment.planned".
type Type string

// The event types Waybill accepts, in lifecycle order.
const (
	ShipmentPlanned   Type = "shipment.planned"
	OrderConfirmed    Type = "order.confirmed"
	InventoryReserved Type = "inventory.reserved"
	InventoryShortage Type = "inventory.shortage"
	DispatchAssigned  Type = "dispatch.assigned"
	ShipmentLoaded    Type = "shipment.loaded"
	ShipmentDeparted  Type = "shipment.departed"
	ShipmentArrived   Type = "shipment.arrived"
	ShipmentDelayed   Type = "shipment.delayed"
	ShipmentDelivered Type = "shipment.delivered"
	ShipmentException Type = "shipment.exception"
	ShipmentReturned  Type = "shipment.returned"
	ShipmentCancelled Type = "shipment.cancelled"
	ChargesReported   Type = "charges.reported"
	// ShipmentTracked is a carrier's tracking event in the canonical
	// vocabulary. Waybill makes it from its sources' payloads (webhooks,
	// X12, EDIFACT); it can also be sent directly.
	ShipmentTracked Type = "shipment.tracked"
	// PickingValidated records the ERP's validation of a loaded shipment's
	// picking (its goods issue). Waybill emits it itself, from its ERP
	// connector; the invoice waits for it.
	PickingValidated Type = "picking.validated"
	// ShipmentInvoiced records the invoice made in the ERP. Waybill emits
	// it itself, from its ERP connector.
	ShipmentInvoiced Type = "shipment.invoiced"
	// ReviewDecided records a person's decision on a review item. Waybill
	// emits it itself, for decisions taken through the API or the CLI.
	ReviewDecided Type = "review.decided"
)

// Sender says who may send events of a type to Waybill.
type Sender uint8

const (
	// SenderAny types may be sent by any producer: clients of the API with
	// the events:write scope, source profiles, and Waybill itself.
	SenderAny Sender = iota + 1
	// SenderWaybill types record what Waybill itself did or was told
	// through its own authorised routes (an invoice made in the ERP, a
	// reviewer's decision): only Waybill emits them, and intake refuses
	// them from outside.
	SenderWaybill
)

// catalogue lists every event type once, in lifecycle order, with who may
// send it and its data struct. Types, Valid, Type.Sender and NewData derive
// from it.
var catalogue = []struct {
	typ    Type
	sender Sender
	// newData returns a pointer to a new zero value of the type's data
	// struct (data.go).
	newData func() any
}{
	{ShipmentPlanned, SenderAny, func() any { return new(ShipmentPlannedData) }},
	{OrderConfirmed, SenderAny, func() any { return new(OrderConfirmedData) }},
	{InventoryReserved, SenderAny, func() any { return new(InventoryReservedData) }},
	{InventoryShortage, SenderAny, func() any { return new(InventoryShortageData) }},
	{DispatchAssigned, SenderAny, func() any { return new(DispatchAssignedData) }},
	{ShipmentLoaded, SenderAny, func() any { return new(ShipmentLoadedData) }},
	{ShipmentDeparted, SenderAny, func() any { return new(ShipmentDepartedData) }},
	{ShipmentArrived, SenderAny, func() any { return new(ShipmentArrivedData) }},
	{ShipmentDelayed, SenderAny, func() any { return new(ShipmentDelayedData) }},
	{ShipmentDelivered, SenderAny, func() any { return new(ShipmentDeliveredData) }},
	{ShipmentException, SenderAny, func() any { return new(ShipmentExceptionData) }},
	{ShipmentReturned, SenderAny, func() any { return new(ShipmentReturnedData) }},
	{ShipmentCancelled, SenderAny, func() any { return new(ShipmentCancelledData) }},
	{ChargesReported, SenderAny, func() any { return new(ChargesReportedData) }},
	{ShipmentTracked, SenderAny, func() any { return new(ShipmentTrackedData) }},
	{PickingValidated, SenderWaybill, func() any { return new(PickingValidatedData) }},
	{ShipmentInvoiced, SenderWaybill, func() any { return new(ShipmentInvoicedData) }},
	{ReviewDecided, SenderWaybill, func() any { return new(ReviewDecidedData) }},
}

// Types returns every event type, in the order of the constants above. The
// caller owns the returned slice.
func Types() []Type {
	out := make([]Type, len(catalogue))
	for i, c := range catalogue {
		out[i] = c.typ
	}
	return out
}

// Valid reports whether t is one of the types listed by [Types].
func (t Type) Valid() bool { return t.Sender() != 0 }

// Sender reports who may send events of type t; 0 for an unknown type.
func (t Type) Sender() Sender {
	for _, c := range catalogue {
		if c.typ == t {
			return c.sender
		}
	}
	return 0
}

// External reports whether t may come from outside Waybill: from an API
// client or a source profile.
func (t Type) External() bool { return t.Sender() == SenderAny }

// schemaURL is the $id of t's schema.
func (t Type) schemaURL() string {
	return "https://waybill.dev/schemas/" + string(t) + ".json"
}

// Schema returns the raw JSON Schema document for the data of events of type
// t, as embedded in the binary, and reports whether t has one. The caller
// owns the returned bytes.
func Schema(t Type) ([]byte, bool) {
	if !t.Valid() {
		return nil, false
	}
	b, err := schemaFS.ReadFile("schemas/" + string(t) + ".json")
	if err != nil {
		return nil, false
	}
	return b, true
}

// ErrUnknownType is returned by [Validator.Validate] for a type that is not
// listed by [Types].
var ErrUnknownType = errors.New("unknown event type")

// dataPointer is the JSON pointer of the data member in the event envelope.
const dataPointer = "/data"

// FieldError is one problem found in event data.
type FieldError struct {
	// Pointer is the RFC 6901 JSON pointer of the offending value, relative to
	// the event envelope, so it always starts with "/data". For a missing
	// required field or an unknown field it points at the field itself.
	Pointer string `json:"pointer"`
	// Message is a short lowercase English description of the problem.
	Message string `json:"message"`
}

// ValidationError reports that event data does not match its schema. Errors
// lists every problem, sorted by Pointer and then Message.
type ValidationError struct {
	Errors []FieldError
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid event data: ")
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Pointer)
		b.WriteString(": ")
		b.WriteString(fe.Message)
	}
	return b.String()
}

// Validator checks event data against the embedded schemas. Create it with
// [NewValidator]; it is immutable and safe for concurrent use.
type Validator struct {
	schemas map[Type]*jsonschema.Schema
	// checks answer for valid data without decoding it; the schemas find
	// the problems of the rest (see check).
	checks map[Type]*check
}

// NewValidator compiles the schema of every event type. Call it once at
// start-up and share the result. An error means a schema in this package is
// broken, which tests catch.
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(embeddedLoader{})
	docs := map[Type]any{}

	for _, t := range Types() {
		raw, ok := Schema(t)
		if !ok {
			return nil, fmt.Errorf("loading schema of %s: not embedded", t)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parsing schema of %s: %w", t, err)
		}
		docs[t] = doc
		if err := c.AddResource(t.schemaURL(), doc); err != nil {
			return nil, fmt.Errorf("adding schema of %s: %w", t, err)
		}
	}

	v := &Validator{schemas: make(map[Type]*jsonschema.Schema), checks: make(map[Type]*check)}
	for _, t := range Types() {
		sch, err := c.Compile(t.schemaURL())
		if err != nil {
			return nil, fmt.Errorf("compiling schema of %s: %w", t, err)
		}
		v.schemas[t] = sch
		if c, err := compileCheck(docs[t]); err == nil {
			v.checks[t] = c
		}
	}
	return v, nil
}

// embeddedLoader refuses to load anything: every schema is added to the
// compiler from the embedded files, so a reference to any other document is
// a bug in the schemas, and must never reach the network or the file system.
type embeddedLoader struct{}

// Load implements jsonschema.URLLoader.
func (embeddedLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("loading %s: only embedded schemas can be referenced", url)
}

// Validate checks data, the raw data member of an event of type t. It returns
// nil if data is valid, a *[ValidationError] listing every problem if it is
// not (data that is not JSON gives a single problem at "/data"), and an error
// wrapping [ErrUnknownType] if t is not a known type.
func (v *Validator) Validate(t Type, data []byte) error {
	sch, ok := v.schemas[t]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, string(t))
	}
	if c := v.checks[t]; c != nil && c.valid(data) {
		return nil
	}
	return v.validateSchema(t, sch, data)
}

// validateSchema is Validate with the full JSON Schema validator alone.
func (v *Validator) validateSchema(t Type, sch *jsonschema.Schema, data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &ValidationError{Errors: []FieldError{{Pointer: dataPointer, Message: jsonErrorMessage(err)}}}
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return fmt.Errorf("validating %s data: %w", t, err)
	}
	return &ValidationError{Errors: fieldErrors(verr)}
}

// jsonErrorMessage describes why data is not JSON.
func jsonErrorMessage(err error) string {
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return "must be a json value, got nothing"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid json: unexpected end of input"
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid json at offset %d: %s", syntaxErr.Offset, syntaxErr.Error())
	default:
		return "invalid json: " + err.Error()
	}
}

// fieldErrors flattens the error tree of the jsonschema package into its
// leaves, sorted by pointer and message, without duplicates.
func fieldErrors(root *jsonschema.ValidationError) []FieldError {
	out := appendLeaves(nil, root)
	slices.SortFunc(out, func(a, b FieldError) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(out)
}

// appendLeaves appends the deepest causes of e to out.
func appendLeaves(out []FieldError, e *jsonschema.ValidationError) []FieldError {
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, name := range k.Missing {
			out = append(out, FieldError{Pointer: pointer(e.InstanceLocation, name), Message: "missing required field"})
		}
		return out
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			out = append(out, FieldError{Pointer: pointer(e.InstanceLocation, name), Message: "unknown field"})
		}
		return out
	case *kind.AnyOf, *kind.OneOf:
		// Alternatives that only require one field or another ("at least one
		// of ref and name") read better as one problem than as a list of
		// missing fields of which only one is needed.
		if names := alternativeFields(e); names != nil {
			return append(out, FieldError{
				Pointer: pointer(e.InstanceLocation),
				Message: "must include at least one of " + strings.Join(names, ", "),
			})
		}
	}
	if len(e.Causes) == 0 {
		return append(out, FieldError{Pointer: pointer(e.InstanceLocation), Message: message(e.ErrorKind)})
	}
	for _, c := range e.Causes {
		out = appendLeaves(out, c)
	}
	return out
}

// alternativeFields returns the fields named by the alternatives of an anyOf
// or oneOf error if every alternative failed only for a missing field, and
// nil otherwise.
func alternativeFields(e *jsonschema.ValidationError) []string {
	var names []string
	for _, c := range e.Causes {
		r, ok := c.ErrorKind.(*kind.Required)
		if !ok || len(c.Causes) > 0 {
			return nil
		}
		names = append(names, r.Missing...)
	}
	return names
}

// pointer returns the RFC 6901 JSON pointer, relative to the event envelope,
// of the instance location loc followed by the tokens in more.
func pointer(loc []string, more ...string) string {
	var b strings.Builder
	b.WriteString(dataPointer)
	for _, tokens := range [][]string{loc, more} {
		for _, tok := range tokens {
			b.WriteByte('/')
			b.WriteString(pointerEscaper.Replace(tok))
		}
	}
	return b.String()
}

// pointerEscaper escapes a reference token as RFC 6901 section 3 requires.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// message returns a short lowercase English message for a leaf error.
func message(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("must be of type %s, got %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		return "must be one of " + strings.Join(want, ", ")
	case *kind.Const:
		return fmt.Sprintf("must be %v", k.Want)
	case *kind.Format:
		switch k.Want {
		case "date-time":
			return "must be an RFC 3339 date-time with offset, such as 2025-11-12T14:05:00+01:00"
		case "email":
			return "must be an email address"
		case "uri":
			return "must be an absolute URI"
		default:
			return "must be a valid " + k.Want
		}
	case *kind.Pattern:
		return "must match pattern " + k.Want
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long", k.Want)
	case *kind.MinItems:
		if k.Want == 1 {
			return "must have at least 1 item"
		}
		return fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.UniqueItems:
		return fmt.Sprintf("must not repeat items: items %d and %d are equal", k.Duplicates[0], k.Duplicates[1])
	case *kind.MinProperties:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must have at least %d fields", k.Want)
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %d fields", k.Want)
	case *kind.Minimum:
		return "must be greater than or equal to " + k.Want.RatString()
	case *kind.Maximum:
		return "must be less than or equal to " + k.Want.RatString()
	case *kind.ExclusiveMinimum:
		return "must be greater than " + k.Want.RatString()
	case *kind.ExclusiveMaximum:
		return "must be less than " + k.Want.RatString()
	case *kind.MultipleOf:
		return "must be a multiple of " + k.Want.RatString()
	case *kind.OneOf:
		if k.Subschemas != nil {
			return "must match exactly one of the allowed forms"
		}
		return "must match one of the allowed forms"
	case *kind.AnyOf:
		return "must match one of the allowed forms"
	case *kind.Not, *kind.FalseSchema:
		return "is not allowed"
	default:
		return "must match the schema: " + strings.Join(k.KeywordPath(), "/") + " failed"
	}
}
