package client

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces out reconnection attempts: the wait doubles from Min up to
// Max, and each wait is drawn between 3/4 of that and all of it, so that a
// crowd of clients dropped together by a restart does not come back in
// lock step.
type Backoff struct {
	Min time.Duration // first wait (default 500 ms)
	Max time.Duration // cap (default 10 s)
	// Rand returns a number in [0, 1); nil uses math/rand/v2.
	Rand func() float64
}

// withDefaults fills in the zero fields.
func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 500 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = 10 * time.Second
		if b.Max < b.Min {
			b.Max = b.Min
		}
	}
	return b
}

// Delay is the wait before attempt n (1 for the first).
func (b Backoff) Delay(n int) time.Duration {
	b = b.withDefaults()
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	return d*3/4 + time.Duration(r()*float64(d/4))
}
