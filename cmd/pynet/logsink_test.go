package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// blockingWriter blocks every write until released: a log output that has
// stopped draining. It counts the writes.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
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
	// At most two bufferfuls: the one being written when w blocked and
	// the one queued behind it.
	if n := strings.Count(out, "line "); n < 4 || n > 8 {
		t.Fatalf("%d lines written, want at most two bufferfuls of 4:\n%s", n, out)
	}
	fmt.Fprintf(s, "after close\n") // goes straight through
	if !strings.Contains(w.buf.String(), "after close") {
		t.Fatal("a write after Close was lost")
	}
}

func TestLogSinkWritesABurstAtOnce(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{})}
	s := newLogSink(w, 1000)
	for i := range 100 {
		fmt.Fprintf(s, "line %d\n", i)
	}
	close(w.release)
	s.Close()
	out := w.buf.String()
	for i := range 100 {
		if !strings.Contains(out, fmt.Sprintf("line %d\n", i)) {
			t.Fatalf("line %d missing:\n%s", i, out)
		}
	}
	if strings.Index(out, "line 99\n") < strings.Index(out, "line 98\n") {
		t.Fatalf("lines out of order:\n%s", out)
	}
	// The lines that came while the first write was blocked go out in one
	// write, not one each.
	if w.writes > 2 {
		t.Fatalf("%d writes for a burst of 100 lines, want at most 2", w.writes)
	}
}
