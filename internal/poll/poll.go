// Package poll is the one way tests wait for something that happens in the
// background: they poll a condition with a deadline instead of sleeping a
// fixed time.
package poll

import (
	"testing"
	"time"
)

// Deadline is how long Until waits: generous, for a loaded machine and the
// race detector.
const Deadline = 30 * time.Second

// interval is how often Until checks the condition.
const interval = 10 * time.Millisecond

// Until calls cond until it returns true and fails the test, naming what it
// waited for, when Deadline passes first.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", Deadline, what)
		}
		time.Sleep(interval)
	}
}
