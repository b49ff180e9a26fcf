package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// exactQuantile returns the nearest-rank q-quantile of sorted.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// logUniform returns n durations spread evenly on a log scale over [lo, hi].
func logUniform(r *rand.Rand, n int, lo, hi time.Duration) []time.Duration {
	ds := make([]time.Duration, n)
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	for i := range ds {
		ds[i] = time.Duration(math.Exp(l + r.Float64()*(h-l)))
	}
	return ds
}

func TestHistogramQuantileAccuracy(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	samples := map[string][]time.Duration{
		"log-uniform 1µs to 60s": logUniform(r, 200_000, time.Microsecond, 60*time.Second),
		"loopback-like 20µs to 5ms": append(
			logUniform(r, 99_000, 20*time.Microsecond, 400*time.Microsecond),
			logUniform(r, 1_000, time.Millisecond, 5*time.Millisecond)...),
		"few values": {3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond},
		"one value":  {1234567 * time.Nanosecond},
	}
	quantiles := []float64{0, 0.0001, 0.01, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1}

	for name, sample := range samples {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var h Histogram
			for _, d := range sample {
				h.Record(d)
			}
			sorted := slices.Sorted(slices.Values(sample))
			for _, q := range quantiles {
				got, want := h.Quantile(q), exactQuantile(sorted, q)
				if relErr := math.Abs(float64(got-want)) / float64(want); relErr > 0.01 {
					t.Errorf("Quantile(%v): got %v, want %v within 1%% (off by %.3f%%)", q, got, want, 100*relErr)
				}
			}
			if got, want := h.Count(), int64(len(sample)); got != want {
				t.Errorf("Count: got %d, want %d", got, want)
			}
			if got, want := h.Min(), sorted[0]; got != want {
				t.Errorf("Min: got %v, want %v", got, want)
			}
			if got, want := h.Max(), sorted[len(sorted)-1]; got != want {
				t.Errorf("Max: got %v, want %v", got, want)
			}
		})
	}
}

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	// Every bucket's midpoint maps back to it, buckets ascend, and no value
	// in the range lies more than 1/128 from its bucket's midpoint.
	prev := time.Duration(0)
	for i := range histBuckets {
		mid := bucketMid(i)
		if got := bucketOf(mid); got != i {
			t.Fatalf("bucketOf(bucketMid(%d) = %v): got %d, want %d", i, mid, got, i)
		}
		if mid <= prev {
			t.Fatalf("bucketMid(%d): got %v, want more than bucket %d's %v", i, mid, i-1, prev)
		}
		prev = mid
	}
	for d := HistogramMin; d <= HistogramMax; d = d*1001/1000 + 1 {
		mid := bucketMid(bucketOf(d))
		if relErr := math.Abs(float64(mid-d)) / float64(d); relErr > 1.0/128 {
			t.Fatalf("bucketMid(bucketOf(%v)): got %v, off by %.3f%%, want within 0.79%%", d, mid, 100*relErr)
		}
	}
	if got, want := bucketOf(HistogramMax), histBuckets-1; got != want {
		t.Errorf("bucketOf(HistogramMax): got %d, want the last bucket %d", got, want)
	}
}

func TestHistogramOutOfRange(t *testing.T) {
	t.Parallel()
	var h Histogram
	h.Record(0)
	h.Record(10 * time.Nanosecond)
	h.Record(2 * time.Minute)

	got := []time.Duration{h.Quantile(0), h.Quantile(0.5), h.Quantile(1), h.Min(), h.Max()}
	want := []time.Duration{0, bucketMid(0), 2 * time.Minute, 0, 2 * time.Minute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("quantiles, min and max mismatch (-want +got):\n%s", diff)
	}
}

func TestHistogramEmpty(t *testing.T) {
	t.Parallel()
	var h Histogram
	got := []time.Duration{h.Quantile(0), h.Quantile(0.5), h.Quantile(1), h.Min(), h.Max(), h.Mean()}
	if diff := cmp.Diff(make([]time.Duration, 6), got); diff != "" {
		t.Errorf("empty histogram mismatch (-want +got):\n%s", diff)
	}
}

func TestHistogramMerge(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	sample := logUniform(r, 10_000, 10*time.Microsecond, time.Second)

	var whole, a, b, empty Histogram
	for i, d := range sample {
		whole.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var merged Histogram
	merged.Merge(&empty)
	merged.Merge(&b)
	merged.Merge(&empty)
	merged.Merge(&a)

	if diff := cmp.Diff(whole, merged, cmp.AllowUnexported(Histogram{})); diff != "" {
		t.Errorf("merged histogram mismatch (-whole +merged):\n%s", diff)
	}
	var sum time.Duration
	for _, d := range sample {
		sum += d
	}
	if got, want := merged.Mean(), sum/time.Duration(len(sample)); got != want {
		t.Errorf("Mean: got %v, want %v", got, want)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	d := 37 * time.Microsecond
	for b.Loop() {
		h.Record(d)
		d = d*7%time.Second + time.Microsecond
	}
}
