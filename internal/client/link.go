package client

import (
	"context"
	"sync"
	"time"

	"pynet/protocol"
)

// EventKind says what an Event reports.
type EventKind uint8

// Kinds of Event, in the order a link goes through them.
const (
	// EventUp: joined (again). Frame is the welcome; the history replay
	// and live frames follow as EventFrame.
	EventUp EventKind = iota + 1
	// EventFrame: a frame from the server.
	EventFrame
	// EventDown: the connection was lost; Err says why (a *ByeError when
	// the server said bye, e.g. shutdown). Reconnecting starts.
	EventDown
	// EventRetry: attempt number Attempt starts after Delay; Err is why
	// the previous attempt failed (nil before the first).
	EventRetry
	// EventClosed: the link has stopped (Quit, Close); the last event.
	EventClosed
)

// Event is something a Link reports to its user.
type Event struct {
	Kind    EventKind
	Frame   Frame
	Err     error
	Attempt int
	Delay   time.Duration
}

// Link keeps the user in the chat: it forwards its session's frames and,
// when the connection is lost (not after Quit), rejoins with the same name
// (the latest, after renames), waiting Backoff between attempts, until it
// succeeds or is stopped. A refused name is retried too: after a network
// cut the server may still hold our old connection for a while.
type Link struct {
	cfg    Config
	events chan Event
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when run has ended

	mu       sync.Mutex // protects the fields below
	sess     *Session   // nil while reconnecting; written only by run
	name     string     // the name to rejoin with
	quitting bool
}

// Connect joins as name and returns a running Link; the first join is not
// retried (the caller reports its error, or asks for another name). ctx
// bounds that first join only; Close or Quit stops the link.
func Connect(ctx context.Context, cfg Config, name string) (*Link, error) {
	cfg = cfg.withDefaults()
	s, err := Join(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	l := &Link{
		cfg:    cfg,
		events: make(chan Event, framesBuffer),
		done:   make(chan struct{}),
		sess:   s,
		name:   s.Name(),
	}
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go l.run(s)
	return l, nil
}

// Events delivers what happens, in order; it is closed after EventClosed.
func (l *Link) Events() <-chan Event { return l.events }

// Name is the user's current name.
func (l *Link) Name() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess != nil {
		return l.sess.Name()
	}
	return l.name
}

// Send writes a frame on the current connection; ErrOffline while
// reconnecting.
func (l *Link) Send(frame []byte) error {
	l.mu.Lock()
	s := l.sess
	l.mu.Unlock()
	if s == nil {
		return ErrOffline
	}
	return s.Send(frame)
}

// Quit leaves the chat: it sends leave, and the link ends (EventClosed)
// once the server has said bye and closed; it stops reconnecting at once.
// The caller should bound its wait for EventClosed and then Close.
func (l *Link) Quit() {
	l.mu.Lock()
	l.quitting = true
	s := l.sess
	l.mu.Unlock()
	if s == nil || s.Leave() != nil {
		l.cancel()
	}
}

// Close stops the link now and waits for it. Safe to call more than once.
func (l *Link) Close() {
	l.cancel()
	<-l.done
}

// run is the link's goroutine, started by Connect: it forwards frames,
// reconnects after losses, and ends on Quit or Close with EventClosed,
// closing Events.
func (l *Link) run(s *Session) {
	defer guard(l.cfg.OnPanic)
	defer close(l.done)
	defer close(l.events)
	defer func() {
		// Not through emit: the receiver may have stopped listening.
		select {
		case l.events <- Event{Kind: EventClosed}:
		default:
		}
	}()
	for {
		err := l.forward(s)
		s.Close()
		l.mu.Lock()
		l.sess = nil
		l.name = s.Name()
		quitting := l.quitting
		l.mu.Unlock()
		if quitting || l.ctx.Err() != nil {
			return
		}
		if !l.emit(Event{Kind: EventDown, Err: err}) {
			return
		}
		if s = l.reconnect(); s == nil {
			return
		}
	}
}

// forward passes a session's frames on until it ends or the link stops,
// and returns why the session ended.
func (l *Link) forward(s *Session) error {
	for {
		select {
		case f, ok := <-s.Frames():
			if !ok {
				return s.Err()
			}
			if wait, ok := isLeaveRefused(f.ServerFrame); ok {
				time.AfterFunc(wait, func() { s.Leave() })
				continue
			}
			ev := Event{Kind: EventFrame, Frame: f}
			if f.Type == protocol.MsgWelcome {
				ev.Kind = EventUp
			}
			if !l.emit(ev) {
				return ErrClosed
			}
		case <-l.ctx.Done():
			return ErrClosed
		}
	}
}

// reconnect tries to join again until it works or the link is stopped (nil).
func (l *Link) reconnect() *Session {
	var last error
	for attempt := 1; ; attempt++ {
		delay := l.cfg.Backoff.Delay(attempt)
		if !l.emit(Event{Kind: EventRetry, Attempt: attempt, Delay: delay, Err: last}) {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.ctx.Done():
			t.Stop()
			return nil
		}
		l.mu.Lock()
		name := l.name
		l.mu.Unlock()
		s, err := Join(l.ctx, l.cfg, name)
		if err != nil {
			last = err
			continue
		}
		l.mu.Lock()
		stop := l.quitting
		if !stop {
			l.sess = s
		}
		l.mu.Unlock()
		if stop { // Quit came while we were joining: leave quietly
			s.Close()
			return nil
		}
		return s
	}
}

// emit delivers ev unless the link is stopping.
func (l *Link) emit(ev Event) bool {
	select {
	case l.events <- ev:
		return true
	case <-l.ctx.Done():
		return false
	}
}
