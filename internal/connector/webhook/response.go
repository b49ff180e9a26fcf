package webhook

import (
	"io"
	"net/http"

	"github.com/waybill/waybill/internal/connector"
)

// RetryAfterMax caps the retry hint taken from a Retry-After header.
const RetryAfterMax = connector.RetryAfterMax

// StatusError reports a non-2xx response (Target "webhook"). Deliver
// wraps it in a connector.PermanentError or connector.RetryableError; find
// it with errors.As.
type StatusError = connector.StatusError

// result classifies a response and drains its body.
func (c *Connector) result(resp *http.Response, kind string) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		return nil
	}
	return connector.HTTPError(resp, "webhook", "posting "+kind+" to "+c.host, c.now())
}
