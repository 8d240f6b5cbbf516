package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"pynet/internal/certgen"
)

// tlsPair is one certificate for every TLS test queue of a test binary.
var tlsPair = sync.OnceValues(func() (*certgen.Pair, error) {
	return certgen.Generate([]string{"127.0.0.1"}, time.Hour, time.Now())
})

// poolTestQueueTLS is poolTestQueue over TLS: the server side is a
// tls.Conn over a tlsSink, as the server's listener makes them, with the
// handshake done; the client is a tls.Conn that trusts the certificate.
// srv, when not nil, is the server whose pool writes the queue.
func poolTestQueueTLS(t *testing.T, srv *Server, onFail func(string)) (*Server, *outQueue, *tls.Conn) {
	t.Helper()
	pair, err := tlsPair()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pair.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if srv == nil {
		srv = poolTestServer(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tln := tlsListener{ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client := tls.Client(raw, &tls.Config{RootCAs: pair.CertPool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	t.Cleanup(func() { client.Close() })
	server, err := tln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	handshook := make(chan error, 1)
	go func() { handshook <- client.Handshake() }()
	server.SetDeadline(time.Now().Add(20 * time.Second))
	if err := server.(*tls.Conn).Handshake(); err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	server.SetDeadline(time.Time{})
	if err := <-handshook; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	q := newOutQueue(srv, server, nil, onFail)
	if q.sink == nil || q.raw != nil {
		t.Fatalf("a TLS queue before handshakeDone: sink %v, raw %v; want a sink and no pool", q.sink != nil, q.raw != nil)
	}
	q.handshakeDone()
	if q.raw == nil {
		t.Fatal("handshakeDone did not give the TLS queue to the pool")
	}
	return srv, q, client
}

// A frame far bigger than the socket, over TLS: the pool does not give it
// to tls.Conn whole (the stash would have to hold it); a writer goroutine
// writes it a piece at a time, flushing each piece's stash. Then frames
// that fit one pool write but not the socket: the pool's write returns at
// once with the encrypted rest stashed, a writer goroutine flushes it, and
// the frames queued meanwhile follow in order.
func TestTLSPoolHandsAFullSocketToAWriter(t *testing.T) {
	failed := make(chan string, 1)
	s, q, client := poolTestQueueTLS(t, nil, func(r string) { failed <- r })
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	big[len(big)-1] = '\n'
	if !q.enqueue(big, true) {
		t.Fatal("enqueue refused the big frame")
	}
	readExactly(t, client, big)
	s.wg.Wait()
	noFailure(t, failed)

	frame48k := bytes.Repeat([]byte("z"), 48<<10)
	frame48k[len(frame48k)-1] = '\n'
	var want bytes.Buffer
	for range 4 {
		q.enqueue(frame48k, true)
		want.Write(frame48k)
	}
	for i := range 100 {
		f := []byte("tail " + itoa(i) + "\n")
		q.enqueue(f, true)
		want.Write(f)
	}
	readExactly(t, client, want.Bytes())
	s.wg.Wait()
	checkSettled(t, q)
	noFailure(t, failed)
}

// TLS sockets that take nothing more do not hold the pool up: a healthy
// TLS queue listed after them is written. Half of them are full before
// their frames come (the pool's write is stashed), half get more than one
// write's worth (handed over whole).
func TestTLSPoolIsNotHeldByFullSockets(t *testing.T) {
	const stalled = 10
	s, q0, c0 := poolTestQueueTLS(t, nil, func(string) {})
	qs, cs := []*outQueue{q0}, []*tls.Conn{c0}
	for range stalled - 1 {
		_, q, c := poolTestQueueTLS(t, s, func(string) {})
		qs, cs = append(qs, q), append(cs, c)
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	big := bytes.Repeat([]byte("y"), 1<<20)
	big[len(big)-1] = '\n'
	frame48k := bytes.Repeat([]byte("z"), 48<<10)
	frame48k[len(frame48k)-1] = '\n'
	for i, q := range qs {
		q.sink.Conn.(*net.TCPConn).SetWriteBuffer(32 << 10) // small buffers: the kernel would grow its defaults
		cs[i].NetConn().(*net.TCPConn).SetReadBuffer(32 << 10)
		if i%2 == 0 {
			fillSocket(t, q.sink.Conn, chunk) // under TLS: the peer never reads, so junk is fine
			q.enqueue(frame48k, true)
			// The kernel finds room in a full socket over time (it compacts
			// the unread buffers), so 48 KiB alone may go out in the end.
			q.enqueue(big, true)
		} else {
			q.enqueue(big, true)
			q.enqueue([]byte("more\n"), true)
		}
	}
	_, healthy, hc := poolTestQueueTLS(t, s, func(string) {})
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
	for _, q := range qs {
		q.closeAfter(nil, 0, true)
	}
	s.wg.Wait()
}

// What others write through the tls.Conn while the queue is idle (the
// reader's alerts and key updates) and the socket does not take at once
// waits in the stash; a writer goroutine is started for it, and the queue
// is idle again afterwards.
func TestTLSStashFromOutsideTheQueueIsFlushed(t *testing.T) {
	failed := make(chan string, 1)
	s, q, client := poolTestQueueTLS(t, nil, func(r string) { failed <- r })
	q.sink.Conn.(*net.TCPConn).SetWriteBuffer(8 << 10)
	client.NetConn().(*net.TCPConn).SetReadBuffer(8 << 10)
	answer := bytes.Repeat([]byte("a"), 60<<10) // more than both buffers, less than maxStash
	answer[len(answer)-1] = '\n'
	if n, err := q.nc.Write(answer); err != nil || n != len(answer) {
		t.Fatalf("a write through the sink: %d, %v; want all of it at once", n, err)
	}
	if !q.sink.pending() {
		t.Fatal("the socket took 60 KiB unread: the test's buffers are too big to show the stash")
	}
	readExactly(t, client, answer) // nothing else is queued: only the kicked writer can flush it
	s.wg.Wait()
	q.enqueue([]byte("after\n"), true)
	readExactly(t, client, []byte("after\n"))
	s.wg.Wait()
	q.mu.Lock()
	writing := q.writing
	q.mu.Unlock()
	if writing || q.sink.pending() {
		t.Errorf("writing %v, stash %v after everything was read; want neither", writing, q.sink.pending())
	}
	noFailure(t, failed)
}

// A peer that makes the server write more than maxStash through the sink
// without reading fails the sink for good, rather than growing it.
func TestTLSStashIsBounded(t *testing.T) {
	s, q, client := poolTestQueueTLS(t, nil, func(string) {})
	q.sink.Conn.(*net.TCPConn).SetWriteBuffer(8 << 10)
	client.NetConn().(*net.TCPConn).SetReadBuffer(8 << 10)
	fillSocket(t, q.sink.Conn, bytes.Repeat([]byte("x"), 16<<10))
	piece := bytes.Repeat([]byte("b"), 8<<10)
	var err error
	for i := 0; i < 2*maxStash/len(piece) && err == nil; i++ {
		_, err = q.nc.Write(piece)
	}
	if !errors.Is(err, errStashFull) {
		t.Fatalf("writing twice maxStash to a full socket: %v, want errStashFull", err)
	}
	if _, err := q.nc.Write([]byte("x")); err == nil {
		t.Fatal("a write after the stash overflowed succeeded")
	}
	q.closeAfter(nil, 0, true)
	s.wg.Wait()
}

// A write deadline a writer goroutine left behind, long passed, does not
// fail what the reader writes through the sink later (a key update's
// answer): it is stashed, and the goroutine that flushes it sets a fresh
// deadline.
func TestTLSStaleDeadlineDoesNotFailAnAnswer(t *testing.T) {
	failed := make(chan string, 1)
	s, q, client := poolTestQueueTLS(t, nil, func(r string) { failed <- r })
	past := time.Now().Add(-time.Second)
	q.mu.Lock()
	q.deadline = past
	q.nc.SetWriteDeadline(past)
	q.mu.Unlock()
	if _, err := q.nc.Write([]byte("answer\n")); err != nil {
		t.Fatalf("a write through the sink past a stale deadline: %v", err)
	}
	readExactly(t, client, []byte("answer\n"))
	s.wg.Wait()
	q.enqueue([]byte("then a frame\n"), true)
	readExactly(t, client, []byte("then a frame\n"))
	s.wg.Wait()
	noFailure(t, failed)
}
