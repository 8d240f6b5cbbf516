package server

import (
	"time"

	"pynet/protocol"
)

// handler runs one client frame type on the connection's reader goroutine.
// It returns a close reason to end the connection, or "".
type handler struct {
	beforeJoin bool                                                  // allowed before a successful join
	run        func(c *conn, f protocol.Frame, now time.Time) string // f by value: it stays on the stack
}

// handlers is the dispatch table: every client frame type of PROTOCOL §3.
// protocol.DecodeClient has already refused unknown types.
var handlers = map[string]handler{
	protocol.MsgJoin:    {true, (*conn).handleJoin},
	protocol.MsgMessage: {false, (*conn).handleMessage},
	protocol.MsgPrivate: {false, (*conn).handlePrivate},
	protocol.MsgUsers:   {false, (*conn).handleUsers},
	protocol.MsgNick:    {false, (*conn).handleNick},
	protocol.MsgPing:    {true, (*conn).handlePing},
	protocol.MsgPong:    {true, func(*conn, protocol.Frame, time.Time) string { return "" }},
	protocol.MsgLeave:   {true, (*conn).handleLeave},
}

// handle decodes and acts on one line, checking in the order of PROTOCOL §6:
// the rate limit first, then the frame's shape, then join state, then the
// members (inside each handler).
func (c *conn) handle(line []byte, now time.Time) string {
	f, perr := protocol.DecodeClient(line)
	if c.trace != nil {
		c.trace.Frame(line)
	}
	if c.bucket != nil {
		if ok, wait := c.bucket.take(now); !ok {
			ms := wait.Milliseconds()
			c.srv.stats.RateLimited.Add(1)
			c.sendError(&f, &protocol.Error{Code: protocol.CodeRateLimited,
				Message: "too many frames; wait " + itoa(int(ms)) + " ms", RetryAfterMS: ms})
			return ""
		}
	}
	if perr != nil {
		c.srv.stats.FramesIn.Add("invalid", 1)
		c.sendError(&f, perr)
		return ""
	}
	c.srv.stats.FramesIn.Add(f.Type, 1)
	h := handlers[f.Type]
	if !c.joined && !h.beforeJoin {
		c.sendError(&f, &protocol.Error{Code: protocol.CodeJoinRequired, Message: "join first: send {\"type\":\"join\",\"username\":\"NAME\"}"})
		return ""
	}
	return h.run(c, f, now)
}

func (c *conn) handleJoin(f protocol.Frame, now time.Time) string {
	if c.joined {
		c.sendError(&f, &protocol.Error{Code: protocol.CodeAlreadyJoined, Message: "this connection has already joined"})
		return ""
	}
	if e := protocol.CheckUsername(f.Username); e != nil {
		c.sendError(&f, e)
		return ""
	}
	if e := c.srv.room.join(c, f.Username, &f); e != nil {
		c.sendError(&f, e)
		return ""
	}
	c.joined = true
	c.joinBy = time.Time{}
	c.logger().Info("joined", "user", f.Username)
	return ""
}

func (c *conn) handleMessage(f protocol.Frame, now time.Time) string {
	text, e := protocol.CheckText(f.Text)
	if e != nil {
		c.sendError(&f, e)
		return ""
	}
	c.srv.room.broadcast(c, text, &f)
	return ""
}

func (c *conn) handlePrivate(f protocol.Frame, now time.Time) string {
	text, e := protocol.CheckText(f.Text)
	if e == nil {
		e = c.srv.room.private(c, f.To, text, &f)
	}
	if e != nil {
		c.sendError(&f, e)
	}
	return ""
}

func (c *conn) handleUsers(f protocol.Frame, now time.Time) string {
	users := c.srv.room.users()
	b := protocol.NewFrame(make([]byte, 0, 32+len(users)+len(f.Ref)), protocol.MsgUsers).Raw("users", users)
	if f.HasRef {
		b.Str("ref", f.Ref)
	}
	c.send(b.End(), protocol.MsgUsers)
	return ""
}

func (c *conn) handleNick(f protocol.Frame, now time.Time) string {
	e := protocol.CheckUsername(f.Username)
	if e == nil {
		e = c.srv.room.rename(c, f.Username, &f)
	}
	if e != nil {
		c.sendError(&f, e)
	}
	return ""
}

func (c *conn) handlePing(f protocol.Frame, now time.Time) string {
	b := protocol.NewFrame(nil, protocol.MsgPong)
	if f.HasRef {
		b.Str("ref", f.Ref)
	}
	c.send(b.End(), protocol.MsgPong)
	return ""
}

// handleLeave ends the connection; nothing after leave is handled.
func (c *conn) handleLeave(f protocol.Frame, now time.Time) string {
	c.byeRef = &f // only leave's frame is kept (for the bye's ref)
	return protocol.ReasonQuit
}
