package relay_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when goroutines outlive its tests: every
// server, pool, queue and worker a test starts must be stopped by it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
