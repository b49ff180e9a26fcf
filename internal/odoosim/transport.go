package odoosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
)

const (
	maxBody = 32 << 20

	notFoundHTML = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n" +
		"<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
	noDatabaseHTML = "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n" +
		"<p>No database is selected and the requested URL was not found in the server-wide controllers.</p>\n" +
		"<p>Please verify the hostname, <a href=/web/login>login</a> and try again.</p>\n" +
		"<!-- Alternatively, use the X-Odoo-Database header. -->\n"
	internalErrorHTML = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n" +
		"<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n"
	proxy500HTML    = "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	proxy503HTML    = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	legacyJSON2HTML = "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"/><title>Odoo</title></head>\n<body>\n<div id=\"wrapwrap\"></div>\n</body>\n</html>\n"
)

func writeHTML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b := marshalPy(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func isJSONContentType(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || mt == "application/json-rpc")
}

func (s *Sim) routeType() string {
	if s.version >= 19 {
		return "jsonrpc"
	}
	return "json"
}

// wrongTypeHTML is werkzeug's page for a request whose inferred type does not fit the route.
func wrongTypeHTML(status int, inferred, route, typ string, hint bool) string {
	title := "400 Bad Request"
	h1 := "Bad Request"
	if status == http.StatusUnsupportedMediaType {
		title, h1 = "415 Unsupported Media Type", "Unsupported Media Type"
	}
	msg := fmt.Sprintf("Request inferred type is compatible with [%s] but &#39;%s&#39; is type=&#39;%s&#39;.", inferred, route, typ)
	if hint {
		msg += "<br><br>Please verify the Content-Type request header and try again."
	}
	return fmt.Sprintf("<!doctype html>\n<html lang=en>\n<title>%s</title>\n<h1>%s</h1>\n<p>%s</p>\n", title, h1, msg)
}

// rejectNonJSON answers the transport errors of a type='json' route; it reports whether it did.
func (s *Sim) rejectNonJSON(w http.ResponseWriter, r *http.Request, route string) bool {
	if r.Method != http.MethodPost {
		if s.version >= 19 {
			writeHTML(w, http.StatusUnsupportedMediaType, wrongTypeHTML(415, "&#39;http&#39;, &#39;json2&#39;", route, "jsonrpc", true))
		} else {
			writeHTML(w, http.StatusBadRequest, "Invalid JSON data")
		}
		return true
	}
	if !isJSONContentType(r) {
		if s.version >= 19 {
			writeHTML(w, http.StatusUnsupportedMediaType, wrongTypeHTML(415, "&#39;http&#39;", route, "jsonrpc", true))
		} else {
			writeHTML(w, http.StatusBadRequest, wrongTypeHTML(400, "&#39;http&#39;", route, s.routeType(), false))
		}
		return true
	}
	return false
}

// wait applies the injected latency, giving up when the client goes away.
func (s *Sim) wait(r *http.Request) bool {
	d := s.faults.delay()
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// abort closes the client connection without a reply (RST when possible).
func abort(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// preFault handles faults that replace the call entirely; it reports whether it answered.
func preFault(w http.ResponseWriter, f Fault) bool {
	switch f {
	case FaultHTTP500:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, proxy500HTML)
		return true
	case FaultHTTP503:
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, proxy503HTML)
		return true
	case FaultReset:
		abort(w)
		return true
	}
	return false
}

func serializationError() *OdooError {
	return &OdooError{Name: excSerialization, Message: "could not serialize access due to concurrent update\n", Status: 500}
}

// --- JSON-RPC ------------------------------------------------------------------------------------

func (s *Sim) errorObject(e *OdooError, withDebug bool) *omap {
	data := newOmap().set("name", e.Name)
	if s.version < 19 && withDebug {
		data.set("debug", e.debug(s.version))
	}
	data.set("message", e.Message).set("arguments", e.arguments()).set("context", map[string]any{})
	if s.version >= 19 && withDebug {
		data.set("debug", e.debug(s.version))
	}
	code := 200
	if s.version >= 19 {
		code = 0
	}
	return newOmap().set("code", code).set("message", "Odoo Server Error").set("data", data)
}

func asOdooError(err error) *OdooError {
	var oe *OdooError
	if errors.As(err, &oe) {
		return oe
	}
	return &OdooError{Name: "builtins.Exception", Message: err.Error()}
}

func (s *Sim) writeEnvelope(w http.ResponseWriter, id any, result any, err error, withDebug bool) {
	env := newOmap().set("jsonrpc", "2.0").set("id", id)
	if err != nil {
		env.set("error", s.errorObject(asOdooError(err), withDebug))
	} else if result != nil {
		env.set("result", result)
	}
	writeJSON(w, http.StatusOK, env)
}

// readJSONRPC reads and decodes a JSON-RPC request body; ok false means a reply was written.
func (s *Sim) readJSONRPC(w http.ResponseWriter, r *http.Request, route string) (map[string]any, bool) {
	if s.rejectNonJSON(w, r, route) {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeHTML(w, http.StatusBadRequest, "Invalid JSON data")
		return nil, false
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&v); err != nil || dec.More() {
		writeHTML(w, http.StatusBadRequest, "Invalid JSON data")
		return nil, false
	}
	req, ok := v.(map[string]any)
	if !ok {
		s.writeEnvelope(w, nil, nil, &OdooError{Name: excAttributeError,
			Message: fmt.Sprintf("'%s' object has no attribute 'get'", pyTypeName(v))}, true)
		return nil, false
	}
	return req, true
}

func (s *Sim) serveVersionInfo(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readJSONRPC(w, r, "/web/webclient/version_info")
	if !ok {
		return
	}
	s.count("common.version")
	s.writeEnvelope(w, req["id"], s.versionDict(), nil, true)
}

func (s *Sim) versionDict() *omap {
	v := fmt.Sprintf("%d.0", s.version)
	return newOmap().set("server_version", v).
		set("server_version_info", []any{s.version, 0, 0, "final", 0, ""}).
		set("server_serie", v).set("protocol_version", 1)
}

func (s *Sim) serveWebVersion(w http.ResponseWriter, _ *http.Request) {
	if s.version < 19 {
		writeHTML(w, http.StatusNotFound, notFoundHTML)
		return
	}
	s.count("web.version")
	writeJSON(w, http.StatusOK, newOmap().set("version_info", []any{s.version, 0, 0, "final", 0, ""}).
		set("version", fmt.Sprintf("%d.0", s.version)))
}

func missingArgsMsg(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	switch len(q) {
	case 1:
		return "missing 1 required positional argument: " + q[0]
	case 2:
		return "missing 2 required positional arguments: " + q[0] + " and " + q[1]
	}
	return fmt.Sprintf("missing %d required positional arguments: %s, and %s", len(q), strings.Join(q[:len(q)-1], ", "), q[len(q)-1])
}

func (s *Sim) serveJSONRPC(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readJSONRPC(w, r, "/jsonrpc")
	if !ok {
		return
	}
	id := req["id"]
	cls := "RPC.jsonrpc()"
	if s.version >= 19 {
		cls = "JSONRPC.jsonrpc()"
	}
	rawParams, has := req["params"]
	params, isMap := rawParams.(map[string]any)
	if has && !isMap {
		s.writeEnvelope(w, id, nil, typeError("%s argument after ** must be a mapping, not %s", cls, pyTypeName(rawParams)), true)
		return
	}
	var missing []string
	for _, k := range []string{"service", "method", "args"} {
		if _, ok := params[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		s.writeEnvelope(w, id, nil, typeError("%s %s", cls, missingArgsMsg(missing)), s.version >= 19)
		return
	}
	service, _ := params["service"].(string)
	meth, _ := params["method"].(string)
	args, _ := params["args"].([]any)
	model, mname := service, meth
	if service == "object" && len(args) >= 5 {
		model, _ = args[3].(string)
		mname, _ = args[4].(string)
	}
	if !s.wait(r) {
		return
	}
	s.count(model + "." + mname)
	fault := s.faults.take(model, mname)
	s.log.DebugContext(r.Context(), "odoosim jsonrpc", slog.String("model", model), slog.String("method", mname), slog.String("fault", fault.String()))
	if preFault(w, fault) {
		return
	}
	if fault == FaultSerialization {
		s.writeEnvelope(w, id, nil, serializationError(), true)
		return
	}
	res, err := s.dispatchService(service, meth, args)
	if fault == FaultDropAfterCommit {
		abort(w)
		return
	}
	s.writeEnvelope(w, id, res, err, true)
}

func (s *Sim) dbError(db string) *OdooError {
	msg := fmt.Sprintf("connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: FATAL:  database \"%s\" does not exist\n", db)
	return &OdooError{Name: excOperational, Message: msg}
}

func strArg(args []any, i int) string {
	if i < len(args) {
		s, _ := args[i].(string)
		return s
	}
	return ""
}

// dispatchService runs a JSON-RPC service call.
func (s *Sim) dispatchService(service, meth string, args []any) (any, error) {
	switch service {
	case "common":
		switch meth {
		case "version":
			return s.versionDict(), nil
		case "login", "authenticate":
			need := 3
			if meth == "authenticate" {
				need = 4
			}
			if len(args) < need {
				return nil, typeError("exp_%s() missing %d required positional argument(s)", meth, need-len(args))
			}
			if strArg(args, 0) != s.database {
				return nil, s.dbError(strArg(args, 0))
			}
			if strArg(args, 1) == s.login && s.checkPassword(strArg(args, 2)) {
				return s.uid, nil
			}
			return false, nil
		case "about":
			return "See http://openerp.com", nil
		}
		return nil, &OdooError{Name: excKeyError, Message: meth}
	case "db":
		switch meth {
		case "list":
			return []any{s.database}, nil
		case "server_version":
			return fmt.Sprintf("%d.0", s.version), nil
		case "exist", "db_exist":
			return strArg(args, 0) == s.database, nil
		}
		return nil, accessDenied()
	case "object":
		switch meth {
		case "execute_kw", "execute":
		default:
			return nil, &OdooError{Name: excKeyError, Message: meth}
		}
		if len(args) < 5 {
			return nil, typeError("execute_kw() missing required positional arguments")
		}
		if strArg(args, 0) != s.database {
			return nil, s.dbError(strArg(args, 0))
		}
		uid, ok := asInt(args[1])
		if !ok || uid != s.uid {
			if !s.checkPassword(strArg(args, 2)) || !ok {
				if !ok {
					return nil, accessDenied()
				}
			}
			return nil, &OdooError{Name: excMissingError, Message: fmt.Sprintf(
				"Record does not exist or has been deleted.\n(Record: res.users(%d,), User: %d)", uid, uid)}
		}
		if !s.checkPassword(strArg(args, 2)) {
			return nil, accessDenied()
		}
		model := strArg(args, 3)
		mname := strArg(args, 4)
		r := &rpc{model: model, method: mname, positional: true}
		if meth == "execute" {
			r.args = args[5:]
		} else {
			if len(args) > 5 {
				l, ok := args[5].([]any)
				if !ok && args[5] != nil {
					return nil, typeError("execute_kw() argument after * must be an iterable, not %s", pyTypeName(args[5]))
				}
				r.args = l
			}
			if len(args) > 6 && args[6] != nil {
				kw, ok := args[6].(map[string]any)
				if !ok {
					return nil, typeError("execute_kw() argument after ** must be a mapping, not %s", pyTypeName(args[6]))
				}
				r.kwargs = map[string]any{}
				for k, v := range kw {
					if k == "context" {
						c, _ := v.(map[string]any)
						r.ctx = c
						continue
					}
					r.kwargs[k] = v
				}
			}
		}
		return s.execute(r)
	}
	return nil, &OdooError{Name: excKeyError, Message: service}
}

// --- JSON-2 --------------------------------------------------------------------------------------

func (s *Sim) writeJSON2Error(w http.ResponseWriter, e *OdooError) {
	body := newOmap().set("name", e.Name).set("message", e.Message).set("arguments", e.arguments()).
		set("context", map[string]any{}).set("debug", e.debug(s.version))
	if e.Name == excUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer ")
	}
	writeJSON(w, e.httpStatus(), body)
}

func jsonSyntaxMessage(body []byte, err error) string {
	off := int64(len(body))
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset - 1
		if off < 0 {
			off = 0
		}
	}
	line, col := 1, 1
	for i := int64(0); i < off && i < int64(len(body)); i++ {
		if body[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("Expecting value: line %d column %d (char %d)", line, col, off)
}

func (s *Sim) serveJSON2(w http.ResponseWriter, r *http.Request) {
	if s.version < 19 {
		if s.version == 18 {
			// The recorded 18.0 server has no JSON-2 and answers any
			// /json/2 request with its 200 HTML page.
			writeHTML(w, http.StatusOK, legacyJSON2HTML)
			return
		}
		writeHTML(w, http.StatusNotFound, notFoundHTML)
		return
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/json/2"), "/")
	parts := strings.Split(rest, "/")
	if r.Method != http.MethodPost || len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		s.writeJSON2Error(w, werkzeugError(excNotFound, 404, "Did you mean POST /json/2/<model>/<method>?"))
		return
	}
	if !isJSONContentType(r) {
		writeHTML(w, http.StatusUnsupportedMediaType, wrongTypeHTML(415, "&#39;http&#39;", "/json/2/&lt;__model__&gt;/&lt;__method__&gt;", "json2", true))
		return
	}
	if db := r.Header.Get("X-Odoo-Database"); db != "" && db != s.database {
		writeHTML(w, http.StatusNotFound, noDatabaseHTML)
		return
	}
	auth := r.Header.Get("Authorization")
	scheme, key, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if auth == "" || !strings.EqualFold(scheme, "bearer") {
		msg := "User not authenticated, use an API Key with a Bearer Authorization header."
		if _, err := r.Cookie("session_id"); err == nil && auth == "" {
			msg = "Missing \"Authorization\" or Sec-headers for interactive usage."
		}
		s.writeJSON2Error(w, werkzeugError(excUnauthorized, 401, msg))
		return
	}
	if strings.TrimSpace(key) != s.apiKey {
		s.writeJSON2Error(w, werkzeugError(excUnauthorized, 401, "Invalid apikey"))
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		s.writeJSON2Error(w, werkzeugError(excBadRequest, 400, "could not parse the body as json: "+err.Error()))
		return
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&v); err != nil {
		s.writeJSON2Error(w, werkzeugError(excBadRequest, 400, "could not parse the body as json: "+jsonSyntaxMessage(raw, err)))
		return
	}
	if dec.More() {
		s.writeJSON2Error(w, werkzeugError(excBadRequest, 400, "could not parse the body as json: Extra data"))
		return
	}
	body, _ := v.(map[string]any) // quirk: a non-object body is ignored
	if body == nil {
		body = map[string]any{}
	}
	model, mname := parts[0], parts[1]
	if !s.wait(r) {
		return
	}
	s.count(model + "." + mname)
	fault := s.faults.take(model, mname)
	if preFault(w, fault) {
		return
	}
	if fault == FaultSerialization {
		s.writeJSON2Error(w, serializationError())
		return
	}
	if s.models[model] == nil {
		s.writeJSON2Error(w, werkzeugError(excNotFound, 404, fmt.Sprintf("the model '%s' does not exist", model)))
		return
	}
	if !strings.HasPrefix(mname, "_") && !s.privateMethod(mname) && s.models[model].methods[mname] == nil {
		s.writeJSON2Error(w, werkzeugError(excNotFound, 404, fmt.Sprintf("The method '%s.%s' does not exist", model, mname)))
		return
	}
	ctx, _ := body["context"].(map[string]any)
	res, err := s.execute(&rpc{model: model, method: mname, kwargs: body, ctx: ctx})
	if fault == FaultDropAfterCommit {
		abort(w)
		return
	}
	if err != nil {
		s.writeJSON2Error(w, asOdooError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}
