// Package leakcheck fails a test binary whose goroutines outlive its tests:
// every client, server, pool and queue a test starts must be stopped by it.
//
//	func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
package leakcheck

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// Main runs the tests, then waits up to timeout for the goroutine count to
// fall back to what it was before them (closed connections and pools take
// a moment to end their goroutines) and exits. A run whose tests passed
// fails when goroutines remain, with a dump of them. Fuzzing is exempt:
// the fuzzing engine keeps a signal-handling goroutine of its own.
func Main(m *testing.M, timeout time.Duration) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if fuzz := flag.Lookup("test.fuzz"); code == 0 && (fuzz == nil || fuzz.Value.String() == "") {
		if err := Wait(before, timeout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Wait polls until at most want goroutines run, or returns an error with a
// dump of them at the deadline.
func Wait(want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Errorf("leaked goroutines: got %d, want at most %d:\n%s", n, want, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
