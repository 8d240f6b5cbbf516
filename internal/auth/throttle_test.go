package auth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestThrottleBurst(t *testing.T) {
	th := NewThrottle(5, 12*time.Second, 100)
	for i := range 5 {
		if ok, wait := th.Allow("k", t0); !ok || wait != 0 {
			t.Fatalf("Allow #%d = %v, %v; want true, 0", i+1, ok, wait)
		}
	}
	if ok, wait := th.Allow("k", t0); ok || wait != 12*time.Second {
		t.Fatalf("Allow #6 = %v, %v; want false, 12s", ok, wait)
	}
	// A refused Allow takes nothing.
	if wait := th.Wait("k", t0); wait != 12*time.Second {
		t.Fatalf("Wait after refused Allow = %v, want 12s", wait)
	}
	// Other keys are not affected.
	if ok, _ := th.Allow("other", t0); !ok {
		t.Fatal("Allow(other) refused")
	}
}

func TestThrottleRefill(t *testing.T) {
	th := NewThrottle(5, 12*time.Second, 100)
	for range 5 {
		th.Take("k", t0)
	}
	tests := []struct {
		after time.Duration
		want  time.Duration
	}{
		{0, 12 * time.Second},
		{6 * time.Second, 6 * time.Second},
		{12*time.Second - time.Millisecond, time.Millisecond},
		{12*time.Second - time.Nanosecond, time.Millisecond}, // rounded up, at least 1 ms
		{12 * time.Second, 0},
		{59 * time.Second, 0},
	}
	for _, tt := range tests {
		if got := th.Wait("k", t0.Add(tt.after)); got != tt.want {
			t.Errorf("Wait at t0+%v = %v, want %v", tt.after, got, tt.want)
		}
	}
	// One token back after 12 s, then empty again.
	now := t0.Add(12 * time.Second)
	if ok, _ := th.Allow("k", now); !ok {
		t.Fatal("Allow after 12 s refused")
	}
	if ok, wait := th.Allow("k", now); ok || wait != 12*time.Second {
		t.Fatalf("second Allow after 12 s = %v, %v; want false, 12s", ok, wait)
	}
	// Three tokens back after 36 s more.
	now = now.Add(36 * time.Second)
	for i := range 3 {
		if ok, _ := th.Allow("k", now); !ok {
			t.Fatalf("Allow #%d after 36 s refused", i+1)
		}
	}
	if ok, _ := th.Allow("k", now); ok {
		t.Fatal("Allow #4 after 36 s allowed")
	}
	// Completely refilled buckets are dropped.
	if got := th.Wait("k", now.Add(time.Hour)); got != 0 {
		t.Fatalf("Wait after an hour = %v, want 0", got)
	}
	if n := th.Len(); n != 0 {
		t.Fatalf("Len after a full refill and a Wait = %d, want 0", n)
	}
}

func TestThrottleRounding(t *testing.T) {
	th := NewThrottle(1, 10*time.Millisecond+500*time.Microsecond, 10)
	th.Take("k", t0)
	if got, want := th.Wait("k", t0), 11*time.Millisecond; got != want {
		t.Errorf("Wait = %v, want %v", got, want)
	}
	if got, want := th.Wait("k", t0.Add(10*time.Millisecond)), time.Millisecond; got != want {
		t.Errorf("Wait after 10 ms = %v, want %v", got, want)
	}
}

func TestThrottleWaitTakesNothing(t *testing.T) {
	th := NewThrottle(3, time.Minute, 10)
	for range 10 {
		if w := th.Wait("k", t0); w != 0 {
			t.Fatalf("Wait on a fresh key = %v, want 0", w)
		}
	}
	if n := th.Len(); n != 0 {
		t.Fatalf("Len after Waits = %d, want 0", n)
	}
	for i := range 3 {
		if ok, _ := th.Allow("k", t0); !ok {
			t.Fatalf("Allow #%d refused after Waits", i+1)
		}
	}
	for range 10 {
		if w := th.Wait("k", t0); w != time.Minute {
			t.Fatalf("Wait on an empty bucket = %v, want 1m", w)
		}
	}
	if ok, _ := th.Allow("k", t0.Add(time.Minute)); !ok {
		t.Fatal("Allow after a minute refused")
	}
}

func TestThrottleTakeNeverBelowZero(t *testing.T) {
	th := NewThrottle(5, 12*time.Second, 10)
	for range 1000 {
		th.Take("k", t0)
	}
	if got := th.Wait("k", t0); got != 12*time.Second {
		t.Fatalf("Wait after 1000 Takes = %v, want 12s", got)
	}
	if got := th.Wait("k", t0.Add(60*time.Second)); got != 0 {
		t.Fatalf("Wait 60 s after 1000 Takes = %v, want 0", got)
	}
}

func TestThrottleClockBackwards(t *testing.T) {
	th := NewThrottle(5, 12*time.Second, 10)
	for range 5 {
		th.Take("k", t0)
	}
	if got := th.Wait("k", t0.Add(-time.Hour)); got != 12*time.Second {
		t.Fatalf("Wait an hour before the Takes = %v, want 12s", got)
	}
}

func TestThrottleMaxKeys(t *testing.T) {
	const maxKeys = 1000
	th := NewThrottle(5, 12*time.Second, maxKeys)
	now := t0
	for i := range 100_000 {
		key := fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)
		if i%3 == 0 {
			th.Take(key, now)
		} else {
			th.Allow(key, now)
		}
		if i%1000 == 0 {
			if n := th.Len(); n > maxKeys {
				t.Fatalf("after %d keys: Len = %d, want at most %d", i+1, n, maxKeys)
			}
		}
		now = now.Add(time.Millisecond)
	}
	if n := th.Len(); n > maxKeys {
		t.Fatalf("Len = %d, want at most %d", n, maxKeys)
	}
	checkThrottleList(t, th)
}

func TestThrottleEvictsFullFirst(t *testing.T) {
	th := NewThrottle(5, 12*time.Second, 3)
	drain := func(key string, now time.Time) {
		for range 5 {
			th.Take(key, now)
		}
	}
	drain("old", t0)                    // full at t0+60s; the oldest touched
	th.Take("one", t0.Add(time.Second)) // full at t0+13s
	drain("busy", t0.Add(time.Second))  // full at t0+61s
	now := t0.Add(20 * time.Second)
	th.Take("new", now) // "one" is full (though not the oldest): it goes
	checkThrottleList(t, th)
	for _, key := range []string{"old", "busy", "new"} {
		if _, ok := th.buckets[key]; !ok {
			t.Errorf("bucket %q dropped, want it kept", key)
		}
	}
	if _, ok := th.buckets["one"]; ok {
		t.Error(`full bucket "one" kept, want it dropped first`)
	}
	// No full bucket left: the oldest touched goes.
	th.Take("newer", now)
	if _, ok := th.buckets["old"]; ok {
		t.Error(`oldest bucket "old" kept, want it dropped`)
	}
	if n := th.Len(); n != 3 {
		t.Errorf("Len = %d, want 3", n)
	}
	checkThrottleList(t, th)
}

func TestThrottleConcurrent(t *testing.T) {
	const burst, keys, goroutines = 5, 10, 8
	th := NewThrottle(burst, time.Minute, 100)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range 100 {
				key := fmt.Sprint((g + i) % keys)
				if ok, _ := th.Allow(key, t0); ok {
					allowed.Add(1)
				}
				th.Wait(key, t0)
			}
		})
	}
	wg.Wait()
	if got, want := allowed.Load(), int64(burst*keys); got != want {
		t.Fatalf("allowed %d, want %d", got, want)
	}
	checkThrottleList(t, th)
}

func TestNewThrottlePanics(t *testing.T) {
	for _, tt := range []struct {
		burst   int
		every   time.Duration
		maxKeys int
	}{
		{0, time.Second, 1},
		{1, 0, 1},
		{1, time.Second, 0},
		{1 << 40, time.Hour, 1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewThrottle(%d, %v, %d) did not panic", tt.burst, tt.every, tt.maxKeys)
				}
			}()
			NewThrottle(tt.burst, tt.every, tt.maxKeys)
		}()
	}
}

// checkThrottleList checks that the touch-order list and the map agree.
func checkThrottleList(t *testing.T, th *Throttle) {
	t.Helper()
	th.mu.Lock()
	defer th.mu.Unlock()
	n := 0
	var prev *bucket
	for b := th.oldest; b != nil; b = b.next {
		if b.prev != prev {
			t.Fatalf("bucket %q: prev link broken", b.key)
		}
		if th.buckets[b.key] != b {
			t.Fatalf("bucket %q in the list but not in the map", b.key)
		}
		prev = b
		n++
	}
	if th.newest != prev {
		t.Fatal("newest is not the list's last bucket")
	}
	if n != len(th.buckets) {
		t.Fatalf("list holds %d buckets, map %d", n, len(th.buckets))
	}
}

func BenchmarkThrottleFlood(b *testing.B) {
	th := NewThrottle(5, 12*time.Second, 10_000)
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		th.Take(keys[i&(len(keys)-1)], t0)
	}
}
