package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// logSink writes log lines to w from a goroutine of its own, so that a slow
// stderr (a full pipe, a slow terminal, a throttled log collector) never
// blocks the server's goroutines — the accept loop logs every connection.
// Lines wait in a bounded queue; when it is full they are dropped, and the
// next line written says how many.
type logSink struct {
	w       io.Writer
	mu      sync.RWMutex // Write (read-locked) against Close
	closed  bool
	ch      chan []byte
	dropped atomic.Int64
	done    chan struct{}
}

func newLogSink(w io.Writer, lines int) *logSink {
	s := &logSink{w: w, ch: make(chan []byte, lines), done: make(chan struct{})}
	go s.run()
	return s
}

// Write queues a copy of p; it never blocks.
func (s *logSink) Write(p []byte) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.w.Write(p)
	}
	select {
	case s.ch <- append([]byte(nil), p...):
	default:
		s.dropped.Add(1)
	}
	return len(p), nil
}

func (s *logSink) run() {
	defer close(s.done)
	for b := range s.ch {
		if n := s.dropped.Swap(0); n > 0 {
			fmt.Fprintf(s.w, "pynet: %d log lines dropped: the log output was too slow\n", n)
		}
		s.w.Write(b)
	}
	if n := s.dropped.Swap(0); n > 0 {
		fmt.Fprintf(s.w, "pynet: %d log lines dropped: the log output was too slow\n", n)
	}
}

// Close writes what is queued and returns; later writes go straight to w.
func (s *logSink) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.ch)
	s.mu.Unlock()
	<-s.done
}
