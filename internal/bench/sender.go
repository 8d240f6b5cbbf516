package bench

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"pynet/protocol"
)

// maxBatchBytes bounds one write of a sender: the frames due at once (open
// loop) or the free window slots (flat out) go out in one syscall.
const maxBatchBytes = 64 << 10

// writeGrace is how long after the end of the window a blocked send may
// still complete before it counts as an error.
const writeGrace = time.Second

// sender is the sending half of one of the first Senders connections. Its
// goroutine (runRate or runWindow) is the only one building frames; it
// shares the socket with the connection's reader through conn.write.
type sender struct {
	c      *conn
	r      *run
	tmpl   []byte    // one frame to its room (or the lobby); its marker is rewritten per message
	lobby  []byte    // one frame to the lobby, when the sender has a room of its own
	mark   [2]int    // offset of the marker in tmpl, lobby
	ref    [2]int    // offset of the ref's value (v2 flat out, unique per message), or -1
	batch  int       // frames per write at most
	buf    []byte    // the frames of the next write
	frames []frameOf // what each frame in buf is
	seq    uint32

	// Recipients of a message to its room and to the lobby (set before
	// the sender starts).
	roomRcpt, lobbyRcpt int64

	sentW, sentM atomic.Int64 // frames written whole, by phase
	lobbyM       atomic.Int64 // of sentM, how many went to the lobby (with rooms)
	owedM        atomic.Int64 // deliveries the frames of sentM are expected to make
	offeredM     int64        // open loop: messages scheduled in the window
}

// frameOf is one frame of a batch: where it ends in buf, and what it is.
type frameOf struct {
	end      int
	lobby    bool
	measured bool
}

// refDigits is the width of the unique refs of v2 senders: the sequence
// number in hex. (v1 sessions are not de-duplicated: one ref serves all.)
const refDigits = 8

func newSender(r *run, c *conn) *sender {
	s := &sender{c: c, r: r}
	text := string(makeText(r.id, c.idx, r.cfg.Size))
	unique := r.flatOut && r.cfg.Protocol >= protocol.Version
	build := func(room string) (frame []byte, mark, ref int) {
		if r.peer() {
			frame = peerFrame(r.kind, r.channel(), []byte(text))
			return frame, bytes.Index(frame, r.prefix), -1
		}
		b := protocol.NewFrame(nil, protocol.MsgMessage)
		switch {
		case unique:
			b.Str("ref", strings.Repeat("0", refDigits))
		case r.flatOut:
			b.Str("ref", "b") // the reader only counts acks
		}
		if room != "" { // none: the lobby
			b.Str("room", room)
		}
		frame = b.Str("text", text).End()
		ref = -1
		if unique {
			ref = bytes.Index(frame, []byte(`"ref":"`)) + len(`"ref":"`)
		}
		return frame, bytes.Index(frame, r.prefix), ref
	}
	longest := 0
	if c.room >= 0 {
		s.tmpl, s.mark[0], s.ref[0] = build(r.rooms[c.room])
		if r.lobbyEvery > 0 {
			s.lobby, s.mark[1], s.ref[1] = build("")
		}
		longest = max(len(s.tmpl), len(s.lobby))
	} else {
		s.tmpl, s.mark[0], s.ref[0] = build("")
		s.lobby, s.mark[1], s.ref[1] = s.tmpl, s.mark[0], s.ref[0]
		longest = len(s.tmpl)
	}
	s.batch = max(1, maxBatchBytes/longest)
	s.buf = make([]byte, 0, s.batch*longest)
	s.frames = make([]frameOf, 0, s.batch)
	return s
}

// perMessage is how many receivers a message of this sender has, on
// average over its sequence.
func (s *sender) perMessage() float64 {
	k := float64(s.r.lobbyEvery)
	switch {
	case s.c.room < 0:
		return float64(s.lobbyRcpt)
	case k == 0:
		return float64(s.roomRcpt)
	}
	return (float64(s.roomRcpt)*(k-1) + float64(s.lobbyRcpt)) / k
}

// add appends one message scheduled at at (ns since the epoch).
func (s *sender) add(at int64) {
	f := frameOf{lobby: s.r.toLobby(s.seq), measured: at >= s.r.warmEnd}
	tmpl, k := s.tmpl, 0
	if f.lobby {
		tmpl, k = s.lobby, 1
	}
	phase := byte(phaseWarmup)
	if f.measured {
		phase = phaseMeasured
	}
	off := len(s.buf)
	s.buf = append(s.buf, tmpl...)
	putMarker(s.buf[off+s.mark[k]:], phase, s.seq, at)
	if s.ref[k] >= 0 {
		putHex(s.buf[off+s.ref[k]:][:refDigits], uint64(s.seq))
	}
	f.end = len(s.buf)
	s.frames = append(s.frames, f)
	s.seq++
}

// flush writes the batch. It reports whether sending may go on.
func (s *sender) flush() bool {
	n, err := s.c.write(s.buf, s.r.endTime().Add(writeGrace))
	var whole, warm, measured, lobbyM, owed, owedM int64
	for _, f := range s.frames {
		if f.end > n {
			break
		}
		rcpt := s.roomRcpt
		if f.lobby {
			rcpt = s.lobbyRcpt
		}
		whole++
		owed += rcpt
		if !f.measured {
			warm++
			continue
		}
		measured++
		owedM += rcpt
		if f.lobby {
			lobbyM++
		}
	}
	s.sentW.Add(warm)
	s.sentM.Add(measured)
	s.lobbyM.Add(lobbyM)
	s.owedM.Add(owedM)
	s.r.gate.owed.Add(owed)
	s.r.gate.sent.Add(whole)
	s.buf, s.frames = s.buf[:0], s.frames[:0]
	if err != nil {
		if !s.r.stopping.Load() {
			s.r.tally.addError(errWrite, 1)
			s.r.tally.note("write", fmt.Sprintf("%s: send: %v", s.c.name, err))
		}
		return false
	}
	return true
}

// runRate is the open-loop sender goroutine. Message n of the run (over all
// senders) is scheduled at trafficStart + n/Rate; this sender sends n = k*S
// + i for k = 0, 1, ... It sleeps until the next message is due, then sends
// every message due by then in one write, stamped with its scheduled time:
// a stall in the server (or here) shows up as latency, not as a lower rate.
// Messages scheduled before the end of the window are sent even if late; it
// returns once they are all sent, or when stop closes (writeGrace after the
// end, or on cancellation).
func (s *sender) runRate(stop <-chan struct{}) {
	r := s.r
	S, i := int64(r.cfg.Senders), int64(s.c.idx)
	period := 1e9 / r.cfg.Rate
	sched := func(k int64) int64 { return r.trafficStart + int64(float64(k*S+i)*period) }
	firstAt := func(t int64) int64 { // first k scheduled at or after t
		k := int64(math.Ceil((float64(t-r.trafficStart)/period - float64(i)) / float64(S)))
		k = max(k, 0)
		for n := 0; k > 0 && sched(k-1) >= t && n < 8; n++ {
			k--
		}
		for n := 0; sched(k) < t && n < 8; n++ {
			k++
		}
		return k
	}
	s.offeredM = firstAt(r.end) - firstAt(r.warmEnd)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var k int64
	for {
		select {
		case <-stop:
			return
		default:
		}
		now := r.now()
		next := sched(k)
		if next >= r.end {
			return
		}
		if next > now {
			timer.Reset(time.Duration(next - now))
			select {
			case <-timer.C:
			case <-stop:
				return
			}
			continue
		}
		for n := 0; n < s.batch; n++ {
			at := sched(k)
			if at > now || at >= r.end {
				break
			}
			s.add(at)
			k++
		}
		if !s.flush() {
			return
		}
	}
}

// runWindow is the flat-out sender goroutine: it keeps up to Window messages
// unacknowledged (each carries a ref, the server acks it), sending as many as
// the window allows in one write, and waits while the run-wide gate is shut.
// Latency is measured from the moment a message was written. It returns at
// the end of the window (when end closes) or when stop closes.
func (s *sender) runWindow(end, stop <-chan struct{}) {
	r := s.r
	window := int64(r.cfg.Window)
	var sent int64
	for {
		select {
		case <-end:
			return
		case <-stop:
			return
		default:
		}
		free := window - (sent - s.c.acks.Load())
		if free <= 0 {
			select {
			case <-s.c.ackNote:
			case <-end:
				return
			case <-stop:
				return
			}
			continue
		}
		if !r.gate.open() {
			if ch := r.gate.wait(); ch != nil {
				select {
				case <-ch:
				case <-end:
				case <-stop:
				}
				r.gate.done()
			}
			continue
		}
		now := r.now()
		if now >= r.end {
			return
		}
		n := int(min(free, int64(s.batch)))
		for range n {
			s.add(now)
		}
		if s.c.pings != nil { // NATS: its PONG acknowledges the batch
			s.c.pings <- n // never blocks: at most Window batches are unacked
			s.buf = append(s.buf, natsPing...)
		}
		before := s.sentW.Load() + s.sentM.Load()
		ok := s.flush()
		sent += s.sentW.Load() + s.sentM.Load() - before
		if !ok {
			return
		}
	}
}
