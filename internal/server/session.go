package server

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"pynet/internal/auth"
	"pynet/internal/store"
	"pynet/protocol"
)

// session is a user as the others see it: a name, the rooms it is in, and
// for v2 the token, the de-duplication window and the privates kept for its
// replay. It outlives its connection while it is held (PROTOCOL §5.4): a
// held session has conn == nil, stays in its rooms, keeps its name, and
// gets nothing live. The hub's mutex guards every field.
type session struct {
	id        string // stable internal id (never on the wire); "" for v1
	name, key string
	v2        bool
	account   string // folded account name, "" for a guest
	tokenHash string
	rooms     []*room // in the order they were entered
	conn      *conn   // nil while held (and, in a cluster, while connected to another node)
	addr      ipKey   // last client address, for max_per_ip while held
	ended     bool
	held      bool   // no connection, waiting for a resume until its grace passes
	node      string // cluster: the node its connection (or hold timer) is on
	att       uint64 // cluster: bumped at every attach, so a replaced connection's requests do nothing

	// Hold state.
	holdTimer  *time.Timer
	holdGen    uint64 // bumped at every hold and resume, so a stale timer does nothing
	holdReason string
	heldSince  int64 // lastID when the hold began: privates after it were kept for it

	refs    refWindow
	privs   []histEntry // memory mode: the last replayMax privates sent or received
	renames tokenBucket // the rename limit
	roomOps tokenBucket // enter and exit
	mark    uint64      // hub.mark when last reached by a once-per-user fanout
}

func newSession(h *hub, name string, v2 bool, addr ipKey, now time.Time) *session {
	s := &session{name: name, key: protocol.FoldName(name), v2: v2, addr: addr}
	if v2 {
		s.id = newID()
	}
	cfg := h.cfg
	if cfg.RenameBurst > 0 && cfg.RenameEvery > 0 {
		s.renames = newTokenBucketValue(1/cfg.RenameEvery.Seconds(), cfg.RenameBurst, now)
	}
	s.roomOps = newTokenBucketValue(roomOpsRate, roomOpsBurst, now)
	return s
}

// The enter/exit bucket of PROTOCOL §5.1.
const (
	roomOpsBurst = 20
	roomOpsRate  = 1.0
)

// ownerKey names who may see this session's privates again: its account, or
// the session itself for a guest.
func (s *session) ownerKey() string {
	if s.account != "" {
		return "a:" + s.account
	}
	if s.id != "" {
		return "s:" + s.id
	}
	return ""
}

// privateKeys are the owner keys whose privates this session replays.
func (s *session) privateKeys() []string {
	keys := []string{"s:" + s.id}
	if s.account != "" {
		keys = append(keys, "a:"+s.account)
	}
	return keys
}

// keepPrivate records a private for this session's replay (memory mode).
func (s *session) keepPrivate(id int64, frame []byte, max int) {
	if !s.v2 {
		return
	}
	if len(s.privs) >= max {
		n := copy(s.privs, s.privs[len(s.privs)-max+1:])
		clear(s.privs[n:])
		s.privs = s.privs[:n]
	}
	s.privs = append(s.privs, histEntry{id, frame})
}

// rotateTokenLocked gives the session a new token, voiding the old one, and
// returns it (PROTOCOL §5.4: every welcome, registered and password_changed).
func (h *hub) rotateTokenLocked(s *session) string {
	if s.tokenHash != "" {
		delete(h.tokens, s.tokenHash)
	}
	var tok string
	if a := h.applying; a != nil {
		// A cluster entry: the origin made the token and put only its hash
		// in the log; only the origin can reveal the token itself.
		tok, s.tokenHash = a.token, a.newToken
	} else {
		tok = auth.NewToken()
		s.tokenHash = auth.HashToken(tok)
	}
	h.tokens[s.tokenHash] = s
	return tok
}

// holdLocked keeps a v2 session whose connection dropped for ResumeGrace.
func (h *hub) holdLocked(s *session, reason string) {
	s.conn = nil
	s.held = true
	s.holdGen++
	s.holdReason = reason
	s.heldSince = h.lastID
	gen := s.holdGen
	if !h.ownsLocked(s) {
		return // another node keeps its place and runs its timer
	}
	h.held.Add(1)
	h.heldIP[s.addr]++
	h.ips.add(s.addr)
	s.holdTimer = time.AfterFunc(h.cfg.ResumeGrace, func() { h.expireHold(s, gen) })
	h.saveSessionLocked(s)
}

// ownsLocked reports whether this process keeps s's connection or hold
// timer: always on one node; in a cluster, only on the node named in s.
func (h *hub) ownsLocked(s *session) bool { return h.cl == nil || s.node == h.cl.node }

// expireHold ends a held session whose grace passed: the others now hear
// that it left, with the reason its connection ended.
func (h *hub) expireHold(s *session, gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.ended || !s.held || s.holdGen != gen || h.closing {
		return
	}
	if h.cl != nil {
		h.cl.expireLocked(s, gen) // every node ends it when the log says so
		return
	}
	h.endSessionLocked(s, s.holdReason)
}

// unholdLocked ends a hold because a connection takes the session over.
func (h *hub) unholdLocked(s *session) {
	if !s.held || s.ended {
		return
	}
	s.held = false
	s.stopHoldLocked()
	if !h.ownsLocked(s) {
		return
	}
	h.held.Add(-1)
	if n := h.heldIP[s.addr]; n <= 1 {
		delete(h.heldIP, s.addr)
	} else {
		h.heldIP[s.addr] = n - 1
	}
	h.ips.release(s.addr)
}

func (s *session) stopHoldLocked() {
	s.holdGen++
	if s.holdTimer != nil {
		s.holdTimer.Stop()
		s.holdTimer = nil
	}
}

// endSessionLocked ends a session: it leaves every room (the others hear
// reason), its name is free, its token void, and the store forgets it.
func (h *hub) endSessionLocked(s *session, reason string) {
	if s.ended {
		return
	}
	h.unholdLocked(s)
	s.ended = true
	now := h.now()
	for len(s.rooms) > 0 {
		h.removeMemberLocked(s.rooms[len(s.rooms)-1], s, reason, now)
	}
	if h.names[s.key] == s {
		delete(h.names, s.key)
	}
	if h.byID[s.id] == s {
		delete(h.byID, s.id)
	}
	if s.tokenHash != "" {
		delete(h.tokens, s.tokenHash)
	}
	h.stats.Joined.Add(-1)
	if s.v2 && h.commit != nil {
		h.commit.endSessionLocked(s.id)
	}
}

// saveSessionLocked asks the committer to save s (with a store) and returns
// a channel closed once it is saved (nil without a store: nothing to wait
// for). A frame that reveals a new token waits for it, so that a token a
// client holds survives a crash (PROTOCOL §5.3: sessions are in the store).
func (h *hub) saveSessionLocked(s *session) <-chan struct{} {
	if s.v2 && h.commit != nil && !s.ended {
		return h.commit.saveSessionLocked(s)
	}
	return nil
}

// sendAfterSaveLocked queues frame to c once ready is closed (at once when
// ready is nil), behind everything queued before it.
func (h *hub) sendAfterSaveLocked(c *conn, frame []byte, typ string, ready <-chan struct{}) {
	if ready == nil {
		h.sendLocked(c, frame, typ)
		return
	}
	h.stats.FramesOut.Add(typ, 1)
	c.out.enqueueSource(&savedFrame{cm: h.commit, ready: ready, wait: h.cfg.WriteTimeout, frame: frame})
}

// savedFrame is a frame that waits in the queue for a session save.
type savedFrame struct {
	cm    *committer
	ready <-chan struct{}
	wait  time.Duration
	frame []byte
}

func (f *savedFrame) fill(dst []byte, max int) ([]byte, bool, error) {
	if err := f.cm.waitCommitted(f.ready, f.wait); err != nil {
		return dst, true, err
	}
	return append(dst, f.frame...), true, nil
}

// record is what the store keeps of s.
func (s *session) record(lastID int64) store.Session {
	rooms := make([]string, len(s.rooms))
	for i, r := range s.rooms {
		rooms[i] = r.name
	}
	return store.Session{ID: s.id, TokenHash: s.tokenHash, Name: s.name, Account: s.account,
		Rooms: rooms, Addr: s.addr.String(), LastID: lastID, Updated: time.Now()}
}

// inRoom reports whether s is in r.
func (s *session) inRoom(r *room) bool {
	for _, x := range s.rooms {
		if x == r {
			return true
		}
	}
	return false
}

// refWindow remembers the refs a v2 session's messages carried for
// refWindowTime, so that a resend is acked instead of delivered twice
// (PROTOCOL §5.3). Bounded: at most maxRefs entries, oldest dropped first.
type refWindow struct {
	byRef map[string]*refEntry
	order []*refEntry // oldest first
}

type refEntry struct {
	ref     string
	id      int64
	ts      time.Time
	stored  bool    // committed (and so acked); false while in the committer
	waiters []*conn // resends waiting for the commit
}

const (
	refWindowTime = 10 * time.Minute
	maxRefs       = 20000
)

// add records ref for the message id.
func (w *refWindow) add(ref string, id int64, ts time.Time, stored bool) *refEntry {
	w.expire(ts)
	if w.byRef == nil {
		w.byRef = make(map[string]*refEntry)
	}
	if len(w.order) >= maxRefs {
		w.drop()
	}
	e := &refEntry{ref: ref, id: id, ts: ts, stored: stored}
	w.byRef[ref] = e
	w.order = append(w.order, e)
	return e
}

// get returns the entry for ref if it is within the window.
func (w *refWindow) get(ref string, now time.Time) *refEntry {
	w.expire(now)
	return w.byRef[ref]
}

func (w *refWindow) expire(now time.Time) {
	for len(w.order) > 0 && now.Sub(w.order[0].ts) > refWindowTime && w.order[0].stored {
		w.drop()
	}
}

func (w *refWindow) drop() {
	e := w.order[0]
	w.order[0] = nil
	w.order = w.order[1:]
	if w.byRef[e.ref] == e {
		delete(w.byRef, e.ref)
	}
	if len(w.order) == 0 {
		w.order = nil
	}
}

// newID returns 128 random bits in hex: session ids and memory-mode epochs.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newEpoch() string { return newID() }
