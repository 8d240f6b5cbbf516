package server

import (
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// After a burst of new connections (a restart's reconnect storm, a class
// that logs in at nine) the Go runtime keeps the memory the burst used:
// the pages its garbage took stay with the process up to the next heap
// goal (which counts goroutine stacks too, so it is large on a server of
// idle connections), and stacks that grew during a join only shrink at a
// collection. An idle server collects only every two minutes. So once a
// burst is over, the server collects and returns free pages itself, once:
// one collection (about 18 ms with 5,000 connections) in exchange for
// kilobytes per connection for as long as they stay.
const (
	burstConns = 1000        // a burst: this many connections let in since the last settle
	burstQuiet = time.Second // and then none for this long
)

// settler returns memory to the system after a burst of connections. Only
// the accept loop calls accepted, for each connection let in; the timer's
// goroutine calls fire. Whoever makes a burst needs a thousand admitted
// connections for it, so nobody can make the server collect more than once
// per thousand connections and second of quiet.
type settler struct {
	burst int           // burstConns
	quiet time.Duration // burstQuiet
	free  func()        // debug.FreeOSMemory
	log   *slog.Logger

	mu      sync.Mutex // protects the fields below
	since   int        // connections let in since the last settle
	timer   *time.Timer
	stopped bool
	settles int
}

func newSettler(log *slog.Logger) *settler {
	return &settler{burst: burstConns, quiet: burstQuiet, free: debug.FreeOSMemory, log: log}
}

// accepted counts a new connection; from the burstConns-th on, every one
// pushes the settle burstQuiet later.
func (st *settler) accepted() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.since++
	if st.since < st.burst || st.stopped {
		return
	}
	if st.timer == nil {
		st.timer = time.AfterFunc(st.quiet, st.fire)
	} else {
		st.timer.Reset(st.quiet)
	}
}

func (st *settler) fire() {
	st.mu.Lock()
	if st.stopped || st.since < st.burst {
		st.mu.Unlock()
		return
	}
	st.since = 0
	st.settles++
	st.mu.Unlock()
	start := time.Now()
	st.free()
	st.log.Debug("memory returned after a burst of connections", "took", time.Since(start).Round(time.Microsecond))
}

// stop cancels a pending settle (shutdown).
func (st *settler) stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopped = true
	if st.timer != nil {
		st.timer.Stop()
	}
}
