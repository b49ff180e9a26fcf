package connector

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RetryAfterMax caps the retry hint taken from an HTTP Retry-After header.
const RetryAfterMax = time.Hour

// Limits on reading an HTTP reply that failed.
const (
	// MaxErrorBody is the most of a failed reply's body kept in a
	// StatusError.
	MaxErrorBody = 512
	// MaxDrain is the most of a reply's body read and discarded, so the
	// connection can be reused.
	MaxDrain = 1 << 20
)

// StatusError reports a non-2xx HTTP reply from a connector's target.
// HTTPError wraps it in a PermanentError or RetryableError; find it with
// errors.As.
type StatusError struct {
	// Target names who answered, such as "webhook" or "tms".
	Target string
	// StatusCode is the reply's HTTP status code.
	StatusCode int
	// Body is the start of the reply body, at most MaxErrorBody bytes,
	// with invalid UTF-8 replaced.
	Body string
}

// Error returns the status and the quoted body, if any.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s", e.Target, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += fmt.Sprintf(": %q", e.Body)
	}
	return msg
}

// RetryableStatus reports whether a reply with status code is worth
// retrying: 408, 425, 429, 500, 502, 503 and 504. Other codes, 501 and
// 505 among them, say the request will never work as sent.
func RetryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// HTTPError turns a non-2xx reply into the connector error that decides
// the job's fate: retryable (with the Retry-After hint) or permanent. It
// reads the start of the body into a StatusError and drains the rest. what
// says what was being done, such as "posting picking.validate to
// hooks.example.com".
func HTTPError(resp *http.Response, target, what string, now time.Time) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	_, _ = io.CopyN(io.Discard, resp.Body, MaxDrain)
	err := fmt.Errorf("%s: %w", what, &StatusError{
		Target:     target,
		StatusCode: resp.StatusCode,
		Body:       strings.ToValidUTF8(string(snippet), "\uFFFD"),
	})
	if RetryableStatus(resp.StatusCode) {
		return Retryable(err, ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	}
	return Permanent(err)
}

// ParseRetryAfter parses a Retry-After value, a delay in seconds or an HTTP
// date, into a wait from now between 0 and RetryAfterMax. An empty or
// invalid value gives 0.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if strings.TrimLeft(v, "0123456789") == "" {
		// delay-seconds; too many digits for an int64 is still a long wait.
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs >= int64(RetryAfterMax/time.Second) {
			return RetryAfterMax
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), RetryAfterMax)
}

// CheckURL reports why raw is not an absolute http or https URL with a
// host, or nil. The message leaves the URL out: its path or query may hold
// a token.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errors.New("url: empty")
	case err != nil:
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("url: scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return errors.New("url: no host")
	}
	return nil
}

// RedactedURL returns raw with any password replaced by "xxxxx", for logs
// and String methods, or "" when raw does not parse.
func RedactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Redacted()
}

// RedactedSecret returns "REDACTED" for a set secret and "" for an empty
// one, for logs and String methods.
func RedactedSecret(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}
