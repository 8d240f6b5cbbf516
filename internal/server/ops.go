package server

import (
	"strconv"
	"time"

	"pynet/internal/replog"
	"pynet/protocol"
)

// The hub's operations for joined connections. Each runs in one critical
// section; the reader has already checked the frame's members, and each
// operation makes the state checks in the order of PROTOCOL §6. Each first
// checks that c is still the session's connection: a connection replaced or
// cut off while its reader was handling a frame does nothing more.

func (h *hub) attachedLocked(c *conn) *session {
	s := c.sess
	if s == nil || s.conn != c || s.ended {
		return nil
	}
	return s
}

// memberOfLocked returns c's session and the room it names, or not_in_room.
// A nil session with a nil error means c is no longer attached: nothing to
// do or answer.
func (h *hub) memberOfLocked(c *conn, room string) (*session, *room, *protocol.Error) {
	s := h.attachedLocked(c)
	if s == nil {
		return nil, nil, nil
	}
	r := h.rooms[room]
	if r == nil || !s.inRoom(r) {
		return s, nil, errNotInRoom(room)
	}
	return s, r, nil
}

func errNotInRoom(room string) *protocol.Error {
	return &protocol.Error{Code: protocol.CodeNotInRoom, Message: "you are not in room " + protocol.QuoteForMessage(room)}
}

func errRateLimited(wait time.Duration, what string) *protocol.Error {
	ms := max(wait.Milliseconds(), 1)
	return &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many " + what + "; wait " + itoa(int(ms)) + " ms", RetryAfterMS: ms}
}

// errNoAnswer says there is no error to send: a resend was answered with
// its original's ack, or the connection is no longer attached (going).
var errNoAnswer = &protocol.Error{Code: "no_answer"}

// publish accepts a public message from c to room (a folded, valid name).
// In a cluster the message goes to the log once hub.mu is released.
func (h *hub) publish(c *conn, room, text string, action bool, f *protocol.Frame) *protocol.Error {
	cmd, e := h.acceptPublic(c, room, text, action, f)
	if cmd != nil {
		h.cl.send(c, cmd)
	}
	return e
}

// acceptPublic makes publish's checks under hub.mu and accepts the message,
// or, in a cluster, returns the entry to append instead.
func (h *hub) acceptPublic(c *conn, room, text string, action bool, f *protocol.Frame) (*replog.Command, *protocol.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return nil, errNoAnswer // the connection is going
	}
	if c.v2 && f.HasRef && h.duplicateLocked(c, f.Ref) {
		return nil, errNoAnswer
	}
	r := h.rooms[room]
	if r == nil || !s.inRoom(r) {
		return nil, errNotInRoom(room)
	}
	if h.cl != nil {
		h.cl.beginLocked(c)
		return &replog.Command{Op: replog.OpMessage, SID: s.id, Room: room, From: s.name, Text: text, Action: action,
			Ref: f.Ref, HasRef: f.HasRef, FromKey: s.ownerKey()}, nil
	}
	m := &outMsg{room: r, from: s, via: c}
	if f.HasRef {
		m.ref = f.Ref
	}
	h.acceptLocked(m, text, action)
	return nil, nil
}

// private accepts a direct message from c to the online or held user to.
func (h *hub) private(c *conn, to, text string, f *protocol.Frame) *protocol.Error {
	cmd, e := h.acceptPrivate(c, to, text, f)
	if cmd != nil {
		h.cl.send(c, cmd)
	}
	return e
}

// acceptPrivate is acceptPublic for a private.
func (h *hub) acceptPrivate(c *conn, to, text string, f *protocol.Frame) (*replog.Command, *protocol.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return nil, errNoAnswer // the connection is going
	}
	if c.v2 && f.HasRef && h.duplicateLocked(c, f.Ref) {
		return nil, errNoAnswer
	}
	dst := h.names[protocol.FoldName(to)]
	if dst == nil || to == "" {
		msg := "nobody called " + protocol.QuoteForMessage(to) + " is online"
		if !f.HasTo {
			msg = `a private message needs "to"`
		}
		return nil, &protocol.Error{Code: protocol.CodeNoSuchUser, Message: msg}
	}
	if h.cl != nil {
		h.cl.beginLocked(c)
		return &replog.Command{Op: replog.OpPrivate, SID: s.id, From: s.name, To: dst.name, ToSID: dst.id, Text: text,
			Ref: f.Ref, HasRef: f.HasRef, FromKey: s.ownerKey(), ToKey: dst.ownerKey()}, nil
	}
	m := &outMsg{from: s, to: dst, via: c}
	if f.HasRef {
		m.ref = f.Ref
	}
	h.acceptLocked(m, text, false)
	return nil, nil
}

// change runs one of the operations below for c's session under hub.mu.
// On one server op makes the change itself and returns no entry. In a
// cluster it makes the checks a reader can make and returns the entry to
// append instead: change appends it once hub.mu is released and waits
// until this node has applied it (cluster.go). A connection no longer
// attached does nothing.
func (h *hub) change(c *conn, op func(s *session) (*replog.Command, *protocol.Error)) *protocol.Error {
	h.mu.Lock()
	s := h.attachedLocked(c)
	if s == nil {
		h.mu.Unlock()
		return nil
	}
	cmd, e := op(s)
	h.mu.Unlock()
	if cmd == nil || e != nil {
		return e
	}
	cmd.SID = s.id
	return h.cl.call(c, cmd)
}

// enter puts c's session in room and queues entered and the replay.
func (h *hub) enter(c *conn, room string, since int64, useSince bool, f *protocol.Frame, now time.Time) *protocol.Error {
	return h.change(c, func(s *session) (*replog.Command, *protocol.Error) {
		if e := h.enterCheckLocked(s, room); e != nil {
			return nil, e
		}
		if ok, wait := s.roomOps.take(now); !ok {
			return nil, errRateLimited(wait, "enter and exit frames")
		}
		if h.cl != nil {
			return &replog.Command{Op: replog.OpEnter, Room: room, Since: since, UseSince: useSince, Ref: f.Ref, HasRef: f.HasRef}, nil
		}
		h.enterLocked(s, c, room, since, useSince, f.Ref, f.HasRef, now)
		return nil, nil
	})
}

// enterCheckLocked makes enter's state checks (PROTOCOL §6).
func (h *hub) enterCheckLocked(s *session, room string) *protocol.Error {
	if r := h.rooms[room]; r != nil && s.inRoom(r) {
		return &protocol.Error{Code: protocol.CodeAlreadyInRoom, Message: "you are already in room " + protocol.QuoteForMessage(room)}
	}
	return h.roomsFitLocked(s, []string{room})
}

// enterLocked makes the enter (c is nil on a cluster node the user is not
// connected to).
func (h *hub) enterLocked(s *session, c *conn, room string, since int64, useSince bool, ref string, hasRef bool, now time.Time) {
	r := h.roomLocked(room)
	h.addMemberLocked(r, s, now)
	if c != nil {
		c.out.enqueueSource(h.roomReplayLocked(r, since, useSince, replayEntered, ref, hasRef))
	}
	h.saveSessionLocked(s)
}

// exit takes c's session out of room; it gets nothing of it after exited.
func (h *hub) exit(c *conn, room string, f *protocol.Frame, now time.Time) *protocol.Error {
	return h.change(c, func(s *session) (*replog.Command, *protocol.Error) {
		r := h.rooms[room]
		if r == nil || !s.inRoom(r) {
			return nil, errNotInRoom(room)
		}
		if ok, wait := s.roomOps.take(now); !ok {
			return nil, errRateLimited(wait, "enter and exit frames")
		}
		if h.cl != nil {
			return &replog.Command{Op: replog.OpExit, Room: room, Ref: f.Ref, HasRef: f.HasRef}, nil
		}
		h.exitLocked(s, c, r, f.Ref, f.HasRef, now)
		return nil, nil
	})
}

func (h *hub) exitLocked(s *session, c *conn, r *room, ref string, hasRef bool, now time.Time) {
	h.removeMemberLocked(r, s, protocol.ReasonExit, now)
	if c != nil {
		b := protocol.NewFrame(nil, protocol.MsgExited).Str("room", r.name)
		if hasRef {
			b.Str("ref", ref)
		}
		h.sendLocked(c, b.End(), protocol.MsgExited)
	}
	h.saveSessionLocked(s)
}

// fetch queues a room's retained messages after since, then fetched.
func (h *hub) fetch(c *conn, room string, since int64, f *protocol.Frame) *protocol.Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, r, e := h.memberOfLocked(c, room)
	if s == nil || e != nil {
		return e
	}
	c.out.enqueueSource(h.roomReplayLocked(r, since, true, replayFetched, f.Ref, f.HasRef))
	return nil
}

// users answers with a room's members (absent over the presence limit) and
// count; named says the client asked for a room by name.
func (h *hub) users(c *conn, room string, named bool, f *protocol.Frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.attachedLocked(c) == nil {
		return
	}
	r := h.rooms[room]
	size := 48 + len(f.Ref)
	if r != nil {
		size += h.listSize(r)
	}
	b := protocol.NewFrame(make([]byte, 0, size), protocol.MsgUsers)
	h.appendMembers(b, r)
	if named {
		b.Str("room", room)
	}
	if f.HasRef {
		b.Str("ref", f.Ref)
	}
	h.sendLocked(c, b.End(), protocol.MsgUsers)
}

// maxRoomsListed is how many rooms one rooms frame lists.
const maxRoomsListed = 1000

// roomList answers rooms: the rooms with members after `after`, by name.
func (h *hub) roomList(c *conn, after string, f *protocol.Frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.attachedLocked(c) == nil {
		return
	}
	i := h.activeIndex(after)
	for i < len(h.active) && h.active[i].name <= after {
		i++
	}
	end := min(len(h.active), i+maxRoomsListed)
	b := protocol.NewFrame(make([]byte, 0, 64+(end-i)*48), protocol.MsgRooms)
	list := make([]byte, 0, (end-i)*48)
	list = append(list, '[')
	for j := i; j < end; j++ {
		if j > i {
			list = append(list, ',')
		}
		list = append(list, `{"room":`...)
		list = protocol.AppendString(list, h.active[j].name)
		list = append(list, `,"count":`...)
		list = strconv.AppendInt(list, int64(len(h.active[j].members)), 10)
		list = append(list, '}')
	}
	list = append(list, ']')
	b.Raw("rooms", list)
	if end < len(h.active) {
		b.Bool("more", true)
	}
	if f.HasRef {
		b.Str("ref", f.Ref)
	}
	h.sendLocked(c, b.End(), protocol.MsgRooms)
}

// rename changes c's session's name; the renamed user and everyone who
// shares a room with it (under the presence limit) hear it once each.
func (h *hub) rename(c *conn, name string, nameIsAccount bool, f *protocol.Frame, now time.Time) *protocol.Error {
	return h.change(c, func(s *session) (*replog.Command, *protocol.Error) {
		if name == s.name || h.cl == nil { // no change to one's own name goes to the log
			return nil, h.renameLocked(s, c, name, nameIsAccount, f.Ref, f.HasRef, now, true)
		}
		if e := h.renameCheckLocked(s, name, nameIsAccount); e != nil {
			return nil, e
		}
		if s.renames.on() {
			if ok, wait := s.renames.take(now); !ok {
				return nil, errRateLimited(wait, "renames")
			}
		}
		return &replog.Command{Op: replog.OpNick, Name: name, IsAccount: nameIsAccount, Ref: f.Ref, HasRef: f.HasRef}, nil
	})
}

func (h *hub) renameCheckLocked(s *session, name string, nameIsAccount bool) *protocol.Error {
	if s.account != "" {
		return &protocol.Error{Code: protocol.CodeForbidden, Message: "an account's name cannot be changed"}
	}
	key := protocol.FoldName(name)
	if other := h.names[key]; other != nil && other != s || nameIsAccount && key != s.key {
		return &protocol.Error{Code: protocol.CodeUsernameTaken, Message: "username " + protocol.QuoteForMessage(name) + " is already taken"}
	}
	return nil
}

// renameLocked makes a rename (c is nil on a cluster node the user is not
// connected to); limit says whether the rename bucket is checked here.
func (h *hub) renameLocked(s *session, c *conn, name string, nameIsAccount bool, ref string, hasRef bool, now time.Time, limit bool) *protocol.Error {
	old, key := s.name, protocol.FoldName(name)
	renamed := func(withRef bool) []byte {
		b := protocol.NewFrame(nil, protocol.MsgRenamed).Str("from", old).Str("to", name).Raw("ts", h.stampLocked(now))
		if withRef && hasRef {
			b.Str("ref", ref)
		}
		return b.End()
	}
	if name == old { // nothing changes; tell the sender alone
		if c != nil {
			h.sendLocked(c, renamed(true), protocol.MsgRenamed)
		}
		return nil
	}
	if e := h.renameCheckLocked(s, name, nameIsAccount); e != nil {
		return e
	}
	if limit && s.renames.on() {
		if ok, wait := s.renames.take(now); !ok {
			return errRateLimited(wait, "renames")
		}
	}
	for _, r := range s.rooms {
		r.remove(s)
	}
	delete(h.names, s.key)
	s.name, s.key = name, key
	h.names[key] = s
	for _, r := range s.rooms {
		r.insert(s)
	}
	h.saveSessionLocked(s)

	others := renamed(false)
	h.mark++
	s.mark = h.mark
	n := 0
	var slow []*conn
	for _, r := range s.rooms {
		if !h.presenceLocked(r) {
			continue
		}
		for _, m := range r.members {
			if m.mark == h.mark {
				continue
			}
			m.mark = h.mark
			if m.conn == nil {
				continue
			}
			if m.conn.out.enqueueFrame(others, true, true) {
				n++
			} else {
				slow = append(slow, m.conn)
			}
		}
	}
	h.stats.FramesOut.Add(protocol.MsgRenamed, int64(n))
	if c != nil {
		h.sendLocked(c, renamed(true), protocol.MsgRenamed)
	}
	for _, sc := range slow {
		h.kickLocked(sc)
	}
	return nil
}

// registered marks c's session as logged in to the account it just made
// and answers registered (with a new token for v2).
func (h *hub) registered(c *conn, key string, f *protocol.Frame) {
	e := h.change(c, func(s *session) (*replog.Command, *protocol.Error) {
		if h.cl != nil {
			return &replog.Command{Op: replog.OpRegister, Account: key, Ref: f.Ref, HasRef: f.HasRef}, nil
		}
		h.registeredLocked(s, c, key, f.Ref, f.HasRef)
		return nil, nil
	})
	if e != nil {
		c.sendError(f, e)
	}
}

func (h *hub) registeredLocked(s *session, c *conn, key, ref string, hasRef bool) {
	s.account = key
	b := protocol.NewFrame(nil, protocol.MsgRegistered).Str("username", s.name)
	if s.v2 {
		b.Str("session", h.rotateTokenLocked(s))
	}
	if hasRef {
		b.Str("ref", ref)
	}
	if c != nil {
		h.sendAfterSaveLocked(c, b.End(), protocol.MsgRegistered, h.saveSessionLocked(s))
	}
}

// passwordChanged answers password_changed with a new token, which voids
// every other token of the account.
func (h *hub) passwordChanged(c *conn, f *protocol.Frame) {
	e := h.change(c, func(s *session) (*replog.Command, *protocol.Error) {
		if h.cl != nil {
			return &replog.Command{Op: replog.OpPassword, Ref: f.Ref, HasRef: f.HasRef}, nil
		}
		h.passwordChangedLocked(s, c, f.Ref, f.HasRef)
		return nil, nil
	})
	if e != nil {
		c.sendError(f, e)
	}
}

func (h *hub) passwordChangedLocked(s *session, c *conn, ref string, hasRef bool) {
	b := protocol.NewFrame(nil, protocol.MsgPasswordChanged)
	if s.v2 {
		b.Str("session", h.rotateTokenLocked(s))
	}
	if hasRef {
		b.Str("ref", ref)
	}
	if c != nil {
		h.sendAfterSaveLocked(c, b.End(), protocol.MsgPasswordChanged, h.saveSessionLocked(s))
	}
}

// sessionName returns the name and account of c's session.
func (h *hub) sessionName(c *conn) (name, account string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return "", "", false
	}
	return s.name, s.account, true
}
