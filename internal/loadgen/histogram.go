package loadgen

import (
	"math"
	"math/bits"
	"time"
)

const (
	// HistogramMin is the smallest duration a Histogram tells apart; shorter
	// ones are counted in its lowest bucket.
	HistogramMin = time.Microsecond
	// HistogramMax is the largest duration a Histogram tells apart; longer
	// ones are counted in its highest bucket.
	HistogramMax = 60 * time.Second

	// histSubBits sets the resolution: each power of two is split into
	// 1<<histSubBits linear buckets, so a bucket is at most 1/64 of its lower
	// bound wide and its midpoint is within 1/128 (0.8%) of any value in it.
	histSubBits  = 6
	histSubCount = 1 << histSubBits
	histMinExp   = 9  // bits.Len64(1000) - 1
	histMaxExp   = 35 // bits.Len64(60e9) - 1
	// histOffset skips the buckets of the lowest power of two below HistogramMin.
	histOffset = int(HistogramMin>>(histMinExp-histSubBits)) - histSubCount
	// histTopSub is HistogramMax's sub-bucket in the highest power of two.
	histTopSub  = int(HistogramMax>>(histMaxExp-histSubBits)) - histSubCount
	histBuckets = (histMaxExp-histMinExp)*histSubCount + histTopSub + 1 - histOffset
)

// Histogram counts durations in fixed log-linear buckets from HistogramMin to
// HistogramMax. Quantiles are within 1% of the exact ones; Min and Max are
// exact. The zero value is empty and ready to use. A Histogram is about 13 KB,
// never allocates and is not safe for concurrent use.
type Histogram struct {
	counts   [histBuckets]uint64
	count    uint64
	sum      uint64 // nanoseconds of the clamped values
	min, max time.Duration
}

// bucketOf returns the bucket index of d after clamping it to the range.
func bucketOf(d time.Duration) int {
	v := uint64(min(max(d, HistogramMin), HistogramMax))
	e := bits.Len64(v) - 1 // v is in [2^e, 2^(e+1))
	sub := int(v>>(e-histSubBits)) - histSubCount
	return (e-histMinExp)*histSubCount + sub - histOffset
}

// bucketMid returns the midpoint of bucket i.
func bucketMid(i int) time.Duration {
	i += histOffset
	e := i/histSubCount + histMinExp
	sub := i % histSubCount
	shift := e - histSubBits
	lower := uint64(histSubCount+sub) << shift
	return time.Duration(lower + (uint64(1)<<shift)/2)
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	if h.count == 0 || d < h.min {
		h.min = d
	}
	if h.count == 0 || d > h.max {
		h.max = d
	}
	h.counts[bucketOf(d)]++
	h.count++
	h.sum += uint64(min(max(d, HistogramMin), HistogramMax))
}

// Merge adds every duration recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.count == 0 {
		return
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.count == 0 || o.max > h.max {
		h.max = o.max
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.count += o.count
	h.sum += o.sum
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() int64 { return int64(h.count) }

// Min returns the shortest recorded duration, or 0 when h is empty.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the longest recorded duration, or 0 when h is empty.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean of the recorded durations clamped to the range, or 0
// when h is empty.
func (h *Histogram) Mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.sum / h.count)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) by nearest rank: the duration
// that at least a fraction q of the recorded ones do not exceed. Quantile(0)
// is Min, Quantile(1) is Max, and an empty Histogram returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(min(max(q, 0), 1) * float64(h.count)))
	if rank <= 1 {
		return h.min
	}
	if rank >= h.count {
		return h.max
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(bucketMid(i), h.min), h.max)
		}
	}
	return h.max
}
