package hub

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestStages checks that the first stage to fail while running is
// reported, named, and that a stage ending with an error at shutdown is not
// taken for a failure.
func TestStages(t *testing.T) {
	t.Parallel()
	g := newStages(t.Context())
	p := g.phase("all")
	boom := errors.New("boom")
	p.run("steady", func(ctx context.Context) error { <-ctx.Done(); return nil })
	p.run("job queue", func(context.Context) error { return boom })
	select {
	case err := <-g.failed():
		if !errors.Is(err, boom) || err.Error() != "job queue: boom" {
			t.Errorf("got %v, want the job queue's failure named", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a failed stage was not reported")
	}
	if err := g.stop(); !errors.Is(err, boom) {
		t.Errorf("stop: got %v, want the failure", err)
	}

	quiet := newStages(t.Context())
	quiet.phase("all").run("steady", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	_ = quiet.stop()
	select {
	case err := <-quiet.failed():
		t.Errorf("a stage stopped by shutdown was reported as failed: %v", err)
	default:
	}
}

// TestStagesStopInOrder checks that shutdown drains phase by phase: a
// later phase is still running, its context live, until every stage of
// the phases before it has returned.
func TestStagesStopInOrder(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		log []string
	)
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, s)
	}
	g := newStages(t.Context())
	names := []string{"intake", "processing", "outbound jobs"}
	for _, name := range names {
		p := g.phase(name)
		for _, stage := range []string{"a", "b"} {
			p.run(name+"/"+stage, func(ctx context.Context) error {
				<-ctx.Done()
				// A stage that takes a while to drain: the next phase
				// must not be stopped meanwhile.
				time.Sleep(20 * time.Millisecond)
				note(name + " done")
				return nil
			})
		}
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	want := []string{"intake done", "intake done", "processing done", "processing done", "outbound jobs done", "outbound jobs done"}
	if !slices.Equal(log, want) {
		t.Errorf("stopped in the order %v, want %v", log, want)
	}
}
