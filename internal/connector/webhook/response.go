package webhook

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/connector"
)

// RetryAfterMax caps the retry hint taken from a Retry-After header.
const RetryAfterMax = time.Hour

// StatusError reports a non-2xx response. Deliver wraps it in a
// connector.PermanentError or connector.RetryableError; find it with
// errors.As.
type StatusError struct {
	// StatusCode is the response's HTTP status code.
	StatusCode int
	// Body is the start of the response body, at most 512 bytes, with
	// invalid UTF-8 replaced.
	Body string
}

// Error returns the status and the quoted body, if any.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("webhook answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += fmt.Sprintf(": %q", e.Body)
	}
	return msg
}

// retryableStatus reports whether a response with status code is worth
// retrying.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// result classifies a response and drains its body.
func (c *Connector) result(resp *http.Response, kind string) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	err := fmt.Errorf("posting %s to %s: %w", kind, c.host, &StatusError{
		StatusCode: resp.StatusCode,
		Body:       strings.ToValidUTF8(string(snippet), "\uFFFD"),
	})
	if retryableStatus(resp.StatusCode) {
		return connector.Retryable(err, retryAfter(resp.Header.Get("Retry-After"), c.now()))
	}
	return connector.Permanent(err)
}

// retryAfter parses a Retry-After value, a delay in seconds or an HTTP date,
// into a wait from now between 0 and RetryAfterMax. An empty or invalid
// value gives 0.
func retryAfter(v string, now time.Time) time.Duration {
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
