package odoo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/tracing"
)

// maxReplyBytes bounds the size of a reply the client reads.
const maxReplyBytes = 64 << 20

// userAgent names the client to Odoo, as the JSON-2 documentation asks.
const userAgent = "waybill-odoo-client/1"

// arg is a positional argument of an ORM method together with its
// parameter name, which JSON-2 needs.
type arg struct {
	name  string
	value any
}

// request is one ORM call, in a form both transports can send.
type request struct {
	model, method string
	// ids is the record ids the method runs on; sent only when withIDs.
	ids     []int
	withIDs bool
	// args are the positional arguments after the ids.
	args []arg
	// kwargs are keyword arguments.
	kwargs map[string]any
	// context is the Odoo context of the call; nil sends none.
	context map[string]any
}

// transport sends one request and returns its raw result (nil for None).
// Failures are *Error values, not yet classified.
type transport interface {
	call(ctx context.Context, r *request) (json.RawMessage, *Error)
	protocol() string
}

// httpReply is what came back for one HTTP request.
type httpReply struct {
	status int
	header http.Header
	body   []byte
}

// post sends body to url. When no usable reply came back it returns an
// *Error of kind unavailable (nothing was sent) or outcome unknown (the
// request was written).
func post(ctx context.Context, hc *http.Client, method, url string, header http.Header, body []byte) (*httpReply, *Error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, url, rd)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "building request", Err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	if id := correlation.From(ctx); id != "" {
		req.Header.Set(correlation.Header, id)
	}
	tracing.Inject(ctx, req.Header)
	resp, err := hc.Do(req)
	if err != nil {
		if wrote.Load() {
			return nil, &Error{Kind: KindOutcomeUnknown, Message: "no reply after the request was sent", Err: err}
		}
		return nil, &Error{Kind: KindUnavailable, Message: "request not sent", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return nil, &Error{Kind: KindOutcomeUnknown, HTTPStatus: resp.StatusCode, Message: "reading the reply", Err: err}
	}
	if len(data) > maxReplyBytes {
		return nil, &Error{Kind: KindOutcomeUnknown, HTTPStatus: resp.StatusCode, Message: fmt.Sprintf("reply larger than %d bytes", maxReplyBytes)}
	}
	return &httpReply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// httpError builds the error of a reply that carries no Odoo error object.
func httpError(rep *httpReply, now time.Time) *Error {
	e := &Error{
		Kind:       kindOfStatus(rep.status),
		Name:       "http." + strconv.Itoa(rep.status),
		HTTPStatus: rep.status,
		Message:    snippet(rep.body),
		RetryAfter: retryAfter(rep.header, now),
	}
	return e
}

// snippet returns the start of a non-JSON body for error messages, with
// HTML tags left as they are: it is diagnostic only.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	const n = 200
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// retryAfter parses a Retry-After header, in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// odooError is Odoo's error object: error.data on JSON-RPC, the whole body
// on JSON-2. Fields are decoded leniently: a wrong type leaves them empty.
type odooError struct {
	Name    string
	Message string
	Debug   string
}

func decodeOdooError(raw json.RawMessage) (odooError, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return odooError{}, false
	}
	e := odooError{Name: jsonString(m["name"]), Message: jsonString(m["message"]), Debug: jsonString(m["debug"])}
	if e.Message == "" {
		var args []json.RawMessage
		if json.Unmarshal(m["arguments"], &args) == nil && len(args) > 0 {
			e.Message = jsonString(args[0])
		}
	}
	return e, e.Name != ""
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// nullToNil maps a JSON null (or nothing) to nil.
func nullToNil(raw json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return t
}

// jsonrpcTransport speaks JSON-RPC 2.0 at /jsonrpc (object.execute_kw).
type jsonrpcTransport struct {
	hc     *http.Client
	url    string
	db     string
	key    string
	nextID atomic.Int64
	uid    atomic.Int64
	now    func() time.Time
}

func (t *jsonrpcTransport) protocol() string { return ProtocolJSONRPC }

// service calls service.method(args...) and returns its result.
func (t *jsonrpcTransport) service(ctx context.Context, service, method string, args []any) (json.RawMessage, *Error) {
	body, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"method":  "call",
		"id":      t.nextID.Add(1),
		"params":  map[string]any{"service": service, "method": method, "args": args},
	})
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "encoding the request", Err: err}
	}
	rep, e := post(ctx, t.hc, http.MethodPost, t.url, http.Header{"Content-Type": {"application/json"}}, body)
	if e != nil {
		return nil, e
	}
	if rep.status != http.StatusOK {
		return nil, httpError(rep, t.now())
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(rep.body, &env); err != nil {
		return nil, &Error{Kind: KindOutcomeUnknown, Name: "http.200", HTTPStatus: rep.status,
			Message: "reply is not a JSON-RPC envelope: " + snippet(rep.body), Err: err}
	}
	if errRaw := nullToNil(env.Error); errRaw != nil {
		var outer struct {
			Code    json.RawMessage `json:"code"`
			Message json.RawMessage `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(errRaw, &outer); err != nil {
			return nil, &Error{Kind: KindUnknown, HTTPStatus: rep.status, Message: "undecodable JSON-RPC error: " + snippet(errRaw)}
		}
		var code int
		_ = json.Unmarshal(outer.Code, &code)
		oe, ok := decodeOdooError(outer.Data)
		if !ok {
			return nil, &Error{Kind: KindUnknown, Code: code, HTTPStatus: rep.status, Message: jsonString(outer.Message)}
		}
		return nil, &Error{Kind: kindOfName(oe.Name, oe.Message), Name: oe.Name, Message: oe.Message, Debug: oe.Debug, Code: code, HTTPStatus: rep.status}
	}
	return nullToNil(env.Result), nil
}

// authenticate logs in and stores the uid.
func (t *jsonrpcTransport) authenticate(ctx context.Context, login string) *Error {
	res, e := t.service(ctx, "common", "authenticate", []any{t.db, login, t.key, map[string]any{}})
	if e != nil {
		return e
	}
	var uid int64
	if err := json.Unmarshal(res, &uid); err != nil || uid <= 0 {
		return &Error{Kind: KindAccessDenied, Message: fmt.Sprintf("login %q refused by database %q", login, t.db)}
	}
	t.uid.Store(uid)
	return nil
}

func (t *jsonrpcTransport) call(ctx context.Context, r *request) (json.RawMessage, *Error) {
	uid := t.uid.Load()
	if uid == 0 {
		return nil, &Error{Kind: KindAccessDenied, Message: "not authenticated"}
	}
	pos := make([]any, 0, len(r.args)+1)
	if r.withIDs {
		pos = append(pos, nonNil(r.ids))
	}
	for _, a := range r.args {
		pos = append(pos, a.value)
	}
	kw := make(map[string]any, len(r.kwargs)+1)
	for k, v := range r.kwargs {
		kw[k] = v
	}
	if r.context != nil {
		kw["context"] = r.context
	}
	return t.service(ctx, "object", "execute_kw", []any{t.db, uid, t.key, r.model, r.method, pos, kw})
}

// json2Transport speaks Odoo 19's JSON-2 API, POST /json/2/<model>/<method>.
type json2Transport struct {
	hc   *http.Client
	base string
	db   string
	key  string
	now  func() time.Time
}

func (t *json2Transport) protocol() string { return ProtocolJSON2 }

func (t *json2Transport) call(ctx context.Context, r *request) (json.RawMessage, *Error) {
	body := make(map[string]any, len(r.args)+len(r.kwargs)+2)
	for k, v := range r.kwargs {
		body[k] = v
	}
	for _, a := range r.args {
		body[a.name] = a.value
	}
	if r.withIDs {
		body["ids"] = nonNil(r.ids)
	}
	if r.context != nil {
		body["context"] = r.context
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Message: "encoding the request", Err: err}
	}
	h := http.Header{
		"Content-Type":    {"application/json"},
		"Authorization":   {"bearer " + t.key},
		"X-Odoo-Database": {t.db},
	}
	rep, e := post(ctx, t.hc, http.MethodPost, t.base+"/json/2/"+r.model+"/"+r.method, h, data)
	if e != nil {
		return nil, e
	}
	if rep.status == http.StatusOK {
		if !json.Valid(rep.body) {
			return nil, &Error{Kind: KindOutcomeUnknown, Name: "http.200", HTTPStatus: rep.status,
				Message: "reply is not JSON: " + snippet(rep.body)}
		}
		return nullToNil(rep.body), nil
	}
	if oe, ok := decodeOdooError(rep.body); ok {
		kind := kindOfName(oe.Name, oe.Message)
		if kind == KindUnknown {
			kind = kindOfStatus(rep.status)
			if rep.status == http.StatusInternalServerError {
				// Odoo answered with its error object: the transaction was
				// rolled back, so the outcome is known.
				kind = KindServer
			}
		}
		return nil, &Error{Kind: kind, Name: oe.Name, Message: oe.Message, Debug: oe.Debug,
			HTTPStatus: rep.status, RetryAfter: retryAfter(rep.header, t.now())}
	}
	return nil, httpError(rep, t.now())
}

func nonNil(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}

// detectVersion asks the server for its major version: GET /web/version
// (19 and later), then common.version over /jsonrpc. It never feature-tests
// with a /json/2 request: 18 answers those with 200 HTML.
func detectVersion(ctx context.Context, hc *http.Client, base string, now func() time.Time, count func(string)) (int, *Error) {
	count("web.version")
	rep, e := post(ctx, hc, http.MethodGet, base+"/web/version", nil, nil)
	if e != nil && e.Kind == KindUnavailable {
		return 0, e
	}
	if e == nil && rep.status == http.StatusOK {
		var v struct {
			VersionInfo []json.RawMessage `json:"version_info"`
		}
		if json.Unmarshal(rep.body, &v) == nil && len(v.VersionInfo) > 0 {
			if n := majorOf(v.VersionInfo[0]); n > 0 {
				return n, nil
			}
		}
	}
	t := &jsonrpcTransport{hc: hc, url: base + "/jsonrpc", now: now}
	count("common.version")
	res, e := t.service(ctx, "common", "version", []any{})
	if e != nil {
		return 0, e
	}
	var cv struct {
		ServerVersionInfo []json.RawMessage `json:"server_version_info"`
		ServerVersion     string            `json:"server_version"`
	}
	if err := json.Unmarshal(res, &cv); err != nil {
		return 0, &Error{Kind: KindDecode, Message: "common.version reply", Err: err}
	}
	if len(cv.ServerVersionInfo) > 0 {
		if n := majorOf(cv.ServerVersionInfo[0]); n > 0 {
			return n, nil
		}
	}
	if n := majorOf(json.RawMessage(strconv.Quote(cv.ServerVersion))); n > 0 {
		return n, nil
	}
	return 0, &Error{Kind: KindDecode, Message: "no version in common.version reply"}
}

// majorOf reads a major version from 18, "18", "18.0" or "saas~18.3".
func majorOf(raw json.RawMessage) int {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	s := jsonString(raw)
	s = strings.TrimPrefix(s, "saas~")
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
