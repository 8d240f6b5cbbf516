package bench

import (
	"bytes"
	"context"
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
	typeKey   = []byte(`"type":"`)
	pongFrame = []byte(`{"type":"pong"}` + "\n")
)

// conn is one benchmark connection: a joined user that counts what it
// receives, and for the first Senders connections also sends.
//
// Ownership: the reader goroutine (readLoop) owns in, hist, lastSeq and the
// local counters; it publishes totals through the atomics once per read. The
// sender goroutine (if any) owns the sending fields in sender. Writes to nc
// happen under wmu: the sender's batches and the reader's pongs.
type conn struct {
	r    *run
	idx  int
	name string
	nc   net.Conn

	wmu sync.Mutex // serialises writes to nc

	// Reader-owned.
	in        lineBuf
	hist      Histogram // latency of measured messages, ns
	lastSeq   []uint32  // per sender: last sequence number seen + 1; nil = no order check
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
}

func newConn(r *run, idx int) *conn {
	c := &conn{r: r, idx: idx, ackNote: make(chan struct{}, 1), done: make(chan struct{})}
	if r.orderCheck && r.cfg.Senders > 0 {
		c.lastSeq = make([]uint32, r.cfg.Senders)
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
// the first is taken). It returns when welcome arrived, leaving what followed
// it buffered for readLoop. ctx cancels the attempt.
func (c *conn) join(ctx context.Context, names []string) error {
	d := net.Dialer{Timeout: joinTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.r.cfg.Addr)
	if err != nil {
		return &setupError{errDial, err}
	}
	c.nc = nc
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	nc.SetDeadline(time.Now().Add(joinTimeout))
	for _, name := range names {
		frame := protocol.NewFrame(nil, protocol.MsgJoin).Str("username", name).End()
		if _, err := nc.Write(frame); err != nil {
			return &setupError{errJoin, err}
		}
		taken, err := c.awaitWelcome()
		if err != nil {
			return err
		}
		if !taken {
			c.name = name
			if stop() { // ctx did not fire: clear the deadline it would have set
				nc.SetDeadline(time.Time{})
			} else {
				return &setupError{errJoin, ctx.Err()}
			}
			return nil
		}
	}
	return &setupError{protocol.CodeUsernameTaken, errors.New("every name tried is taken")}
}

// awaitWelcome reads until the answer to a join: welcome (nil), or
// username_taken (taken), or anything that ends the attempt (an error).
func (c *conn) awaitWelcome() (taken bool, err error) {
	for {
		for {
			line, ok := c.in.next()
			if !ok {
				break
			}
			typ := frameType(line)
			switch string(typ) {
			case protocol.MsgWelcome:
				// Decoding lists every user: with thousands of clients
				// that is quadratic, and one look at the limits is enough.
				if !c.r.welcomeSeen.Swap(true) {
					if f, err := protocol.DecodeServer(line); err == nil {
						c.r.checkWelcome(&f)
					}
				}
				return false, nil
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
				if !c.r.welcomeSeen.Swap(true) {
					c.r.checkWelcome(&f)
				}
				return false, nil
			case protocol.MsgError:
				if f.Code == protocol.CodeUsernameTaken {
					return true, nil
				}
				c.r.tally.addError(f.Code, 1)
				return false, &setupError{errJoin, fmt.Errorf("join refused: %s: %s", f.Code, f.Message)}
			case protocol.MsgBye:
				c.r.tally.addBye(f.Reason)
				return false, &setupError{errJoin, fmt.Errorf("server said bye %s before welcome", f.Reason)}
			}
		}
		_, tooLong, err := c.in.fill(c.nc)
		if tooLong {
			c.r.tally.addError(errTooLong, 1)
		}
		if err != nil {
			return false, &setupError{errJoin, err}
		}
	}
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
			c.handle(line, now, inWin)
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
	if i := bytes.Index(line, r.prefix); i >= 0 {
		phase, sender, seq, at, ok := parseMarker(line[i:])
		switch {
		case !ok:
			r.tally.addError(errBadMarker, 1)
		case sender == c.idx:
			r.tally.addError(errEcho, 1)
		default:
			if c.lastSeq != nil && sender < len(c.lastSeq) {
				if seq+1 <= c.lastSeq[sender] { // a duplicate, or late: not counted
					r.tally.addError(errOutOfOrder, 1)
					return
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
		return
	}
	typ := frameType(line)
	switch string(typ) {
	case protocol.MsgAck:
		c.nAcks++
		return
	case protocol.MsgMessage, protocol.MsgJoined, protocol.MsgLeft, protocol.MsgPong,
		protocol.MsgUsers, protocol.MsgRenamed, protocol.MsgPrivate, protocol.MsgWelcome:
		return // other users' traffic, history: not ours to count
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
	case protocol.MsgAck:
		c.nAcks++
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
