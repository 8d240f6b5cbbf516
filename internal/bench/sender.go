package bench

import (
	"bytes"
	"fmt"
	"math"
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
	c     *conn
	r     *run
	tmpl  []byte // one frame; its marker is rewritten per message
	mark  int    // offset of the marker in tmpl
	batch int    // frames per write at most
	buf   []byte
	seq   uint32

	sentW, sentM atomic.Int64 // frames written whole, by phase
	offeredM     int64        // open loop: messages scheduled in the window
}

func newSender(r *run, c *conn) *sender {
	b := protocol.NewFrame(nil, protocol.MsgMessage)
	if r.flatOut {
		b.Str("ref", "b") // one ref for all: the reader only counts acks
	}
	tmpl := b.Str("text", string(makeText(r.id, c.idx, r.cfg.Size))).End()
	s := &sender{c: c, r: r, tmpl: tmpl, mark: bytes.Index(tmpl, r.prefix)}
	s.batch = max(1, maxBatchBytes/len(tmpl))
	s.buf = make([]byte, 0, s.batch*len(tmpl))
	return s
}

// add appends one message scheduled at at (ns since the epoch).
func (s *sender) add(at int64) {
	phase := byte(phaseWarmup)
	if at >= s.r.warmEnd {
		phase = phaseMeasured
	}
	off := len(s.buf)
	s.buf = append(s.buf, s.tmpl...)
	putMarker(s.buf[off+s.mark:], phase, s.seq, at)
	s.seq++
}

// flush writes the batch; nWarm of its frames are warmup ones (they come
// first). It reports whether sending may go on.
func (s *sender) flush(nWarm int) bool {
	n, err := s.c.write(s.buf, s.r.endTime().Add(writeGrace))
	whole := n / len(s.tmpl)
	w := min(whole, nWarm)
	s.sentW.Add(int64(w))
	s.sentM.Add(int64(whole - w))
	s.r.gate.sent.Add(int64(whole))
	s.buf = s.buf[:0]
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
		nWarm := 0
		for n := 0; n < s.batch; n++ {
			at := sched(k)
			if at > now || at >= r.end {
				break
			}
			if at < r.warmEnd {
				nWarm++
			}
			s.add(at)
			k++
		}
		if !s.flush(nWarm) {
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
		room := window - (sent - s.c.acks.Load())
		if room <= 0 {
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
		n := int(min(room, int64(s.batch)))
		nWarm := 0
		if now < r.warmEnd {
			nWarm = n
		}
		for range n {
			s.add(now)
		}
		before := s.sentW.Load() + s.sentM.Load()
		ok := s.flush(nWarm)
		sent += s.sentW.Load() + s.sentM.Load() - before
		if !ok {
			return
		}
	}
}
