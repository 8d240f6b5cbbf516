package auth

import (
	"context"
	"errors"
	"sync"
)

// ErrBusy is returned by [Gate.Do] when too many calls already wait: more
// than [MaxWaitPerAddr] for the address, or more than [MaxWaiting] in all.
var ErrBusy = errors.New("auth: too many password checks waiting")

// Waiting limits of a Gate made by [NewGate]. Calls that run do not count.
const (
	MaxWaitPerAddr = 8    // calls waiting per address
	MaxWaiting     = 1024 // calls waiting in all
)

// Gate bounds how many password hashes run at once (PROTOCOL §5.5: "a small
// number of hashes run at once, shared fairly among addresses").
//
// Fairness: calls that must wait are queued per address, first in first out,
// and the addresses that have waiting calls form a ring, also first in first
// out. When a slot frees, it goes to the first call of the address at the
// head of the ring, and that address moves to the tail (or leaves the ring
// if it has no more calls waiting); an address that starts waiting joins at
// the tail. So slots go round-robin across addresses: a call starts after at
// most one call of each address that was waiting before it, however many
// calls those addresses have queued.
//
// A slot is handed straight from the call that ends to the call that starts,
// so a newcomer can never jump the queue: free slots exist only while no
// call waits.
type Gate struct {
	perAddr int // limit of waiting calls per address
	total   int // limit of waiting calls in all

	mu      sync.Mutex // guards the fields below and every queue and waiter
	free    int        // free slots; > 0 only if no call waits
	waiting int        // calls waiting in all
	addrs   map[string]*addrQueue
	head    *addrQueue // ring of addresses with waiting calls, in turn order
	tail    *addrQueue
}

// addrQueue holds one address's waiting calls, oldest first.
type addrQueue struct {
	addr       string
	n          int
	head, tail *waiter
	prev, next *addrQueue // in the ring
}

// waiter is one waiting call.
type waiter struct {
	ready      chan struct{} // closed when granted a slot
	granted    bool
	q          *addrQueue
	prev, next *waiter
}

// NewGate returns a Gate that lets n calls run at once, with the waiting
// limits [MaxWaitPerAddr] and [MaxWaiting]. It panics if n < 1.
func NewGate(n int) *Gate {
	return newGate(n, MaxWaitPerAddr, MaxWaiting)
}

func newGate(n, perAddr, total int) *Gate {
	if n < 1 {
		panic("auth: NewGate: n must be positive")
	}
	return &Gate{perAddr: perAddr, total: total, free: n, addrs: make(map[string]*addrQueue)}
}

// Do runs fn once a slot is free and returns nil after fn returns. addr
// names the client address the call is made for (the caller decides what
// counts as one address, say one IPv6 /64); waiting calls are served
// round-robin across addresses (see [Gate]).
//
// Do returns ctx.Err() without running fn if ctx ends before fn would
// start, and [ErrBusy] at once if too many calls already wait. A call that
// gives up leaves its queue at once. Do starts no goroutine; the slot is
// released even if fn panics.
func (g *Gate) Do(ctx context.Context, addr string, fn func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
	} else {
		w, err := g.enqueueLocked(addr)
		g.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-w.ready:
		case <-ctx.Done():
			g.mu.Lock()
			granted := w.granted
			if !granted {
				g.dequeueLocked(w)
			}
			g.mu.Unlock()
			if !granted {
				return ctx.Err()
			}
			// Granted as ctx ended: the slot is ours; the check below
			// passes it on.
		}
	}
	defer g.release()
	if err := ctx.Err(); err != nil {
		return err
	}
	fn()
	return nil
}

// enqueueLocked queues a waiting call for addr, or returns ErrBusy.
func (g *Gate) enqueueLocked(addr string) (*waiter, error) {
	q := g.addrs[addr]
	queued := 0
	if q != nil {
		queued = q.n
	}
	if queued >= g.perAddr || g.waiting >= g.total {
		return nil, ErrBusy
	}
	if q == nil {
		q = &addrQueue{addr: addr}
		g.addrs[addr] = q
		g.pushAddrLocked(q)
	}
	w := &waiter{ready: make(chan struct{}), q: q, prev: q.tail}
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
	g.waiting++
	return w, nil
}

// dequeueLocked removes w, which must not be granted, from its queue, and
// its address from the ring if it was the address's last waiting call.
func (g *Gate) dequeueLocked(w *waiter) {
	q := w.q
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
	q.n--
	g.waiting--
	if q.n == 0 {
		g.unlinkAddrLocked(q)
		delete(g.addrs, q.addr)
	}
}

// release frees the caller's slot: it goes to the next waiting call in
// turn, or back to the pool if none waits.
func (g *Gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	q := g.head
	if q == nil {
		g.free++
		return
	}
	w := q.head
	g.dequeueLocked(w) // drops q from the ring if w was its last call
	if q.n > 0 {
		g.unlinkAddrLocked(q) // its turn is over: to the tail
		g.pushAddrLocked(q)
	}
	w.granted = true
	close(w.ready)
}

func (g *Gate) pushAddrLocked(q *addrQueue) {
	q.prev, q.next = g.tail, nil
	if g.tail != nil {
		g.tail.next = q
	} else {
		g.head = q
	}
	g.tail = q
}

func (g *Gate) unlinkAddrLocked(q *addrQueue) {
	if q.prev != nil {
		q.prev.next = q.next
	} else {
		g.head = q.next
	}
	if q.next != nil {
		q.next.prev = q.prev
	} else {
		g.tail = q.prev
	}
	q.prev, q.next = nil, nil
}
