package verify

import (
	"context"
	"testing"
	"time"
)

// BenchmarkVerify measures one successful verification of a fixture body per
// kind. The standard kind uses a Seen that never reports a replay, so the
// figure is the signature and timestamp work; MemorySeen adds a map lookup.
func BenchmarkVerify(b *testing.B) {
	f := loadFixtures(b)
	never := seenFunc(func(context.Context, string, string, time.Time) (bool, error) { return false, nil })
	for _, bc := range []struct {
		kind   string
		secret string
		body   string
	}{
		{KindEasyPost, f.Secrets.EasyPost, "webhook-01-easypost-tracker-updated.json"},
		{KindAfterShip, f.Secrets.AfterShip, "webhook-02-aftership-tracking-update.json"},
		{KindStandard, f.Secrets.StandardWebhooks, "webhook-06-quirky-duplicates-out-of-order.json"},
	} {
		b.Run(bc.kind, func(b *testing.B) {
			body := readBody(b, bc.body)
			// Two secrets, the matching one last: the cost during a rotation.
			other, _, _ := rotationSecrets(bc.kind)
			v := newVerifier(b, bc.kind, []string{other, bc.secret}, Options{Seen: never})
			h := signers[bc.kind](b, bc.secret, body, fixtureNow)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(h, body, fixtureNow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}
