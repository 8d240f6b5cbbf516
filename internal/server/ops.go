package server

import (
	"strconv"
	"time"

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
func (h *hub) publish(c *conn, room, text string, action bool, f *protocol.Frame) *protocol.Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return errNoAnswer // the connection is going
	}
	if c.v2 && f.HasRef && h.duplicateLocked(c, f.Ref) {
		return errNoAnswer
	}
	r := h.rooms[room]
	if r == nil || !s.inRoom(r) {
		return errNotInRoom(room)
	}
	m := &outMsg{room: r, from: s, via: c}
	if f.HasRef {
		m.ref = f.Ref
	}
	h.acceptLocked(m, text, action)
	return nil
}

// private accepts a direct message from c to the online or held user to.
func (h *hub) private(c *conn, to, text string, f *protocol.Frame) *protocol.Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return errNoAnswer // the connection is going
	}
	if c.v2 && f.HasRef && h.duplicateLocked(c, f.Ref) {
		return errNoAnswer
	}
	dst := h.names[protocol.FoldName(to)]
	if dst == nil || to == "" {
		msg := "nobody called " + protocol.QuoteForMessage(to) + " is online"
		if !f.HasTo {
			msg = `a private message needs "to"`
		}
		return &protocol.Error{Code: protocol.CodeNoSuchUser, Message: msg}
	}
	m := &outMsg{from: s, to: dst, via: c}
	if f.HasRef {
		m.ref = f.Ref
	}
	h.acceptLocked(m, text, false)
	return nil
}

// enter puts c's session in room and queues entered and the replay.
func (h *hub) enter(c *conn, room string, since int64, useSince bool, f *protocol.Frame, now time.Time) *protocol.Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return nil
	}
	r := h.rooms[room]
	if r != nil && s.inRoom(r) {
		return &protocol.Error{Code: protocol.CodeAlreadyInRoom, Message: "you are already in room " + protocol.QuoteForMessage(room)}
	}
	if e := h.roomsFitLocked(s, []string{room}); e != nil {
		return e
	}
	if ok, wait := s.roomOps.take(now); !ok {
		return errRateLimited(wait, "enter and exit frames")
	}
	r = h.roomLocked(room)
	h.addMemberLocked(r, s, now)
	c.out.enqueueSource(h.roomReplayLocked(r, since, useSince, replayEntered, f.Ref, f.HasRef))
	h.saveSessionLocked(s)
	return nil
}

// exit takes c's session out of room; it gets nothing of it after exited.
func (h *hub) exit(c *conn, room string, f *protocol.Frame, now time.Time) *protocol.Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, r, e := h.memberOfLocked(c, room)
	if s == nil || e != nil {
		return e
	}
	if ok, wait := s.roomOps.take(now); !ok {
		return errRateLimited(wait, "enter and exit frames")
	}
	h.removeMemberLocked(r, s, protocol.ReasonExit, now)
	b := protocol.NewFrame(nil, protocol.MsgExited).Str("room", room)
	if f.HasRef {
		b.Str("ref", f.Ref)
	}
	h.sendLocked(c, b.End(), protocol.MsgExited)
	h.saveSessionLocked(s)
	return nil
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
		size += r.namesSize()
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
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return nil
	}
	old, key := s.name, protocol.FoldName(name)
	renamed := func(withRef bool) []byte {
		b := protocol.NewFrame(nil, protocol.MsgRenamed).Str("from", old).Str("to", name).Raw("ts", h.stampLocked(now))
		if withRef && f.HasRef {
			b.Str("ref", f.Ref)
		}
		return b.End()
	}
	if name == old { // nothing changes; tell the sender alone
		h.sendLocked(c, renamed(true), protocol.MsgRenamed)
		return nil
	}
	if s.account != "" {
		return &protocol.Error{Code: protocol.CodeForbidden, Message: "an account's name cannot be changed"}
	}
	if other := h.names[key]; other != nil && other != s || nameIsAccount && key != s.key {
		return &protocol.Error{Code: protocol.CodeUsernameTaken, Message: "username " + protocol.QuoteForMessage(name) + " is already taken"}
	}
	if s.renames.on() {
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
	h.sendLocked(c, renamed(true), protocol.MsgRenamed)
	for _, sc := range slow {
		h.kickLocked(sc)
	}
	return nil
}

// registered marks c's session as logged in to the account it just made
// and answers registered (with a new token for v2).
func (h *hub) registered(c *conn, key string, f *protocol.Frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return
	}
	s.account = key
	b := protocol.NewFrame(nil, protocol.MsgRegistered).Str("username", s.name)
	if s.v2 {
		b.Str("session", h.rotateTokenLocked(s))
	}
	if f.HasRef {
		b.Str("ref", f.Ref)
	}
	h.sendAfterSaveLocked(c, b.End(), protocol.MsgRegistered, h.saveSessionLocked(s))
}

// passwordChanged answers password_changed with a new token, which voids
// every other token of the account.
func (h *hub) passwordChanged(c *conn, f *protocol.Frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.attachedLocked(c)
	if s == nil {
		return
	}
	b := protocol.NewFrame(nil, protocol.MsgPasswordChanged)
	if s.v2 {
		b.Str("session", h.rotateTokenLocked(s))
	}
	if f.HasRef {
		b.Str("ref", f.Ref)
	}
	h.sendAfterSaveLocked(c, b.End(), protocol.MsgPasswordChanged, h.saveSessionLocked(s))
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
