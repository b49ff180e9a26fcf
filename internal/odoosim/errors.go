package odoosim

import (
	"fmt"
	"net/http"
)

// Python exception names as Odoo reports them in error.data.name (JSON-RPC) and name (JSON-2).
const (
	excUserError       = "odoo.exceptions.UserError"
	excValidationError = "odoo.exceptions.ValidationError"
	excAccessError     = "odoo.exceptions.AccessError"
	excAccessDenied    = "odoo.exceptions.AccessDenied"
	excMissingError    = "odoo.exceptions.MissingError"
	excValueError      = "builtins.ValueError"
	excTypeError       = "builtins.TypeError"
	excAttributeError  = "builtins.AttributeError"
	excKeyError        = "builtins.KeyError"
	excOperational     = "psycopg2.OperationalError"
	excSerialization   = "psycopg2.errors.SerializationFailure"
	excNotFound        = "werkzeug.exceptions.NotFound"
	excUnprocessable   = "werkzeug.exceptions.UnprocessableEntity"
	excUnauthorized    = "werkzeug.exceptions.Unauthorized"
	excBadRequest      = "werkzeug.exceptions.BadRequest"
)

// OdooError is an application error as Odoo serialises it: the Python exception name and its message.
// It is what a simulated method returns instead of a result; the transport turns it into a JSON-RPC
// error envelope or a JSON-2 error body with the matching HTTP status.
type OdooError struct {
	Name    string // Python exception name, e.g. "odoo.exceptions.UserError"
	Message string
	// Status is the JSON-2 HTTP status; 0 derives it from Name.
	Status int
	// werkzeug marks werkzeug HTTP exceptions, whose arguments carry the status as second element.
	werkzeug bool
}

// Error implements error.
func (e *OdooError) Error() string { return e.Name + ": " + e.Message }

// httpStatus is the HTTP status JSON-2 answers this error with.
func (e *OdooError) httpStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	switch e.Name {
	case excUserError, excValidationError:
		return http.StatusUnprocessableEntity
	case excAccessError, excAccessDenied:
		return http.StatusForbidden
	case excMissingError:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// arguments is data.arguments of the error object.
func (e *OdooError) arguments() []any {
	if e.werkzeug {
		return []any{e.Message, e.httpStatus()}
	}
	return []any{e.Message}
}

// debug is a short stand-in for the Python traceback Odoo puts in data.debug.
func (e *OdooError) debug(version int) string {
	last := e.Name + ": " + e.Message
	if version >= 19 && e.Name == excAccessDenied {
		return last
	}
	return "Traceback (most recent call last):\n  File \"odoosim\", line 1, in <module>\n" + last
}

func userError(format string, a ...any) *OdooError {
	return &OdooError{Name: excUserError, Message: fmt.Sprintf(format, a...)}
}

func valueError(format string, a ...any) *OdooError {
	return &OdooError{Name: excValueError, Message: fmt.Sprintf(format, a...)}
}

func typeError(format string, a ...any) *OdooError {
	return &OdooError{Name: excTypeError, Message: fmt.Sprintf(format, a...)}
}

func missingError(model string, ids []int, uid int) *OdooError {
	return &OdooError{Name: excMissingError, Message: fmt.Sprintf(
		"Record does not exist or has been deleted.\n(Record: %s(%s), User: %d)", model, pyTupleIDs(ids), uid)}
}

func accessDenied() *OdooError {
	return &OdooError{Name: excAccessDenied, Message: "Access Denied"}
}

func privateMethodError(model, method string) *OdooError {
	return &OdooError{Name: excAccessError, Message: fmt.Sprintf(
		"Private methods (such as '%s.%s') cannot be called remotely.", model, method)}
}

func werkzeugError(name string, status int, msg string) *OdooError {
	return &OdooError{Name: name, Message: msg, Status: status, werkzeug: true}
}

// pyTupleIDs renders ids as the inside of a Python tuple: "5," or "1, 2".
func pyTupleIDs(ids []int) string {
	if len(ids) == 1 {
		return fmt.Sprintf("%d,", ids[0])
	}
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(id)
	}
	return s
}
