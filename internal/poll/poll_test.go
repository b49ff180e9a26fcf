package poll_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/poll"
)

func TestUntil(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	go func() {
		time.Sleep(30 * time.Millisecond) // the background work being waited for
		n.Store(1)
	}()
	poll.Until(t, "the flag", func() bool { return n.Load() == 1 })
}
