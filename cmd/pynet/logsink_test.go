package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// blockingWriter blocks every write until released: a log output that has
// stopped draining.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestLogSinkNeverBlocksAndCountsDrops(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{})}
	s := newLogSink(w, 4)
	for i := range 100 { // would block forever if Write waited for w
		fmt.Fprintf(s, "line %d\n", i)
	}
	close(w.release)
	s.Close()
	out := w.buf.String()
	if !strings.Contains(out, "line 0\n") || !strings.Contains(out, "log lines dropped") {
		t.Fatalf("output:\n%s", out)
	}
	if n := strings.Count(out, "line "); n < 4 || n > 7 {
		t.Fatalf("%d lines written, want the queued ones (about 5):\n%s", n, out)
	}
	fmt.Fprintf(s, "after close\n") // goes straight through
	if !strings.Contains(w.buf.String(), "after close") {
		t.Fatal("a write after Close was lost")
	}
}
