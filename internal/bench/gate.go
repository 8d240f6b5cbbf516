package bench

import (
	"sync"
	"sync/atomic"
)

// gate holds flat-out senders back while too many deliveries are
// outstanding, across the whole run: owed − delivered > budget, where owed
// adds up the recipients of every message sent.
//
// Acks alone do not bound the server's outbound queues: the server acks a
// message once it is queued to every recipient, not once it is written, so
// senders paced by acks alone can outrun the receivers until the server
// drops them as slow consumers. The gate keeps the run at the rate the
// slowest part (server or receivers) sustains.
//
// Readers call poke after counting deliveries; a sender that finds the gate
// shut waits on wait's channel. A disconnect disables the gate for the rest
// of the run (a dead receiver's deliveries would never arrive).
type gate struct {
	budget    int64        // outstanding deliveries allowed; 0 = no gate
	sent      atomic.Int64 // messages sent, all senders
	owed      atomic.Int64 // deliveries those messages are expected to make
	delivered *atomic.Int64
	off       atomic.Bool
	waiting   atomic.Int32 // senders between wait and their wake-up

	mu sync.Mutex    // protects ch
	ch chan struct{} // closed and replaced to wake every waiting sender
}

func newGate(delivered *atomic.Int64) *gate {
	return &gate{delivered: delivered, ch: make(chan struct{})}
}

// open reports whether a sender may send now.
func (g *gate) open() bool {
	if g.budget <= 0 || g.off.Load() {
		return true
	}
	return g.owed.Load()-g.delivered.Load() < g.budget
}

// wait returns a channel that is closed at the next poke or disable, or nil
// when the gate is open after all. Call done once finished waiting.
func (g *gate) wait() <-chan struct{} {
	g.waiting.Add(1)
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if g.open() { // re-check after registering, so no poke is missed
		g.waiting.Add(-1)
		return nil
	}
	return ch
}

func (g *gate) done() { g.waiting.Add(-1) }

// poke wakes waiting senders; it costs one atomic load when none wait.
func (g *gate) poke() {
	if g.waiting.Load() == 0 {
		return
	}
	g.mu.Lock()
	close(g.ch)
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

// disable opens the gate for good.
func (g *gate) disable() {
	g.off.Store(true)
	g.mu.Lock()
	close(g.ch)
	g.ch = make(chan struct{})
	g.mu.Unlock()
}
