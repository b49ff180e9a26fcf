// Package webhooktest provides [Receiver], a webhook endpoint on loopback
// for tests: a real HTTP server (httptest.NewServer, port 0) that records
// every request it reads and answers as told. It implements
// connectortest.Target, so the webhook connector runs the connector
// conformance suite against it, and other packages can use it wherever they
// need a webhook receiver.
package webhooktest
