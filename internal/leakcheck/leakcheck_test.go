package leakcheck_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/leakcheck"
)

func TestWait(t *testing.T) {
	before := runtime.NumGoroutine()
	stop := make(chan struct{})
	go func() { <-stop }()
	err := leakcheck.Wait(before, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "leaked goroutines") || !strings.Contains(err.Error(), "TestWait") {
		t.Fatalf("Wait with a goroutine left: %v, want an error with its stack", err)
	}
	close(stop)
	if err := leakcheck.Wait(before, 5*time.Second); err != nil {
		t.Fatalf("Wait once it ended: %v", err)
	}
}
