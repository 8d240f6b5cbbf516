package server

import (
	"time"

	"pynet/internal/auth"
	"pynet/internal/store"
	"pynet/protocol"
)

// joinReq is a join that passed every check a reader can make without the
// hub: its members are valid, a password (if any) was verified.
type joinReq struct {
	name     string
	v2       bool
	rooms    []string // folded, without duplicates (v2)
	since    int64
	useSince bool // since was given with the server's epoch
	ref      string
	hasRef   bool
	// token is the hash of the session token a resume presented ("" for
	// none); account the account a password logged in to (nil for none);
	// nameIsAccount says the name is an account (for auth_required).
	token         string
	account       *store.Account
	nameIsAccount bool
	addr          ipKey // the joiner's address (max_per_ip while held)
}

// joinResult tells the reader how a join ended: refused with an error, or
// with a connection that must close (over a capacity limit), or joined.
type joinResult struct {
	err   *protocol.Error
	close string
}

func refused(code, msg string) joinResult {
	return joinResult{err: &protocol.Error{Code: code, Message: msg}}
}

func nameTaken(name string) joinResult {
	return refused(protocol.CodeUsernameTaken, "username "+protocol.QuoteForMessage(name)+" is already taken")
}

// join runs the state checks of a join in the order of PROTOCOL §6 and, if
// they pass, attaches c to a new or resumed session and queues its welcome
// and replays, all in one critical section. In a cluster the join is an
// entry of the log, and every node makes it when it applies that entry.
func (h *hub) join(c *conn, q *joinReq) joinResult {
	q.addr = c.ip
	if h.cl != nil {
		return h.cl.join(c, q)
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return joinResult{close: protocol.ReasonShutdown}
	}
	return h.joinLocked(c, q, now)
}

// joinLocked makes the join q. c is nil on the nodes of a cluster that
// only follow it (the joiner is connected elsewhere): they make the same
// change and send nothing to the joiner.
func (h *hub) joinLocked(c *conn, q *joinReq, now time.Time) joinResult {
	switch {
	case q.token != "":
		s := h.tokens[q.token]
		// Found by the token's hash (which reveals nothing about the token);
		// compared again in constant time as PROTOCOL §5.4 asks.
		if s == nil || s.ended || !auth.TokenEqual(s.tokenHash, q.token) || protocol.FoldName(q.name) != s.key {
			return refused(protocol.CodeAuthFailed, "unknown or expired session; join without it")
		}
		if r := h.capacityLocked(c, s); r != "" {
			return joinResult{close: r}
		}
		h.takeOverLocked(c, s, q, now)
		return joinResult{}
	case q.account != nil:
		key := q.account.Key
		if s := h.names[key]; s != nil {
			if s.account != key {
				return nameTaken(s.name)
			}
			if r := h.capacityLocked(c, s); r != "" {
				return joinResult{close: r}
			}
			h.takeOverLocked(c, s, q, now)
			return joinResult{}
		}
	}
	key := protocol.FoldName(q.name)
	if q.account != nil {
		q.name = q.account.Name
	} else {
		if s := h.names[key]; s != nil {
			return nameTaken(q.name)
		}
		if q.nameIsAccount {
			return refused(protocol.CodeAuthRequired, "the name "+protocol.QuoteForMessage(q.name)+" is an account: log in with its password")
		}
	}
	if e := h.roomsFitLocked(nil, q.rooms); e != nil {
		return joinResult{err: e}
	}
	if r := h.capacityLocked(c, nil); r != "" {
		return joinResult{close: r}
	}
	s := newSession(h, q.name, q.v2, q.addr, now)
	if q.account != nil {
		s.account = key
	}
	h.names[key] = s
	if a := h.applying; a != nil {
		s.id, s.node, s.att = a.cmd.SID, a.cmd.Node, 1
		h.byID[s.id] = s
	}
	if c != nil {
		s.conn = c
		c.sess = s
	}
	h.stats.Joined.Add(1)
	if !q.v2 {
		r := h.roomLocked(protocol.Lobby)
		h.addMemberLocked(r, s, now)
		if c != nil {
			h.welcomeV1Locked(c, s, q)
		}
		return joinResult{}
	}
	tok := h.rotateTokenLocked(s)
	var replays []*roomReplay
	for _, name := range q.rooms {
		r := h.roomLocked(name)
		h.addMemberLocked(r, s, now)
		if c != nil {
			replays = append(replays, h.roomReplayLocked(r, q.since, q.useSince, replayEntered, "", false))
		}
	}
	if c == nil {
		return joinResult{}
	}
	priv := &privReplay{stats: h.stats}
	if q.account != nil && q.useSince && h.store != nil {
		h.privatesFromStoreLocked(priv, s, q.since)
	}
	h.welcomeV2Locked(c, s, q, tok, false, replays, priv, h.saveSessionLocked(s))
	return joinResult{}
}

// capacityLocked re-checks max_clients and max_per_ip for a connection that
// was let in only because some of the places were taken by held sessions
// (PROTOCOL §5.4): a join that takes over a held session (resuming) takes
// its place; any other join is refused if the server or address is still
// over the limit. It returns the bye reason, or "".
func (h *hub) capacityLocked(c *conn, resuming *session) string {
	if c == nil || !c.overLimit || h.cl != nil {
		return "" // a cluster's origin checked before the entry was made
	}
	if resuming != nil && resuming.held {
		return ""
	}
	return h.overCapacity(c)
}

// overCapacity reports the bye reason if this server, or c's address, is
// over its limit with c counted, or "".
func (h *hub) overCapacity(c *conn) string {
	srv := c.srv
	if int(srv.stats.ConnsCurrent.Load())+h.heldCount() > srv.cfg.MaxClients {
		return protocol.ReasonServerFull
	}
	if h.ips.limited(c.ip) && h.ips.count(c.ip) > srv.cfg.MaxPerIP {
		return protocol.ReasonIPLimit
	}
	return ""
}

// roomsFitLocked checks that s (nil for a new session) may be in rooms too:
// max_rooms for the user, the server's room limit (PROTOCOL §5.1).
func (h *hub) roomsFitLocked(s *session, rooms []string) *protocol.Error {
	have, fresh := 0, 0
	if s != nil {
		have = len(s.rooms)
	}
	for _, name := range rooms {
		if r := h.rooms[name]; r == nil || len(r.members) == 0 {
			fresh++
		}
	}
	if have+len(rooms) > h.cfg.MaxRooms {
		return &protocol.Error{Code: protocol.CodeTooManyRooms, Message: "a user may be in at most " + itoa(h.cfg.MaxRooms) + " rooms"}
	}
	if len(h.active)+fresh > h.cfg.MaxRoomsTotal {
		return &protocol.Error{Code: protocol.CodeTooManyRooms, Message: "the server has as many rooms as it can hold"}
	}
	return nil
}

// takeOverLocked attaches c to an existing session s: a resume by token, or
// a login to an account that is online or held (PROTOCOL §5.4, §5.5). A
// connection still attached gets bye replaced; the others are told nothing
// (except, for a v1 client, about the rooms it does not keep).
func (h *hub) takeOverLocked(c *conn, s *session, q *joinReq, now time.Time) {
	wasHeld := s.held
	heldSince := s.heldSince
	if old := s.conn; old != nil {
		old.stop(protocol.ReasonReplaced)
		s.conn = nil
	}
	h.unholdLocked(s)
	s.holdGen++
	s.addr = q.addr
	if a := h.applying; a != nil {
		s.node = a.cmd.Node
		s.att++
	}
	if c != nil {
		s.conn = c
		c.sess = s
	}
	if !q.v2 {
		// A v1 client sees only lobby: members of its other rooms hear
		// left replaced, and it enters lobby if it was not there.
		lobby := h.roomLocked(protocol.Lobby)
		for i := len(s.rooms) - 1; i >= 0; i-- {
			if r := s.rooms[i]; r != lobby {
				h.removeMemberLocked(r, s, protocol.ReasonReplaced, now)
			}
		}
		if !s.inRoom(lobby) {
			h.addMemberLocked(lobby, s, now)
		}
		s.v2 = false
		if s.tokenHash != "" {
			delete(h.tokens, s.tokenHash)
			s.tokenHash = ""
		}
		if c != nil {
			h.welcomeV1Locked(c, s, q)
		}
		if s.id != "" && h.commit != nil {
			h.commit.endSessionLocked(s.id) // v1 sessions are never held: nothing to keep
		}
		return
	}
	if !s.v2 { // a v1 session taken over by a v2 login becomes a v2 session
		s.v2 = true
		if s.id == "" {
			s.id = newID()
		}
	}
	tok := h.rotateTokenLocked(s)
	if c == nil {
		return
	}
	replays := make([]*roomReplay, 0, len(s.rooms))
	for _, r := range s.rooms {
		replays = append(replays, h.roomReplayLocked(r, q.since, q.useSince, replayEntered, "", false))
	}
	priv := &privReplay{stats: h.stats}
	since, want := q.since, q.useSince
	if !want && wasHeld {
		since, want = heldSince, true // the privates kept while it was held
	}
	if want {
		if h.store != nil {
			h.privatesFromStoreLocked(priv, s, since)
		} else {
			priv.ents, priv.gap = privatesAfter(s.privs, since, h.cfg.ReplayMax)
		}
	}
	h.welcomeV2Locked(c, s, q, tok, true, replays, priv, h.saveSessionLocked(s))
}

// privatesAfter returns the oldest limit kept privates with id > since, and
// whether more than limit matched.
func privatesAfter(ents []histEntry, since int64, limit int) ([]histEntry, bool) {
	i := 0
	for i < len(ents) && ents[i].id <= since {
		i++
	}
	n := min(len(ents)-i, limit)
	return append([]histEntry(nil), ents[i:i+n]...), len(ents)-i > limit
}

func (h *hub) privatesFromStoreLocked(p *privReplay, s *session, since int64) {
	p.st, p.keys, p.since, p.upto, p.limit = h.store, s.privateKeys(), since, h.lastID, h.cfg.ReplayMax
}

// welcomeV1Locked queues a v1 welcome (with the lobby's members) and the
// lobby's history replay.
func (h *hub) welcomeV1Locked(c *conn, s *session, q *joinReq) {
	lobby := h.rooms[protocol.Lobby]
	b := protocol.NewFrame(make([]byte, 0, 200+h.listSize(lobby)+len(q.ref)), protocol.MsgWelcome).Str("username", s.name)
	if h.presenceLocked(lobby) {
		b.StrsFunc("users", len(lobby.members), lobby.memberName)
	} else {
		b.Strs("users", []string{s.name})
	}
	b.Int("protocol", protocol.VersionV1).Str("server", h.server).Raw("limits", h.limitsV1).Bool("account", s.account != "")
	if !h.presenceLocked(lobby) {
		b.Int("count", int64(len(lobby.members)))
	}
	if q.hasRef {
		b.Str("ref", q.ref)
	}
	c.out.enqueue(b.End(), false) // exempt from the queue limit (PROTOCOL §5.6)
	h.stats.FramesOut.Add(protocol.MsgWelcome, 1)
	c.out.enqueueSource(h.roomReplayLocked(lobby, 0, false, replayBare, "", false))
}

// welcomeV2Locked queues a v2 welcome followed by the rooms' replays and
// the private replay, as one source: the welcome's privates count is read
// by the writer.
// With a store, the welcome waits for its session (and token) to be saved.
func (h *hub) welcomeV2Locked(c *conn, s *session, q *joinReq, tok string, resumed bool, rooms []*roomReplay, priv *privReplay, saved <-chan struct{}) {
	priv.upto = h.lastID
	head := protocol.NewFrame(make([]byte, 0, 400+len(s.name)), protocol.MsgWelcome).Str("username", s.name).
		Int("protocol", protocol.Version).Str("server", h.server).Raw("limits", h.limitsV2).
		Bool("account", s.account != "").Str("session", tok).Str("epoch", h.epoch).
		Int("last_id", h.lastID).Bool("resumed", resumed)
	jr := &joinReplay{head: head.Bytes(), ref: q.ref, hasRef: q.hasRef, rooms: rooms, priv: priv, stats: h.stats}
	if saved != nil {
		jr.saved, jr.cm, jr.wait = saved, h.commit, h.cfg.WriteTimeout
	}
	c.out.enqueueSource(jr)
}

// roomReplayLocked decides what r's replay holds for a reader entering (or
// fetching) now: without a position, the last `history` messages; with
// one, the oldest replay_max after since. It snapshots the cache when the
// cache has everything the replay needs, and leaves the rest to the store.
func (h *hub) roomReplayLocked(r *room, since int64, useSince bool, kind int, ref string, hasRef bool) *roomReplay {
	rp := &roomReplay{st: h.store, stats: h.stats, room: r.name, kind: kind, ref: ref, hasRf: hasRef, upto: h.lastID}
	if kind == replayEntered {
		b := protocol.NewFrame(make([]byte, 0, 64+h.listSize(r)), protocol.MsgEntered).Str("room", r.name)
		h.appendMembers(b, r)
		rp.head = b.Bytes()
	}
	hist := r.hist
	if !useSince {
		rp.tail, rp.limit = true, h.cfg.History
		if h.store != nil && hist.n < h.cfg.History && hist.floor > 0 {
			rp.fromStore = true
		} else {
			rp.ents = hist.tail(h.cfg.History)
		}
		return rp
	}
	rp.since, rp.limit = since, h.cfg.ReplayMax
	if h.store != nil && since < hist.floor {
		rp.fromStore = true
		return rp
	}
	var total int
	rp.ents, total = hist.after(since, h.cfg.ReplayMax)
	rp.gap = since < hist.floor || total > h.cfg.ReplayMax
	return rp
}

// detach is called by a connection's reader when it ends: the session is
// held (a v2 connection that dropped), ended (announcing why), or left as
// it is (the connection was replaced, or the server is shutting down).
func (h *hub) detach(c *conn, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := c.sess
	if s == nil || s.conn != c || s.ended {
		return
	}
	if h.cl != nil {
		// Every node holds or ends the session when it applies this; the
		// connection is gone from here at once.
		s.conn = nil
		h.cl.detachLocked(s, reason)
		return
	}
	switch {
	case reason == protocol.ReasonShutdown || h.closing:
		// Nothing is announced; with a store the session stays saved and
		// is held again from the restart.
		s.conn = nil
		h.stats.Joined.Add(-1) // not online in this process any more
		if h.store == nil || !s.v2 {
			s.ended = true
		}
	case s.v2 && h.cfg.ResumeGrace > 0 && (reason == protocol.ReasonDisconnect || reason == protocol.ReasonTimeout):
		h.holdLocked(s, reason)
	default:
		h.endSessionLocked(s, reason)
	}
}

// insecure reports whether secrets must not travel over c (PROTOCOL §5.5).
func (c *conn) insecure() bool {
	return c.srv.cfg.TLS == nil && !c.srv.cfg.InsecureAuth && !isLoopbackPeer(c.peer)
}

// lookUpToken returns the hash of tok and whether it names a session logged
// in to an account (so that insecure_auth can be decided first).
func (h *hub) lookUpToken(tok string) (hash string, account bool) {
	hash = auth.HashToken(tok)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.tokens[hash]
	return hash, s != nil && s.account != ""
}
