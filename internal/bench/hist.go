package bench

import (
	"math"
	"math/bits"
)

// Histogram bucket layout (log-linear, in the style of HdrHistogram):
//
//   - values below 2*subBuckets (128 ns) each have a bucket of their own;
//   - above that, every power of two [2^e, 2^(e+1)) is cut into subBuckets
//     (64) equal buckets, so a bucket is at most 1/64 of its value wide and
//     its midpoint is within 1/128 (0.8 %) of any value in it;
//   - values from maxTracked (2^37 ns, about 137 s) up share the last bucket;
//     the exact maximum is kept apart.
//
// That is histBuckets (2048) counters, 16 KiB, whatever the number of samples.
const (
	subBits     = 6
	subBuckets  = 1 << subBits // linear buckets per power of two
	maxShift    = 30           // values < subBuckets<<(maxShift+1) are tracked
	histBuckets = subBuckets*maxShift + 2*subBuckets
	maxTracked  = int64(2*subBuckets) << maxShift // 2^37
)

// Histogram counts non-negative values (latencies in nanoseconds) in
// log-linear buckets: bounded memory, relative precision better than 1 %.
//
// A Histogram is not safe for concurrent use. Each connection's reader owns
// one; they are merged after the readers have stopped.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64 // for the mean
	min    int64
	max    int64
}

// bucketOf returns the index of the bucket holding v (0 <= v < maxTracked).
func bucketOf(v int64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	return shift*subBuckets + int(v>>uint(shift))
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (low, width int64) {
	if i < 2*subBuckets {
		return int64(i), 1
	}
	shift := i/subBuckets - 1
	m := int64(i - shift*subBuckets)
	return m << uint(shift), 1 << uint(shift)
}

// Record adds one value. Negative values count as 0; values of maxTracked
// and above go to the last bucket but still set Max exactly.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
	i := histBuckets - 1
	if v < maxTracked {
		i = bucketOf(v)
	}
	h.counts[i]++
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest value recorded (0 when empty).
func (h *Histogram) Max() int64 { return h.max }

// Min returns the smallest value recorded (0 when empty).
func (h *Histogram) Min() int64 { return h.min }

// Mean returns the average of the values recorded (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value below or at which a fraction q (0..1) of the
// recorded values lie: the ceil(q*n)-th smallest value, as the midpoint of
// its bucket, clamped to [Min, Max]. So it is within 0.8 % of the exact
// answer, Quantile(1) == Max, and Quantile never decreases as q grows.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen < rank {
			continue
		}
		low, width := bucketRange(i)
		v := low + (width-1)/2
		if v < h.min {
			v = h.min
		}
		if v > h.max {
			v = h.max
		}
		return v
	}
	return h.max // cannot happen: the counts add up to n
}
