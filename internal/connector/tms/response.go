package tms

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

// StatusError reports a non-2xx reply. Deliver wraps it in a
// connector.PermanentError or connector.RetryableError; find it with
// errors.As.
type StatusError struct {
	// StatusCode is the reply's HTTP status code.
	StatusCode int
	// Body is the start of the reply body, at most 512 bytes, with invalid
	// UTF-8 replaced.
	Body string
}

// Error returns the status and the quoted body, if any.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("tms answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += fmt.Sprintf(": %q", e.Body)
	}
	return msg
}

// retryableStatus reports whether a reply with status code is worth
// retrying: 408, 425, 429 and 5xx.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500 && code <= 599
}

// statusError classifies a non-2xx reply and drains its body.
func (c *Connector) statusError(resp *http.Response) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	err := fmt.Errorf("sending dispatch to %s: %w", c.host, &StatusError{
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
