package apikey

import (
	"time"

	"golang.org/x/time/rate"
)

// Allow takes one request from k's rate limit: k.Limit, or the Store's
// DefaultLimit when k has none. It reports whether the request may go on
// and, when it may not, how long until it would. Each key id has its own
// token bucket, so one key over its limit never holds up another; Allow
// takes no lock shared between keys beyond a sync.Map lookup. A request
// that is refused takes no token.
//
// Buckets are made on a key's first request and dropped when a reload of
// the key table finds the key revoked, expired or gone, so memory stays
// bounded by the number of active keys.
func (s *Store) Allow(k *Key) (retryAfter time.Duration, ok bool) {
	l := s.DefaultLimit
	if k.Limit != nil {
		l = *k.Limit
	}
	if l.Unlimited() {
		return 0, true
	}
	v, found := s.limiters.Load(k.ID)
	if !found {
		v, _ = s.limiters.LoadOrStore(k.ID, rate.NewLimiter(rate.Limit(l.Rate), max(l.Burst, 1)))
	}
	lim := v.(*rate.Limiter)
	now := s.now()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Second, false
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// prune drops the rate limiters and last-use states of keys that snap
// shows revoked, expired or gone.
func (s *Store) prune(snap *snapshot) {
	now := s.now()
	s.limiters.Range(func(id, _ any) bool {
		if e := snap.entries[id.(string)]; e == nil || !e.key.Active(now) {
			s.limiters.Delete(id)
		}
		return true
	})
	s.uses.Range(func(id, _ any) bool {
		if snap.entries[id.(string)] == nil {
			s.uses.Delete(id)
		}
		return true
	})
}
