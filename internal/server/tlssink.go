package server

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
)

// tlsSink sits between a tls.Conn and its TCP socket so that TLS
// connections can be written by the writer pool too. A pool worker must
// never wait for a peer, but tls.Conn.Write encrypts and then writes whole
// records, waiting until the socket takes them. Under it, the sink writes
// what the socket takes at once and keeps the rest of the encrypted bytes
// (the stash) for the queue's writer goroutine, which writes them under the
// write deadline (flush) before anything else. So tls.Conn.Write returns at
// once, whoever calls it: a pool worker, the writer goroutine, or the
// reader answering the peer (alerts, key updates), whose bytes queue up
// behind the stash in the order tls.Conn wrote them.
//
// Until the handshake is over (setReady, called by the reader once a line
// has arrived) the sink writes straight through, waiting like a plain
// socket: the handshake is the reader's, and nothing else writes then but
// the queue's goroutine.
//
// The stash holds at most what one write by a writer leaves (the writers
// give tls.Conn at most coalesceLimit bytes at a time, and flush before the
// next), plus the reader's few answers; past maxStash a write fails and the
// connection goes (a peer that makes the server answer without reading).
//
// Locks: tls.Conn serialises the calls to Write. s.mu is held only to
// decide and copy, never across a write that may wait, and never while
// taking the queue's lock: kick is called after s.mu is released.
type tlsSink struct {
	net.Conn // the TCP socket: reads, deadlines and closing pass through
	raw      syscall.RawConn
	nb       *nonblockWriter
	kick     func() // after the stash became non-empty: get a writer to flush it

	mu       sync.Mutex // protects the fields below
	ready    bool       // the handshake is over: never wait in Write
	stash    []byte     // encrypted bytes the socket has not taken yet
	flushing bool       // a writer is writing the stash without the lock
	err      error      // a write failed: every later one fails too
}

// maxStash bounds a connection's stash: a writer's batch, encrypted, with
// room for the reader's answers.
const maxStash = coalesceLimit + 16<<10

var errStashFull = errors.New("tls: the peer does not read what it makes the server answer")

// newTLSSink wraps a TCP connection, or returns nil when nc has no raw
// socket (TLS then writes straight to nc).
func newTLSSink(nc net.Conn) *tlsSink {
	raw := rawConnOf(nc)
	if raw == nil {
		return nil
	}
	return &tlsSink{Conn: nc, raw: raw, nb: newNonblockWriter()}
}

// Write is called by tls.Conn with whole records.
func (s *tlsSink) Write(b []byte) (int, error) {
	s.mu.Lock()
	if !s.ready {
		s.mu.Unlock()
		return s.Conn.Write(b)
	}
	if s.err != nil {
		s.mu.Unlock()
		return 0, s.err
	}
	if len(s.stash) > 0 || s.flushing {
		if len(s.stash)+len(b) > maxStash {
			s.err = errStashFull
			s.mu.Unlock()
			return 0, errStashFull
		}
		s.stash = append(s.stash, b...)
		s.mu.Unlock()
		return len(b), nil
	}
	n, err := s.nb.write(s.raw, b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A deadline a writer goroutine left behind, passed: this write is
		// not bound by it. The goroutine that flushes sets a fresh one.
		n, err = 0, nil
	}
	if err != nil {
		s.err = err
		s.mu.Unlock()
		return n, err
	}
	stashed := n < len(b)
	if stashed {
		s.stash = append(s.stash[:0], b[n:]...) // tls.Conn reuses b
	}
	s.mu.Unlock()
	if stashed {
		s.kick()
	}
	return len(b), nil
}

// setReady ends the handshake's pass-through writes.
func (s *tlsSink) setReady() {
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
}

// pending reports whether the stash holds bytes a writer must flush.
func (s *tlsSink) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stash) > 0
}

// flush writes the stash, waiting for the socket under the write deadline
// in force. Only a queue's writer goroutine calls it.
func (s *tlsSink) flush() error {
	s.mu.Lock()
	for len(s.stash) > 0 && s.err == nil {
		b := s.stash
		s.stash, s.flushing = nil, true
		s.mu.Unlock()
		_, err := s.Conn.Write(b)
		s.mu.Lock()
		s.flushing = false
		if err != nil {
			s.err = err
		}
	}
	err := s.err
	s.mu.Unlock()
	return err
}

// tlsListener is tls.NewListener with a sink under each connection.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if s := newTLSSink(c); s != nil {
		return tls.Server(s, l.cfg), nil
	}
	return tls.Server(c, l.cfg), nil
}

// sinkOf returns the sink under a TLS connection, or nil.
func sinkOf(nc net.Conn) *tlsSink {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return nil
	}
	s, _ := tc.NetConn().(*tlsSink)
	return s
}
