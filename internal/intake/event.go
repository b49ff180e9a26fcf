package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/event"
)

// Event is a parsed, validated CloudEvent ready to be stored.
type Event struct {
	// ID is the canonical event id (a UUIDv7) given by Waybill.
	ID string
	// Source and SourceID are the CloudEvents source and id: together the
	// idempotency key.
	Source   string
	SourceID string
	Type     event.Type
	Subject  string
	// Time is when it happened, in UTC; Offset is the source's UTC offset
	// in seconds, kept so the local time can be shown again.
	Time          time.Time
	Offset        int
	CorrelationID string
	// Hash identifies the payload: a repeat of (Source, SourceID) with
	// another hash is a conflict, not a duplicate.
	Hash string
	// Body is the whole event as received, without insignificant
	// whitespace, and Data its data member, likewise.
	Body []byte
	Data json.RawMessage
	// Decoded is Data decoded into its type's data struct (what
	// event.NewData returns), or nil when it could not be: the workflow
	// then decodes Data itself and reports why it cannot.
	Decoded any

	// Trace is the span context the event's flow continues from, for
	// tracing: its own traceparent attribute when it has one, else the
	// span of the request or the work that submitted it. Via is that
	// submitting span when Trace is the event's own. Committer.Submit sets
	// both from its context when it carries a span; they stay invalid
	// with tracing off.
	Trace, Via trace.SpanContext

	// traceparent is the event's traceparent attribute, when valid.
	traceparent string

	// sealed is Body as stored (sealed when encryption is on), made on
	// the submitting goroutine so that the writer does not; empty until
	// then.
	sealed string
}

// InvalidError reports every problem found in one event.
type InvalidError struct {
	Errors []event.FieldError
}

func (e *InvalidError) Error() string {
	if len(e.Errors) == 1 {
		return fmt.Sprintf("invalid event: %s: %s", e.Errors[0].Pointer, e.Errors[0].Message)
	}
	return fmt.Sprintf("invalid event: %d problems, first %s: %s", len(e.Errors), e.Errors[0].Pointer, e.Errors[0].Message)
}

// Hints are the correlation sources of the HTTP request that carried an
// event, used when the event itself names none.
type Hints struct {
	Traceparent   string
	CorrelationID string
}

// envelope is the CloudEvents 1.0 structured-mode JSON form.
type envelope struct {
	SpecVersion     *string         `json:"specversion"`
	ID              *string         `json:"id"`
	Source          *string         `json:"source"`
	Type            *string         `json:"type"`
	Subject         *string         `json:"subject"`
	Time            *string         `json:"time"`
	DataContentType *string         `json:"datacontenttype"`
	DataBase64      json.RawMessage `json:"data_base64"`
	CorrelationID   *string         `json:"correlationid"`
	Traceparent     *string         `json:"traceparent"`
	Data            json.RawMessage `json:"data"`
}

const (
	maxIDLen      = 256
	maxSubjectLen = 200
)

// TimeWindow bounds the times of the events intake accepts around the
// time it receives them, so that a clock or parsing fault at a producer
// (year 0001, year 9999) cannot become a shipment's timestamps.
type TimeWindow struct {
	// Past is how long ago an event may have happened; 0 leaves it open.
	Past time.Duration
	// Future is how far ahead of now an event may be dated; 0 leaves it
	// open.
	Future time.Duration
}

// ForbiddenTypeError reports an event of a type that only Waybill itself
// emits, sent from outside. Nothing of such an event is stored.
type ForbiddenTypeError struct {
	Type event.Type
}

func (e *ForbiddenTypeError) Error() string {
	return fmt.Sprintf("events of type %s are emitted by Waybill itself and are not accepted from outside", e.Type)
}

// Parser parses and validates CloudEvents for one kind of producer. The
// zero value is not usable: Validator is required. A Parser is immutable
// and safe for concurrent use.
type Parser struct {
	// Validator checks event data against its type's schema.
	Validator *event.Validator
	// Internal accepts the types that only Waybill emits
	// (event.SenderWaybill). It is set for Waybill's own producers only:
	// events from API clients and source profiles are refused with a
	// *ForbiddenTypeError.
	Internal bool
	// Window bounds the event's time around now.
	Window TimeWindow
	// NowFunc returns the current time; nil means time.Now.
	NowFunc func() time.Time
}

// Parse parses and validates one CloudEvent from outside Waybill, with no
// time window. On bad input it returns a *InvalidError listing every
// problem found, or a *ForbiddenTypeError.
func Parse(raw []byte, v *event.Validator, hints Hints) (*Event, error) {
	return (&Parser{Validator: v}).Parse(raw, hints)
}

// Parse parses and validates one CloudEvent. On bad input it returns a
// *InvalidError listing every problem found, or a *ForbiddenTypeError for a
// type the producer may not send.
func (p *Parser) Parse(raw []byte, hints Hints) (*Event, error) {
	return p.parse(raw, hints, false)
}

// parse is Parse; valid says raw is known to be valid JSON text.
func (p *Parser) parse(raw []byte, hints Hints, valid bool) (*Event, error) {
	// Text that a database cannot store as given must never reach one:
	// PostgreSQL refuses NUL and invalid UTF-8, and SQLite would store
	// invalid UTF-8 altered, so that distinct ids could collide.
	if !utf8.Valid(raw) {
		return nil, &InvalidError{Errors: []event.FieldError{{Pointer: "", Message: fmt.Sprintf("not valid UTF-8 (first bad byte at offset %d)", invalidUTF8At(raw))}}}
	}
	var env envelope
	if (valid || json.Valid(raw)) && decodeValidEnvelope(raw, &env) {
		// The usual shape, decoded without reflection.
	} else if err := json.Unmarshal(raw, &env); err != nil {
		ptr, msg := jsonProblem(err)
		return nil, &InvalidError{Errors: []event.FieldError{{Pointer: ptr, Message: msg}}}
	}
	if env.Type != nil {
		if t := event.Type(*env.Type); t.Valid() && !t.External() && !p.Internal {
			return nil, &ForbiddenTypeError{Type: t}
		}
	}
	var errs []event.FieldError
	bad := func(ptr, msg string) { errs = append(errs, event.FieldError{Pointer: ptr, Message: msg}) }
	if hasNUL(raw) {
		nulProblems(&env, bad)
	}
	str := func(p *string, ptr string, maxLen int) string {
		switch {
		case p == nil:
			bad(ptr, "required")
		case *p == "":
			bad(ptr, "must not be empty")
		case len(*p) > maxLen:
			bad(ptr, fmt.Sprintf("longer than %d characters", maxLen))
		default:
			return *p
		}
		return ""
	}

	if env.SpecVersion == nil {
		bad("/specversion", "required")
	} else if *env.SpecVersion != "1.0" {
		bad("/specversion", `must be "1.0"`)
	}
	ev := &Event{
		SourceID: str(env.ID, "/id", maxIDLen),
		Source:   str(env.Source, "/source", maxIDLen),
		Subject:  str(env.Subject, "/subject", maxSubjectLen),
	}
	if ev.Subject != "" && strings.ContainsAny(ev.Subject, " \t\r\n") {
		bad("/subject", "must not contain white space")
	}
	typ := event.Type(str(env.Type, "/type", 64))
	if typ != "" && !typ.Valid() {
		bad("/type", fmt.Sprintf("unknown event type %q", string(typ)))
		typ = ""
	}
	ev.Type = typ
	if env.Time == nil {
		bad("/time", "required")
	} else if t, err := parseTime(*env.Time); err != nil {
		bad("/time", "must be an RFC 3339 date-time with a UTC offset")
	} else if msg := p.outsideWindow(t); msg != "" {
		bad("/time", msg)
	} else {
		_, off := t.Zone()
		ev.Time, ev.Offset = t.UTC(), off
	}
	if env.DataContentType != nil {
		ct := strings.ToLower(strings.TrimSpace(strings.SplitN(*env.DataContentType, ";", 2)[0]))
		if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
			bad("/datacontenttype", "must be application/json")
		}
	}
	if len(env.DataBase64) > 0 {
		bad("/data_base64", "binary data is not accepted: send data as JSON")
	}
	if len(env.Data) == 0 || bytes.Equal(env.Data, []byte("null")) {
		bad("/data", "required")
	} else if hugeExponent(env.Data) {
		// Checking such a number against a bound means expanding it
		// exactly: a few of them would cost seconds of CPU.
		bad("/data", fmt.Sprintf("holds a number with an exponent beyond ±%d", maxExponent))
	} else if typ != "" {
		if err := p.Validator.Validate(typ, env.Data); err != nil {
			var ve *event.ValidationError
			if !errors.As(err, &ve) {
				return nil, fmt.Errorf("validating data: %w", err)
			}
			errs = append(errs, ve.Errors...)
		}
	}
	ev.CorrelationID = resolveCorrelation(env, hints, bad)
	if env.Traceparent != nil && correlation.FromTraceparent(*env.Traceparent) != "" {
		ev.traceparent = *env.Traceparent
	}
	if len(errs) > 0 {
		return nil, &InvalidError{Errors: errs}
	}

	// Most producers send compact JSON: text with no white space outside
	// its strings is compact already, and is only copied.
	plain := compact(raw)
	if plain {
		ev.Body = bytes.Clone(raw)
	} else {
		var compact bytes.Buffer
		compact.Grow(len(raw))
		if err := json.Compact(&compact, raw); err != nil {
			ptr, msg := jsonProblem(err)
			return nil, &InvalidError{Errors: []event.FieldError{{Pointer: ptr, Message: msg}}}
		}
		ev.Body = compact.Bytes()
	}

	h := sha256.New()
	h.Write([]byte(ev.Type))
	h.Write([]byte{0})
	h.Write([]byte(ev.Subject))
	h.Write([]byte{0})
	h.Write([]byte(ev.Time.Format(time.RFC3339Nano)))
	h.Write([]byte{0})
	if plain {
		ev.Data = env.Data
	} else {
		var data bytes.Buffer
		data.Grow(len(env.Data))
		_ = json.Compact(&data, env.Data)
		ev.Data = data.Bytes()
	}
	h.Write(ev.Data)
	ev.Hash = hex.EncodeToString(h.Sum(nil))
	// Decoded here, on the request's goroutine, the data need not be
	// decoded again where events are applied one after another.
	if d := event.NewData(ev.Type); d != nil && json.Unmarshal(ev.Data, d) == nil {
		ev.Decoded = d
	}

	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("generating event id: %w", err)
	}
	ev.ID = id.String()
	return ev, nil
}

// maxExponent is the largest exponent a number in event data may have:
// far beyond any quantity, amount or coordinate.
const maxExponent = 999

// hugeExponent reports whether the JSON text raw holds a number whose
// exponent has more digits than maxExponent.
func hugeExponent(raw []byte) bool {
	in := false // inside a string
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == 'e' || c == 'E'):
			j := i + 1
			if j < len(raw) && (raw[j] == '+' || raw[j] == '-') {
				j++
			}
			exp := 0 // stops growing once beyond maxExponent
			for ; j < len(raw) && raw[j] >= '0' && raw[j] <= '9'; j++ {
				if exp <= maxExponent {
					exp = exp*10 + int(raw[j]-'0')
				}
			}
			if exp > maxExponent {
				return true
			}
			i = j - 1
		}
	}
	return false
}

// compact reports whether the JSON text raw has no white space outside
// its strings. raw must be valid JSON.
func compact(raw []byte) bool {
	in := false // inside a string
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case in && c == '\\':
			i++ // the escaped byte cannot end the string
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			return false
		}
	}
	return true
}

// outsideWindow says why t is outside p.Window, or "" when it is inside.
func (p *Parser) outsideWindow(t time.Time) string {
	w := p.Window
	if w.Past <= 0 && w.Future <= 0 {
		return ""
	}
	now := time.Now()
	if p.NowFunc != nil {
		now = p.NowFunc()
	}
	switch {
	case w.Past > 0 && t.Before(now.Add(-w.Past)):
		return fmt.Sprintf("%s is more than %s before the time of receipt: events may be at most %s old", t.Format(time.RFC3339), durationText(w.Past), durationText(w.Past))
	case w.Future > 0 && t.After(now.Add(w.Future)):
		return fmt.Sprintf("%s is more than %s after the time of receipt: events may be dated at most %s ahead", t.Format(time.RFC3339), durationText(w.Future), durationText(w.Future))
	}
	return ""
}

// durationText writes whole days as days ("365 days", "1 day") and other
// durations as Go does.
func durationText(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// nulEscape is how JSON writes the NUL character.
var nulEscape = []byte(`\u0000`)

// hasNUL reports whether the JSON text raw holds a NUL character: JSON
// cannot hold a raw NUL byte outside strings, and inside them it must be
// escaped, so it is enough to find an escape whose backslash is not itself
// escaped.
func hasNUL(raw []byte) bool {
	for i := 0; ; {
		j := bytes.Index(raw[i:], nulEscape)
		if j < 0 {
			return bytes.IndexByte(raw, 0) >= 0
		}
		at := i + j
		n := 0 // backslashes ending at at
		for k := at; k >= 0 && raw[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = at + len(nulEscape)
	}
}

// nulProblems locates the NUL characters of an event that hasNUL found
// one in.
func nulProblems(env *envelope, bad func(ptr, msg string)) {
	const msg = "must not contain the NUL character (\\u0000)"
	found := false
	for _, f := range []struct {
		v   *string
		ptr string
	}{{env.ID, "/id"}, {env.Source, "/source"}, {env.Subject, "/subject"}, {env.Type, "/type"}, {env.Time, "/time"},
		{env.DataContentType, "/datacontenttype"}, {env.CorrelationID, "/correlationid"}, {env.Traceparent, "/traceparent"}} {
		if f.v != nil && strings.IndexByte(*f.v, 0) >= 0 {
			bad(f.ptr, msg)
			found = true
		}
	}
	if hasNUL(env.Data) {
		bad("/data", msg)
		found = true
	}
	if !found {
		bad("", msg)
	}
}

// invalidUTF8At returns the offset of the first byte of b that is not part
// of valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// resolveCorrelation picks an event's correlation id: its correlationid,
// else its traceparent's trace id, else the request's traceparent header,
// else its X-Correlation-ID header, else a new one. The event's own
// attributes are checked whenever present; an invalid traceparent header
// is ignored, as Trace Context asks of a receiver.
func resolveCorrelation(env envelope, hints Hints, bad func(ptr, msg string)) string {
	var trace string
	if env.Traceparent != nil {
		if trace = correlation.FromTraceparent(*env.Traceparent); trace == "" {
			bad("/traceparent", "must be a W3C traceparent: 00-<32 lowercase hex trace id>-<16 lowercase hex parent id>-<2 hex flags>, ids not all zeros")
		}
	}
	if env.CorrelationID != nil {
		if !correlation.Valid(*env.CorrelationID) {
			bad("/correlationid", fmt.Sprintf("must be 1 to %d printable characters without spaces", correlation.MaxLen))
			return ""
		}
		return *env.CorrelationID
	}
	if env.Traceparent != nil {
		return trace
	}
	if id := correlation.FromTraceparent(hints.Traceparent); id != "" {
		return id
	}
	if correlation.Valid(hints.CorrelationID) {
		return hints.CorrelationID
	}
	return correlation.New()
}

// parseTime accepts RFC 3339 and the common ISO 8601 variants (no colon in
// the offset, a space instead of T). A time without an offset is refused:
// its instant is unknown.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not an RFC 3339 date-time")
}

// jsonProblem locates a JSON decoding error for the client.
func jsonProblem(err error) (pointer, msg string) {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "", fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return "/" + strings.ReplaceAll(te.Field, ".", "/"), "must be a " + jsonKind(te.Type.Kind().String())
		}
		return "", "must be a JSON object"
	}
	return "", "malformed JSON: " + err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "ptr", "string":
		return "string"
	case "slice", "array":
		return "array"
	default:
		return goKind
	}
}
