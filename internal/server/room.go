package server

import (
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"pynet/protocol"
)

// room is the one chat room: who is in it, the id sequence, the history and
// the fanout. A mutex makes it a single owner: every method takes r.mu for
// its whole critical section, and inside it only touches maps and slices and
// calls outQueue.enqueue, which never blocks. So each of these is one
// indivisible step:
//
//   - broadcast: assign id → append to history → enqueue to every member.
//     Every member therefore sees public messages in id order.
//   - join: check name → enqueue welcome + history snapshot → add as member.
//     A joiner gets no gap and no duplicate between history and live traffic.
//   - leave/rename: free the name → announce it.
//
// A member whose queue overflows is removed on the spot (kickLocked) and the
// others are told, still under the lock, so nobody waits for a slow reader.
type room struct {
	cfg   *Config
	stats *Stats
	log   *slog.Logger
	// limits is the welcome's "limits" object, encoded once.
	limits []byte
	server string // the welcome's "server" member

	mu      sync.Mutex       // protects the fields below
	byKey   map[string]*conn // members by folded name
	members []*conn          // the same members, sorted by folded name
	nextID  int64
	hist    *history
	// usersJSON is the encoded sorted array of member names, rebuilt lazily
	// after a change; nil when stale.
	usersJSON []byte
	nameBytes int  // sum of the members' name lengths, for sizing lists
	closing   bool // shutting down: no more left announcements
	// tsMilli and tsJSON cache the last formatted timestamp ("…Z", quoted):
	// every frame within the same millisecond reuses it.
	tsMilli int64
	tsJSON  []byte
}

func newRoom(cfg *Config, stats *Stats, log *slog.Logger) *room {
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
	lb = append(lb, '}')
	return &room{
		cfg:    cfg,
		stats:  stats,
		log:    log,
		limits: lb,
		server: "pynet/" + cfg.Version,
		byKey:  make(map[string]*conn),
		hist:   newHistory(cfg.History),
	}
}

// join adds c as name. It returns username_taken, or nil after queueing the
// welcome and history replay to c and announcing the joiner to the others.
func (r *room) join(c *conn, name string, f *protocol.Frame) *protocol.Error {
	key := protocol.FoldName(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.byKey[key]; taken {
		return &protocol.Error{Code: protocol.CodeUsernameTaken, Message: "username " + protocol.QuoteForMessage(name) + " is already taken"}
	}
	c.name, c.key, c.member = name, key, true
	r.insertLocked(c)
	now := time.Now()

	// The user list is written straight into the welcome (no cached copy
	// to rebuild and throw away at every join of a join storm).
	welcome := make([]byte, 0, 160+r.namesSize()+len(f.Ref)+r.hist.replaySize())
	b := protocol.NewFrame(welcome, protocol.MsgWelcome).Str("username", name).
		StrsFunc("users", len(r.members), r.memberName).
		Int("protocol", protocol.Version).Str("server", r.server).Raw("limits", r.limits)
	if f.HasRef {
		b.Str("ref", f.Ref)
	}
	welcome = r.hist.appendReplay(b.End())
	c.out.enqueue(welcome, false) // exempt from the queue limit: history bounds it
	r.stats.FramesOut.Add(protocol.MsgWelcome, 1)
	r.stats.FramesOut.Add(protocol.MsgMessage, int64(r.hist.n))
	r.stats.Joined.Add(1)

	joined := protocol.NewFrame(nil, protocol.MsgJoined).Str("username", name).Raw("ts", r.stampLocked(now)).End()
	r.fanoutLocked(joined, protocol.MsgJoined, c)
	return nil
}

// leave removes c, if it is a member, and tells the others why.
func (r *room) leave(c *conn, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.member {
		r.removeLocked(c, reason)
	}
}

// removeLocked takes c out of the room (its name is free from now on) and
// announces its departure, unless the server is shutting down.
func (r *room) removeLocked(c *conn, reason string) {
	r.deleteLocked(c)
	c.member = false
	r.stats.Joined.Add(-1)
	c.logger().Info("left", "user", c.name, "reason", reason)
	if r.closing {
		return
	}
	left := protocol.NewFrame(nil, protocol.MsgLeft).Str("username", c.name).
		Str("reason", reason).Raw("ts", r.stampLocked(time.Now())).End()
	r.fanoutLocked(left, protocol.MsgLeft, nil)
}

// broadcast sends a public message from c to every other member, and the
// ack to c when the frame had a ref. It does nothing if c is no longer a
// member (it was cut off while its reader was handling the frame).
func (r *room) broadcast(c *conn, text string, f *protocol.Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !c.member {
		return
	}
	r.nextID++
	id, now := r.nextID, time.Now()
	msg := protocol.NewFrame(make([]byte, 0, 96+len(c.name)+len(text)), protocol.MsgMessage).
		Int("id", id).Str("from", c.name).Str("text", text).Raw("ts", r.stampLocked(now)).End()
	r.hist.add(msg)
	r.stats.Broadcasts.Add(1)
	n := r.fanoutLocked(msg, protocol.MsgMessage, c)
	r.stats.Deliveries.Add(int64(n))
	if f.HasRef {
		r.ackLocked(c, f.Ref, id, now)
	}
}

// private delivers a direct message from c to the member called to.
func (r *room) private(c *conn, to, text string, f *protocol.Frame) *protocol.Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !c.member {
		return nil
	}
	dst := r.byKey[protocol.FoldName(to)]
	if dst == nil || to == "" {
		msg := "nobody called " + protocol.QuoteForMessage(to) + " is online"
		if !f.HasTo {
			msg = `a private message needs "to"`
		}
		return &protocol.Error{Code: protocol.CodeNoSuchUser, Message: msg}
	}
	r.nextID++
	id, now := r.nextID, time.Now()
	frame := protocol.NewFrame(make([]byte, 0, 112+len(c.name)+len(dst.name)+len(text)), protocol.MsgPrivate).
		Int("id", id).Str("from", c.name).Str("to", dst.name).Str("text", text).Raw("ts", r.stampLocked(now)).End()
	r.sendLocked(dst, frame, protocol.MsgPrivate)
	if dst.member {
		r.stats.Deliveries.Add(1)
	}
	if f.HasRef && c.member {
		r.ackLocked(c, f.Ref, id, now)
	}
	return nil
}

// rename changes c's name to name and tells every member, c included (c's
// copy carries the ref).
func (r *room) rename(c *conn, name string, f *protocol.Frame) *protocol.Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !c.member {
		return nil
	}
	old, key, now := c.name, protocol.FoldName(name), time.Now()
	renamed := func(withRef bool) []byte {
		b := protocol.NewFrame(nil, protocol.MsgRenamed).Str("from", old).Str("to", name).Raw("ts", r.stampLocked(now))
		if withRef && f.HasRef {
			b.Str("ref", f.Ref)
		}
		return b.End()
	}
	if name == old { // nothing changes; tell the sender alone
		r.sendLocked(c, renamed(true), protocol.MsgRenamed)
		return nil
	}
	if other, taken := r.byKey[key]; taken && other != c {
		return &protocol.Error{Code: protocol.CodeUsernameTaken, Message: "username " + protocol.QuoteForMessage(name) + " is already taken"}
	}
	r.deleteLocked(c)
	c.name, c.key = name, key
	r.insertLocked(c)
	c.logger().Info("renamed", "from", old, "to", name)
	if f.HasRef {
		r.fanoutLocked(renamed(false), protocol.MsgRenamed, c)
		r.sendLocked(c, renamed(true), protocol.MsgRenamed)
	} else {
		r.fanoutLocked(renamed(false), protocol.MsgRenamed, nil)
	}
	return nil
}

// users returns the encoded sorted array of member names.
func (r *room) users() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.usersLocked()
}

// shutdown stops announcements: during shutdown everyone gets bye anyway.
func (r *room) shutdown() {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
}

// fanoutLocked queues frame to every member except skip and returns how many
// got it. This is the hot path: one shared frame, one enqueue per member.
// Members whose queues overflow are kicked once the loop is done.
func (r *room) fanoutLocked(frame []byte, typ string, skip *conn) int {
	var slow []*conn
	n := 0
	lazy := typ != protocol.MsgMessage // announcements may wait a moment
	for _, m := range r.members {
		if m == skip {
			continue
		}
		if m.out.enqueueFrame(frame, true, lazy) {
			n++
		} else {
			slow = append(slow, m)
		}
	}
	r.stats.FramesOut.Add(typ, int64(n))
	for _, m := range slow {
		if m.member { // an earlier kick's announcement may have kicked it already
			r.kickLocked(m)
		}
	}
	return n
}

// sendLocked queues a frame to one member, kicking it if its queue is full.
func (r *room) sendLocked(c *conn, frame []byte, typ string) {
	if c.out.enqueue(frame, true) {
		r.stats.FramesOut.Add(typ, 1)
	} else {
		r.kickLocked(c)
	}
}

func (r *room) ackLocked(c *conn, ref string, id int64, ts time.Time) {
	r.sendLocked(c, protocol.NewFrame(make([]byte, 0, 64+len(ref)), protocol.MsgAck).
		Str("ref", ref).Int("id", id).Raw("ts", r.stampLocked(ts)).End(), protocol.MsgAck)
}

// kickLocked removes a slow consumer: the others hear left slow_consumer, and
// the connection is told to close (bye if it fits).
func (r *room) kickLocked(c *conn) {
	c.logger().Warn("slow consumer", "user", c.name, "max_queue", r.cfg.MaxQueue)
	r.removeLocked(c, protocol.ReasonSlowConsumer)
	c.stop(protocol.ReasonSlowConsumer)
}

// stampLocked returns t as a quoted ts value, formatting it only when the
// millisecond changed (a broadcast storm formats once per millisecond).
// The bytes are only valid until the next call: callers copy them into a
// frame at once.
func (r *room) stampLocked(t time.Time) []byte {
	if ms := t.UnixMilli(); ms != r.tsMilli || r.tsJSON == nil {
		r.tsMilli = ms
		r.tsJSON = append(protocol.AppendTime(append(r.tsJSON[:0], '"'), t), '"')
	}
	return r.tsJSON
}

// search returns where key is, or would be, in the sorted member list.
func (r *room) search(key string) int {
	return sort.Search(len(r.members), func(i int) bool { return r.members[i].key >= key })
}

func (r *room) insertLocked(c *conn) {
	r.byKey[c.key] = c
	r.nameBytes += len(c.name)
	i := r.search(c.key)
	r.members = append(r.members, nil)
	copy(r.members[i+1:], r.members[i:])
	r.members[i] = c
	r.usersJSON = nil
}

func (r *room) deleteLocked(c *conn) {
	delete(r.byKey, c.key)
	r.nameBytes -= len(c.name)
	if i := r.search(c.key); i < len(r.members) && r.members[i] == c {
		copy(r.members[i:], r.members[i+1:])
		r.members[len(r.members)-1] = nil
		r.members = r.members[:len(r.members)-1]
	}
	r.usersJSON = nil
}

func (r *room) usersLocked() []byte {
	if r.usersJSON == nil {
		r.usersJSON = protocol.AppendStrings(make([]byte, 0, 2+r.namesSize()), len(r.members), r.memberName)
	}
	return r.usersJSON
}

// memberName is the i-th member's name, in list order; r.mu must be held.
func (r *room) memberName(i int) string { return r.members[i].name }

// namesSize is about how many bytes the encoded list of names takes.
func (r *room) namesSize() int { return r.nameBytes + 3*len(r.members) }
