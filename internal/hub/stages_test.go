package hub

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStages checks that the first stage to fail while running is
// reported, named, and that a stage ending with an error at shutdown is not
// taken for a failure.
func TestStages(t *testing.T) {
	t.Parallel()
	var g stages
	ctx, cancel := context.WithCancel(t.Context())
	boom := errors.New("boom")
	g.run(ctx, "steady", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	g.run(ctx, "job queue", func(context.Context) error { return boom })
	select {
	case err := <-g.failed():
		if !errors.Is(err, boom) || err.Error() != "job queue: boom" {
			t.Errorf("got %v, want the job queue's failure named", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a failed stage was not reported")
	}
	cancel()
	if err := g.wait(); !errors.Is(err, boom) {
		t.Errorf("wait: got %v, want the failure", err)
	}

	var quiet stages
	ctx, cancel = context.WithCancel(t.Context())
	quiet.run(ctx, "steady", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	cancel()
	_ = quiet.wait()
	select {
	case err := <-quiet.failed():
		t.Errorf("a stage stopped by shutdown was reported as failed: %v", err)
	default:
	}
}
