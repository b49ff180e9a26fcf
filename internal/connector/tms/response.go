package tms

import (
	"net/http"

	"github.com/waybill/waybill/internal/connector"
)

// RetryAfterMax caps the retry hint taken from a Retry-After header.
const RetryAfterMax = connector.RetryAfterMax

// StatusError reports a non-2xx reply (Target "tms"). Deliver wraps it in
// a connector.PermanentError or connector.RetryableError; find it with
// errors.As.
type StatusError = connector.StatusError

// statusError classifies a non-2xx reply and drains its body.
func (c *Connector) statusError(resp *http.Response) error {
	return connector.HTTPError(resp, "tms", "sending dispatch to "+c.host, c.now())
}
