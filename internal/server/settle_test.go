package server

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

func testSettler(freed chan<- struct{}) *settler {
	st := newSettler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	st.burst, st.quiet = 10, 5*time.Millisecond
	st.free = func() { freed <- struct{}{} }
	return st
}

func waitFreed(t *testing.T, freed <-chan struct{}, after string) {
	t.Helper()
	select {
	case <-freed:
	case <-time.After(5 * time.Second):
		t.Fatalf("no settle after %s", after)
	}
}

// A burst of connections followed by a quiet moment returns memory once;
// connections that do not make a burst never do.
func TestSettleAfterBurst(t *testing.T) {
	freed := make(chan struct{}, 10)
	st := testSettler(freed)
	for range 9 {
		st.accepted()
	}
	st.mu.Lock()
	armed := st.timer != nil
	st.mu.Unlock()
	if armed {
		t.Fatal("9 connections (burst 10) armed a settle")
	}
	for range 15 {
		st.accepted()
	}
	waitFreed(t, freed, "a burst")
	st.mu.Lock()
	since, settles := st.since, st.settles
	st.mu.Unlock()
	if since != 0 || settles != 1 {
		t.Fatalf("after the settle: since %d, settles %d; want 0 and 1", since, settles)
	}
	// The next burst settles again.
	for range 10 {
		st.accepted()
	}
	waitFreed(t, freed, "the second burst")
	st.stop()
	for range 20 {
		st.accepted()
	}
	st.mu.Lock()
	since = st.since
	st.mu.Unlock()
	st.fire() // what a timer that had already fired would do: nothing, once stopped
	select {
	case <-freed:
		t.Fatalf("settled after stop (since %d)", since)
	default:
	}
}
