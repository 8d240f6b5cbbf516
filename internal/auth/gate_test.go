package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitWaiting waits until g has n calls waiting. It yields instead of
// sleeping; the deadline only turns a hang into a failure.
func waitWaiting(t *testing.T, g *Gate, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		got := g.waiting
		g.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting = %d, want %d", got, n)
		}
		runtime.Gosched()
	}
}

// checkIdle checks that g is back at rest with n free slots.
func checkIdle(t *testing.T, g *Gate, n int) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.free != n || g.waiting != 0 || len(g.addrs) != 0 || g.head != nil || g.tail != nil {
		t.Fatalf("gate not idle: free %d (want %d), waiting %d, addrs %d, ring empty %v",
			g.free, n, g.waiting, len(g.addrs), g.head == nil && g.tail == nil)
	}
}

// recorder runs calls that report their start and then block until told to
// finish, one at a time.
type recorder struct {
	started chan string
	proceed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{started: make(chan string), proceed: make(chan struct{})}
}

func (r *recorder) fn(label string) func() {
	return func() {
		r.started <- label
		<-r.proceed
	}
}

// finishOne lets one running call end and returns the label of the call
// that starts in its place.
func (r *recorder) finishOne() string {
	r.proceed <- struct{}{}
	return <-r.started
}

func TestGateBoundsConcurrency(t *testing.T) {
	const n = 3
	g := newGate(n, 1000, 10_000)
	var running, peak, ran atomic.Int64
	var wg sync.WaitGroup
	for a := range 20 {
		for range 20 {
			wg.Go(func() {
				err := g.Do(context.Background(), fmt.Sprint("addr", a), func() {
					cur := running.Add(1)
					for {
						p := peak.Load()
						if cur <= p || peak.CompareAndSwap(p, cur) {
							break
						}
					}
					runtime.Gosched()
					running.Add(-1)
					ran.Add(1)
				})
				if err != nil {
					t.Errorf("Do: %v", err)
				}
			})
		}
	}
	wg.Wait()
	if p := peak.Load(); p > n || p < 1 {
		t.Errorf("peak concurrency %d, want 1 to %d", p, n)
	}
	if got := ran.Load(); got != 400 {
		t.Errorf("ran %d calls, want 400", got)
	}
	checkIdle(t, g, n)
}

func TestGateFairness(t *testing.T) {
	const n, flood = 2, 100
	g := newGate(n, flood, 1024)
	r := newRecorder()
	var wg sync.WaitGroup
	do := func(addr string) {
		wg.Go(func() {
			if err := g.Do(context.Background(), addr, r.fn(addr)); err != nil {
				t.Errorf("Do(%s): %v", addr, err)
			}
		})
	}
	// Address A fills every slot and queues flood more.
	for range n {
		do("A")
		<-r.started
	}
	for range flood {
		do("A")
	}
	waitWaiting(t, g, flood)
	do("B")
	waitWaiting(t, g, flood+1)

	var order []string
	for range flood + 1 {
		order = append(order, r.finishOne())
	}
	for range n {
		r.proceed <- struct{}{}
	}
	wg.Wait()
	checkIdle(t, g, n)

	for i, label := range order {
		if label == "B" {
			if i+1 > n+1 {
				t.Errorf("B started as start #%d after it queued, want within %d", i+1, n+1)
			}
			return
		}
	}
	t.Fatal("B never started")
}

func TestGateRoundRobin(t *testing.T) {
	g := newGate(1, 10, 100)
	r := newRecorder()
	var wg sync.WaitGroup
	do := func(addr string) {
		wg.Go(func() {
			if err := g.Do(context.Background(), addr, r.fn(addr)); err != nil {
				t.Errorf("Do(%s): %v", addr, err)
			}
		})
	}
	do("X")
	<-r.started
	queued := 0
	for _, q := range []struct {
		addr  string
		count int
	}{{"A", 3}, {"B", 2}, {"C", 1}} {
		for range q.count {
			do(q.addr)
			queued++
			waitWaiting(t, g, queued) // fixes the order of arrival
		}
	}
	var order string
	for range queued {
		order += r.finishOne()
	}
	r.proceed <- struct{}{}
	wg.Wait()
	if want := "ABCABA"; order != want {
		t.Errorf("start order %q, want %q", order, want)
	}
	checkIdle(t, g, 1)
}

func TestGateCancelRemovesWaiter(t *testing.T) {
	g := NewGate(1)
	r := newRecorder()
	var wg sync.WaitGroup
	wg.Go(func() { _ = g.Do(context.Background(), "x", r.fn("x")) })
	<-r.started

	ctx, cancel := context.WithCancel(context.Background())
	var cancelledRan atomic.Bool
	errc := make(chan error, 1)
	wg.Go(func() { errc <- g.Do(ctx, "a", func() { cancelledRan.Store(true) }) })
	waitWaiting(t, g, 1)
	wg.Go(func() { _ = g.Do(context.Background(), "b", r.fn("b")) })
	waitWaiting(t, g, 2)

	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Do = %v, want context.Canceled", err)
	}
	g.mu.Lock()
	_, hasA := g.addrs["a"]
	ringB := g.head != nil && g.head == g.tail && g.head.addr == "b"
	waiting := g.waiting
	g.mu.Unlock()
	if hasA || !ringB || waiting != 1 {
		t.Fatalf("after cancel: queue a kept %v, ring is just b %v, waiting %d; want false, true, 1", hasA, ringB, waiting)
	}

	if got := r.finishOne(); got != "b" {
		t.Fatalf("next start %q, want b", got)
	}
	r.proceed <- struct{}{}
	wg.Wait()
	if cancelledRan.Load() {
		t.Error("the cancelled call's fn ran")
	}
	checkIdle(t, g, 1)
}

func TestGateDoneContext(t *testing.T) {
	g := NewGate(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := g.Do(ctx, "a", func() { ran = true }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Do with a done context = %v, ran %v; want context.Canceled, false", err, ran)
	}
	checkIdle(t, g, 1)
}

func TestGateCancelStress(t *testing.T) {
	const n = 2
	g := newGate(n, 1000, 10_000)
	var running atomic.Int64
	var wg sync.WaitGroup
	for i := range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		wg.Go(func() {
			err := g.Do(ctx, fmt.Sprint("addr", i%7), func() {
				if running.Add(1) > n {
					t.Error("more than n calls run at once")
				}
				runtime.Gosched()
				running.Add(-1)
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Do: %v", err)
			}
		})
		if i%2 == 0 {
			wg.Go(cancel) // races with the grant
		} else {
			defer cancel()
		}
	}
	wg.Wait()
	checkIdle(t, g, n)
}

func TestGateBusy(t *testing.T) {
	g := newGate(1, MaxWaitPerAddr, 2*MaxWaitPerAddr+2)
	r := newRecorder()
	var wg sync.WaitGroup
	do := func(addr string) {
		wg.Go(func() {
			if err := g.Do(context.Background(), addr, r.fn(addr)); err != nil {
				t.Errorf("Do(%s): %v", addr, err)
			}
		})
	}
	// doNow expects Do to fail at once.
	doNow := func(addr string, want error) {
		t.Helper()
		errc := make(chan error, 1)
		go func() { errc <- g.Do(context.Background(), addr, func() { t.Errorf("fn of refused %s ran", addr) }) }()
		select {
		case err := <-errc:
			if !errors.Is(err, want) {
				t.Errorf("Do(%s) = %v, want %v", addr, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Do(%s) blocked, want %v at once", addr, want)
		}
	}
	do("x")
	<-r.started
	for range MaxWaitPerAddr {
		do("a")
	}
	waitWaiting(t, g, MaxWaitPerAddr)
	doNow("a", ErrBusy) // over the per-address limit
	for range MaxWaitPerAddr {
		do("b")
	}
	do("c")
	do("d")
	waitWaiting(t, g, 2*MaxWaitPerAddr+2)
	doNow("e", ErrBusy) // over the total limit

	for range 2*MaxWaitPerAddr + 2 {
		r.finishOne()
	}
	r.proceed <- struct{}{}
	wg.Wait()
	checkIdle(t, g, 1)
}

func TestGatePanicReleases(t *testing.T) {
	g := NewGate(1)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic in fn did not reach the caller")
			}
		}()
		_ = g.Do(context.Background(), "a", func() { panic("boom") })
	}()
	checkIdle(t, g, 1)
	ran := false
	if err := g.Do(context.Background(), "a", func() { ran = true }); err != nil || !ran {
		t.Fatalf("Do after a panic = %v, ran %v", err, ran)
	}
}

func TestNewGatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewGate(0) did not panic")
		}
	}()
	NewGate(0)
}
