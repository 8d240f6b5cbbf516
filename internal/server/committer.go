package server

import (
	"errors"
	"sync"
	"time"

	"pynet/internal/store"
)

// committer is the store pipeline (with -data): the one goroutine that
// writes to the store. Messages are accepted under hub.mu with their ids and
// appended to pending in id order; the committer takes everything pending
// as one batch (group commit: one transaction, one sync, for as many
// messages as arrived while the previous batch was being written), commits
// it, and only then delivers the batch under hub.mu, in id order. So no
// recipient sees a message and no sender gets an ack before the message is
// in the store (PROTOCOL §5.3), and deliveries stay in id order.
//
// Session saves ride along in the same transactions. Memory is bounded:
// a sender's reader waits for a slot (maxInFlight messages at most between
// accept and delivery) before it takes hub.mu, so a slow disk slows the
// senders down instead of growing a queue.
type committer struct {
	h     *hub
	wake  chan struct{} // capacity 1: something is pending
	slots chan struct{} // one per message between acquire and delivery
	stop  chan struct{} // closed to stop once everything pending is written
	done  chan struct{} // closed when run returns
	// failed is closed when a commit fails: the server stops accepting.
	failed   chan struct{}
	failOnce sync.Once
	err      error

	// Guarded by hub.mu.
	pending []*outMsg
	saves   map[*session]struct{}
	ended   []string
	// next is closed once the commit that carries the current saves is
	// done: frames that reveal a new session token wait for it.
	next chan struct{}
	// delivered is closed (and replaced) after each batch is delivered.
	delivered chan struct{}
}

const (
	maxInFlight = 4096 // messages accepted but not yet delivered
	maxBatch    = 1024 // messages in one commit
)

// errStoreFailed refuses new messages after a failed commit.
var errStoreFailed = errors.New("the message store failed; the server is stopping")

func newCommitter(h *hub) *committer {
	return &committer{
		h:         h,
		wake:      make(chan struct{}, 1),
		slots:     make(chan struct{}, maxInFlight),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		failed:    make(chan struct{}),
		saves:     make(map[*session]struct{}),
		delivered: make(chan struct{}),
	}
}

// acquire takes a slot for one message, waiting while maxInFlight are in
// the pipeline. It fails once the store has failed or the server stops.
func (c *committer) acquire() error {
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-c.failed:
		return errStoreFailed
	case <-c.stop:
		return errStoreFailed
	}
}

// release gives back a slot that was not used (the message was refused).
func (c *committer) release() { <-c.slots }

func (c *committer) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// addLocked queues an accepted message; its slot is released at delivery.
func (c *committer) addLocked(m *outMsg) {
	c.pending = append(c.pending, m)
	c.poke()
}

// saveSessionLocked queues s to be saved and returns a channel closed once
// it is in the store.
func (c *committer) saveSessionLocked(s *session) <-chan struct{} {
	c.saves[s] = struct{}{}
	if c.next == nil {
		c.next = make(chan struct{})
	}
	c.poke()
	return c.next
}

// waitCommitted waits until ready is closed (a session save is in the
// store), for at most d; it fails if the store failed or the wait is too
// long, and the connection that waits is then closed.
func (c *committer) waitCommitted(ready <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ready:
		return nil
	case <-c.failed:
		return errStoreFailed
	case <-t.C:
		return errors.New("the session was not stored in time")
	}
}

func (c *committer) endSessionLocked(id string) {
	c.ended = append(c.ended, id)
	c.poke()
}

// run is the committer goroutine. It returns after stop once everything
// pending is committed and delivered, or at the first failed commit (after
// calling onFail).
func (c *committer) run(onFail func(error)) {
	defer close(c.done)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			c.flush(onFail)
			return
		}
		if !c.flush(onFail) {
			return
		}
	}
}

// flush commits and delivers batches until nothing is pending. It reports
// false after a failure.
func (c *committer) flush(onFail func(error)) bool {
	h := c.h
	var b store.Batch
	for {
		h.mu.Lock()
		n := min(len(c.pending), maxBatch)
		msgs := c.pending[:n:n]
		c.pending = c.pending[n:]
		if len(c.pending) == 0 {
			c.pending = nil
		}
		b.Messages = b.Messages[:0]
		for _, m := range msgs {
			b.Messages = append(b.Messages, *m.rec)
		}
		b.Sessions = b.Sessions[:0]
		for s := range c.saves {
			if !s.ended {
				b.Sessions = append(b.Sessions, s.record(h.lastID))
			}
		}
		clear(c.saves)
		b.Ended = append(b.Ended[:0], c.ended...)
		c.ended = c.ended[:0]
		next := c.next
		if len(b.Sessions) > 0 {
			c.next = nil // later saves wait for a later commit
		} else {
			next = nil
		}
		h.mu.Unlock()
		if len(b.Messages) == 0 && len(b.Sessions) == 0 && len(b.Ended) == 0 {
			return true
		}
		if err := h.store.Commit(&b); err != nil {
			c.err = err
			c.failOnce.Do(func() { close(c.failed) })
			h.log.Error("STORE COMMIT FAILED: messages are no longer accepted and the server stops; nothing of the failed batch was delivered or acknowledged",
				"err", err, "messages", len(b.Messages))
			onFail(err)
			return false
		}
		if next != nil {
			close(next)
		}
		if len(msgs) > 0 {
			h.mu.Lock()
			for _, m := range msgs {
				h.deliverLocked(m)
			}
			close(c.delivered)
			c.delivered = make(chan struct{})
			h.mu.Unlock()
			for range msgs {
				<-c.slots
			}
			h.stats.Commits.Add(1)
			h.stats.Committed.Add(int64(len(msgs)))
		}
	}
}
