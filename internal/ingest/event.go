package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

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
	// whitespace.
	Body []byte
}

// FieldError is one problem with an event, located by a JSON pointer into
// it.
type FieldError struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// InvalidError reports every problem found in one event.
type InvalidError struct {
	Errors []FieldError
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

// Parse parses and validates one CloudEvent. On bad input it returns a
// *InvalidError listing every problem found.
func Parse(raw []byte, v *event.Validator, hints Hints) (*Event, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		ptr, msg := jsonProblem(err)
		return nil, &InvalidError{Errors: []FieldError{{Pointer: ptr, Message: msg}}}
	}
	var errs []FieldError
	bad := func(ptr, msg string) { errs = append(errs, FieldError{Pointer: ptr, Message: msg}) }
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
	} else if typ != "" {
		if err := v.Validate(typ, env.Data); err != nil {
			var ve *event.ValidationError
			if !errors.As(err, &ve) {
				return nil, fmt.Errorf("validating data: %w", err)
			}
			for _, fe := range ve.Errors {
				bad(fe.Pointer, fe.Message)
			}
		}
	}
	ev.CorrelationID = resolveCorrelation(env, hints, bad)
	if len(errs) > 0 {
		return nil, &InvalidError{Errors: errs}
	}

	var compact bytes.Buffer
	compact.Grow(len(raw))
	if err := json.Compact(&compact, raw); err != nil {
		ptr, msg := jsonProblem(err)
		return nil, &InvalidError{Errors: []FieldError{{Pointer: ptr, Message: msg}}}
	}
	ev.Body = compact.Bytes()

	h := sha256.New()
	h.Write([]byte(ev.Type))
	h.Write([]byte{0})
	h.Write([]byte(ev.Subject))
	h.Write([]byte{0})
	h.Write([]byte(ev.Time.Format(time.RFC3339Nano)))
	h.Write([]byte{0})
	var data bytes.Buffer
	data.Grow(len(env.Data))
	_ = json.Compact(&data, env.Data)
	h.Write(data.Bytes())
	ev.Hash = hex.EncodeToString(h.Sum(nil))

	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("generating event id: %w", err)
	}
	ev.ID = id.String()
	return ev, nil
}

func resolveCorrelation(env envelope, hints Hints, bad func(ptr, msg string)) string {
	if env.CorrelationID != nil {
		if !correlation.Valid(*env.CorrelationID) {
			bad("/correlationid", fmt.Sprintf("must be 1 to %d printable characters without spaces", correlation.MaxLen))
			return ""
		}
		return *env.CorrelationID
	}
	if env.Traceparent != nil {
		if id := correlation.FromTraceparent(*env.Traceparent); id != "" {
			return id
		}
		bad("/traceparent", "must be a W3C traceparent")
		return ""
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
