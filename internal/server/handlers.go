package server

import (
	"log/slog"
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
	protocol.MsgJoin:     {true, (*conn).handleJoin},
	protocol.MsgMessage:  {false, (*conn).handleMessage},
	protocol.MsgPrivate:  {false, (*conn).handlePrivate},
	protocol.MsgUsers:    {false, (*conn).handleUsers},
	protocol.MsgNick:     {false, (*conn).handleNick},
	protocol.MsgEnter:    {false, (*conn).handleEnter},
	protocol.MsgExit:     {false, (*conn).handleExit},
	protocol.MsgFetch:    {false, (*conn).handleFetch},
	protocol.MsgRooms:    {false, (*conn).handleRooms},
	protocol.MsgRegister: {false, (*conn).handleRegister},
	protocol.MsgPassword: {false, (*conn).handlePassword},
	protocol.MsgPing:     {true, (*conn).handlePing},
	protocol.MsgPong:     {true, func(*conn, protocol.Frame, time.Time) string { return "" }},
	protocol.MsgLeave:    {true, (*conn).handleLeave},
}

// handle decodes and acts on one line, checking in the order of PROTOCOL §6:
// the rate limit first, then the frame's shape, then join state, then the
// members (inside each handler).
func (c *conn) handle(line []byte, now time.Time) string {
	var f protocol.Frame
	var perr *protocol.Error
	if c.joined && !c.v2 {
		f, perr = protocol.DecodeClientV1(line) // v2-only members are ignored
	} else {
		f, perr = protocol.DecodeClient(line)
	}
	if c.trace != nil {
		c.trace.Frame(line) // passwords and tokens masked
	}
	// leave and pong take no token and are never refused (PROTOCOL §5.6).
	exempt := perr == nil && (f.Type == protocol.MsgLeave || f.Type == protocol.MsgPong)
	if c.bucket != nil && !exempt {
		if ok, wait := c.bucket.take(now); !ok {
			c.srv.stats.RateLimited.Add(1)
			c.sendError(&f, errRateLimited(wait, "frames"))
			return ""
		}
	}
	if perr != nil {
		c.srv.stats.FramesIn.Add("invalid", 1)
		c.sendError(&f, perr)
		return ""
	}
	c.srv.stats.FramesIn.Add(f.Type, 1)
	if f.Type != protocol.MsgMessage && f.Type != protocol.MsgPrivate {
		c.afterSent() // answers in the order of the frames
	}
	h := handlers[f.Type]
	if !c.joined && !h.beforeJoin {
		c.sendError(&f, &protocol.Error{Code: protocol.CodeJoinRequired, Message: "join first: send {\"type\":\"join\",\"username\":\"NAME\"}"})
		return ""
	}
	if c.joined && !c.v2 && protocol.IsV2Only(f.Type) {
		c.sendError(&f, &protocol.Error{Code: protocol.CodeUnknownType,
			Message: "frame type " + protocol.QuoteForMessage(f.Type) + " needs protocol 2 (join with \"protocol\":2)"})
		return ""
	}
	return h.run(c, f, now)
}

func (c *conn) reply(f *protocol.Frame, e *protocol.Error) string {
	if e != nil {
		c.sendError(f, e)
	}
	return ""
}

// roomOf returns the folded room a v2 frame names, lobby when it names
// none (or for a v1 client, which has no rooms), or invalid_room.
func (c *conn) roomOf(f *protocol.Frame, required bool) (string, *protocol.Error) {
	if !c.v2 || !f.HasRoom {
		if required {
			return "", &protocol.Error{Code: protocol.CodeInvalidRoom, Message: `this frame needs a "room"`}
		}
		return protocol.Lobby, nil
	}
	return protocol.FoldRoom(f.Room)
}

func (c *conn) handleJoin(f protocol.Frame, now time.Time) string {
	srv := c.srv
	if c.joined {
		return c.reply(&f, &protocol.Error{Code: protocol.CodeAlreadyJoined, Message: "this connection has already joined"})
	}
	v2 := f.Protocol >= 2
	q := joinReq{name: f.Username, v2: v2, ref: f.Ref, hasRef: f.HasRef}
	// insecure_auth comes before the members (PROTOCOL §6).
	if f.HasPassword && c.insecure() {
		return c.reply(&f, errInsecure())
	}
	if v2 && f.HasSession {
		hash, account := srv.hub.lookUpToken(f.Session)
		if account && c.insecure() {
			return c.reply(&f, errInsecure())
		}
		q.token = hash
	}
	if v2 {
		q.rooms = []string{protocol.Lobby}
		if f.HasRooms {
			q.rooms = q.rooms[:0]
			seen := make(map[string]bool, len(f.Rooms))
			for _, r := range f.Rooms {
				name, e := protocol.FoldRoom(r)
				if e != nil {
					return c.reply(&f, e)
				}
				if !seen[name] {
					seen[name] = true
					q.rooms = append(q.rooms, name)
				}
			}
		}
		q.since = f.Since
		q.useSince = f.HasSince && f.HasEpoch && f.Epoch == srv.hub.epoch
	}
	if e := protocol.CheckUsername(f.Username); e != nil {
		return c.reply(&f, e)
	}
	if f.HasPassword && q.token == "" {
		if e := protocol.CheckPassword(f.Password, true); e != nil {
			return c.reply(&f, e)
		}
	}
	// The join throttle per address (beyond the contract: a few addresses
	// must not churn joins around a big room).
	throttled := srv.guard.joins != nil && srv.ips.limitedAddr(c.ip)
	if throttled {
		if wait := srv.guard.joins.Wait(c.ip.String(), now); wait > 0 {
			return c.reply(&f, errRateLimited(wait, "joins from your address"))
		}
	}
	switch {
	case q.token != "": // the session decides alone
	case f.HasPassword: // then the password decides alone
		acc, e := c.login(f.Username, f.Password, now)
		if e != nil {
			return c.reply(&f, e)
		}
		q.account = acc
	default:
		q.nameIsAccount = srv.accounts.isAccount(protocol.FoldName(f.Username))
	}
	res := srv.hub.join(c, &q)
	if res.close != "" {
		return res.close
	}
	if res.err != nil {
		return c.reply(&f, res.err)
	}
	if throttled {
		srv.guard.joins.Take(c.ip.String(), time.Now())
	}
	c.joined, c.v2 = true, v2
	c.joinBy = time.Time{}
	c.rearm = true
	proto := int64(1)
	if v2 {
		proto = 2
	}
	c.logInfo("joined", slog.String("user", f.Username), slog.Int64("protocol", proto))
	return ""
}

// duplicate answers a v2 resend of an accepted message; it is checked
// before every member check (PROTOCOL §5.3).
func (c *conn) duplicate(f *protocol.Frame) bool {
	if !c.v2 || !f.HasRef {
		return false
	}
	h := c.srv.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.duplicateLocked(c, f.Ref)
}

// acquireSlot waits, with a store, until the committer can take one more
// message (backpressure on the sender, outside every lock).
func (c *conn) acquireSlot() bool {
	cm := c.srv.hub.commit
	return cm == nil || cm.acquire() == nil
}

func (c *conn) releaseSlot() {
	if cm := c.srv.hub.commit; cm != nil {
		cm.release()
	}
}

func (c *conn) handleMessage(f protocol.Frame, now time.Time) string {
	room, e := c.roomOf(&f, false)
	var text string
	if e == nil {
		text, e = protocol.CheckText(f.Text)
	}
	if e != nil {
		if c.duplicate(&f) {
			return ""
		}
		return c.reply(&f, e)
	}
	if !c.acquireSlot() {
		return ""
	}
	if e := c.srv.hub.publish(c, room, text, f.Action, &f); e != nil {
		c.releaseSlot()
		if e != errNoAnswer {
			return c.reply(&f, e)
		}
	}
	return ""
}

func (c *conn) handlePrivate(f protocol.Frame, now time.Time) string {
	text, e := protocol.CheckText(f.Text)
	if e != nil {
		if c.duplicate(&f) {
			return ""
		}
		return c.reply(&f, e)
	}
	if !c.acquireSlot() {
		return ""
	}
	if e := c.srv.hub.private(c, f.To, text, &f); e != nil {
		c.releaseSlot()
		if e != errNoAnswer {
			return c.reply(&f, e)
		}
	}
	return ""
}

func (c *conn) handleUsers(f protocol.Frame, now time.Time) string {
	room, e := c.roomOf(&f, false)
	if e != nil {
		return c.reply(&f, e)
	}
	c.srv.hub.users(c, room, c.v2 && f.HasRoom, &f)
	return ""
}

func (c *conn) handleNick(f protocol.Frame, now time.Time) string {
	if e := protocol.CheckUsername(f.Username); e != nil {
		return c.reply(&f, e)
	}
	isAccount := c.srv.accounts.isAccount(protocol.FoldName(f.Username))
	return c.reply(&f, c.srv.hub.rename(c, f.Username, isAccount, &f, now))
}

func (c *conn) handleEnter(f protocol.Frame, now time.Time) string {
	room, e := c.roomOf(&f, true)
	if e != nil {
		return c.reply(&f, e)
	}
	useSince := f.HasSince && (!f.HasEpoch || f.Epoch == c.srv.hub.epoch)
	return c.reply(&f, c.srv.hub.enter(c, room, f.Since, useSince, &f, now))
}

func (c *conn) handleExit(f protocol.Frame, now time.Time) string {
	room, e := c.roomOf(&f, true)
	if e != nil {
		return c.reply(&f, e)
	}
	return c.reply(&f, c.srv.hub.exit(c, room, &f, now))
}

func (c *conn) handleFetch(f protocol.Frame, now time.Time) string {
	room, e := c.roomOf(&f, true)
	if e != nil {
		return c.reply(&f, e)
	}
	return c.reply(&f, c.srv.hub.fetch(c, room, f.Since, &f))
}

func (c *conn) handleRooms(f protocol.Frame, now time.Time) string {
	c.srv.hub.roomList(c, f.After, &f)
	return ""
}

func (c *conn) handleRegister(f protocol.Frame, now time.Time) string {
	return c.reply(&f, c.register(&f, now))
}

func (c *conn) handlePassword(f protocol.Frame, now time.Time) string {
	return c.reply(&f, c.changePassword(&f, now))
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
