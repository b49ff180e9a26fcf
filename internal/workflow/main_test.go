package workflow_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when goroutines outlive its tests: every
// processor a test runs must have returned, and every database closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
