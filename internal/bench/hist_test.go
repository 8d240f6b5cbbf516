package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// within reports whether got is within a relative tolerance rel of want.
func within(got, want int64, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}

// tolerance is the histogram's documented precision: half a bucket (1/128).
const tolerance = 1.0 / 128

func TestBucketLayout(t *testing.T) {
	// Every bucket starts where the previous ends, and is at most 1/64 of
	// its values wide; bucketOf agrees with bucketRange.
	var next int64
	for i := range histBuckets {
		low, width := bucketRange(i)
		if low != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, low, next)
		}
		if width > 1 && float64(width) > float64(low)/subBuckets {
			t.Fatalf("bucket %d [%d,+%d) is wider than 1/%d of its values", i, low, width, subBuckets)
		}
		for _, v := range []int64{low, low + width/2, low + width - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		next = low + width
	}
	if next != maxTracked {
		t.Fatalf("buckets end at %d, want maxTracked %d", next, maxTracked)
	}
}

func TestHistogramSmallValuesExact(t *testing.T) {
	var h Histogram
	for v := int64(1); v <= 100; v++ {
		h.Record(v)
	}
	for _, tc := range []struct {
		q    float64
		want int64
	}{{0.01, 1}, {0.5, 50}, {0.9, 90}, {0.99, 99}, {0.999, 100}, {1, 100}} {
		if got := h.Quantile(tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %d, want %d", tc.q, got, tc.want)
		}
	}
	if h.Count() != 100 || h.Min() != 1 || h.Max() != 100 || h.Mean() != 50.5 {
		t.Errorf("count %d min %d max %d mean %v, want 100 1 100 50.5", h.Count(), h.Min(), h.Max(), h.Mean())
	}
}

func TestHistogramKnownDistributions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func(i int) int64
	}{
		{"uniform 1..1e6", func(i int) int64 { return int64(i + 1) }},
		{"uniform 20µs..5ms shuffled", func(int) int64 { return 20_000 + rng.Int64N(4_980_000) }},
		{"exponential mean 1ms", func(int) int64 { return int64(rng.ExpFloat64() * 1e6) }},
		{"lognormal", func(int) int64 { return int64(math.Exp(rng.NormFloat64()*2 + 12)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 1_000_000
			vals := make([]int64, n)
			var h Histogram
			for i := range vals {
				vals[i] = tc.gen(i)
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				want := vals[int(math.Ceil(q*n))-1] // the ceil(q*n)-th smallest
				if got := h.Quantile(q); !within(got, want, tolerance) {
					t.Errorf("Quantile(%v) = %d, want %d ± %.2f %%", q, got, want, 100*tolerance)
				}
			}
			if h.Max() != vals[n-1] || h.Min() != vals[0] || h.Quantile(1) != vals[n-1] {
				t.Errorf("min %d max %d Quantile(1) %d, want %d %d %d",
					h.Min(), h.Max(), h.Quantile(1), vals[0], vals[n-1], vals[n-1])
			}
		})
	}
}

func TestHistogramMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var whole, a, b Histogram
	for i := range 100_000 {
		v := rng.Int64N(1e9)
		whole.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{}) // empty: no effect
	if m.counts != whole.counts || m.n != whole.n || m.min != whole.min || m.max != whole.max {
		t.Fatalf("merged histogram differs from the one that saw everything")
	}
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if m.Quantile(q) != whole.Quantile(q) {
			t.Errorf("Quantile(%v): merged %d, whole %d", q, m.Quantile(q), whole.Quantile(q))
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Errorf("empty histogram: p50 %d max %d mean %v, want zeros", h.Quantile(0.5), h.Max(), h.Mean())
	}
	h.Record(-5) // clock skew cannot make a negative latency; it counts as 0
	if h.Min() != 0 || h.Quantile(0.5) != 0 {
		t.Errorf("negative value: min %d p50 %d, want 0", h.Min(), h.Quantile(0.5))
	}
	huge := 10 * maxTracked
	h.Record(huge)
	if h.Max() != huge || h.Quantile(1) != huge {
		t.Errorf("beyond the tracked range: max %d Quantile(1) %d, want %d", h.Max(), h.Quantile(1), huge)
	}
	if got := h.Quantile(0.99); got > huge || got < maxTracked/2 {
		t.Errorf("Quantile(0.99) = %d, want in the last bucket, at most %d", got, huge)
	}
	// One value: every quantile is that value exactly (clamped to min/max).
	var one Histogram
	one.Record(123_456_789)
	for _, q := range []float64{0, 0.5, 0.999, 1} {
		if got := one.Quantile(q); got != 123_456_789 {
			t.Errorf("single value: Quantile(%v) = %d", q, got)
		}
	}
}

func TestHistogramQuantilesOrdered(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var h Histogram
	for range 10_000 {
		h.Record(int64(rng.ExpFloat64() * 1e5))
	}
	prev := int64(-1)
	for q := 0.0; q <= 1.0; q += 0.001 {
		v := h.Quantile(q)
		if v < prev {
			t.Fatalf("Quantile(%v) = %d < %d for a smaller q", q, v, prev)
		}
		prev = v
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h := new(Histogram)
	if n := testing.AllocsPerRun(1000, func() { h.Record(12345) }); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	h := new(Histogram)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(int64(i&0xffff) * 977)
	}
}
