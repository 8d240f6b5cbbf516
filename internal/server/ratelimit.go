package server

import (
	"math"
	"time"
)

// tokenBucket is the per-connection rate limit of PROTOCOL §5: it starts
// full with burst tokens, refills at rate tokens per second, and every
// accepted line takes one token; a refused line takes none.
//
// It is intentionally not safe for concurrent use: only the connection's
// reader goroutine touches it. Time is passed in, so tests need no clock.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64 // capacity
	tokens float64
	last   time.Time // when tokens was last brought up to date
}

func newTokenBucket(rate float64, burst int, now time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take takes a token if there is one. Otherwise it reports how long until the
// next one, rounded up to the millisecond (at least 1 ms).
func (b *tokenBucket) take(now time.Time) (ok bool, retryAfter time.Duration) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	ms := math.Ceil((1 - b.tokens) / b.rate * 1000)
	if ms < 1 {
		ms = 1
	}
	return false, time.Duration(ms) * time.Millisecond
}

// newTokenBucketValue is newTokenBucket for a bucket held by value. A zero
// tokenBucket is off: allow lets everything through.
func newTokenBucketValue(rate float64, burst int, now time.Time) tokenBucket {
	return tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// on reports whether the bucket limits anything.
func (b *tokenBucket) on() bool { return b.rate > 0 && b.burst > 0 }
