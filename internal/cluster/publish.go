package cluster

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pynet/internal/replog"
)

var (
	errClosed       = errors.New("the cluster log is closed")
	errNotConnected = errors.New("not connected to NATS")
)

// pubItem is one publish waiting for its ack, in publish order.
type pubItem struct {
	paf  jetstream.PubAckFuture // nil when err is set
	err  error
	done func(replog.PubAck, error)
}

// publisher sends entries with asynchronous JetStream publishes on the
// Log's one connection, so they are stored in the order of the Publish
// calls, and resolves their acks in that order from one goroutine.
//
// At most MaxPending publishes wait for an ack; a slot is taken before the
// publish and given back once done has been called, so a slow done slows
// Publish down rather than letting the queue grow.
type publisher struct {
	l *Log

	mu     sync.Mutex // orders the publishes with their queue entries
	closed bool
	queue  chan pubItem

	slots    chan struct{}
	abort    chan struct{} // closed when pending acks will never come
	resolved chan struct{} // closed when the resolver has ended
}

func (p *publisher) start(l *Log) {
	p.l = l
	p.queue = make(chan pubItem, MaxPending)
	p.slots = make(chan struct{}, MaxPending)
	p.abort = make(chan struct{})
	p.resolved = make(chan struct{})
	go p.resolve()
}

// Publish appends data on subject; see replog.Log. The entry gets the
// Nats-Msg-Id header msgID when it is not "", so a second publish with the
// same msgID within 2 minutes is acknowledged as a duplicate of the first.
//
// A publish that fails (done gets an error wrapping replog.ErrUnavailable)
// may still have been stored, when the connection broke or the ack timed
// out after the entry reached the server: a caller that retries should use
// the same msgID.
func (l *Log) Publish(subject, msgID string, data []byte, done func(replog.PubAck, error)) {
	if done == nil {
		done = func(replog.PubAck, error) {}
	}
	l.pub.publish(subject, msgID, data, done)
}

func (p *publisher) publish(subject, msgID string, data []byte, done func(replog.PubAck, error)) {
	select {
	case p.slots <- struct{}{}:
	default:
		t := time.NewTimer(pendingWait)
		select {
		case p.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			err := fmt.Errorf("%d publishes have been waiting for NATS for %v", MaxPending, pendingWait)
			go done(replog.PubAck{}, unavailable("publish", err))
			return
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		go done(replog.PubAck{}, unavailable("publish", errClosed))
		return
	}
	it := pubItem{done: done}
	if !p.l.nc.IsConnected() {
		it.err = unavailable("publish", errNotConnected)
	} else {
		m := &nats.Msg{Subject: subject, Data: data}
		var paf jetstream.PubAckFuture
		var err error
		// No retries on "no responders": a retry would be sent after the
		// publishes that follow it, out of order.
		if msgID != "" {
			paf, err = p.l.js.PublishMsgAsync(m, jetstream.WithRetryAttempts(0), jetstream.WithMsgID(msgID))
		} else {
			paf, err = p.l.js.PublishMsgAsync(m, jetstream.WithRetryAttempts(0))
		}
		if err != nil {
			if errors.Is(err, nats.ErrReconnectBufExceeded) {
				err = errNotConnected
			}
			it.err = unavailable("publish", err)
		} else {
			it.paf = paf
		}
	}
	p.queue <- it // never blocks: a slot is held
	p.mu.Unlock()
}

// resolve calls done for every publish, in publish order.
func (p *publisher) resolve() {
	defer close(p.resolved)
	for it := range p.queue {
		var ack replog.PubAck
		err := it.err
		if err == nil {
			var a *jetstream.PubAck
			select {
			case a = <-it.paf.Ok():
			case err = <-it.paf.Err():
			case <-p.abort:
				select {
				case a = <-it.paf.Ok():
				case err = <-it.paf.Err():
				default:
					err = errClosed
				}
			}
			if err != nil {
				if errors.Is(err, nats.ErrDisconnected) {
					err = fmt.Errorf("%w (the entry may have been stored)", err)
				}
				err = unavailable("publish", err)
			} else {
				ack = replog.PubAck{Seq: a.Sequence, Duplicate: a.Duplicate}
			}
		}
		<-p.slots
		it.done(ack, err)
	}
}

// close refuses new publishes, waits up to wait for the pending acks, then
// fails those still pending. Every done has been called when it returns,
// unless a done itself blocks for more than another wait: close then gives
// up waiting (the remaining dones are called, with errors, when it
// returns).
func (p *publisher) close(wait time.Duration) {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.resolved:
		return
	case <-t.C:
	}
	close(p.abort)
	t.Reset(wait)
	select {
	case <-p.resolved:
	case <-t.C:
		p.l.log.Warn("close: a publish's done callback has not returned; not waiting for it")
	}
}
