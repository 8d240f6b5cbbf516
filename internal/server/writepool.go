package server

import (
	"runtime"
	"sync"
	"syscall"
)

// writerPool is a few goroutines that write for many queues, so that a
// message fanned out to a hundred idle connections does not start a hundred
// writer goroutines (starting, scheduling and ending them was a quarter of
// the server's CPU at 2,000 messages/s into a room of 100).
//
// A worker never blocks on a peer: it writes with one non-blocking write
// (syscall.RawConn), and a socket that does not take everything at once is
// handed to a writer goroutine of its own (outQueue.handOver), which waits
// under the write deadline as before. So a slow or stalled reader costs the
// pool nothing, and the slow-consumer rules are unchanged.
//
// Workers exist only while queues wait: the last one to find the list empty
// ends, and the next submit starts one again. An idle server has none.
//
// Ownership: a queue is on the list at most once, while its writing flag is
// set (outQueue.startWriterLocked), so the list is bounded by the number of
// connections. p.mu is a leaf lock: submit is called under a queue's lock,
// and a worker never holds p.mu while it takes one.
type writerPool struct {
	srv  *Server
	base int // workers started whenever queues wait
	max  int // workers at most, for a long list (see backlogPerWorker)

	mu      sync.Mutex // protects the fields below
	ring    []*outQueue
	head, n int // the queued queues are ring[head], ... (n of them, wrapping)
	running int // workers started and not ended
}

// backlogPerWorker is how many listed queues make another worker worth
// starting beyond base. One worker batches best: on 2 cores a second one
// cost 7 % of the 1,000-client throughput (B) and gained nothing in a room
// of 100. But a pass over a long list is long (a message to a room of 1,000
// is 999 writes of ~2 µs), and the last queues of it wait for all the
// others: with a second worker from 400 listed queues, the p99 of 200
// messages/s into a room of 1,000 fell from 5.8-6.3 to 5.0-5.3 ms.
const backlogPerWorker = 200

func newWriterPool(srv *Server) *writerPool {
	procs := runtime.GOMAXPROCS(0)
	return &writerPool{srv: srv, base: max(1, procs/2), max: max(1, procs)}
}

// submit queues q for a worker, starting one if fewer run than the list's
// length calls for.
func (p *writerPool) submit(q *outQueue) {
	p.mu.Lock()
	if p.n == len(p.ring) {
		p.grow()
	}
	p.ring[(p.head+p.n)%len(p.ring)] = q
	p.n++
	start := p.running < p.workersFor(p.n)
	if start {
		p.running++
		p.srv.wg.Add(1)
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

// workersFor is how many workers a list of n queues calls for.
func (p *writerPool) workersFor(n int) int {
	return min(p.max, max(p.base, n/backlogPerWorker))
}

func (p *writerPool) grow() {
	ring := make([]*outQueue, max(16, 2*len(p.ring)))
	for i := range p.n {
		ring[i] = p.ring[(p.head+i)%len(p.ring)]
	}
	p.ring, p.head = ring, 0
}

// next takes the oldest queued queue, or, if none is left, ends the
// worker's turn (it must then return).
func (p *writerPool) next() *outQueue {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		p.running--
		return nil
	}
	q := p.ring[p.head]
	p.ring[p.head] = nil
	p.head = (p.head + 1) % len(p.ring)
	p.n--
	return q
}

// work is a worker goroutine: one batch per queue per turn, busy queues go
// back to the end of the list, so one busy connection cannot hold a worker.
func (p *writerPool) work() {
	defer p.srv.wg.Done()
	w := newNonblockWriter()
	// Let the goroutines that are ready to run go first: they are mostly
	// readers with a message in hand, whose fan-out adds frames to the
	// queues on the list. Each queue is then written once for all of them,
	// as an event loop writes each client once per turn. (On 2 cores this
	// made 100 clients' throughput 8 % higher, 1,000 clients' 16 %, and cut
	// the CPU of 2,000 messages/s into a room of 100 by a quarter.)
	runtime.Gosched()
	for q := p.next(); q != nil; q = p.next() {
		if q.writeSome(w) {
			p.submit(q)
		}
	}
}

// nonblockWriter makes one write without waiting for the socket. Its
// callback is made once per worker: a func passed to RawConn.Write escapes,
// and a closure per write would allocate.
type nonblockWriter struct {
	buf []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func newNonblockWriter() *nonblockWriter {
	w := &nonblockWriter{}
	w.fn = w.once
	return w
}

// write writes what of b the socket takes now. A short count with a nil
// error means the socket is full: the caller must wait for the rest.
func (w *nonblockWriter) write(rc syscall.RawConn, b []byte) (int, error) {
	w.buf, w.n, w.err = b, 0, nil
	err := rc.Write(w.fn)
	n, werr := w.n, w.err
	w.buf, w.err = nil, nil
	if err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN {
		werr = nil
	}
	return n, werr
}

// once is the RawConn callback: it always reports done, so RawConn.Write
// never parks the worker waiting for the socket.
func (w *nonblockWriter) once(fd uintptr) bool {
	for {
		n, err := writeFD(fd, w.buf)
		if err == syscall.EINTR {
			continue
		}
		w.n, w.err = max(n, 0), err
		return true
	}
}
