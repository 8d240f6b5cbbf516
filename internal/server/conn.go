package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"pynet/internal/wiretrace"
	"pynet/protocol"
)

// conn is one client connection. It has exactly one reader goroutine (run),
// which reads and handles frames in order and, when it ends, leaves the room
// and closes the socket; writing belongs to its outQueue.
type conn struct {
	srv *Server
	nc  netConn
	num uint64 // connection number, for logs and traces
	out *outQueue
	// trace reports reads, frames and writes; nil unless Config.Trace is set.
	trace *wiretrace.Tracer

	ip   ipKey      // what max_per_ip counts by
	peer netip.Addr // the exact remote address (insecure_auth)
	// overLimit: let in only because held sessions take some of the
	// places; its join must resume one of them or be refused (§5.4).
	overLimit bool

	// sess is the session this connection is attached to, set by the hub
	// (under hub.mu) on join, and read by the reader goroutine. Whether it
	// is still attached is s.conn == c, under hub.mu.
	sess *session

	stopMu sync.Mutex // protects reason
	reason string     // why the connection ends; set once, by stop

	// Touched only by the reader goroutine.
	lr     *protocol.LineReader
	bucket *tokenBucket // nil when the rate limit is off
	joined bool
	v2     bool // joined with protocol 2
	// lastAccepted is the id of the last message this connection sent
	// that the hub accepted (set under hub.mu by the reader's own calls).
	lastAccepted int64
	// unapplied counts, in a cluster, this connection's messages on their
	// way through the log (written under hub.mu, read by the reader).
	unapplied atomic.Int32
	lastHeard time.Time // last complete non-blank line
	nextPing  time.Time // when to ping if still silent
	joinBy    time.Time // join deadline; zero when off or joined
	rearm     bool      // the read deadline must be recomputed
	armed     time.Time // the read deadline in force (zero: none)
	lineSince time.Time // when the first byte of the pending line arrived; zero: no partial line
	bytesIn   int64     // lr.BytesRead() already added to the stats
	byeRef    *protocol.Frame
	handshook bool // the pool may write the connection (outQueue.handshakeDone)
}

func newConn(s *Server, nc netConn, num uint64, now time.Time) *conn {
	c := &conn{
		srv:       s,
		nc:        nc,
		num:       num,
		lastHeard: now,
		rearm:     true,
		ip:        ipKeyOf(nc.RemoteAddr()),
		peer:      peerAddr(nc.RemoteAddr()),
	}
	var in io.Reader = nc
	if s.cfg.Trace != nil {
		c.trace = wiretrace.New(s.cfg.Trace, "conn "+itoa(int(num)))
		in = wiretrace.Reader(nc, c.trace)
	}
	c.out = newOutQueue(s, nc, c.trace, c.stop)
	if s.cfg.LineTimeout > 0 {
		in = &lineClock{r: in, c: c}
	}
	c.lr = protocol.NewLineReader(in, s.cfg.MaxFrame)
	if s.lineBudget != nil {
		c.lr.SetBudget(s.lineBudget, lineFree)
	}
	if s.cfg.rateLimited() {
		c.bucket = newTokenBucket(s.cfg.Rate, s.cfg.Burst, now)
	}
	if s.cfg.PingInterval > 0 {
		c.nextPing = now.Add(s.cfg.PingInterval)
	}
	if s.cfg.JoinTimeout > 0 {
		c.joinBy = now.Add(s.cfg.JoinTimeout)
	}
	return c
}

// logger returns a logger that names this connection. It is made on demand:
// logging is rare, and an idle connection should not carry a logger.
func (c *conn) logger() *slog.Logger {
	id, remote := c.logIDs()
	return c.srv.log.With(id, remote)
}

// logIDs are the attributes that name the connection in its log lines.
func (c *conn) logIDs() (id, remote slog.Attr) {
	return slog.Uint64("conn", c.num), slog.String("remote", c.nc.RemoteAddr().String())
}

// logInfo writes what logger().Info(msg, attrs...) would, for the lines
// every connection logs (connected, joined, closed), without making a
// Logger for each: nothing is built when info is off.
func (c *conn) logInfo(msg string, attrs ...slog.Attr) {
	ctx := context.Background()
	if !c.srv.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	id, remote := c.logIDs()
	all := make([]slog.Attr, 0, 2+len(attrs))
	all = append(all, id, remote)
	c.srv.log.LogAttrs(ctx, slog.LevelInfo, msg, append(all, attrs...)...)
}

// run is the connection's reader goroutine, started by the accept loop. It
// ends when the peer goes, a timer fires, the client leaves, or stop is
// called (slow consumer, failed write, shutdown); then it leaves the room,
// lets the writer flush the last frames (bye) and closes the socket.
func (c *conn) run() {
	c.finish(c.serve())
}

// finish ends the connection after serve: leave the room, let the writer
// flush (bye), close the socket.
func (c *conn) finish(why string, err error) {
	defer c.srv.wg.Done()
	defer c.srv.release(c)
	defer c.lr.ReleaseBudget()
	if why == protocol.ReasonQuit || why == protocol.ReasonDisconnect {
		// Messages this connection sent before leave or EOF get their acks
		// (PROTOCOL §1: complete frames are handled before the close): with
		// a store they may still be in the committer.
		if cl := c.srv.hub.cl; cl != nil {
			cl.waitSent(c, c.srv.cfg.WriteTimeout)
		} else {
			c.srv.hub.waitDelivered(c.lastAccepted, c.srv.cfg.WriteTimeout)
		}
	}
	c.stop(why)
	reason := c.stopped()
	c.srv.hub.detach(c, reason)
	c.srv.stats.Closed.Add(reason, 1)
	if err != nil && reason == protocol.ReasonDisconnect {
		c.logInfo("closed", slog.String("reason", reason), slog.Any("err", err)) // e.g. a failed TLS handshake
	} else {
		c.logInfo("closed", slog.String("reason", reason))
	}
	c.closeSocket()
}

// serve reads and handles lines until the connection must end, and returns
// why, with the read error when the peer went away abnormally. A panic while
// handling one connection ends that connection only.
//
// serve and its callers are on the stack of every idle connection, blocked
// in ReadLine, so they keep few locals: the work after a read is in
// afterRead. (A blocked reader that uses under ~1.2 KB of stack lets the
// runtime shrink its stack to 4 KB; idle connections then cost half.)
func (c *conn) serve() (reason string, readErr error) {
	defer c.recoverPanic(&reason)
	for {
		if c.rearm {
			c.armDeadline()
		}
		// Checked after arming the deadline: stop sets the reason before it
		// pulls the deadline into the past, so either we see the reason here
		// or the read below returns at once.
		if r := c.stopped(); r != "" {
			return r, nil
		}
		line, err := c.lr.ReadLine()
		if !c.joined && err == nil {
			growStack()
			if !c.handshook { // a line came: a TLS handshake is over
				c.handshook = true
				c.out.handshakeDone()
			}
		}
		if r, rerr := c.afterRead(line, err); r != "" {
			return r, rerr
		}
	}
}

// growStack grows the calling goroutine's stack to 8 KiB in one step, while
// it is still shallow. A reader starts with the runtime's 2 KiB; decoding its
// first frame needs 4 and a join 8, and each growth copies the stack and
// adjusts every frame on it, the second under the hub's lock. Growing once,
// before the first frame of a connection that has not joined, replaces both
// (a join storm spent a sixth of the server's CPU copying stacks). The
// reader's stack shrinks back at a collection, as it did after a join.
//
//go:noinline
func growStack() {
	var frame [growFrame]byte
	keepFrame(frame[:])
}

// growFrame is sized so that the stack this frame needs (with serve's
// frames below it and the runtime's guard) rounds up to 8 KiB, not 16.
const growFrame = 5 << 10

//go:noinline
func keepFrame([]byte) {}

// recoverPanic is serve's safety net: it logs a panic with its stack and
// ends only this connection.
func (c *conn) recoverPanic(reason *string) {
	if p := recover(); p != nil {
		c.logger().Error("panic while serving a connection", "panic", p, "stack", string(debug.Stack()))
		*reason = protocol.ReasonDisconnect
	}
}

func (c *conn) armDeadline() {
	c.armed = c.nextDeadline()
	c.nc.SetReadDeadline(c.armed)
	c.rearm = false
}

// lineFree is how much line buffer every connection has outside the
// server-wide budget: enough for any ordinary frame (a 4,096-byte text
// even with much escaping), so a well-behaved user is never the one cut off
// when attackers have spent the budget on long partial lines.
const lineFree = 16 << 10

// lineClock watches the bytes a connection reads to know since when its
// current line has been pending (PROTOCOL §1 line_timeout): a read that
// ends without LF starts (or continues) a partial line; one that ends with
// LF completes it. When a partial line starts, the read deadline is pulled
// in so that the line timeout fires even if no other timer is set.
type lineClock struct {
	r io.Reader
	c *conn
}

func (l *lineClock) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		c := l.c
		switch i := bytes.LastIndexByte(p[:n], '\n'); {
		case i == n-1:
			c.lineSince = time.Time{}
		case i >= 0 || c.lineSince.IsZero():
			c.lineSince = time.Now()
			if by := c.lineSince.Add(c.srv.cfg.LineTimeout); c.armed.IsZero() || by.Before(c.armed) {
				c.armed = by
				c.nc.SetReadDeadline(by)
			}
		}
	}
	return n, err
}

// afterRead acts on what one ReadLine returned: a line to handle, an
// over-long line, a read deadline (timers) or the end of the connection. It
// returns a close reason to stop, or "".
func (c *conn) afterRead(line []byte, err error) (string, error) {
	now := time.Now()
	if n := c.lr.BytesRead(); n != c.bytesIn {
		c.srv.stats.BytesIn.Add(n - c.bytesIn)
		c.bytesIn = n
	}
	switch {
	case err == nil:
		c.heard(now)
		return c.handle(line, now), nil
	case errors.Is(err, protocol.ErrBudget):
		// The server holds as many bytes of partial lines as it allows:
		// the connection whose line needs more is cut off (memory budget).
		c.srv.stats.BudgetRefusals.Add(1)
		return protocol.ReasonServerFull, nil
	case errors.Is(err, protocol.ErrLineTooLong):
		c.heard(now)
		c.frameTooLarge(now)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if r := c.stopped(); r != "" {
			return r, nil
		}
		if r := c.timersExpired(now); r != "" {
			return r, nil
		}
		c.rearm = true
	default: // EOF, reset, closed: the peer is gone
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			err = nil
		}
		return protocol.ReasonDisconnect, err
	}
	return "", nil
}

// heard notes a line from the client: it resets the silence timers. The read
// deadline is not moved (that would be a syscall-free but not free runtime
// call per line); when it fires, timersExpired looks at lastHeard.
func (c *conn) heard(now time.Time) {
	c.lastHeard = now
	if c.srv.cfg.PingInterval > 0 {
		c.nextPing = now.Add(c.srv.cfg.PingInterval)
	}
}

// nextDeadline is the earliest of the ping, idle and join deadlines, or the
// zero time (no deadline) when every timer is off.
func (c *conn) nextDeadline() time.Time {
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	earliest(c.nextPing)
	if !c.lineSince.IsZero() {
		earliest(c.lineSince.Add(c.srv.cfg.LineTimeout))
	}
	if c.srv.cfg.IdleTimeout > 0 {
		earliest(c.lastHeard.Add(c.srv.cfg.IdleTimeout))
	}
	if !c.joined {
		earliest(c.joinBy)
	}
	return d
}

// timersExpired handles a read deadline: it returns timeout or join_timeout
// when one of those has passed (the earlier wins), and sends a ping when the
// connection has been silent for another ping interval.
func (c *conn) timersExpired(now time.Time) string {
	if !c.lineSince.IsZero() && !now.Before(c.lineSince.Add(c.srv.cfg.LineTimeout)) {
		return protocol.ReasonTimeout // a line pending too long: slowloris
	}
	idleBy := time.Time{}
	if c.srv.cfg.IdleTimeout > 0 {
		idleBy = c.lastHeard.Add(c.srv.cfg.IdleTimeout)
	}
	joinBy := time.Time{}
	if !c.joined {
		joinBy = c.joinBy
	}
	idle := !idleBy.IsZero() && !now.Before(idleBy)
	join := !joinBy.IsZero() && !now.Before(joinBy)
	switch {
	case join && (!idle || !idleBy.Before(joinBy)):
		return protocol.ReasonJoinTimeout
	case idle:
		return protocol.ReasonTimeout
	}
	if !c.nextPing.IsZero() && !now.Before(c.nextPing) {
		c.nextPing = now.Add(c.srv.cfg.PingInterval)
		c.send(protocol.NewFrame(nil, protocol.MsgPing).End(), protocol.MsgPing)
	}
	return ""
}

// stop ends the connection for reason; the first reason wins. It may be
// called from any goroutine: it queues the bye this reason calls for and
// wakes the reader, which does the rest.
func (c *conn) stop(reason string) {
	c.stopMu.Lock()
	if c.reason != "" {
		c.stopMu.Unlock()
		return
	}
	c.reason = reason
	c.stopMu.Unlock()

	cfg := &c.srv.cfg
	var (
		bye   = true
		ref   *protocol.Frame
		grace = cfg.WriteTimeout
		drop  = false
	)
	switch reason {
	case protocol.ReasonDisconnect:
		// No bye (the peer is gone or a write failed), but answers to frames
		// that arrived before an EOF still go out.
		bye = false
	case protocol.ReasonSlowConsumer:
		// Drop what is queued; bye goes out only if the socket takes it soon.
		grace, drop = slowConsumerGrace, true
	case protocol.ReasonShutdown:
		grace = cfg.ShutdownGrace
	case protocol.ReasonReplaced:
		// Another connection took the session over: drop what is queued
		// (it belongs to the session's new connection now) and say so.
		drop = true
	case protocol.ReasonQuit:
		ref = c.byeRef
	}
	var frame []byte
	if bye {
		b := protocol.NewFrame(nil, protocol.MsgBye).Str("reason", reason)
		if ref != nil && ref.HasRef {
			b.Str("ref", ref.Ref)
		}
		frame = b.End()
	}
	if c.out.closeAfter(frame, grace, drop) && bye {
		c.srv.stats.FramesOut.Add(protocol.MsgBye, 1)
	}
	c.nc.SetReadDeadline(longAgo) // wake the reader
}

// stopped returns the reason the connection is ending, or "".
func (c *conn) stopped() string {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	return c.reason
}

// slowConsumerGrace is how long a slow consumer's socket gets to take its
// bye before it is closed regardless.
const slowConsumerGrace = 500 * time.Millisecond

// lingerTime bounds how long a closing connection waits for the peer to
// close its side after our last frame.
const lingerTime = 500 * time.Millisecond

// lingerBytes bounds what is read and thrown away while lingering.
const lingerBytes = 256 << 10

var longAgo = time.Unix(1, 0)

// closeSocket waits for the writer to drain (bounded by the final write
// deadline), then, unless a write failed, closes gracefully: it shuts down our sending side, so the
// peer reads everything up to EOF, and reads and discards until the peer
// closes too (bounded). Closing with unread input would send a TCP RST, which
// can destroy the bye before the peer reads it.
func (c *conn) closeSocket() {
	select {
	case <-c.out.done:
	case <-time.After(c.srv.cfg.WriteTimeout + time.Second): // the write deadline should have fired
		c.logger().Warn("writer did not finish in time; closing")
	}
	if c.out.writeFailed() {
		// The peer stopped reading (or is gone): nothing more can reach it.
		// An abortive close frees the unsent bytes the kernel still holds
		// for it (up to megabytes) at once instead of after retries.
		if tc, ok := c.nc.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.nc.Close()
		return
	}
	if c.nc.CloseWrite() == nil {
		c.nc.SetReadDeadline(time.Now().Add(lingerTime))
		discardInput(c.nc)
	}
	c.nc.Close()
}

// discardInput reads and throws away what the peer still sends, until it
// closes its side, the read deadline passes, or lingerBytes have been read.
// Our side is already shut down for writing: this is the linger that keeps
// a close from turning into a RST while input is unread.
func discardInput(nc net.Conn) {
	var buf [512]byte
	for n := 0; n < lingerBytes; {
		m, err := nc.Read(buf[:])
		n += m
		if err != nil {
			return
		}
	}
}

// afterSent, in a cluster, waits until the messages this connection sent
// are applied (their acks queued), so that a direct reply to a later frame
// does not overtake them. On one server acks are queued at once.
func (c *conn) afterSent() {
	if cl := c.srv.hub.cl; cl != nil {
		cl.waitSent(c, c.srv.cfg.WriteTimeout)
	}
}

// send queues a direct reply; a full queue makes c a slow consumer.
func (c *conn) send(frame []byte, typ string) {
	if c.out.enqueue(frame, true) {
		c.srv.stats.FramesOut.Add(typ, 1)
	} else {
		// The reader notices at its next step and leaves the room.
		c.logger().Warn("slow consumer", "max_queue", c.srv.cfg.MaxQueue)
		c.srv.hub.cutOff(c)
	}
}

// sendError answers a refused frame; the error carries the frame's ref.
func (c *conn) sendError(f *protocol.Frame, e *protocol.Error) {
	c.afterSent()
	c.srv.stats.Errors.Add(e.Code, 1)
	b := protocol.NewFrame(nil, protocol.MsgError).Str("code", e.Code).Str("message", e.Message)
	if e.Code == protocol.CodeRateLimited {
		b.Int("retry_after_ms", e.RetryAfterMS)
	}
	if f != nil && f.HasRef {
		b.Str("ref", f.Ref)
	}
	c.send(b.End(), protocol.MsgError)
}

// frameTooLarge answers an over-long line. It takes a token if there is one,
// but the answer is always frame_too_large (PROTOCOL §1).
func (c *conn) frameTooLarge(now time.Time) {
	if c.bucket != nil {
		c.bucket.take(now)
	}
	c.srv.stats.FramesIn.Add("invalid", 1)
	if c.trace != nil {
		c.trace.Note("frame too large: discarded up to its LF")
	}
	c.sendError(nil, &protocol.Error{Code: protocol.CodeFrameTooLarge,
		Message: "the line is longer than " + itoa(c.srv.cfg.MaxFrame) + " bytes; it was discarded"})
}
