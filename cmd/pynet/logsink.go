package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// logPause is how long the sink waits after a write before the next one.
// Every connection logs a few lines (connected, joined, closed); during a
// burst of thousands of connections, gathering the lines of a few
// milliseconds into one write costs one syscall and one goroutine wake-up
// per pause instead of one per line. A lone line still goes out at once.
const logPause = 10 * time.Millisecond

// logSink writes log lines to w from a goroutine of its own, so that a slow
// stderr (a full pipe, a slow terminal, a throttled log collector) never
// blocks the server's goroutines — the accept loop logs every connection.
// Lines wait in a bounded buffer; when it holds its limit of lines (or
// maxLogBytes), more are dropped, and the next write says how many.
type logSink struct {
	w        io.Writer
	maxLines int

	mu      sync.Mutex // protects the fields below
	buf     []byte     // lines waiting to be written
	spare   []byte     // the buffer the writer gave back, reused
	lines   int        // lines in buf
	dropped int        // lines dropped since the last write
	closed  bool

	kick chan struct{} // capacity 1: buf became non-empty
	stop chan struct{} // closed by Close
	done chan struct{} // closed when run has written everything and returned
}

func newLogSink(w io.Writer, lines int) *logSink {
	s := &logSink{w: w, maxLines: max(lines, 1), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// Write queues a copy of p; it never blocks on w. After Close it writes
// straight to w.
func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.w.Write(p)
	}
	if s.lines >= s.maxLines || (s.lines > 0 && len(s.buf)+len(p) > maxLogBytes) {
		s.dropped++
		s.mu.Unlock()
		return len(p), nil
	}
	wasEmpty := s.lines == 0
	s.buf = append(s.buf, p...)
	s.lines++
	s.mu.Unlock()
	if wasEmpty {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// maxLogBytes bounds the bytes waiting, whatever the lines' lengths.
const maxLogBytes = 4 << 20

// keepBuf is the largest buffer the writer keeps for reuse between bursts.
const keepBuf = 64 << 10

// run writes what has gathered, then pauses for logPause (or until Close),
// until Close; then it writes the rest and returns.
func (s *logSink) run() {
	defer close(s.done)
	pause := time.NewTimer(logPause)
	pause.Stop()
	for {
		select {
		case <-s.kick:
		case <-s.stop:
		}
		s.mu.Lock()
		b, dropped, closing := s.buf, s.dropped, s.closed
		s.buf, s.spare, s.lines, s.dropped = s.spare[:0], nil, 0, 0
		s.mu.Unlock()
		if dropped > 0 {
			fmt.Fprintf(s.w, "pynet: %d log lines dropped: the log output was too slow\n", dropped)
		}
		if len(b) > 0 {
			s.w.Write(b)
		}
		if cap(b) <= keepBuf {
			s.mu.Lock()
			s.spare = b[:0]
			s.mu.Unlock()
		}
		if closing {
			return
		}
		pause.Reset(logPause)
		select {
		case <-pause.C:
		case <-s.stop:
		}
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
	close(s.stop)
	s.mu.Unlock()
	<-s.done
}
