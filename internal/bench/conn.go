package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"pynet/protocol"
)

// joinTimeout bounds one connection's dial and join.
const joinTimeout = 15 * time.Second

// pongTimeout bounds the write of a pong.
const pongTimeout = 5 * time.Second

var (
	typeKey     = []byte(`"type":"`)
	pongFrame   = []byte(`{"type":"pong"}` + "\n")
	idKey       = []byte(`"id":`)
	replayKey   = []byte(`"replay":`)
	privatesKey = []byte(`"privates":`)
	protoKey    = []byte(`"protocol":`)
	roomKey     = []byte(`"room":"`)
	historyEnd  = []byte(`"history":true}`)
	msgPrefix   = []byte(`{"type":"message","id":`)
)

// conn is one benchmark connection: a joined user that counts what it
// receives, and for the first Senders connections also sends.
//
// Ownership: the reader goroutine (readLoop) owns in, hist, lastSeq, lastID
// and the local counters; it publishes totals through the atomics once per
// read. The
// sender goroutine (if any) owns the sending fields in sender. Writes to nc
// happen under wmu: the sender's batches and the reader's pongs.
type conn struct {
	r    *run
	idx  int
	node int    // index in run.addrs of the address it dials (nodeOf)
	addr string // run.addrs[node]
	room int    // index of its room besides the lobby, -1 for none
	name string
	nc   net.Conn

	wmu sync.Mutex // serialises writes to nc

	// Reader-owned.
	in        lineBuf
	hist      Histogram // latency of measured messages, ns
	lastSeq   []uint32  // per sender: last sequence number seen + 1; nil = no order check
	lastID    int64     // highest id of a live message, private or ack so far
	nAll      int64     // deliveries of this run's messages, both phases
	nMeasured int64     // deliveries of measured messages
	nInWindow int64     // deliveries received inside the measured window
	nAcks     int64     // acks, and errors answering a message (flat out)
	gotBye    bool

	// Published by the reader after every read.
	delivered atomic.Int64  // = nAll
	acks      atomic.Int64  // = nAcks
	ackNote   chan struct{} // capacity 1: "acks moved", for the sender

	done chan struct{} // closed when readLoop returns

	// Redis and NATS targets (target.go).
	pub       bool     // a Redis sender's publishing connection: counts acks only
	publisher *conn    // a Redis sender's publishing connection, or nil
	pings     chan int // NATS flat out: messages each PING in flight acknowledges
}

func newConn(r *run, idx int) *conn {
	c := &conn{r: r, idx: idx, room: r.roomOf(idx), ackNote: make(chan struct{}, 1), done: make(chan struct{})}
	if len(r.addrs) > 0 { // (the wire tests' runs dial nothing)
		c.node = nodeOf(idx, len(r.addrs), len(r.rooms))
		c.addr = r.addrs[c.node]
	}
	if r.orderCheck && r.cfg.Senders > 0 {
		c.lastSeq = make([]uint32, r.cfg.Senders)
	}
	if r.kind == targetNATS && r.flatOut && idx < r.cfg.Senders {
		c.pings = make(chan int, r.cfg.Window+1)
	}
	return c
}

// write sends b under the write lock with a deadline. It returns how many
// bytes were written.
func (c *conn) write(b []byte, deadline time.Time) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(deadline)
	return c.nc.Write(b)
}

// join dials the server and joins as one of names (the second is tried when
// the first is taken). It returns once the join is complete, leaving what
// followed it buffered for readLoop. ctx cancels the attempt.
func (c *conn) join(ctx context.Context, names []string) error {
	d := net.Dialer{Timeout: joinTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return &setupError{errDial, err}
	}
	if c.r.tls != nil {
		nc = tls.Client(nc, c.r.tls[c.node])
	}
	c.nc = nc
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	nc.SetDeadline(time.Now().Add(joinTimeout))
	if tc, ok := nc.(*tls.Conn); ok {
		// Handshake now rather than in the first write, so that a bad
		// certificate is counted as such.
		if err := tc.Handshake(); err != nil {
			return &setupError{errTLS, err}
		}
	}
	if c.r.peer() {
		c.name = names[0]
		if err := c.peerHandshake(); err != nil {
			return err
		}
		if c.r.kind == targetRedis && c.idx < c.r.cfg.Senders {
			if err := c.dialPublisher(); err != nil {
				return err
			}
		}
	} else if err := c.handshake(names); err != nil {
		return err
	}
	if !stop() { // ctx fired: the deadline it set ends the connection
		return &setupError{errJoin, ctx.Err()}
	}
	nc.SetDeadline(time.Time{})
	return nil
}

// rooms are the rooms a v2 connection joins, in the order of its join.
func (c *conn) rooms() []string {
	if c.room < 0 {
		return []string{lobby}
	}
	return []string{lobby, c.r.rooms[c.room]}
}

// handshake joins on c.nc (connected, with a deadline) as one of names. A
// v1 join ends with welcome; a v2 join with the last frame of the replays
// that follow it (PROTOCOL §4: per room entered and its replay, then the
// private replay).
func (c *conn) handshake(names []string) error {
	v2 := c.r.cfg.Protocol >= protocol.Version
	for _, name := range names {
		b := protocol.NewFrame(nil, protocol.MsgJoin).Str("username", name)
		if v2 {
			b.Int("protocol", int64(c.r.cfg.Protocol)).Strs("rooms", c.rooms())
		}
		if _, err := c.nc.Write(b.End()); err != nil {
			return &setupError{errJoin, err}
		}
		taken, privates, err := c.awaitWelcome()
		if err != nil {
			return err
		}
		if !taken {
			c.name = name
			if v2 {
				return c.awaitReplays(c.rooms(), privates)
			}
			return nil
		}
	}
	return &setupError{protocol.CodeUsernameTaken, errors.New("every name tried is taken")}
}

// awaitWelcome reads until the answer to a join: welcome (nil, with the
// number of privates its v2 replay holds), or username_taken (taken), or
// anything that ends the attempt (an error).
func (c *conn) awaitWelcome() (taken bool, privates int64, err error) {
	welcome := func(line []byte) (int64, error) {
		// Decoding a v1 welcome lists every user: with thousands of
		// clients that is quadratic, and one look at the limits is enough.
		if !c.r.welcomeSeen.Swap(true) {
			if f, err := protocol.DecodeServer(line); err == nil {
				c.r.checkWelcome(&f)
			}
		}
		if c.r.cfg.Protocol >= protocol.Version {
			if v, _ := intMember(line, protoKey); v != int64(c.r.cfg.Protocol) {
				return 0, &setupError{errJoin, fmt.Errorf("the server speaks protocol %d, not %d", v, c.r.cfg.Protocol)}
			}
		}
		n, _ := intMember(line, privatesKey)
		return n, nil
	}
	for {
		for {
			line, ok := c.in.next()
			if !ok {
				break
			}
			typ := frameType(line)
			switch string(typ) {
			case protocol.MsgWelcome:
				n, err := welcome(line)
				return false, n, err
			case protocol.MsgError, protocol.MsgBye, "":
			case protocol.MsgPing:
				c.nc.Write(pongFrame)
				continue
			default:
				continue
			}
			f, derr := protocol.DecodeServer(line)
			if derr != nil {
				if len(bytes.TrimSpace(line)) > 0 {
					c.r.tally.addError(errBadLine, 1)
				}
				continue
			}
			switch f.Type {
			case protocol.MsgWelcome:
				n, err := welcome(line)
				return false, n, err
			case protocol.MsgError:
				if f.Code == protocol.CodeUsernameTaken {
					return true, 0, nil
				}
				c.r.tally.addError(f.Code, 1)
				return false, 0, &setupError{errJoin, fmt.Errorf("join refused: %s: %s", f.Code, f.Message)}
			case protocol.MsgBye:
				c.r.tally.addBye(f.Reason)
				return false, 0, &setupError{errJoin, fmt.Errorf("server said bye %s before welcome", f.Reason)}
			}
		}
		if err := c.fillSetup(); err != nil {
			return false, 0, err
		}
	}
}

// fillSetup reads once during the join.
func (c *conn) fillSetup() error {
	_, tooLong, err := c.in.fill(c.nc)
	if tooLong {
		c.r.tally.addError(errTooLong, 1)
	}
	if err != nil {
		return &setupError{errJoin, err}
	}
	return nil
}

// awaitReplays reads what follows a v2 welcome: for each of rooms in order,
// entered and as many replayed frames as it announces, then privates
// replayed privates. Replayed frames (history: true) are not counted; what
// else arrives in between (joined, ...) is passed over.
func (c *conn) awaitReplays(rooms []string, privates int64) error {
	next, pending := 0, int64(0) // the next room's index; frames left of the current replay
	for next < len(rooms) || pending > 0 || privates > 0 {
		line, ok := c.in.next()
		if !ok {
			if err := c.fillSetup(); err != nil {
				return err
			}
			continue
		}
		switch typ := string(frameType(line)); {
		case typ == protocol.MsgEntered:
			room, ok1 := strMember(line, roomKey)
			n, ok2 := intMember(line, replayKey)
			if !ok2 { // "replay" is left out when 0
				n, ok2 = 0, !bytes.Contains(line, replayKey)
			}
			switch {
			case !ok1 || !ok2 || n < 0:
				return &setupError{errJoin, fmt.Errorf("malformed entered: %q", clip(line))}
			case pending > 0:
				return &setupError{errJoin, fmt.Errorf("entered %s with %d frames of the replay before it missing", room, pending)}
			case next >= len(rooms) || string(room) != rooms[next]:
				return &setupError{errJoin, fmt.Errorf("entered %q, expected the rooms %q in order", room, rooms)}
			}
			next, pending = next+1, n
		case (typ == protocol.MsgMessage || typ == protocol.MsgPrivate) && bytes.HasSuffix(line, historyEnd):
			switch {
			case pending > 0:
				pending--
			case next == len(rooms) && privates > 0 && typ == protocol.MsgPrivate:
				privates--
			default:
				return &setupError{errJoin, fmt.Errorf("a replayed frame no entered or welcome announced: %q", clip(line))}
			}
		case typ == protocol.MsgPing:
			c.nc.Write(pongFrame)
		case typ == protocol.MsgError || typ == protocol.MsgBye || typ == "":
			f, err := protocol.DecodeServer(line)
			switch {
			case err != nil:
				c.r.tally.addError(errBadLine, 1)
			case f.Type == protocol.MsgError:
				c.r.tally.addError(f.Code, 1)
				return &setupError{errJoin, fmt.Errorf("error during the join's replays: %s: %s", f.Code, f.Message)}
			case f.Type == protocol.MsgBye:
				c.r.tally.addBye(f.Reason)
				return &setupError{errJoin, fmt.Errorf("server said bye %s during the join's replays", f.Reason)}
			}
		}
	}
	return nil
}

// readLoop is the connection's reader goroutine, started once the
// connection joined. It counts every line the server sends until the
// connection is closed: by teardown (r.stopping is set first), or by the
// server, which counts as a disconnect.
func (c *conn) readLoop() {
	defer close(c.done)
	r := c.r
	for {
		now := r.now()
		ws, we := r.winStart.Load(), r.winEnd.Load()
		inWin := ws > 0 && now >= ws && now < we
		prevAll, prevAcks := c.nAll, c.nAcks
		for {
			line, ok := c.in.next()
			if !ok {
				break
			}
			if !r.peer() {
				c.handle(line, now, inWin)
			} else {
				c.handlePeer(line, now, inWin)
			}
		}
		if d := c.nAll - prevAll; d > 0 {
			c.delivered.Store(c.nAll)
			r.delivered.Add(d)
			r.gate.poke()
		}
		if c.nAcks != prevAcks {
			c.acks.Store(c.nAcks)
			select {
			case c.ackNote <- struct{}{}:
			default:
			}
		}
		_, tooLong, err := c.in.fill(c.nc)
		if tooLong {
			r.tally.addError(errTooLong, 1)
		}
		if err != nil {
			if r.stopping.Load() {
				return
			}
			if r.disconnects.Add(1) == r.joined.Load() && r.phase.Load() != phaseSetup {
				r.goneOnce.Do(func() { close(r.allGone) })
			}
			if !errors.Is(err, io.EOF) && !c.gotBye {
				r.tally.addError(errRead, 1)
				r.tally.note("read", fmt.Sprintf("%s: read: %v", c.name, err))
			}
			r.gate.disable() // the deliveries it will miss would hold senders back
			c.nc.Close()
			return
		}
	}
}

// handle counts one line received at now (ns since the epoch).
func (c *conn) handle(line []byte, now int64, inWin bool) {
	r := c.r
	var typ []byte
	if bytes.HasPrefix(line, msgPrefix) { // the bulk of the traffic
		typ = line[len(`{"type":"`):len(`{"type":"message`)]
	} else {
		typ = frameType(line)
	}
	switch string(typ) {
	case protocol.MsgMessage:
		if bytes.HasSuffix(line, historyEnd) {
			return // a replay: not live traffic
		}
		c.checkID(line)
		if i := bytes.Index(line, r.prefix); i >= 0 {
			c.count(line[i:], now, inWin)
		}
		return // other users' traffic, not ours to count
	case protocol.MsgAck:
		c.checkID(line)
		c.nAcks++
		return
	case protocol.MsgPrivate:
		if !bytes.HasSuffix(line, historyEnd) {
			c.checkID(line)
		}
		return
	case protocol.MsgJoined, protocol.MsgLeft, protocol.MsgPong, protocol.MsgUsers,
		protocol.MsgRenamed, protocol.MsgWelcome, protocol.MsgEntered:
		return
	case protocol.MsgPing:
		c.pong()
		return
	}
	// Rare frames, and anything the fast path does not recognise: decode.
	f, err := protocol.DecodeServer(line)
	if err != nil {
		if len(bytes.TrimSpace(line)) > 0 {
			r.tally.addError(errBadLine, 1)
			r.tally.note("bad_line", fmt.Sprintf("%s: cannot decode %q: %v", c.name, clip(line), err))
		}
		return
	}
	switch f.Type {
	case protocol.MsgMessage, protocol.MsgAck, protocol.MsgPrivate:
		// Not written the compact way: a server other than PyNet's.
		r.tally.note("slow_path", fmt.Sprintf("%s: frames the fast path does not read, decoded one by one: %q", c.name, clip(line)))
		if f.History {
			return
		}
		c.seeID(f.ID)
		if f.Type == protocol.MsgAck {
			c.nAcks++
		} else if i := bytes.Index(line, r.prefix); i >= 0 && f.Type == protocol.MsgMessage {
			c.count(line[i:], now, inWin)
		}
	case protocol.MsgPing:
		c.pong()
	case protocol.MsgError:
		r.tally.addError(f.Code, 1)
		if f.Code == protocol.CodeRateLimited {
			r.tally.note("rate_limited", "the server is rate limiting (error rate_limited): run it with -rate 0")
		} else {
			r.tally.note("error:"+f.Code, fmt.Sprintf("%s: error %s: %s", c.name, f.Code, f.Message))
		}
		if f.Ref != "" { // the answer to one of our messages: its window slot is free
			c.nAcks++
		}
	case protocol.MsgBye:
		c.gotBye = true
		r.tally.addBye(f.Reason)
	}
}

// count counts a live message of this run whose marker starts at m[0]:
// once, in order, and only where it belongs.
func (c *conn) count(m []byte, now int64, inWin bool) {
	r := c.r
	phase, sender, seq, at, ok := parseMarker(m)
	switch {
	case !ok:
		r.tally.addError(errBadMarker, 1)
		return
	case sender == c.idx && r.kind == targetRedis:
		return // Redis pub/sub has no "all but the sender": not counted
	case sender == c.idx:
		r.tally.addError(errEcho, 1)
		return
	}
	shared := c.room < 0 || r.roomOf(sender) == c.room // in the sender's room
	if !shared && !r.toLobby(seq) {
		r.tally.addError(errWrongRoom, 1)
		r.tally.note(errWrongRoom, fmt.Sprintf("%s (room %s) got message %d of sender %d of room %s",
			c.name, r.roomLabel(c.room), seq, sender, r.roomLabel(r.roomOf(sender))))
		return
	}
	if c.lastSeq != nil && sender < len(c.lastSeq) {
		next := c.lastSeq[sender] // the lowest sequence number still welcome
		if seq < next {           // a duplicate, or late: not counted
			r.tally.addError(errOutOfOrder, 1)
			return
		}
		if !shared {
			next = r.nextLobby(next)
		}
		if seq > next { // some that this receiver should have had before it never came
			r.tally.addError(errGap, 1)
			r.tally.note(errGap, fmt.Sprintf("%s: message %d of sender %d came after %d, not %d (lost, or refused by the server)",
				c.name, seq, sender, int64(c.lastSeq[sender])-1, next))
		}
		c.lastSeq[sender] = seq + 1
	}
	c.nAll++
	if inWin {
		c.nInWindow++
	}
	if phase == phaseMeasured {
		c.nMeasured++
		c.hist.Record(now - at)
	}
}

// checkID checks the id of a live message, private or ack (written
// compactly by the server).
func (c *conn) checkID(line []byte) {
	id, ok := intMember(line, idKey)
	if !ok || id <= 0 {
		c.r.tally.addError(errBadLine, 1)
		c.r.tally.note("no_id", fmt.Sprintf("%s: a live frame without a valid id: %q", c.name, clip(line)))
		return
	}
	c.seeID(id)
}

// seeID applies PROTOCOL §5.3: on every connection, live message, private
// and ack frames arrive in increasing id order (one sequence for the whole
// server). The bench never resends, so no ack may repeat an id either.
func (c *conn) seeID(id int64) {
	if id <= c.lastID {
		c.r.tally.addError(errIDOrder, 1)
		c.r.tally.note(errIDOrder, fmt.Sprintf("%s: id %d after id %d (PROTOCOL §5.3: live frames in increasing id order)",
			c.name, id, c.lastID))
		return
	}
	c.lastID = id
}

// pong answers a server ping (the server closes connections it does not
// hear from; receivers send nothing else).
func (c *conn) pong() {
	if _, err := c.write(pongFrame, time.Now().Add(pongTimeout)); err != nil && !c.r.stopping.Load() {
		c.r.tally.addError(errWrite, 1)
	}
}

// frameType returns the value of the first "type" member of a server line,
// or nil when it is not written the compact way the fast path expects.
func frameType(line []byte) []byte {
	i := bytes.Index(line, typeKey)
	if i < 0 {
		return nil
	}
	rest := line[i+len(typeKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// intMember returns the value of the first member key (`"name":`) of a
// compactly written line when it is a non-negative integer.
func intMember(line, key []byte) (int64, bool) {
	i := bytes.Index(line, key)
	if i < 0 {
		return 0, false
	}
	var v int64
	n := 0
	for _, ch := range line[i+len(key):] {
		if ch < '0' || ch > '9' || n == 18 {
			break
		}
		v = v*10 + int64(ch-'0')
		n++
	}
	return v, n > 0
}

// strMember returns the value of the first string member key (`"name":"`)
// of a compactly written line, when it holds no escapes.
func strMember(line, key []byte) ([]byte, bool) {
	i := bytes.Index(line, key)
	if i < 0 {
		return nil, false
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return nil, false
	}
	return rest[:j], true
}

// clip shortens a line for a note.
func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// setupError is why a connection did not join; Key is its Result.Errors key.
type setupError struct {
	Key string
	Err error
}

func (e *setupError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *setupError) Unwrap() error { return e.Err }
