package connector

import (
	"net"
	"net/http"
	"time"
)

// Connection limits within a request's overall timeout.
const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
)

// NewHTTPClient returns the HTTP client of a connector that POSTs to one
// target, and its transport (to close idle connections with). Every
// request, connecting and reading the reply included, is bounded by
// timeout, and redirects are not followed: a redirect is a misconfigured
// URL, and following it could turn the POST into a GET or send the body
// to another host.
func NewHTTPClient(timeout time.Duration) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: min(dialTimeout, timeout), KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   min(tlsHandshakeTimeout, timeout),
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, tr
}
