package server

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"pynet/internal/auth"
	"pynet/internal/replog"
	"pynet/internal/store"
	"pynet/protocol"
)

// Cluster mode (Config.Cluster): several nodes, one chat.
//
// Every change to shared state is an entry of one replicated log (package
// replog), and every node applies every entry, in the log's order, to its
// own copy of the hub: the same code that a single server runs, called
// with the entry's time and token instead of the clock and the random
// source, so every copy makes the same change. The log's sequence number is
// the message id, which gives one order everywhere (PROTOCOL §5.3).
//
//   - Who asks: a connection's reader makes the checks it can (as on one
//     server, under hub.mu), then appends an entry instead of changing
//     anything. A message or private does not wait: the reader goes on,
//     and the ack comes when the entry is applied. Every other change
//     (join, enter, exit, nick, register, password) waits until its entry is
//     applied here, so the reader's next frame sees its effect, and the
//     answer (welcome, entered, an error) is queued when it is applied.
//   - Who answers: the node an entry came from (its origin, entry.Node)
//     finds the waiting request by entry.Req and answers the connection;
//     the other nodes make the same change with no connection (c == nil)
//     and deliver only to the connections they hold.
//   - Who decides: the state checks run again when the entry is applied,
//     on the state every node has at that point of the log, so two nodes
//     racing for one name get one username_taken between them: the log
//     orders the claims. Rate limits and capacity are the origin's alone.
//   - Holds: a connection that ends is an entry (detach); the node it was on
//     runs the hold timer and appends expire when the grace passes. Nodes
//     beat a lease; the live node with the smallest name appends nodedown
//     for nodes whose lease lapsed, and every node then holds their
//     sessions (their users resume elsewhere, or leave when the grace ends).
//   - A node that starts reads the log from its first entry and accepts
//     connections only once it has caught up.

// applied is the entry being applied (hub.applying).
type applied struct {
	seq      uint64
	cmd      *replog.Command
	ts       time.Time
	token    string // the token to reveal: known only to the origin
	newToken string // its hash, from the entry
}

// clusterReq is a request of this node's waiting for its entry.
type clusterReq struct {
	c     *conn
	token string // register, password, join: the new session token
	res   joinResult
	err   *protocol.Error
	done  chan struct{}
}

// clusterNode is the hub's side of the log. Its maps are guarded by hub.mu.
type clusterNode struct {
	h      *hub
	log    replog.Log
	node   string
	prefix string

	nextReq  uint64
	pending  map[uint64]*clusterReq
	inflight map[uint64]*conn       // connections with messages not yet applied, by number (conn.unapplied counts them)
	dups     map[uint64][]dupWaiter // resends waiting for their original (by id)
	progress chan struct{}          // closed and replaced after an entry, while someone waits
	waiting  int
	live     bool // caught up: this node answers and sweeps
	// Snapshots (snapshot.go): control entries applied since the last one
	// this node wrote, when it wrote it, and its sequence.
	ctlSince  int
	snapAt    time.Time
	snapSeq   uint64
	snapEvery int
	downSent  map[string]time.Time // nodes this node reported down, until applied (or retried)
	// missing: when this node (leading, its own lease renewed all along)
	// first saw each node's lease gone; a node is reported down only after
	// downAfter of that, so a NATS restart (every lease gone at once, back
	// within a second) takes nobody down.
	missing   map[string]time.Time
	downAfter time.Duration
	appends   sync.WaitGroup // control entries on their way (appendLocked)
}

type dupWaiter struct {
	c   *conn
	ref string
}

// prefixer is implemented by logs whose subjects have a prefix other than
// the default; leaser by logs that say how long a lease lasts.
type (
	prefixer interface{ Prefix() string }
	leaser   interface{ Lease() time.Duration }
)

func newClusterNode(h *hub, l replog.Log) *clusterNode {
	cl := &clusterNode{h: h, log: l, node: l.Node(), prefix: replog.DefaultPrefix,
		pending: make(map[uint64]*clusterReq), inflight: make(map[uint64]*conn),
		dups: make(map[uint64][]dupWaiter), progress: make(chan struct{}), downSent: make(map[string]time.Time)}
	if p, ok := l.(prefixer); ok {
		cl.prefix = p.Prefix()
	}
	cl.missing, cl.downAfter = make(map[string]time.Time), 6*time.Second
	if le, ok := l.(leaser); ok {
		cl.downAfter = le.Lease()
	}
	h.nextID, h.lastID = 1, 0
	cl.snapEvery = h.cfg.ClusterSnapshotEvery
	if cl.snapEvery <= 0 {
		cl.snapEvery = 1000
	}
	return cl
}

// clusterWait bounds how long a request waits for its entry.
const clusterWait = 10 * time.Second

func errUnavailable() *protocol.Error {
	// No code of PROTOCOL §6 says "try again later" but rate_limited, which
	// every client already handles with a pause and a retry.
	return &protocol.Error{Code: protocol.CodeRateLimited, RetryAfterMS: 1000,
		Message: "the cluster cannot take this now (its log is unavailable); nothing was done; retry"}
}

// ---- requests (origin side) ----

// join appends a join and waits until it is applied here.
func (cl *clusterNode) join(c *conn, q *joinReq) joinResult {
	h := cl.h
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return joinResult{close: protocol.ReasonShutdown}
	}
	// Capacity is this node's own (its connections and the holds it keeps):
	// checked here, before the entry, as capacityLocked does on one server.
	if c.overLimit {
		var s *session
		if q.token != "" {
			s = h.tokens[q.token]
		} else if q.account != nil {
			s = h.names[q.account.Key]
		}
		if s == nil || !s.held || s.node != cl.node { // not taking over a hold of this node's
			if r := h.overCapacity(c); r != "" {
				h.mu.Unlock()
				return joinResult{close: r}
			}
		}
	}
	h.mu.Unlock()
	cmd := &replog.Command{Op: replog.OpJoin, SID: newID(), Name: q.name, V2: q.v2, Rooms: q.rooms, Since: q.since,
		UseSince: q.useSince, Ref: q.ref, HasRef: q.hasRef, Token: q.token, IsAccount: q.nameIsAccount, Addr: q.addr.String()}
	if q.account != nil {
		cmd.Account, cmd.AccName = q.account.Key, q.account.Name
	}
	r := &clusterReq{c: c}
	if q.v2 {
		r.token = auth.NewToken()
		cmd.NewToken = auth.HashToken(r.token)
	}
	if e := cl.do(r, cmd); e != nil {
		return joinResult{err: e}
	}
	return r.res
}

// call appends a control entry for c's session and waits until it is
// applied here; it returns the error to answer (nil: answered already, or
// nothing to say).
func (cl *clusterNode) call(c *conn, cmd *replog.Command) *protocol.Error {
	r := &clusterReq{c: c}
	if cmd.Op == replog.OpRegister || cmd.Op == replog.OpPassword {
		r.token = auth.NewToken()
		cmd.NewToken = auth.HashToken(r.token)
	}
	if e := cl.do(r, cmd); e != nil {
		return e
	}
	return r.err
}

// do appends cmd for the request r and waits for it (bounded).
func (cl *clusterNode) do(r *clusterReq, cmd *replog.Command) *protocol.Error {
	h := cl.h
	r.done = make(chan struct{})
	h.mu.Lock()
	cl.nextReq++
	req := cl.nextReq
	cl.pending[req] = r
	cmd.Req, cmd.Node, cmd.Conn, cmd.TS = req, cl.node, r.c.num, time.Now().UnixMilli()
	if s := r.c.sess; s != nil && cmd.Op != replog.OpJoin {
		cmd.Att = s.att
	}
	h.mu.Unlock()
	data := replog.Encode(cmd)
	failed := make(chan struct{}, 1)
	cl.log.Publish(replog.ControlSubject(cl.prefix), cl.node+"."+itoa(int(req)), data, func(_ replog.PubAck, err error) {
		if err != nil {
			failed <- struct{}{}
		}
	})
	t := time.NewTimer(clusterWait)
	defer t.Stop()
	select {
	case <-r.done:
		return nil
	case <-failed:
	case <-t.C:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-r.done: // applied after all
		return nil
	default:
	}
	// Given up: if the entry is applied later, it is applied with no
	// connection, and the sweep detaches a session left without one.
	delete(cl.pending, req)
	return errUnavailable()
}

// send appends a message or private entry from c without waiting; the
// caller has checked it under hub.mu and called beginLocked.
func (cl *clusterNode) send(c *conn, cmd *replog.Command) {
	cmd.Node, cmd.Conn, cmd.TS = cl.node, c.num, time.Now().UnixMilli()
	subject := replog.RoomSubject(cl.prefix, cmd.Room)
	if cmd.Op == replog.OpPrivate {
		subject = replog.PrivateSubject(cl.prefix, cmd.FromKey, cmd.ToKey)
	}
	msgID := ""
	if cmd.HasRef && c.v2 {
		// A resend of the same ref is the same entry: the log keeps one
		// (its de-duplication window), and the ack names the original.
		msgID = cmd.SID + "." + cmd.Ref
	}
	data := replog.Encode(cmd)
	ref, hasRef := cmd.Ref, cmd.HasRef
	cl.log.Publish(subject, msgID, data, func(ack replog.PubAck, err error) {
		if err == nil && !ack.Duplicate {
			return // the entry's apply acknowledges it
		}
		h := cl.h
		h.mu.Lock()
		defer h.mu.Unlock()
		cl.endInflightLocked(c.num)
		s := h.attachedLocked(c)
		if s == nil {
			return
		}
		if err != nil {
			h.sendLocked(c, errorFrame(errUnavailable(), ref, hasRef), protocol.MsgError)
			return
		}
		// A resend of a message not yet applied here: its ack follows its
		// original's apply (or at once if that happened already).
		if int64(ack.Seq) <= h.lastID {
			if e := s.refs.get(ref, time.Now()); e != nil && e.stored {
				h.sendLocked(c, h.ackFrame(ref, e.id, e.ts), protocol.MsgAck)
			}
			return
		}
		if w := cl.dups[ack.Seq]; len(w) < maxRefWaiters {
			cl.dups[ack.Seq] = append(w, dupWaiter{c, ref})
		}
	})
}

// beginLocked counts a message of c's on its way to the log.
func (cl *clusterNode) beginLocked(c *conn) {
	c.unapplied.Add(1)
	cl.inflight[c.num] = c
}

func (cl *clusterNode) endInflightLocked(num uint64) {
	c := cl.inflight[num]
	if c == nil {
		return
	}
	if c.unapplied.Add(-1) <= 0 {
		c.unapplied.Store(0)
		delete(cl.inflight, num)
		cl.progressLocked()
	}
}

func (cl *clusterNode) progressLocked() {
	if cl.waiting > 0 {
		close(cl.progress)
		cl.progress = make(chan struct{})
	}
}

// waitSent waits (at most d) until every message c sent is applied here,
// so that its ack is queued before what comes next: a direct reply to a
// later frame (answers go out in the order of the frames, PROTOCOL §1), or
// the connection's end.
func (cl *clusterNode) waitSent(c *conn, d time.Duration) {
	if c.unapplied.Load() == 0 {
		return
	}
	h := cl.h
	t := time.NewTimer(d)
	defer t.Stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	for c.unapplied.Load() > 0 {
		cl.waiting++
		ch := cl.progress
		h.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
		}
		h.mu.Lock()
		cl.waiting--
		select {
		case <-t.C:
			return
		default:
		}
	}
}

// detachLocked appends the end of s's connection: hold or end, decided
// when applied. A node shutting down detaches its sessions as dropped, so
// their users can resume on another node.
func (cl *clusterNode) detachLocked(s *session, reason string) {
	if reason == protocol.ReasonShutdown {
		reason = protocol.ReasonDisconnect
	}
	cl.appendLocked(&replog.Command{Op: replog.OpDetach, SID: s.id, Att: s.att, Reason: reason},
		"detach."+s.id+"."+itoa(int(s.att)))
}

// expireLocked appends the end of a hold whose grace passed here.
func (cl *clusterNode) expireLocked(s *session, gen uint64) {
	cl.appendLocked(&replog.Command{Op: replog.OpExpire, SID: s.id, Gen: gen}, "expire."+s.id+"."+itoa(int(gen)))
}

// appendLocked appends a control entry nobody waits for. A failure is
// repaired by the sweep (a session left without a connection is detached
// again; a hold whose expire was lost is re-held by nodedown or expires at
// its next timer).
func (cl *clusterNode) appendLocked(cmd *replog.Command, msgID string) {
	cmd.Node, cmd.TS = cl.node, time.Now().UnixMilli()
	data := replog.Encode(cmd)
	// Not under hub.mu: Publish may wait (a full window of unacknowledged
	// entries, up to its bound), and acknowledgements take hub.mu. The
	// caller's earlier entries were appended before it took the lock, so
	// the order that matters (a connection's messages, then its end) holds.
	cl.appends.Add(1)
	go cl.log.Publish(replog.ControlSubject(cl.prefix), msgID, data, func(_ replog.PubAck, err error) {
		defer cl.appends.Done()
		if err != nil {
			cl.h.log.Warn("cluster: an entry was not appended; it will be retried", "op", cmd.Op, "err", err)
		}
	})
}

// waitAppends waits (at most d) until the control entries on their way are
// acknowledged or refused.
func (cl *clusterNode) waitAppends(d time.Duration) {
	done := make(chan struct{})
	go func() { cl.appends.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		cl.h.log.Warn("cluster: some entries were not acknowledged before the shutdown")
	}
}

func errorFrame(e *protocol.Error, ref string, hasRef bool) []byte {
	b := protocol.NewFrame(nil, protocol.MsgError).Str("code", e.Code).Str("message", e.Message)
	if e.Code == protocol.CodeRateLimited {
		b.Int("retry_after_ms", e.RetryAfterMS)
	}
	if hasRef {
		b.Str("ref", ref)
	}
	return b.End()
}

// ---- apply (every node) ----

// apply makes one entry's change. It is called by the log's follower, one
// entry at a time, in order.
func (cl *clusterNode) apply(e replog.Entry) {
	h := cl.h
	cmd, err := replog.Decode(e.Data)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.log.Warn("cluster: an entry that is not a command was skipped", "seq", e.Seq, "subject", e.Subject, "err", err)
		cl.advanceLocked(e.Seq)
		return
	}
	a := &applied{seq: e.Seq, cmd: cmd, ts: cmd.Time(), newToken: cmd.NewToken}
	var r *clusterReq
	if cmd.Node == cl.node && cmd.Req != 0 {
		if r = cl.pending[cmd.Req]; r != nil {
			delete(cl.pending, cmd.Req)
			a.token = r.token
		}
	}
	h.applying = a
	h.nextID = int64(e.Seq)
	if cmd.Op != replog.OpMessage && cmd.Op != replog.OpPrivate {
		cl.ctlSince++
	}
	cl.applyLocked(a, r)
	h.applying = nil
	cl.advanceLocked(e.Seq)
	if r != nil {
		close(r.done)
	}
}

func (cl *clusterNode) advanceLocked(seq uint64) {
	h := cl.h
	h.lastID = max(h.lastID, int64(seq))
	h.nextID = h.lastID + 1
	cl.progressLocked()
}

func (cl *clusterNode) applyLocked(a *applied, r *clusterReq) {
	h, cmd := cl.h, a.cmd
	var c *conn
	if r != nil {
		c = r.c
	}
	s := h.byID[cmd.SID]
	// A request made through a connection that has been replaced since
	// (or a session that ended) does nothing, as on one server.
	current := s != nil && !s.ended && (cmd.Att == 0 || cmd.Att == s.att)
	switch cmd.Op {
	case replog.OpMessage, replog.OpPrivate:
		cl.applyMessageLocked(a, s)
	case replog.OpJoin:
		q := &joinReq{name: cmd.Name, v2: cmd.V2, rooms: cmd.Rooms, since: cmd.Since, useSince: cmd.UseSince,
			ref: cmd.Ref, hasRef: cmd.HasRef, token: cmd.Token, nameIsAccount: cmd.IsAccount, addr: ipKeyFromString(cmd.Addr)}
		if cmd.Account != "" {
			q.account = &store.Account{Key: cmd.Account, Name: cmd.AccName}
		}
		res := h.joinLocked(c, q, a.ts)
		if r != nil {
			r.res = res
		}
	case replog.OpEnter:
		if !current {
			return
		}
		if e := h.enterCheckLocked(s, cmd.Room); e != nil {
			if r != nil {
				r.err = e
			}
			return
		}
		h.enterLocked(s, c, cmd.Room, cmd.Since, cmd.UseSince, cmd.Ref, cmd.HasRef, a.ts)
	case replog.OpExit:
		if !current {
			return
		}
		rm := h.rooms[cmd.Room]
		if rm == nil || !s.inRoom(rm) {
			if r != nil {
				r.err = errNotInRoom(cmd.Room)
			}
			return
		}
		h.exitLocked(s, c, rm, cmd.Ref, cmd.HasRef, a.ts)
	case replog.OpNick:
		if !current {
			return
		}
		if e := h.renameLocked(s, c, cmd.Name, cmd.IsAccount, cmd.Ref, cmd.HasRef, a.ts, false); e != nil && r != nil {
			r.err = e
		}
	case replog.OpRegister:
		if current {
			h.registeredLocked(s, c, cmd.Account, cmd.Ref, cmd.HasRef)
		}
	case replog.OpPassword:
		if current {
			h.passwordChangedLocked(s, c, cmd.Ref, cmd.HasRef)
		}
	case replog.OpDetach:
		if !current || s.held {
			return
		}
		if s.conn != nil { // connected here again? Only an older entry could say otherwise.
			return
		}
		s.node = cmd.Node
		if s.v2 && h.cfg.ResumeGrace > 0 && (cmd.Reason == protocol.ReasonDisconnect || cmd.Reason == protocol.ReasonTimeout) {
			h.holdLocked(s, cmd.Reason)
		} else {
			h.endSessionLocked(s, cmd.Reason)
		}
	case replog.OpExpire:
		if s != nil && !s.ended && s.held && s.holdGen == cmd.Gen {
			h.endSessionLocked(s, s.holdReason)
		}
	case replog.OpNodeDown:
		cl.applyNodeDownLocked(cmd)
	default:
		h.log.Warn("cluster: an entry with an unknown op was skipped", "seq", a.seq, "op", cmd.Op)
	}
}

// applyMessageLocked delivers a message or private with the entry's
// sequence as its id. The sender's checks were made when it was sent; if
// the sender has gone since (or left the room), nothing is delivered.
func (cl *clusterNode) applyMessageLocked(a *applied, s *session) {
	h, cmd := cl.h, a.cmd
	if cmd.Node == cl.node {
		cl.endInflightLocked(cmd.Conn)
	}
	if s == nil || s.ended {
		return
	}
	m := &outMsg{from: s, ts: a.ts}
	if cmd.HasRef {
		m.ref = cmd.Ref
	}
	if c := s.conn; c != nil && cmd.Node == cl.node && c.num == cmd.Conn {
		m.via = c
	}
	if cmd.Op == replog.OpMessage {
		r := h.rooms[cmd.Room]
		if r == nil || !s.inRoom(r) {
			return
		}
		m.room = r
	} else {
		m.to = h.byID[cmd.ToSID]
		if m.to == nil || m.to.ended {
			// Gone since it was sent: the private is in the log (the
			// sender's replay has it) and reaches nobody live.
			m.to = &session{name: cmd.To}
		}
	}
	h.acceptLocked(m, cmd.Text, cmd.Action)
	if w := cl.dups[a.seq]; w != nil {
		delete(cl.dups, a.seq)
		ack := h.ackFrame(m.ref, m.id, m.ts)
		for _, d := range w {
			if d.c.sess == s && s.conn == d.c && d.ref == m.ref {
				h.sendLocked(d.c, ack, protocol.MsgAck)
			}
		}
	}
}

// applyNodeDownLocked holds the sessions of nodes whose lease lapsed, on
// the node that reported it (which runs their timers from now). Sessions
// are taken in id order so that every node announces in the same order.
func (cl *clusterNode) applyNodeDownLocked(cmd *replog.Command) {
	h := cl.h
	for _, n := range cmd.Nodes {
		delete(cl.downSent, n)
	}
	var ids []string
	for id, s := range h.byID {
		if !s.ended && slices.Contains(cmd.Nodes, s.node) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := h.byID[id]
		if c := s.conn; c != nil {
			// This node was thought dead (cut off from the log): its
			// connection goes, and its user resumes wherever it reconnects.
			c.stop(protocol.ReasonShutdown)
			s.conn = nil
		}
		if !s.v2 || h.cfg.ResumeGrace <= 0 {
			h.endSessionLocked(s, protocol.ReasonDisconnect)
			continue
		}
		reason, since := protocol.ReasonDisconnect, h.lastID
		if s.held {
			reason, since = s.holdReason, s.heldSince
			h.unholdLocked(s)
		}
		s.node = cmd.Node
		h.holdLocked(s, reason)
		s.heldSince = since
	}
}

// ---- running ----

// start loads the newest snapshot, follows the log from the entry after
// it, and returns once this node has caught up (or the log failed, or stop
// was closed).
func (cl *clusterNode) start(stop, fatal <-chan struct{}, fail func(error)) error {
	h := cl.h
	from, data, err := cl.log.LoadSnapshot()
	if err != nil {
		return fmt.Errorf("cluster: loading the snapshot: %w", err)
	}
	if from > 0 {
		h.mu.Lock()
		err := h.loadSnapshotLocked(data)
		h.mu.Unlock()
		if err != nil {
			return err
		}
		h.log.Info("cluster: snapshot loaded", "seq", from)
	}
	caught := make(chan struct{})
	failed := make(chan error, 1)
	cl.log.Follow(from, cl.apply, func() { close(caught) }, func(err error) {
		select {
		case failed <- err:
		default:
		}
		fail(err)
	})
	select {
	case <-caught:
	case err := <-failed:
		return err
	case <-stop:
		return errors.New("stopped while catching up with the cluster log")
	case <-fatal:
		return errors.New("failed while catching up with the cluster log")
	}
	// Beat before the first connection: no session may name a node the
	// others cannot see alive.
	if err := cl.log.Beat(); err != nil {
		return fmt.Errorf("cluster: the first lease: %w", err)
	}
	h.mu.Lock()
	cl.live = true
	cl.snapAt, cl.snapSeq = time.Now(), from
	last := h.lastID
	h.mu.Unlock()
	h.log.Info("cluster: caught up", "node", cl.node, "last_id", last)
	return nil
}

// snapshotIdle is how long a change may wait for a snapshot when fewer
// than snapEvery control entries came since the last one.
const snapshotIdle = 30 * time.Second

// maybeSnapshot writes a snapshot when enough changed, then trims the log
// of control entries older than the previous one (one snapshot of slack,
// for a node that is loading it right now).
func (cl *clusterNode) maybeSnapshot() {
	h := cl.h
	h.mu.Lock()
	if cl.ctlSince == 0 || cl.ctlSince < cl.snapEvery && time.Since(cl.snapAt) < snapshotIdle {
		h.mu.Unlock()
		return
	}
	data, seq := h.snapshotLocked()
	cl.ctlSince, cl.snapAt = 0, time.Now()
	prev := cl.snapSeq
	h.mu.Unlock()
	if err := cl.log.SaveSnapshot(seq, data); err != nil {
		h.log.Warn("cluster: snapshot not saved", "seq", seq, "err", err)
		return
	}
	h.mu.Lock()
	cl.snapSeq = seq
	h.mu.Unlock()
	if prev > 0 {
		if err := cl.log.Trim(prev); err != nil {
			h.log.Warn("cluster: log not trimmed", "below", prev, "err", err)
		}
	}
}

// downRetry is how long a nodedown report waits for its entry before it is
// made again.
const downRetry = 10 * time.Second

// beatEvery is how often a node renews its lease and sweeps.
const beatEvery = time.Second

// run renews this node's lease and sweeps once a second (or three times a
// lease, if that is shorter) until stop.
func (cl *clusterNode) run(stop <-chan struct{}) {
	t := time.NewTicker(min(beatEvery, cl.downAfter/3))
	defer t.Stop()
	for {
		cl.tick()
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// tick beats, then (if this node is the live node with the smallest name)
// reports nodes whose lease lapsed, and detaches again sessions of this
// node's that are left without a connection (an entry that was lost).
func (cl *clusterNode) tick() {
	h := cl.h
	if err := cl.log.Beat(); err != nil {
		h.log.Warn("cluster: lease not renewed", "err", err)
		h.mu.Lock()
		clear(cl.missing) // cut off: this node cannot judge the others
		h.mu.Unlock()
		return
	}
	nodes, err := cl.log.Nodes()
	if err != nil {
		h.log.Warn("cluster: cannot list nodes", "err", err)
		return
	}
	if cl.sweep(nodes) {
		cl.maybeSnapshot()
	}
}

// sweep reports nodes down (if this node leads) and detaches this node's
// sessions left without a connection. It reports whether this node leads.
func (cl *clusterNode) sweep(nodes []string) bool {
	h := cl.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if !cl.live || h.closing {
		return false
	}
	leader := len(nodes) > 0 && slices.Min(nodes) == cl.node
	now := time.Now()
	var down []string
	for _, s := range h.byID {
		if s.ended {
			continue
		}
		if s.node == cl.node && s.conn == nil && !s.held {
			cl.detachLocked(s, protocol.ReasonDisconnect)
		}
		if !leader || s.node == cl.node || slices.Contains(nodes, s.node) || slices.Contains(down, s.node) {
			continue
		}
		since, ok := cl.missing[s.node]
		if !ok {
			cl.missing[s.node] = now
			continue
		}
		if now.Sub(since) >= cl.downAfter && now.Sub(cl.downSent[s.node]) > downRetry {
			down = append(down, s.node)
		}
	}
	for n := range cl.missing {
		if !leader || slices.Contains(nodes, n) {
			delete(cl.missing, n)
		}
	}
	if len(down) > 0 {
		slices.Sort(down)
		for _, n := range down {
			cl.downSent[n] = time.Now()
		}
		h.log.Warn("cluster: nodes down; holding their sessions", "nodes", down)
		cl.appendLocked(&replog.Command{Op: replog.OpNodeDown, Nodes: down}, "")
	}
	return leader
}
