// Package connectortest is the conformance suite every [connector.Connector]
// passes. A connector package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		t.Parallel()
//		connectortest.Exercise(t, connectortest.Harness{
//			StartFunc: func(t *testing.T) (connector.Connector, connectortest.Target) {
//				target := faketarget.New(t) // a loopback fake of the outside system
//				c, err := mypkg.New(...)   // pointed at target
//				...
//				return c, target
//			},
//		})
//	}
//
// The [Harness] adapts one implementation to the suite: it starts a fresh
// loopback fake of the connector's outside system (its [Target]) and a
// connector pointed at it. The suite tells the target how to answer
// ([Answer]) and checks the contract documented on [connector.Connector]:
// success, the error class of each kind of failure, the Retry-After hint,
// prompt return when the context ends, [connector.ErrOutcomeUnknown] when
// the reply is lost, and that the idempotency key and correlation id reach
// the target unchanged on every attempt and under concurrent calls.
//
// This package is internal test support: its API changes whenever the
// contract does, and every connector in this module follows.
package connectortest
