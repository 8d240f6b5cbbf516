package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"pynet/protocol"
)

// poolTestQueue returns a queue on the server side of a real loopback TCP
// connection, and the client side. The queue has a raw socket, so its
// writes go through the writer pool.
func poolTestQueue(t *testing.T, onFail func(string)) (*Server, *outQueue, net.Conn) {
	t.Helper()
	s := poolTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	q := newOutQueue(s, server, nil, onFail)
	if q.raw == nil {
		t.Fatal("a TCP connection's queue has no raw socket: the pool would not write it")
	}
	return s, q, client
}

// poolTestServer is a server, never started, whose writer pool writes the
// test queues; its queue limit leaves room for the tests' big frames.
func poolTestServer(t *testing.T) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.MaxQueue = 64 << 20
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noFailure checks that a queue's onFail was not called.
func noFailure(t *testing.T, failed chan string) {
	t.Helper()
	select {
	case r := <-failed:
		t.Fatalf("the queue failed (%s)", r)
	default:
	}
}

// checkSettled checks, once the peer has read everything, that the queue
// holds nothing and no writer has it (nor, over TLS, a stash).
func checkSettled(t *testing.T, q *outQueue) {
	t.Helper()
	q.mu.Lock()
	pending, writing := q.pending, q.writing
	q.mu.Unlock()
	stash := q.sink != nil && q.sink.pending()
	if pending != 0 || writing || stash {
		t.Errorf("after everything was read: pending %d bytes, writing %v, stash %v; want 0, false, false", pending, writing, stash)
	}
}

// readExactly reads len(want) bytes (under a deadline) and compares them.
func readExactly(t *testing.T, c net.Conn, want []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading %d bytes: %v", len(want), err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("bytes differ from offset %d of %d", i, len(want))
	}
}

// A frame bigger than the socket takes at once: the pool writes what it
// can without waiting, a writer goroutine writes the rest, and the frames
// queued meanwhile follow it whole and in order.
func TestPoolHandsAFullSocketToAWriter(t *testing.T) {
	failed := make(chan string, 1)
	s, q, client := poolTestQueue(t, func(r string) { failed <- r })
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: far more than both socket buffers
	big[len(big)-1] = '\n'
	if !q.enqueue(big, true) {
		t.Fatal("enqueue refused the big frame")
	}
	var want bytes.Buffer
	want.Write(big)
	for i := range 100 {
		f := []byte("tail " + itoa(i) + "\n")
		if !q.enqueue(f, true) {
			t.Fatalf("enqueue refused tail %d", i)
		}
		want.Write(f)
	}
	readExactly(t, client, want.Bytes())
	s.wg.Wait() // the pool and the writer are done
	if w := s.stats.Writes.Load(); w < 3 {
		t.Errorf("%d writes for a 16 MiB frame and its tail: the pool's short write was not handed over", w)
	}
	checkSettled(t, q)
	noFailure(t, failed)
}

// A write deadline left behind by a writer goroutine, long passed, must not
// fail the pool's next write (the runtime fails any write once its
// deadline has passed, non-blocking or not).
func TestPoolWritesPastAStaleDeadline(t *testing.T) {
	failed := make(chan string, 1)
	s, q, client := poolTestQueue(t, func(r string) { failed <- r })
	past := time.Now().Add(-time.Second)
	q.mu.Lock()
	q.deadline = past
	q.nc.SetWriteDeadline(past)
	q.mu.Unlock()
	q.enqueue([]byte("hello\n"), true)
	q.enqueue([]byte("world\n"), true)
	readExactly(t, client, []byte("hello\nworld\n"))
	s.wg.Wait()
	noFailure(t, failed)
}

// A queue closed while the pool has it still gets its final frame out, and
// done is closed once it is written.
func TestPoolQueueClosesAfterItsLastFrame(t *testing.T) {
	s, q, client := poolTestQueue(t, func(string) {})
	for i := range 50 {
		q.enqueue([]byte("line "+itoa(i)+"\n"), true)
	}
	q.closeAfter([]byte("bye\n"), 5*time.Second, false)
	var want bytes.Buffer
	for i := range 50 {
		want.WriteString("line " + itoa(i) + "\n")
	}
	want.WriteString("bye\n")
	readExactly(t, client, want.Bytes())
	select {
	case <-q.done:
	case <-time.After(10 * time.Second):
		t.Fatal("done not closed after the last frame was read")
	}
	s.wg.Wait()
	if q.writeFailed() {
		t.Fatal("writeFailed after a clean close")
	}
}

// Many queues fed from several goroutines at once: every reader gets its
// frames complete and in order, and the workers end when the list is empty.
func TestPoolManyQueuesKeepOrder(t *testing.T) {
	const queues, senders, each = 40, 4, 200
	s, q0, c0 := poolTestQueue(t, func(string) {})
	qs, cs := []*outQueue{q0}, []net.Conn{c0}
	for len(qs) < queues {
		_, q, c := poolTestQueue(t, func(string) {})
		q.srv = s // one pool for all
		qs, cs = append(qs, q), append(cs, c)
	}
	start := make(chan struct{})
	for k := range senders {
		go func() {
			<-start
			for i := range each {
				f := []byte("s" + itoa(k) + " " + itoa(i) + "\n")
				for _, q := range qs {
					q.enqueue(f, true)
				}
			}
		}()
	}
	close(start)
	for _, c := range cs {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		next := make([]int, senders)
		br := bufio.NewReader(c)
		for got := range senders * each {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("after %d frames: %v", got, err)
			}
			var k, i int
			if _, err := fmt.Sscanf(line, "s%d %d\n", &k, &i); err != nil || k < 0 || k >= senders || i != next[k] {
				t.Fatalf("frame %q out of order or malformed (%v)", line, err)
			}
			next[k]++
		}
	}
	s.wg.Wait()
	s.writers.mu.Lock()
	running, n := s.writers.running, s.writers.n
	s.writers.mu.Unlock()
	if running != 0 || n != 0 {
		t.Fatalf("after the last write: %d workers, %d queues listed; want none", running, n)
	}
}

// Sockets that take nothing more cannot hold the pool up: each full one is
// handed to a writer goroutine of its own, and a queue listed after all of
// them is still written. Half the stalled sockets are full before their
// frame comes (the pool's write gets EAGAIN); the other half get a batch
// over coalesceLimit (handed over without a try). The stalled peers never
// read; their writers wait under the write deadline, far beyond the test.
func TestPoolIsNotHeldByFullSockets(t *testing.T) {
	const stalled = 20
	s, q0, c0 := poolTestQueue(t, func(string) {})
	qs, cs := []*outQueue{q0}, []net.Conn{c0}
	for range stalled - 1 {
		_, q, c := poolTestQueue(t, func(string) {})
		q.srv = s
		qs, cs = append(qs, q), append(cs, c)
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	big := bytes.Repeat([]byte("y"), 1<<20)
	big[len(big)-1] = '\n'
	frame48k := bytes.Repeat([]byte("z"), 48<<10)
	frame48k[len(frame48k)-1] = '\n'
	for i, q := range qs {
		q.nc.(*net.TCPConn).SetWriteBuffer(32 << 10) // small buffers: the kernel would grow its defaults
		cs[i].(*net.TCPConn).SetReadBuffer(32 << 10)
		if i%2 == 0 {
			fillSocket(t, q.nc, chunk)
			q.enqueue(frame48k, true) // more than a full socket has room for; within one write's limit
		} else {
			q.enqueue(big, true)
			q.enqueue([]byte("more\n"), true)
		}
	}
	_, healthy, hc := poolTestQueue(t, func(string) {})
	healthy.srv = s
	healthy.enqueue([]byte("still served\n"), true)
	readExactly(t, hc, []byte("still served\n"))
	for i, q := range qs {
		q.mu.Lock()
		writing, pending := q.writing, q.pending
		q.mu.Unlock()
		if !writing || pending == 0 {
			t.Fatalf("stalled queue %d: writing %v, pending %d; want its writer still waiting", i, writing, pending)
		}
	}
	for _, q := range qs { // end the stalled writers: the final deadline is already past
		q.closeAfter(nil, 0, true)
	}
	s.wg.Wait()
}

// fillSocket writes chunk to nc until the socket takes no more (a write
// times out), then clears the deadline.
func fillSocket(t *testing.T, nc net.Conn, chunk []byte) {
	t.Helper()
	for range 1000 {
		nc.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := nc.Write(chunk); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("filling the socket: %v", err)
			}
			nc.SetWriteDeadline(time.Time{})
			return
		}
	}
	t.Fatal("the socket took 64 MiB without its peer reading")
}

// One worker per half core while the list is short; more, up to one per
// core, once it is long enough that a single pass would make its last
// queues wait.
func TestPoolWorkersGrowWithTheList(t *testing.T) {
	for _, tc := range []struct{ base, max, n, want int }{
		{1, 2, 1, 1}, {1, 2, 2*backlogPerWorker - 1, 1}, {1, 2, 2 * backlogPerWorker, 2}, {1, 2, 100 * backlogPerWorker, 2},
		{1, 1, 100 * backlogPerWorker, 1},
		{4, 8, 3 * backlogPerWorker, 4}, {4, 8, 5 * backlogPerWorker, 5}, {4, 8, 100 * backlogPerWorker, 8},
	} {
		p := &writerPool{base: tc.base, max: tc.max}
		if got := p.workersFor(tc.n); got != tc.want {
			t.Errorf("base %d, max %d, %d listed: %d workers, want %d", tc.base, tc.max, tc.n, got, tc.want)
		}
	}
}

// A fan-out starts at a random member, so that in a big room the same users
// (by name: members are sorted) are not always the last ones written. The
// order shows in the lazy flusher's list, which announcements join in the
// order they are queued.
func TestFanoutStartsAtARandomMember(t *testing.T) {
	const members, rounds = 20, 200
	s, _ := roomWith(t, members)
	r := s.hub.rooms[protocol.Lobby]
	takeListed := func() []*outQueue {
		s.lazy.mu.Lock()
		defer s.lazy.mu.Unlock()
		listed := s.lazy.queued
		s.lazy.queued = nil
		return listed
	}
	for _, q := range takeListed() { // the joins' own announcements
		q.flushLazy()
	}
	s.wg.Wait() // their writers are done: the queues are idle
	firsts := map[*outQueue]bool{}
	for range rounds {
		s.hub.mu.Lock()
		s.hub.fanoutLocked(r, []byte("{\"type\":\"joined\"}\n"), protocol.MsgJoined, nil)
		s.hub.mu.Unlock()
		listed := takeListed()
		if len(listed) != members {
			t.Fatalf("%d queues listed, want %d", len(listed), members)
		}
		firsts[listed[0]] = true
		for _, q := range listed {
			q.flushLazy() // writes (to a discardConn) and takes it off the list
		}
		s.wg.Wait()
	}
	if len(firsts) < members/2 {
		t.Fatalf("in %d fan-outs to %d members only %d distinct members came first", rounds, members, len(firsts))
	}
}
