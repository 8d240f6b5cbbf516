package auth

import (
	"sync"
	"time"
)

// Throttle is a set of token buckets keyed by string, for the failed-login
// and registration limits of PROTOCOL §5.5. Each bucket starts full with
// burst tokens and refills one token per every. It is safe for concurrent
// use, and every method takes the current time, so tests need no clock.
//
// Memory is bounded: at most maxKeys buckets exist. A bucket that has
// refilled completely is the same as an absent one and may be dropped at any
// time. When a new key needs room, Throttle drops, in order:
//  1. full buckets among the least recently touched ones;
//  2. every full bucket, in a sweep of all buckets that runs on the first
//     of every maxKeys/4+1 such insertions (so the cost is amortised O(1));
//  3. the least recently touched bucket, full or not.
//
// Under a flood of distinct keys, step 3 forgets the oldest keys' history:
// keep limits whose keys an attacker can multiply (per name and address)
// in a Throttle apart from those it cannot (per address), so that one
// cannot evict the other.
type Throttle struct {
	every   time.Duration // refill period of one token
	span    time.Duration // burst*every: time for an empty bucket to refill
	maxKeys int

	mu         sync.Mutex // guards the fields below and every bucket
	buckets    map[string]*bucket
	oldest     *bucket // touch order: oldest first, linked by next
	newest     *bucket
	sinceSweep int // insertions needing room since the last full sweep, mod maxKeys/4+1
}

// bucket is one key's state. Rather than a token count it keeps the time at
// which it is full again (the "theoretical arrival time" of GCRA): at time
// now it holds burst - (full-now)/every tokens, and full ≤ now means full.
type bucket struct {
	key        string
	full       time.Time
	prev, next *bucket // touch order
}

// NewThrottle returns a Throttle whose buckets hold burst tokens and refill
// one token per every, keeping at most maxKeys buckets. For example the
// failed-login limit is NewThrottle(5, 12*time.Second, n) and the
// registration limit (5 an hour) NewThrottle(5, 12*time.Minute, n).
// It panics if burst, every or maxKeys is not positive, or if burst*every
// overflows a time.Duration.
func NewThrottle(burst int, every time.Duration, maxKeys int) *Throttle {
	if burst < 1 || every <= 0 || maxKeys < 1 {
		panic("auth: NewThrottle: burst, every and maxKeys must be positive")
	}
	if every > time.Duration(1<<63-1)/time.Duration(burst) {
		panic("auth: NewThrottle: burst*every overflows")
	}
	return &Throttle{
		every:   every,
		span:    time.Duration(burst) * every,
		maxKeys: maxKeys,
		buckets: make(map[string]*bucket),
	}
}

// Wait returns 0 if key's bucket has a token at now, else how long until it
// has one, rounded up to the millisecond (at least 1 ms). It takes nothing.
func (t *Throttle) Wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b == nil {
		return 0
	}
	if !b.full.After(now) {
		t.removeLocked(b) // full: same as absent
		return 0
	}
	return t.waitLocked(b, now)
}

// Take takes one token from key's bucket. An empty bucket stays empty (it
// never goes below zero tokens), so refused attempts need not call Take.
func (t *Throttle) Take(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.takeLocked(t.buckets[key], key, now)
}

// Allow takes a token from key's bucket if it has one and reports true.
// Otherwise it takes nothing and returns false and what [Throttle.Wait]
// would.
func (t *Throttle) Allow(key string, now time.Time) (ok bool, wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b != nil {
		if w := t.waitLocked(b, now); w > 0 {
			return false, w
		}
	}
	t.takeLocked(b, key, now)
	return true, 0
}

// Len returns the number of buckets kept, at most maxKeys.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}

// waitLocked is Wait for a bucket that exists.
func (t *Throttle) waitLocked(b *bucket, now time.Time) time.Duration {
	deficit := b.full.Sub(now)
	if deficit > t.span {
		deficit = t.span // the clock went backwards
	}
	w := deficit - (t.span - t.every) // a token is there once deficit ≤ span-every
	if w <= 0 {
		return 0
	}
	return (w + time.Millisecond - 1) / time.Millisecond * time.Millisecond
}

// takeLocked takes a token from b, creating b for key if it is nil, and
// marks it as the most recently touched.
func (t *Throttle) takeLocked(b *bucket, key string, now time.Time) {
	if b == nil {
		b = t.insertLocked(key, now)
	} else {
		t.unlinkLocked(b)
	}
	t.pushLocked(b)
	base := b.full
	if base.Before(now) {
		base = now
	}
	full := base.Add(t.every)
	if limit := now.Add(t.span); full.After(limit) {
		full = limit // empty: never below zero tokens
	}
	b.full = full
}

// insertLocked adds a full bucket for key, making room first, and returns
// it unlinked from the touch order.
func (t *Throttle) insertLocked(key string, now time.Time) *bucket {
	if len(t.buckets) >= t.maxKeys {
		t.makeRoomLocked(now)
	}
	b := &bucket{key: key, full: now}
	t.buckets[key] = b
	return b
}

// makeRoomLocked drops at least one bucket (see the Throttle doc).
func (t *Throttle) makeRoomLocked(now time.Time) {
	for t.oldest != nil && !t.oldest.full.After(now) {
		t.removeLocked(t.oldest)
	}
	if len(t.buckets) < t.maxKeys {
		return
	}
	sweep := t.sinceSweep == 0
	if t.sinceSweep++; t.sinceSweep > t.maxKeys/4 {
		t.sinceSweep = 0
	}
	if sweep {
		for b := t.oldest; b != nil; {
			next := b.next
			if !b.full.After(now) {
				t.removeLocked(b)
			}
			b = next
		}
		if len(t.buckets) < t.maxKeys {
			return
		}
	}
	t.removeLocked(t.oldest)
}

func (t *Throttle) removeLocked(b *bucket) {
	t.unlinkLocked(b)
	delete(t.buckets, b.key)
}

// pushLocked appends b, which must be unlinked, as the newest.
func (t *Throttle) pushLocked(b *bucket) {
	b.prev, b.next = t.newest, nil
	if t.newest != nil {
		t.newest.next = b
	} else {
		t.oldest = b
	}
	t.newest = b
}

// unlinkLocked takes b, which must be in the touch order, out of it.
func (t *Throttle) unlinkLocked(b *bucket) {
	if b.prev != nil {
		b.prev.next = b.next
	} else if t.oldest == b {
		t.oldest = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else if t.newest == b {
		t.newest = b.prev
	}
	b.prev, b.next = nil, nil
}
