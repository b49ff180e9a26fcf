package webhook

import "github.com/waybill/waybill/internal/connector"

// RetryAfterMax caps the retry hint taken from a Retry-After header.
const RetryAfterMax = connector.RetryAfterMax

// StatusError reports a non-2xx response (Target "webhook"). Deliver
// wraps it in a connector.PermanentError or connector.RetryableError; find
// it with errors.As.
type StatusError = connector.StatusError
