package server

import (
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"pynet/internal/store"
	"pynet/protocol"
)

// hub owns everything users share: the id sequence, the rooms and their
// members, the names and sessions, the history caches and the fanout. One
// mutex (hub.mu) guards all of it, and that is the ordering argument of
// PROTOCOL §5.3:
//
//   - Ids are assigned under hub.mu, and every message is delivered (queued
//     to its recipients' outQueues, appended to its room's history) under
//     hub.mu in increasing id order: in memory mode in the same critical
//     section that assigned its id; with a store by one goroutine (the
//     committer), which delivers whole committed batches in id order after
//     their commit. A connection's queue
//     is appended to only under hub.mu (or by its own reader for replies
//     that carry no id), so live message, private and ack frames reach every
//     connection in increasing id order, whatever rooms they come from.
//     Per-room locks would break this: two rooms could enqueue to a member
//     of both in the opposite order of their ids.
//   - Membership changes (enter, exit, join, hold expiry) happen under
//     hub.mu between two deliveries. An enter snapshots lastID, queues the
//     entered frame and a replay of ids ≤ lastID, and adds the member, in one
//     critical section; every later delivery has a higher id and is queued
//     behind the replay. So the hand-over has no gap and no duplicate.
//   - Critical sections touch memory only: they never do I/O, never hash a
//     password and never wait. Replays are read from the history cache or
//     the store by the connection's writer as it drains (replay.go), and
//     the store is written by the committer outside the lock.
//
// Lock order: hub.mu, then a conn's stopMu, an outQueue's mu (and from it
// the lazy flusher's mu) or the ipLimiter's mu; never the other way round.
type hub struct {
	cfg    *Config
	stats  *Stats
	log    *slog.Logger
	store  store.Store // nil: memory only
	epoch  string
	server string // "pynet/VERSION"
	// limitsV1 and limitsV2 are the welcome's "limits" objects, encoded once.
	limitsV1, limitsV2 []byte
	ips                *ipLimiter
	commit             *committer   // nil in memory mode and in a cluster
	cl                 *clusterNode // nil unless Config.Cluster is set
	// applying is the cluster entry being applied (nil otherwise): its
	// time and token stand in for the clock and the random source, so
	// every node makes the same change.
	applying *applied

	mu       sync.Mutex
	nextID   int64               // the next id to assign
	lastID   int64               // the highest id delivered: every id ≤ it is committed and fanned out
	names    map[string]*session // online and held users, by folded name
	tokens   map[string]*session // v2 sessions by token hash
	byID     map[string]*session // cluster: every session by id
	rooms    map[string]*room    // rooms in memory, by folded name
	active   []*room             // rooms with members, sorted by name
	empty    roomLRU             // rooms in memory without members
	held     atomic.Int64        // sessions held (no connection); written under mu, read without it
	heldIP   map[ipKey]int       // held sessions by address
	closing  bool                // shutting down: no more announcements
	mark     uint64              // generation for once-per-user fanout (renamed)
	forgotAt int64               // lastID when a room was last forgotten
	// tsMilli and tsJSON cache the last formatted timestamp ("…Z", quoted):
	// every frame within the same millisecond reuses it.
	tsMilli int64
	tsJSON  []byte
}

func newHub(cfg *Config, stats *Stats, log *slog.Logger, ips *ipLimiter) *hub {
	h := &hub{
		cfg:    cfg,
		stats:  stats,
		log:    log,
		store:  cfg.Store,
		server: "pynet/" + cfg.Version,
		ips:    ips,
		nextID: 1,
		names:  make(map[string]*session),
		tokens: make(map[string]*session),
		byID:   make(map[string]*session),
		rooms:  make(map[string]*room),
		heldIP: make(map[ipKey]int),
	}
	rate, burst := cfg.Rate, cfg.Burst
	if !cfg.rateLimited() {
		rate, burst = 0, 0
	}
	lb := []byte(`{"max_frame":`)
	lb = strconv.AppendInt(lb, int64(cfg.MaxFrame), 10)
	lb = append(lb, `,"max_text":`...)
	lb = strconv.AppendInt(lb, protocol.MaxText, 10)
	lb = append(lb, `,"rate":`...)
	lb = strconv.AppendFloat(lb, rate, 'f', -1, 64)
	lb = append(lb, `,"burst":`...)
	lb = strconv.AppendInt(lb, int64(burst), 10)
	h.limitsV1 = append(append([]byte(nil), lb...), '}')
	for _, kv := range []struct {
		k string
		v int64
	}{
		{"max_rooms", int64(cfg.MaxRooms)},
		{"presence_limit", int64(cfg.PresenceLimit)},
		{"history", int64(cfg.History)},
		{"replay_max", int64(cfg.ReplayMax)},
		{"resume_grace_ms", cfg.ResumeGrace.Milliseconds()},
	} {
		lb = append(lb, `,"`...)
		lb = append(lb, kv.k...)
		lb = append(lb, `":`...)
		lb = strconv.AppendInt(lb, kv.v, 10)
	}
	h.limitsV2 = append(lb, '}')
	if cfg.Cluster != nil {
		h.store = cfg.Cluster.Store()
		h.epoch = cfg.Cluster.Epoch()
		h.cl = newClusterNode(h, cfg.Cluster)
	} else if h.store != nil {
		h.epoch = h.store.Epoch()
		h.nextID = h.store.NextID()
		h.lastID = h.nextID - 1
		h.commit = newCommitter(h)
	} else {
		h.epoch = newEpoch()
	}
	return h
}

// stampLocked returns t as a quoted ts value, formatting it only when the
// millisecond changed. The bytes are valid until the next call: callers copy
// them into a frame at once.
func (h *hub) stampLocked(t time.Time) []byte {
	if ms := t.UnixMilli(); ms != h.tsMilli || h.tsJSON == nil {
		h.tsMilli = ms
		h.tsJSON = append(protocol.AppendTime(append(h.tsJSON[:0], '"'), t), '"')
	}
	return h.tsJSON
}

// now is the time of the change being made: the entry's time in a
// cluster, the clock otherwise.
func (h *hub) now() time.Time {
	if a := h.applying; a != nil {
		return a.ts
	}
	return time.Now()
}

// shutdown stops announcements: during shutdown everyone gets bye anyway,
// and sessions end (or, with a store, stay saved) without a word.
func (h *hub) shutdown() {
	h.mu.Lock()
	h.closing = true
	for _, s := range h.names {
		if s.held && !s.ended {
			h.stats.Joined.Add(-1) // held: saved in the store, or gone with the server
		}
		s.stopHoldLocked()
	}
	h.mu.Unlock()
}

// ---- fanout: the hot path ----

// fanoutLocked queues frame to every connected member of r except skip and
// returns how many got it. One shared frame, one enqueue per member. Members
// whose queues overflow are cut off once the loop is done.
func (h *hub) fanoutLocked(r *room, frame []byte, typ string, skip *session) int {
	var slow []*conn
	n := 0
	lazy := typ != protocol.MsgMessage // announcements may wait a moment
	// Start at a random member: the writer pool writes queues in the order
	// they were listed, so from the first member on the same users (by
	// name) would always be the last written in a big room.
	start := 0
	if len(r.members) > 1 {
		start = rand.IntN(len(r.members))
	}
	for _, part := range [2][]*session{r.members[start:], r.members[:start]} {
		for _, m := range part {
			c := m.conn
			if c == nil || m == skip {
				continue
			}
			if c.out.enqueueFrame(frame, true, lazy) {
				n++
			} else {
				slow = append(slow, c)
			}
		}
	}
	h.stats.FramesOut.Add(typ, int64(n))
	for _, c := range slow {
		h.kickLocked(c)
	}
	return n
}

// sendLocked queues a frame to one connection, cutting it off if its queue
// is full.
func (h *hub) sendLocked(c *conn, frame []byte, typ string) {
	if c.out.enqueue(frame, true) {
		h.stats.FramesOut.Add(typ, 1)
	} else {
		h.kickLocked(c)
	}
}

// kickLocked cuts off a slow consumer: its queue is made final at once
// (nothing more is queued to it; bye goes out if it fits), and its reader
// wakes up and ends the session (others hear left slow_consumer) in a
// critical section of its own. So a fanout that finds many slow readers
// costs O(members) here, not O(slow × members) in one critical section.
func (h *hub) kickLocked(c *conn) {
	c.stop(protocol.ReasonSlowConsumer)
}

// cutOff ends a slow consumer found outside the hub's lock (a direct reply
// that did not fit).
func (h *hub) cutOff(c *conn) {
	h.mu.Lock()
	h.kickLocked(c)
	h.mu.Unlock()
}

// ---- messages ----

// outMsg is an accepted message on its way to its recipients: built under
// hub.mu with its id, then (with a store) committed, then delivered.
type outMsg struct {
	id    int64
	ts    time.Time
	room  *room    // nil for a private
	from  *session // sender
	to    *session // private: recipient
	via   *conn    // the connection it came in on, for the ack
	frame []byte   // the live frame
	ref   string   // "" without a ref
	entry *refEntry
	rec   *store.Message // with a store only: what the committer writes
}

// acceptLocked assigns the next id to m's message, builds its frame and
// either delivers it at once (memory mode) or hands it to the committer.
func (h *hub) acceptLocked(m *outMsg, text string, action bool) {
	m.id = h.nextID
	h.nextID++
	if m.ts.IsZero() {
		m.ts = time.Now()
	}
	from := m.from
	if m.room != nil {
		b := protocol.NewFrame(make([]byte, 0, 112+len(from.name)+len(text)+len(m.room.name)), protocol.MsgMessage).
			Int("id", m.id).Str("from", from.name).Str("text", text).Str("room", m.room.name).Raw("ts", h.stampLocked(m.ts))
		if action {
			b.Bool("action", true)
		}
		m.frame = b.End()
	} else {
		m.frame = protocol.NewFrame(make([]byte, 0, 112+len(from.name)+len(m.to.name)+len(text)), protocol.MsgPrivate).
			Int("id", m.id).Str("from", from.name).Str("to", m.to.name).Str("text", text).Raw("ts", h.stampLocked(m.ts)).End()
	}
	if m.ref != "" && from.v2 {
		m.entry = from.refs.add(m.ref, m.id, m.ts, h.commit == nil)
	}
	if m.via != nil {
		m.via.lastAccepted = m.id
	}
	if h.commit == nil {
		h.deliverLocked(m)
		return
	}
	m.rec = &store.Message{ID: m.id, TS: m.ts, From: from.name, Text: text, Action: action, Ref: m.ref}
	if from.v2 {
		m.rec.Session = from.id
		m.rec.FromKey = from.ownerKey()
	}
	if m.room != nil {
		m.rec.Room = m.room.name
	} else {
		m.rec.To = m.to.name
		m.rec.ToKey = m.to.ownerKey()
	}
	h.commit.addLocked(m)
}

// deliverLocked records and fans out one message whose id is the next in
// order (all lower ids are delivered), and acknowledges it.
func (h *hub) deliverLocked(m *outMsg) {
	h.lastID = m.id
	if r := m.room; r != nil {
		h.stats.Broadcasts.Add(1)
		if h.commit != nil {
			// The room as it is now: a room that emptied and was forgotten
			// while the message was being committed may have been made
			// again since (nil: nobody is in it any more; the store has it).
			// In memory mode delivery is in the accepting critical section.
			r = h.rooms[r.name]
		}
		if r != nil {
			r.hist.add(m.id, m.frame)
			h.stats.Deliveries.Add(int64(h.fanoutLocked(r, m.frame, protocol.MsgMessage, m.from)))
		}
	} else {
		to := m.to
		if c := to.conn; c != nil {
			h.sendLocked(c, m.frame, protocol.MsgPrivate)
			h.stats.Deliveries.Add(1)
		}
		if h.store == nil { // memory mode keeps privates for the private replay
			to.keepPrivate(m.id, m.frame, h.cfg.ReplayMax)
			if m.from != to {
				m.from.keepPrivate(m.id, m.frame, h.cfg.ReplayMax)
			}
		}
	}
	if m.ref == "" {
		return
	}
	ack := h.ackFrame(m.ref, m.id, m.ts)
	if c := m.via; c != nil && m.from.conn == c {
		h.sendLocked(c, ack, protocol.MsgAck)
	}
	if e := m.entry; e != nil {
		e.stored = true
		for _, w := range e.waiters {
			if m.from.conn == w {
				h.sendLocked(w, ack, protocol.MsgAck)
			}
		}
		e.waiters = nil
	}
}

func (h *hub) ackFrame(ref string, id int64, ts time.Time) []byte {
	return protocol.NewFrame(make([]byte, 0, 64+len(ref)), protocol.MsgAck).
		Str("ref", ref).Int("id", id).Raw("ts", h.stampLocked(ts)).End()
}

// duplicateLocked handles a v2 resend (PROTOCOL §5.3): if the session sent
// ref in the last 10 minutes, it acks with the original id and ts (at once,
// or once the original is stored) and reports true.
func (h *hub) duplicateLocked(c *conn, ref string) bool {
	s := c.sess
	if s == nil || !s.v2 || s.conn != c || ref == "" {
		return false
	}
	e := s.refs.get(ref, time.Now())
	if e == nil {
		return false
	}
	if e.stored {
		h.sendLocked(c, h.ackFrame(ref, e.id, e.ts), protocol.MsgAck)
	} else if len(e.waiters) < maxRefWaiters {
		e.waiters = append(e.waiters, c)
	}
	return true
}

// maxRefWaiters bounds how many resends of one ref wait for its commit.
const maxRefWaiters = 8

// ---- membership ----

// roomLocked returns the room called name, making it if needed (made rooms
// start with an empty history cache whose floor says what it cannot know).
func (h *hub) roomLocked(name string) *room {
	if r := h.rooms[name]; r != nil {
		return r
	}
	floor := h.forgotAt
	if h.store != nil {
		// Older messages are in the store, and so may be messages accepted
		// but not yet committed (nextID-1 covers those too).
		floor = h.nextID - 1
	}
	r := &room{name: name, hist: newHistory(h.cfg.History, floor), emptyAt: time.Now()}
	h.rooms[name] = r
	h.parkLocked(r)
	return r
}

// addMemberLocked puts s in r and announces it (under the presence limit).
func (h *hub) addMemberLocked(r *room, s *session, now time.Time) {
	if len(r.members) == 0 {
		h.empty.remove(r)
		h.activateLocked(r)
	}
	r.insert(s)
	s.rooms = append(s.rooms, r)
	if h.presenceLocked(r) && !h.closing {
		joined := protocol.NewFrame(nil, protocol.MsgJoined).Str("username", s.name).Str("room", r.name).
			Raw("ts", h.stampLocked(now)).End()
		h.fanoutLocked(r, joined, protocol.MsgJoined, s)
	}
}

// removeMemberLocked takes s out of r and tells the others why.
func (h *hub) removeMemberLocked(r *room, s *session, reason string, now time.Time) {
	if !r.remove(s) {
		return
	}
	for i, x := range s.rooms {
		if x == r {
			s.rooms = append(s.rooms[:i], s.rooms[i+1:]...)
			break
		}
	}
	if len(r.members) == 0 {
		h.deactivateLocked(r)
		r.emptyAt = now
		h.parkLocked(r)
		h.forgetRoomsLocked(now)
		return
	}
	if h.presenceLocked(r) && !h.closing {
		left := protocol.NewFrame(nil, protocol.MsgLeft).Str("username", s.name).Str("room", r.name).
			Str("reason", reason).Raw("ts", h.stampLocked(now)).End()
		h.fanoutLocked(r, left, protocol.MsgLeft, s)
	}
}

// listSize is the room of r's member list in a frame: none over the
// presence limit, where no list is sent (a join to a room of thousands
// must not allocate a list's worth for nothing: that made join storms
// grow the heap, and idle memory with it).
func (h *hub) listSize(r *room) int {
	if !h.presenceLocked(r) {
		return 0
	}
	return r.namesSize()
}

// presenceLocked reports whether r is small enough for announcements and
// lists (PROTOCOL §5.6).
func (h *hub) presenceLocked(r *room) bool { return len(r.members) <= h.cfg.PresenceLimit }

// forgetRoomsLocked drops rooms without members after a day, or sooner,
// least recently used first, while more than maxEmptyRooms wait (PROTOCOL
// §5.1). With a store their history stays there.
func (h *hub) forgetRoomsLocked(now time.Time) {
	for {
		r := h.empty.oldest()
		if r == nil || h.empty.n <= maxEmptyRooms && now.Sub(r.emptyAt) < emptyRoomTTL {
			return
		}
		h.empty.remove(r)
		delete(h.rooms, r.name)
		h.forgotAt = h.lastID
	}
}

// parkLocked lists an empty room for forgetting; lobby always exists.
func (h *hub) parkLocked(r *room) {
	if r.name != protocol.Lobby {
		h.empty.push(r)
	}
}

const (
	maxEmptyRooms = 1000
	emptyRoomTTL  = 24 * time.Hour
)

// activateLocked adds r to the sorted list of rooms with members.
func (h *hub) activateLocked(r *room) {
	i := h.activeIndex(r.name)
	h.active = append(h.active, nil)
	copy(h.active[i+1:], h.active[i:])
	h.active[i] = r
}

func (h *hub) deactivateLocked(r *room) {
	if i := h.activeIndex(r.name); i < len(h.active) && h.active[i] == r {
		h.active = append(h.active[:i], h.active[i+1:]...)
	}
}

// activeIndex is where name is, or would be, in h.active.
func (h *hub) activeIndex(name string) int {
	lo, hi := 0, len(h.active)
	for lo < hi {
		mid := (lo + hi) / 2
		if h.active[mid].name < name {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// appendMembers adds a room's sorted member list (absent over the presence
// limit) and its count to b. r may be nil: a room nobody is in.
func (h *hub) appendMembers(b *protocol.Builder, r *room) *protocol.Builder {
	n := 0
	if r != nil {
		n = len(r.members)
	}
	if n <= h.cfg.PresenceLimit {
		if r == nil {
			b.Raw("users", []byte("[]"))
		} else {
			b.StrsFunc("users", n, r.memberName)
		}
	}
	return b.Int("count", int64(n))
}

// heldCount and heldAt are for the accept loop's capacity checks; the
// count needs no lock, so an accept storm does not contend with fanout.
func (h *hub) heldCount() int { return int(h.held.Load()) }

func (h *hub) heldAt(ip ipKey) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.heldIP[ip]
}

// startJanitor forgets idle empty rooms once a minute (they are otherwise
// forgotten when another room empties); the returned func stops it.
func (h *hub) startJanitor() (stop func()) {
	t := time.NewTicker(time.Minute)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case now := <-t.C:
				h.mu.Lock()
				h.forgetRoomsLocked(now)
				h.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	return func() { t.Stop(); close(done) }
}

// restore holds again, from this start, the sessions the store kept
// (connected or held when the server last stopped), with their rooms,
// names and de-duplication windows (PROTOCOL §5.4).
func (h *hub) restore() error {
	saved, err := h.store.Sessions()
	if err != nil {
		return err
	}
	refs, err := h.store.RecentRefs(time.Now().Add(-refWindowTime))
	if err != nil {
		return err
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	byID := make(map[string]*session, len(saved))
	for _, ss := range saved {
		key := protocol.FoldName(ss.Name)
		if h.names[key] != nil || protocol.CheckUsername(ss.Name) != nil {
			h.commit.endSessionLocked(ss.ID)
			continue
		}
		s := newSession(h, ss.Name, true, ipKeyFromString(ss.Addr), now)
		s.id, s.tokenHash, s.account = ss.ID, ss.TokenHash, ss.Account
		h.names[key] = s
		if s.tokenHash != "" {
			h.tokens[s.tokenHash] = s
		}
		h.seatLocked(s, ss.Rooms)
		h.stats.Joined.Add(1)
		byID[s.id] = s
		if h.cfg.ResumeGrace > 0 {
			h.holdLocked(s, protocol.ReasonDisconnect)
			s.heldSince = min(ss.LastID, h.lastID)
		} else {
			h.endSessionLocked(s, protocol.ReasonDisconnect)
		}
	}
	for _, m := range refs {
		if s := byID[m.Session]; s != nil && !s.ended {
			s.refs.add(m.Ref, m.ID, m.TS, true)
		}
	}
	return nil
}

// seatLocked puts a session brought back (from the store, or a cluster's
// snapshot) in its rooms without announcing it: it never left them.
func (h *hub) seatLocked(s *session, rooms []string) {
	for _, name := range rooms {
		if _, e := protocol.FoldRoom(name); e != nil || len(s.rooms) >= h.cfg.MaxRooms {
			continue
		}
		r := h.roomLocked(name)
		if len(r.members) == 0 {
			h.empty.remove(r)
			h.activateLocked(r)
		}
		r.insert(s)
		s.rooms = append(s.rooms, r)
	}
}

// waitDelivered waits until every id up to id is delivered (so its ack is
// queued), for at most d. In memory mode delivery is immediate.
func (h *hub) waitDelivered(id int64, d time.Duration) {
	cm := h.commit
	if cm == nil || id == 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		h.mu.Lock()
		done, ch := h.lastID >= id, cm.delivered
		h.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-cm.failed:
			return
		case <-t.C:
			return
		}
	}
}
