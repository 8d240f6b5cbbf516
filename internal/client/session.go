package client

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"pynet/internal/wiretrace"
	"pynet/protocol"
)

// Frame is one frame received from the server: decoded, and as it came on
// the wire (for -json).
type Frame struct {
	protocol.ServerFrame
	Raw []byte // the line without its LF; a copy the receiver may keep
}

// Session is one connection that has joined the chat.
//
// After Join, one reader goroutine reads the socket: it answers the
// server's pings, follows the user's renames, and delivers every frame,
// the welcome first, on Frames, in order. Frames is closed when the
// connection ends; Err then says why. Send may be called from any
// goroutine.
type Session struct {
	cfg  Config
	conn net.Conn
	tls  *tls.ConnectionState // nil over plain TCP
	lr   *protocol.LineReader
	ka   *keepalive
	// trace reports the frames cut from the stream; nil unless tracing
	// (dial traces the reads and writes themselves).
	trace *wiretrace.Tracer

	welcome Frame
	frames  chan Frame
	stop    chan struct{} // closed by Close: the reader must not block on frames
	done    chan struct{} // closed when the reader has ended

	writeMu sync.Mutex // serialises writes: one frame per Write, never interleaved

	closeOnce sync.Once
	closing   atomic.Bool // Close was called: the end is not a loss

	mu   sync.Mutex // protects the fields below
	name string     // current username, following renames
	bye  string     // reason of the bye received, if any
	err  error      // why the reader ended
}

// framesBuffer is how many frames may wait for the UI. When it is full the
// reader stops reading, TCP pushes back, and a UI that never catches up is
// eventually dropped by the server as a slow consumer: the client itself
// never buffers without bound.
const framesBuffer = 256

// Join connects to cfg.Addr and joins as name, speaking protocol version 2
// (a version 1 server answers as one; see Welcome). It returns once the
// server welcomed the user, with the reader goroutine running; or a
// *DialError (unreachable, no welcome), a *JoinError (name refused) or a
// *ByeError (e.g. server_full). ctx bounds the attempt only.
func Join(ctx context.Context, cfg Config, name string) (*Session, error) {
	return joinWith(ctx, cfg, &hello{name: name})
}

// joinWith is Join with everything a join can say. A password in h is
// refused (ErrInsecureAuth) before anything is sent when the connection
// would not protect it; the caller wipes h.password afterwards.
func joinWith(ctx context.Context, cfg Config, h *hello) (*Session, error) {
	cfg = cfg.withDefaults()
	if h.password != nil && !cfg.secretsSafe() {
		return nil, ErrInsecureAuth
	}
	conn, state, err := dial(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	s := &Session{
		cfg:    cfg,
		conn:   conn,
		tls:    state,
		frames: make(chan Frame, framesBuffer),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.ka = &keepalive{conn: conn, idle: cfg.JoinTimeout}
	s.lr = protocol.NewLineReader(s.ka, cfg.MaxLine)
	if cfg.Trace != nil {
		s.trace = wiretrace.New(cfg.Trace, "client")
	}

	stopWatch := context.AfterFunc(ctx, func() { conn.Close() })
	err = s.handshake(h)
	if !stopWatch() || ctx.Err() != nil {
		conn.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		conn.Close()
		var je *JoinError
		var be *ByeError
		if errors.As(err, &je) || errors.As(err, &be) {
			return nil, err
		}
		return nil, &DialError{Addr: cfg.Addr, Err: err, TLS: cfg.TLS != nil, Timeout: cfg.JoinTimeout}
	}
	s.ka.idle = cfg.Silence
	s.ka.ping = func() error { return s.Send(pingFrame("")) }
	go s.readLoop()
	return s, nil
}

// handshake sends join and reads until welcome, error or bye, answering
// pings on the way.
func (s *Session) handshake(h *hello) error {
	if err := s.SendSecret(joinFrame(h)); err != nil {
		return err
	}
	name := h.name
	for {
		line, err := s.lr.ReadLine()
		if errors.Is(err, protocol.ErrLineTooLong) {
			continue
		}
		if err != nil {
			return err
		}
		if s.trace != nil {
			s.trace.Frame(line)
		}
		f, err := protocol.DecodeServer(line)
		if err != nil {
			continue // not a frame we can read: ignored, as unknown members are
		}
		switch f.Type {
		case protocol.MsgWelcome:
			s.name = f.Username
			s.welcome = Frame{ServerFrame: f, Raw: append([]byte(nil), line...)}
			return nil
		case protocol.MsgPing:
			if err := s.Send(pongFrame(f.Ref)); err != nil {
				return err
			}
		case protocol.MsgError:
			return &JoinError{Name: name, Code: f.Code, Message: f.Message}
		case protocol.MsgBye:
			return &ByeError{Reason: f.Reason}
		}
	}
}

// readLoop is the session's reader goroutine, started by Join. It delivers
// the welcome, then every frame, and ends when the connection does (EOF,
// error, silence) or Close is called; it closes Frames on the way out.
func (s *Session) readLoop() {
	defer guard(s.cfg.OnPanic)
	defer close(s.done)
	defer close(s.frames)
	if !s.deliver(s.welcome) {
		s.finish(ErrClosed)
		return
	}
	for {
		line, err := s.lr.ReadLine()
		if errors.Is(err, protocol.ErrLineTooLong) {
			continue // bounded: the rest of that line is discarded unread
		}
		if err != nil {
			s.finish(err)
			return
		}
		if s.trace != nil {
			s.trace.Frame(line)
		}
		f, err := protocol.DecodeServer(line)
		if err != nil {
			continue
		}
		switch f.Type {
		case protocol.MsgPing:
			s.Send(pongFrame(f.Ref)) // a failure closes the conn; the next read ends the loop
		case protocol.MsgRenamed:
			s.mu.Lock()
			if protocol.FoldName(f.From) == protocol.FoldName(s.name) {
				s.name = f.To
			}
			s.mu.Unlock()
		case protocol.MsgBye:
			s.mu.Lock()
			s.bye = f.Reason
			s.mu.Unlock()
		}
		if !s.deliver(Frame{ServerFrame: f, Raw: append([]byte(nil), line...)}) {
			s.finish(ErrClosed)
			return
		}
	}
}

// deliver hands f to the receiver, unless the session is being closed.
func (s *Session) deliver(f Frame) bool {
	select {
	case s.frames <- f:
		return true
	case <-s.stop:
		return false
	}
}

// finish records why the reader ended and closes the connection.
func (s *Session) finish(err error) {
	s.conn.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.bye != "":
		s.err = &ByeError{Reason: s.bye}
	case s.closing.Load():
		s.err = ErrClosed
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		s.err = ErrLost
	default:
		s.err = err
	}
}

// Welcome is the server's welcome frame.
func (s *Session) Welcome() Frame { return s.welcome }

// Frames delivers the frames received, the welcome first; it is closed
// when the connection has ended.
func (s *Session) Frames() <-chan Frame { return s.frames }

// Done is closed when the reader goroutine has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended: a *ByeError when the server said bye,
// ErrClosed after Close, ErrLost, ErrSilent or a network error otherwise.
// It is nil while the session runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Name is the user's current name, following renames.
func (s *Session) Name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// Send writes one encoded frame (ending in LF). Writes are serialised and
// bounded by the write timeout; a failed write closes the connection, so
// the reader ends too and the loss is reported once, through Frames/Err.
func (s *Session) Send(frame []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := s.conn.Write(frame); err != nil {
		s.conn.Close()
		return err
	}
	return nil
}

// SendSecret is Send for a frame that holds a password or a token: the
// frame is wiped once written (or not).
func (s *Session) SendSecret(frame []byte) error {
	defer clear(frame)
	return s.Send(frame)
}

// Security says how the connection is protected, for a person:
// "TLS 1.3, certificate verified", "TLS 1.3, certificate NOT verified
// (-tls-insecure)" or "plain TCP, not encrypted".
func (s *Session) Security() string {
	if s.tls == nil {
		return "plain TCP, not encrypted"
	}
	v := tls.VersionName(s.tls.Version)
	if s.cfg.TLS != nil && s.cfg.TLS.InsecureSkipVerify {
		return v + ", certificate NOT verified (-tls-insecure)"
	}
	return v + ", certificate verified"
}

// Leave says goodbye: the server answers bye quit and closes, which ends
// Frames. The caller should keep draining Frames until then.
func (s *Session) Leave() error { return s.Send(leaveFrame()) }

// Close ends the session at once and waits for the reader to finish.
// It is safe to call more than once and from any goroutine.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		close(s.stop)
		s.conn.Close()
	})
	<-s.done
	return nil
}
