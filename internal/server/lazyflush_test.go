package server

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"testing"
)

// recordConn is a discardConn that keeps what is written, one entry per
// Write call.
type recordConn struct {
	discardConn
	mu     sync.Mutex
	writes [][]byte
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recordConn) all() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes
}

func lazyTestQueue(t *testing.T) (*Server, *outQueue, *recordConn) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rc := &recordConn{}
	return s, newOutQueue(s, rc, nil, func(string) {}), rc
}

// Lazy frames wait for the flusher; a chat message does not wait, and takes
// the waiting frames with it, in order, in one write.
func TestLazyFramesRideWithTheNextMessage(t *testing.T) {
	s, q, rc := lazyTestQueue(t)
	q.enqueueFrame([]byte("joined 1\n"), true, true)
	q.enqueueFrame([]byte("joined 2\n"), true, true)
	q.mu.Lock()
	writing, listed := q.writing, q.lazy
	q.mu.Unlock()
	if writing || !listed {
		t.Fatalf("after lazy frames: writing=%v listed=%v, want no writer and on the flusher's list", writing, listed)
	}
	if n := len(s.lazy.queued); n != 1 {
		t.Fatalf("flusher list holds %d queues, want 1 (a queue is listed once)", n)
	}
	q.enqueue([]byte("message\n"), true)
	s.wg.Wait()
	w := rc.all()
	if len(w) != 1 || string(w[0]) != "joined 1\njoined 2\nmessage\n" {
		t.Fatalf("writes %q, want the three frames in order in one write", w)
	}
	s.lazy.flush() // the queue is still listed: flushing it finds nothing to do
	s.wg.Wait()
	if len(rc.all()) != 1 {
		t.Fatalf("an empty flush wrote: %q", rc.all())
	}
}

// With no message coming, the flusher starts the writer.
func TestLazyFlusherWritesWaitingFrames(t *testing.T) {
	s, q, rc := lazyTestQueue(t)
	done := make(chan struct{})
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.lazy.run(); close(done) }()
	q.enqueueFrame([]byte("left\n"), true, true)
	q.enqueueFrame([]byte("renamed\n"), true, true)
	s.lazy.stop() // flushes what waits, then returns
	<-done
	s.wg.Wait()
	if got := bytes.Join(rc.all(), nil); string(got) != "left\nrenamed\n" {
		t.Fatalf("written %q, want both frames in order", got)
	}
}
