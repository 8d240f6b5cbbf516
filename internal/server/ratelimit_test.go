package server

import (
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newTokenBucket(2, 3, t0) // 2 per second, burst 3
	for i := 0; i < 3; i++ {
		if ok, _ := b.take(t0); !ok {
			t.Fatalf("take %d of a full bucket refused", i)
		}
	}
	ok, wait := b.take(t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("empty bucket: ok=%v wait=%v, want refused, 500ms", ok, wait)
	}
	// A refused take uses no token: after 250 ms half a token is there.
	if ok, wait := b.take(t0.Add(250 * time.Millisecond)); ok || wait != 250*time.Millisecond {
		t.Fatalf("at 250ms: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := b.take(t0.Add(500 * time.Millisecond)); !ok {
		t.Fatal("at 500ms a token should be back")
	}
	// Refill stops at the burst.
	later := t0.Add(time.Hour)
	for i := 0; i < 3; i++ {
		if ok, _ := b.take(later); !ok {
			t.Fatalf("take %d after an hour refused", i)
		}
	}
	if ok, _ := b.take(later); ok {
		t.Fatal("the bucket held more than its burst")
	}
	// A clock that goes backwards neither refills nor panics.
	if ok, wait := b.take(later.Add(-time.Minute)); ok || wait <= 0 {
		t.Fatalf("backwards clock: ok=%v wait=%v", ok, wait)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	t0 := time.Unix(0, 0)
	b := newTokenBucket(3, 1, t0)
	b.take(t0)
	if _, wait := b.take(t0); wait != 334*time.Millisecond {
		t.Fatalf("wait = %v, want 334ms (1/3 s rounded up)", wait)
	}
}
