package client

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"pynet/protocol"
)

// EventKind says what an Event reports.
type EventKind uint8

// Kinds of Event, in the order a link goes through them.
const (
	// EventUp: joined (again). Frame is the welcome (Frame.Resumed: the
	// session went on); the replays follow as EventFrame, then EventSynced.
	EventUp EventKind = iota + 1
	// EventFrame: a frame from the server. Messages and privates already
	// delivered (the same id) are not delivered again.
	EventFrame
	// EventSynced: everything the join replays (entered, each room's
	// replay, the private replay) has arrived; live frames follow.
	EventSynced
	// EventDown: the connection was lost; Err says why (a *ByeError when
	// the server said bye, e.g. shutdown). Reconnecting starts, unless the
	// session was taken over elsewhere (bye replaced).
	EventDown
	// EventRetry: attempt number Attempt starts after Delay; Err is why
	// the previous attempt failed (nil before the first).
	EventRetry
	// EventClosed: the link has stopped; the last event. Err is why it
	// gave up (nil after Quit or Close); Link.Err says it too.
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

// Login is who to join as the first time.
type Login struct {
	Name string
	// Rooms to enter (protocol 2); nil enters lobby.
	Rooms []string
	// Password logs in to an account. It is wiped once the join is written
	// (or refused before).
	Password []byte
}

// Link keeps the user in the chat: it forwards its session's frames and,
// when the connection is lost (not after Quit), comes back (PROTOCOL §5.4):
//
//  1. It resumes the session with its token and epoch, from the position
//     (the highest id known delivered in full), so the server replays
//     exactly what was missed, and takes the name back from a stale
//     connection of our own (which gets bye replaced).
//  2. If the session is gone (expired, or a server without -data that
//     restarted), it joins afresh with the same name and rooms, asking for
//     what came after the position when the epoch is the same.
//  3. If the name is an account, it logs in again with a password from
//     Config.Password.
//
// Between attempts it waits Backoff. A refused name is retried too. It
// never delivers a message or private twice (same id), and it does not
// come back after bye replaced: another device took over.
type Link struct {
	cfg    Config
	events chan Event
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when run has ended

	mu       sync.Mutex // protects the fields below
	sess     *Session   // nil while reconnecting; written only by run
	st       linkState  // written only by run
	quitting bool
	err      error // why the link gave up

	// Owned by run.
	seen    *seenSet
	syncRef string // ref of the ping that marks the end of the join's replays; "" when synced
	syncPos int64  // the welcome's last_id, the position once synced
	pings   uint64
}

// linkState is what the link knows to come back.
type linkState struct {
	name    string
	v2      bool
	account bool
	token   string   // the session token (v2)
	epoch   string   // the server's id sequence
	pos     int64    // every message and private with a lower or equal id was delivered
	rooms   []string // the rooms we are in, in the order entered
}

// Connect joins as login says and returns a running Link; the first join
// is not retried (the caller reports its error, asks for another name or
// for the password). ctx bounds that first join only; Close or Quit stops
// the link.
func Connect(ctx context.Context, cfg Config, login Login) (*Link, error) {
	cfg = cfg.withDefaults()
	h := &hello{name: login.Name, v1: cfg.V1, rooms: login.Rooms, password: login.Password}
	s, err := joinWith(ctx, cfg, h)
	clear(login.Password)
	if err != nil {
		return nil, err
	}
	l := &Link{
		cfg:    cfg,
		events: make(chan Event, framesBuffer),
		done:   make(chan struct{}),
		sess:   s,
		st:     linkState{name: s.Name(), rooms: slices.Clone(login.Rooms)},
		seen:   newSeenSet(),
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
	return l.st.name
}

// Position is the epoch and the highest id known delivered in full: what a
// resume asks the server to replay after.
func (l *Link) Position() (epoch string, id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.epoch, l.st.pos
}

// Security says how the current connection is protected ("" while down).
func (l *Link) Security() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess == nil {
		return ""
	}
	return l.sess.Security()
}

// Err is why the link gave up, once it has (nil after Quit or Close).
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
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

// SendSecret writes a frame holding a password (register, password) and
// wipes it. Over a connection that would not protect it, nothing is sent:
// ErrInsecureAuth.
func (l *Link) SendSecret(frame []byte) error {
	defer clear(frame)
	if !l.cfg.secretsSafe() {
		return ErrInsecureAuth
	}
	return l.Send(frame)
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
// reconnects after losses, and ends on Quit, Close or a loss it must not
// repair, with EventClosed, closing Events.
func (l *Link) run(s *Session) {
	defer guard(l.cfg.OnPanic)
	defer close(l.done)
	defer close(l.events)
	var why error
	defer func() {
		l.mu.Lock()
		l.err = why
		l.mu.Unlock()
		// Not through emit: the receiver may have stopped listening.
		select {
		case l.events <- Event{Kind: EventClosed, Err: why}:
		default:
		}
	}()
	for {
		err := l.forward(s)
		s.Close()
		l.mu.Lock()
		l.sess = nil
		l.st.name = s.Name()
		quitting := l.quitting
		l.mu.Unlock()
		if quitting || l.ctx.Err() != nil {
			return
		}
		if !l.emit(Event{Kind: EventDown, Err: err}) {
			return
		}
		var be *ByeError
		if errors.As(err, &be) && be.Reason == protocol.ReasonReplaced {
			why = err // another device has the session now: leave it there
			return
		}
		if s, why = l.reconnect(); s == nil {
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
			ev, pass := l.observe(s, f)
			if pass && !l.emit(ev) {
				return ErrClosed
			}
		case <-l.ctx.Done():
			return ErrClosed
		}
	}
}

// observe updates what the link knows from one frame, and says whether to
// pass it on (and as what).
func (l *Link) observe(s *Session, f Frame) (Event, bool) {
	ev := Event{Kind: EventFrame, Frame: f}
	switch f.Type {
	case protocol.MsgWelcome:
		l.mu.Lock()
		st := &l.st
		st.name = f.Username
		st.v2 = f.Protocol >= protocol.Version
		st.account = f.Account
		if st.v2 {
			st.token = f.Session
			if f.Epoch != st.epoch { // a new id sequence: our position means nothing there
				st.epoch, st.pos = f.Epoch, 0
			}
		}
		l.mu.Unlock()
		// The server answers a ping after everything queued before it:
		// its pong marks the end of the join's replays.
		l.pings++
		l.syncRef = "sync" + strconv.FormatUint(l.pings, 10)
		l.syncPos = f.LastID
		s.Send(pingFrame(l.syncRef)) // a failure closes the conn; the reader notices
		ev.Kind = EventUp
	case protocol.MsgPong:
		if f.Ref != "" && f.Ref == l.syncRef {
			l.syncRef = ""
			l.mu.Lock()
			l.st.pos = max(l.st.pos, l.syncPos)
			l.mu.Unlock()
			ev.Kind = EventSynced
		}
	case protocol.MsgMessage, protocol.MsgPrivate:
		if f.ID > 0 {
			// A message delivered before comes again in a resume's
			// replay: dropped. The backlog of a room entered later may
			// repeat what was seen in it before: that is kept.
			if l.seen.has(f.ID, f.TS) && (!f.History || l.syncRef != "") {
				return ev, false
			}
			l.seen.add(f.ID, f.TS)
			if !f.History {
				l.advance(f.ID)
			}
		}
	case protocol.MsgAck:
		if f.ID > 0 {
			l.seen.add(f.ID, f.TS) // our own message: never show its replay again
			l.advance(f.ID)
		}
	case protocol.MsgEntered:
		l.mu.Lock()
		if !slices.Contains(l.st.rooms, f.Room) {
			l.st.rooms = append(l.st.rooms, f.Room)
		}
		l.mu.Unlock()
	case protocol.MsgExited:
		l.mu.Lock()
		l.st.rooms = slices.DeleteFunc(l.st.rooms, func(r string) bool { return r == f.Room })
		l.mu.Unlock()
	case protocol.MsgRegistered, protocol.MsgPasswordChanged:
		l.mu.Lock()
		l.st.account = true
		if f.Session != "" {
			l.st.token = f.Session
		}
		l.mu.Unlock()
	}
	return ev, true
}

// advance moves the position to a live id: on one connection live
// messages, privates and acks come in id order, so everything below it
// has been delivered. During the join's replays the position waits for
// the sync pong, since one room's replay may end above another's.
func (l *Link) advance(id int64) {
	if l.syncRef != "" {
		return
	}
	l.mu.Lock()
	l.st.pos = max(l.st.pos, id)
	l.mu.Unlock()
}

// reconnect tries to come back until it works, the link is stopped (nil,
// nil) or a failure no retry can cure (nil and why).
func (l *Link) reconnect() (*Session, error) {
	var last error
	for attempt := 1; ; attempt++ {
		delay := l.cfg.Backoff.Delay(attempt)
		if !l.emit(Event{Kind: EventRetry, Attempt: attempt, Delay: delay, Err: last}) {
			return nil, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.ctx.Done():
			t.Stop()
			return nil, nil
		}
		s, err := l.rejoin()
		if err != nil {
			if l.ctx.Err() != nil {
				return nil, nil
			}
			if fatal(err) {
				return nil, err
			}
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
			return nil, nil
		}
		return s, nil
	}
}

// maxPasswordTries bounds the passwords asked for in one rejoin.
const maxPasswordTries = 3

// rejoin makes one attempt to come back: resume the session, else join
// afresh, logging in when the name is an account.
func (l *Link) rejoin() (*Session, error) {
	h := l.resumeHello()
	s, err := joinWith(l.ctx, l.cfg, h)
	if je := joinError(err); je != nil && je.Code == protocol.CodeAuthFailed && h.token != "" {
		// The session is gone (expired, voided, or lost with a server
		// that restarted without -data): join afresh at once.
		l.mu.Lock()
		l.st.token = ""
		l.mu.Unlock()
		h.token = ""
		s, err = joinWith(l.ctx, l.cfg, h)
	}
	defer func() { clear(h.password) }()
	for try := 0; try < maxPasswordTries && l.cfg.Password != nil; try++ {
		je := joinError(err)
		if je == nil || !(je.Code == protocol.CodeAuthRequired || je.Code == protocol.CodeAuthFailed && h.password != nil) {
			break
		}
		var why error
		if h.password != nil {
			why = err
		}
		clear(h.password)
		pw, perr := l.cfg.Password(l.ctx, h.name, why)
		if perr != nil {
			return nil, &fatalError{perr}
		}
		h.password = pw
		s, err = joinWith(l.ctx, l.cfg, h)
	}
	return s, err
}

// resumeHello is the join that comes back: the session's token and the
// position, and the rooms for when the session is gone.
func (l *Link) resumeHello() *hello {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := &l.st
	h := &hello{name: st.name, v1: l.cfg.V1}
	if !st.v2 {
		return h
	}
	h.rooms = append([]string{}, st.rooms...) // [] when in no room, not the default lobby
	h.token = st.token
	if st.epoch != "" && st.pos > 0 { // (since 0 would replay the oldest messages kept)
		h.epoch, h.since, h.hasSince = st.epoch, st.pos, true
	}
	return h
}

// fatalError wraps a failure that ends the link (a password prompt that
// was given up).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// fatal reports a rejoin failure no retry can cure.
func fatal(err error) bool {
	var fe *fatalError
	if errors.As(err, &fe) || errors.Is(err, ErrInsecureAuth) {
		return true
	}
	if je := joinError(err); je != nil {
		switch je.Code {
		case protocol.CodeAuthRequired, protocol.CodeAuthFailed, protocol.CodeInsecureAuth, protocol.CodeInvalidUsername:
			return true
		}
	}
	return false
}

func joinError(err error) *JoinError {
	var je *JoinError
	if errors.As(err, &je) {
		return je
	}
	return nil
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
