package trackpage

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxBuckets bounds how many client addresses have a bucket at once; past
// it, buckets that are full again (idle for burst/rate) are dropped.
const maxBuckets = 10000

// ipLimiter is a token bucket per client IP address.
type ipLimiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newIPLimiter(r float64, burst int, now func() time.Time) *ipLimiter {
	return &ipLimiter{rate: rate.Limit(r), burst: burst, now: now, buckets: map[string]*rate.Limiter{}}
}

// allow takes one request from ip's bucket. It reports whether the request
// may go on and, when it may not, how long until it would. A refused
// request takes no token.
func (l *ipLimiter) allow(ip string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[ip] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return time.Second, false
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep drops the buckets that are full: their addresses have been idle
// long enough that a new bucket is the same. If none is, it drops them
// all rather than grow without bound. l.mu is held.
func (l *ipLimiter) sweep(now time.Time) {
	for ip, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, ip)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}
