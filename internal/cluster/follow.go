package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pynet/internal/replog"
)

// A follower reads the whole stream in order with an ordered consumer:
// nats.go recreates the underlying consumer (from the last delivered
// sequence) after a missed heartbeat or a gap in its delivery sequence,
// and the follower recreates the ordered consumer itself, from the next
// expected sequence, when the iterator fails, when NATS reconnects, or
// when the consumer stalls (see consume).
//
// # Holes
//
// Stream sequences are never reused and every sequence was once a stored
// message, so when the entry after e-1 turns out to be d > e, entries e to
// d-1 were removed before this follower read them: it will never apply
// them. Three things remove entries:
//
//  1. Trim: control commands below a snapshot's sequence. Trim records its
//     floor F (bucket PREFIX_META, key "trim") before it purges, so a hole
//     with e < F may have lost control commands: fatal.
//  2. The per-subject limit (Retain) on the control subject itself: once
//     the control subject holds as many entries as the smallest limit the
//     stream ever had, its oldest were pruned; a hole with e below its
//     first retained entry may have lost control commands: fatal. (Taking
//     snapshots and trimming well within Retain control commands keeps the
//     control subject below its limit.)
//  3. The per-subject limit on a room or a pair: old messages. Harmless
//     while catching up (a message pruned before this node started or
//     caught up was pruned from everyone's history too); fatal once the
//     follower has caught up, for entries appended after Follow began (the
//     stream's last sequence then): this node fell so far behind that a
//     live message was pruned before it could deliver it.
//
// The stream's first sequence alone cannot tell these apart: per-subject
// limits remove entries in the middle of the stream (a quiet room keeps
// its first message for ever), and pruned room messages at the start of
// the stream move it legitimately.
//
// Deleting and re-creating the stream deletes the consumer: before it
// applies the first entry from a recreated consumer, the follower checks
// that the stream's creation time (the epoch) is still the one it opened.
type follower struct {
	l        *Log
	apply    func(replog.Entry)
	caughtUp func()
	fail     func(error)

	next   uint64 // the sequence expected next
	lstart uint64 // the stream's last sequence when Follow began
	caught bool
	cons   string // name of the consumer the last entry came from

	createWait time.Duration // timeout of the next consumer creation

	mu      sync.Mutex
	stopped bool
	iter    jetstream.MessagesContext
	stopCh  chan struct{}
	done    chan struct{}
}

var errStopped = errors.New("follow stopped")

// Follow applies every entry with Seq > after, in order, from one
// goroutine, until Close or a failure; see replog.Log and the follower's
// documentation for when it fails. fail is called after the follower has
// stopped (calling Close from it is fine). Follow after Close does
// nothing.
func (l *Log) Follow(after uint64, apply func(replog.Entry), caughtUp func(), fail func(error)) {
	if caughtUp == nil {
		caughtUp = func() {}
	}
	if fail == nil {
		fail = func(error) {}
	}
	f := &follower{l: l, apply: apply, caughtUp: caughtUp, fail: fail, next: after + 1,
		stopCh: make(chan struct{}), done: make(chan struct{})}
	l.followMu.Lock()
	if l.closing.Load() {
		l.followMu.Unlock()
		return
	}
	l.followers[f] = struct{}{}
	l.followMu.Unlock()
	go func() {
		err := f.run()
		l.followMu.Lock()
		delete(l.followers, f)
		l.followMu.Unlock()
		f.mu.Lock()
		stopped := f.stopped
		f.mu.Unlock()
		close(f.done)
		if err != nil && !errors.Is(err, errStopped) && !stopped {
			l.log.Error("follow stopped", "err", err)
			f.fail(err)
		}
	}()
}

func (f *follower) stop() {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return
	}
	f.stopped = true
	close(f.stopCh)
	it := f.iter
	f.mu.Unlock()
	if it != nil {
		// Stop may wait for a consumer recreation in progress (nats.go
		// holds a lock while it backs off): do not make Close wait.
		go it.Stop()
	}
}

func (f *follower) isStopped() bool {
	select {
	case <-f.stopCh:
		return true
	default:
		return false
	}
}

// pause waits d or until stop; it reports whether the follower stopped.
func (f *follower) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-f.stopCh:
		return true
	}
}

// retry calls op until it succeeds, the follower stops (errStopped) or op
// returns a fatal error (wrapped in fatalError).
func (f *follower) retry(what string, op func(ctx context.Context) error) error {
	wait := 100 * time.Millisecond
	for {
		if f.isStopped() {
			return errStopped
		}
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		err := op(ctx)
		cancel()
		var fe fatalError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &fe):
			return fe.err
		}
		f.l.log.Warn("follow: retrying", "op", what, "err", err, "in", wait)
		if f.pause(wait) {
			return errStopped
		}
		wait = min(2*wait, 5*time.Second)
	}
}

type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }

func (f *follower) checkEpoch(info *jetstream.StreamInfo) error {
	if !info.Created.Equal(f.l.created) {
		return fatalError{fmt.Errorf("cluster: stream %s was created again (epoch %s, was %s): this node's state belongs to the old one",
			f.l.streamName, strconv.FormatInt(info.Created.UnixNano(), 16), f.l.epoch)}
	}
	return nil
}

func (f *follower) run() error {
	l := f.l
	err := f.retry("stream info", func(ctx context.Context) error {
		info, err := l.streamInfo(ctx)
		if err != nil {
			return err
		}
		if err := f.checkEpoch(info); err != nil {
			return err
		}
		f.lstart = info.State.LastSeq
		return nil
	})
	if err != nil {
		return err
	}
	wait := 100 * time.Millisecond
	for {
		if f.isStopped() {
			return errStopped
		}
		err := f.consume()
		if err == nil || errors.Is(err, errStopped) || f.isStopped() {
			return errStopped
		}
		var fe fatalError
		if errors.As(err, &fe) {
			return fe.err
		}
		if errors.Is(err, errRecreate) {
			wait = 100 * time.Millisecond
			continue
		}
		l.log.Warn("follow: consumer failed, creating it again", "next", f.next, "err", err, "in", wait)
		if f.pause(wait) {
			return errStopped
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// errRecreate asks run for a new consumer at once.
var errRecreate = errors.New("recreate the consumer")

const (
	// createTimeout bounds the first attempt to create a consumer (a
	// request lost in a leader change should not hold the follower long);
	// each failure doubles it, up to apiTimeout.
	createTimeout = time.Second
	// stallAfter is how long the follower waits for an entry that the
	// stream holds before it gives up on its consumer.
	stallAfter = 5 * time.Second
)

type delivery struct {
	msg jetstream.Msg
	err error
}

// consume runs one ordered consumer from f.next until it fails, NATS
// reconnects, or it stalls.
//
// nats.go recreates the consumer inside an ordered consumer itself, but
// with 10 s request timeouts and backoff; after losing a NATS server (and,
// with it, maybe the JetStream meta leader) that took up to 11 s in tests.
// So the follower reads the iterator from another goroutine and, on a
// reconnect or when an entry it knows to be stored does not come within
// stallAfter, abandons the consumer and creates a new one from f.next.
func (f *follower) consume() error {
	l := f.l
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    l.subjects(),
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: 30 * time.Second,
	}
	if f.next > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, f.next
	}
	status := l.nc.StatusChanged(nats.CONNECTED)
	defer l.nc.RemoveStatusListener(status)
	if f.createWait == 0 {
		f.createWait = createTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.createWait)
	cons, err := l.stream.OrderedConsumer(ctx, cfg)
	cancel()
	if err != nil {
		f.createWait = min(2*f.createWait, apiTimeout)
		return unavailable("ordered consumer", err)
	}
	f.createWait = createTimeout
	// Heartbeats every second: nats.go recreates the consumer after two
	// missed ones.
	it, err := cons.Messages(jetstream.PullExpiry(10*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return unavailable("ordered consumer", err)
	}
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		it.Stop()
		return errStopped
	}
	f.iter = it
	f.mu.Unlock()

	ch := make(chan delivery, 128)
	abandon := make(chan struct{})
	defer func() {
		close(abandon)
		// Stop may wait for a recreation in progress inside nats.go.
		go it.Stop()
	}()
	go func() {
		for {
			msg, err := it.Next()
			select {
			case ch <- delivery{msg, err}:
			case <-abandon:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	if !f.caught {
		if ci := cons.CachedInfo(); ci != nil && ci.NumPending == 0 {
			f.caught = true
			f.caughtUp()
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	progress := time.Now()
	for {
		select {
		case d := <-ch:
			if d.err != nil {
				if f.isStopped() {
					return errStopped
				}
				return d.err
			}
			if err := f.handle(d.msg); err != nil {
				return err
			}
			progress = time.Now()
		case <-f.stopCh:
			return errStopped
		case <-status:
			l.log.Info("follow: NATS reconnected; creating the consumer again", "next", f.next)
			return errRecreate
		case <-tick.C:
			if time.Since(progress) < stallAfter {
				continue
			}
			progress = time.Now()
			if ok, _ := f.l.holds(f.next); ok {
				l.log.Warn("follow: the consumer delivers nothing while the stream holds more; creating it again",
					"next", f.next, "waited", stallAfter)
				return errRecreate
			}
		}
	}
}

// holds reports whether the stream holds an entry at or after seq.
func (l *Log) holds(seq uint64) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	_, found, err := l.direct(ctx, l.streamName, directReq{Seq: seq, Batch: 1}, nil)
	return found, err
}

func (f *follower) handle(msg jetstream.Msg) error {
	md, err := msg.Metadata()
	if err != nil {
		return err
	}
	seq := md.Sequence.Stream
	if md.Consumer != f.cons {
		if f.cons != "" {
			f.l.log.Info("follow: consumer recreated", "next", f.next, "consumer", md.Consumer)
			// A recreated consumer: is it still our stream?
			err := f.retry("stream info", func(ctx context.Context) error {
				info, err := f.l.streamInfo(ctx)
				if err != nil {
					return err
				}
				return f.checkEpoch(info)
			})
			if err != nil {
				return fatalError{err}
			}
		}
		f.cons = md.Consumer
	}
	if seq < f.next {
		return nil // already applied (cannot happen with an ordered consumer)
	}
	if seq > f.next {
		if err := f.checkHole(f.next, seq); err != nil {
			return fatalError{err}
		}
	}
	if f.isStopped() {
		return errStopped
	}
	f.apply(replog.Entry{Seq: seq, Subject: msg.Subject(), Data: msg.Data()})
	f.next = seq + 1
	if !f.caught && md.NumPending == 0 {
		f.caught = true
		f.caughtUp()
	}
	return nil
}

// checkHole decides whether entries e to d-1, removed before this follower
// read them, may be skipped (see follower). It returns the fatal error, or
// nil; it retries while NATS cannot answer.
func (f *follower) checkHole(e, d uint64) error {
	l := f.l
	control := replog.ControlSubject(l.o.Prefix)
	return f.retry("check removed entries", func(ctx context.Context) error {
		info, err := l.streamInfo(ctx, jetstream.WithSubjectFilter(control))
		if err != nil {
			return err
		}
		if err := f.checkEpoch(info); err != nil {
			return err
		}
		floor, err := l.trimFloor(ctx)
		if err != nil {
			return err
		}
		if e < floor {
			return fatalError{fmt.Errorf("cluster: entries %d to %d were removed before this node applied them, and control commands below %d were trimmed (stream first sequence %d): start again from a newer snapshot",
				e, d-1, floor, info.State.FirstSeq)}
		}
		if mr := minRetainOf(info.Config); mr > 0 && info.State.Subjects[control] >= uint64(mr) {
			r, err := l.leaderGet(ctx, l.streamName, directReq{Seq: 1, NextFor: control})
			if err != nil && !errors.Is(err, errNotFound) {
				return err
			}
			if r != nil && e < r.Seq {
				return fatalError{fmt.Errorf("cluster: entries %d to %d were removed before this node applied them, and the control subject is at its limit of %d entries (first retained %d): control commands were pruned; snapshot and trim more often than every -retain commands",
					e, d-1, mr, r.Seq)}
			}
		}
		if f.caught && d > f.lstart+1 {
			return fatalError{fmt.Errorf("cluster: entries %d to %d were removed by the per-subject limit (-retain %d) before this node delivered them: it fell too far behind",
				max(e, f.lstart+1), d-1, l.o.Retain)}
		}
		l.log.Debug("follow: skipping entries removed before this node started", "from", e, "to", d-1)
		return nil
	})
}

// trimFloor reads the highest sequence Trim was called with, from the
// bucket's leader.
func (l *Log) trimFloor(ctx context.Context) (uint64, error) {
	r, err := l.leaderGet(ctx, "KV_"+l.meta.Bucket(), directReq{LastFor: "$KV." + l.meta.Bucket() + "." + trimKey})
	if errors.Is(err, errNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(r.Data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cluster: trim floor %q: %v", r.Data, err)
	}
	return v, nil
}
