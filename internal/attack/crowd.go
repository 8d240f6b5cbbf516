package attack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"pynet/protocol"
)

// crowd is the attackers: their connections, their goroutines and their
// counts.
type crowd struct {
	cfg    *Config
	target netip.AddrPort
	tag    string
	ctx    context.Context

	stopping atomic.Bool // the harness is closing the connections: ends are ours
	mu       sync.Mutex
	conns    map[*net.TCPConn]struct{}
	wg       sync.WaitGroup

	open, peakOpen    atomic.Int64
	tried, accepted   atomic.Int64
	bytesIn, bytesOut atomic.Int64
	refused           tally // bye at accept, by reason
	errs              tally // dials and answers that failed, by kind
	closed            tally // accepted connections the server ended, by how
	counts            tally // the scenario's own numbers
}

func newCrowd(ctx context.Context, cfg *Config, target netip.AddrPort, tag string) *crowd {
	return &crowd{cfg: cfg, target: target, tag: tag, ctx: ctx, conns: make(map[*net.TCPConn]struct{})}
}

// connect dials from attacker address i and registers the connection.
func (cr *crowd) connect(i, rcvbuf int) (*net.TCPConn, bool) {
	cr.tried.Add(1)
	c, err := dial(cr.ctx, cr.cfg.source(i), cr.target, rcvbuf)
	if err != nil {
		if cr.ctx.Err() == nil && !cr.stopping.Load() {
			cr.errs.add("dial "+errKind(err), 1)
		}
		return nil, false
	}
	cr.mu.Lock()
	if cr.stopping.Load() {
		cr.mu.Unlock()
		c.Close()
		return nil, false
	}
	cr.conns[c] = struct{}{}
	cr.mu.Unlock()
	n := cr.open.Add(1)
	for {
		p := cr.peakOpen.Load()
		if n <= p || cr.peakOpen.CompareAndSwap(p, n) {
			break
		}
	}
	return c, true
}

// drop closes c and forgets it.
func (cr *crowd) drop(c *net.TCPConn) {
	cr.mu.Lock()
	_, ok := cr.conns[c]
	delete(cr.conns, c)
	cr.mu.Unlock()
	if ok {
		cr.open.Add(-1)
	}
	c.Close()
}

// closeAll ends every attacker connection (the end of the run).
func (cr *crowd) closeAll() {
	cr.mu.Lock()
	cr.stopping.Store(true)
	conns := cr.conns
	cr.conns = make(map[*net.TCPConn]struct{})
	cr.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

func (cr *crowd) write(c net.Conn, b []byte) error {
	err := writeAll(c, b)
	if err == nil {
		cr.bytesOut.Add(int64(len(b)))
	}
	return err
}

// ended notes how an accepted connection ended, unless the harness ended it.
func (cr *crowd) ended(how string) {
	if !cr.stopping.Load() && cr.ctx.Err() == nil {
		cr.closed.add(how, 1)
	}
}

// closedNoBye counts connections the server closed before any answer: a
// refusal whose bye was not sent (the server writes at most a few refusals
// at once and just closes the rest).
const closedNoBye = "closed without bye"

// closedAtOnce reports whether err says the server closed the connection.
func closedAtOnce(err error) bool {
	k := errKind(err)
	return k == "eof" || k == "reset"
}

// refusal reports whether a bye reason is a refusal at accept.
func refusal(reason string) bool {
	return reason == protocol.ReasonServerFull || reason == protocol.ReasonIPLimit
}

// join sends a join for name and waits for its answer, retrying after
// rate_limited (as a bot would) while there is time before deadline. It
// counts the outcome: a first answer that is a refusal bye counts as
// refused, anything else as accepted.
func (cr *crowd) join(c *net.TCPConn, fr *frameReader, name string, deadline time.Time) answer {
	first := true
	for {
		if err := cr.write(c, joinFrame(name)); err != nil {
			a := answer{err: err}
			if first {
				cr.errs.add("write "+errKind(err), 1)
			}
			return a
		}
		a := awaitJoin(c, fr)
		if first {
			switch {
			case a.bye != "" && refusal(a.bye):
				cr.refused.add(a.bye, 1)
			case closedAtOnce(a.err):
				cr.refused.add(closedNoBye, 1)
			case a.err != nil:
				if !cr.stopping.Load() {
					cr.errs.add("join "+errKind(a.err), 1)
				}
			default:
				cr.accepted.Add(1)
			}
			first = false
		}
		switch {
		case a.joined:
			cr.counts.add("joins", 1)
			return a
		case a.code != "":
			cr.counts.add("join refused "+a.code, 1)
		case a.bye != "" && !refusal(a.bye):
			cr.ended("bye " + a.bye)
		}
		if a.code != protocol.CodeRateLimited {
			return a
		}
		wait := min(max(a.retry, 10*time.Millisecond), time.Second)
		if time.Now().Add(wait).After(deadline) || !cr.sleep(wait) {
			return a
		}
	}
}

// sleep waits d unless the run ends first.
func (cr *crowd) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-cr.ctx.Done():
		return false
	}
}

// hold reads and discards what a connection gets until it ends, answering
// pings if pong says so, and notes how it ended.
func (cr *crowd) hold(c *net.TCPConn, fr *frameReader, pong bool, onLine func(line []byte)) {
	defer cr.drop(c)
	bye := ""
	for {
		line, err := fr.next()
		if err != nil {
			if bye != "" {
				cr.ended("bye " + bye)
			} else if !errors.Is(err, net.ErrClosed) {
				cr.ended(errKind(err))
			}
			return
		}
		switch frameType(line) {
		case protocol.MsgBye:
			if bye == "" {
				bye = decodeSmall(line).Reason
			}
		case protocol.MsgPing:
			if pong {
				cr.write(c, pongFrame)
			}
		}
		if onLine != nil {
			onLine(line)
		}
	}
}

// launch starts fn(i, release) for i < n on goroutines of their own, at
// most InFlight holding a slot at once; it starts no more after the
// deadline or cancellation and returns the group of those it started. fn
// gives its slot back by calling release (more than once is fine).
func (cr *crowd) launch(n int, deadline time.Time, fn func(i int, release func())) *sync.WaitGroup {
	sem := make(chan struct{}, cr.cfg.InFlight)
	var wg sync.WaitGroup
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-cr.ctx.Done():
			return &wg
		case <-timeout.C:
			return &wg
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			release := func() { once.Do(func() { <-sem }) }
			defer release()
			fn(i, release)
		}()
	}
	return &wg
}

// storm makes n connections join, InFlight at a time (from dial to the
// answer), from the addresses source(i) picks; those that join stay and
// read (onLine, if set, sees every line) until the run ends. It returns when every attempt is answered
// (and each joined connection has been passed to joined) or the deadline passes.
func (cr *crowd) storm(n int, source func(i int) int, prefix string, deadline time.Time, joined func(c *net.TCPConn), onLine func([]byte)) {
	sem := make(chan struct{}, cr.cfg.InFlight)
	var attempts sync.WaitGroup
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()
loop:
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-cr.ctx.Done():
			break loop
		case <-timeout.C:
			break loop
		}
		attempts.Add(1)
		cr.wg.Add(1)
		go func(i int) {
			defer cr.wg.Done()
			c, ok := cr.connect(source(i), 0)
			if !ok {
				<-sem
				attempts.Done()
				return
			}
			fr := newFrameReader(c, 8<<10, &cr.bytesIn)
			a := cr.join(c, fr, prefix+strconv.Itoa(i), deadline)
			<-sem
			if !a.joined {
				attempts.Done()
				cr.drop(c)
				return
			}
			// Reported before the attempt counts as done: when storm
			// returns, every joined connection has been handed over.
			if joined != nil {
				joined(c)
			}
			attempts.Done()
			cr.hold(c, fr, true, onLine)
		}(i)
	}
	attempts.Wait()
}

// waitUntil sleeps until t or the end of the run.
func (cr *crowd) waitUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		cr.sleep(d)
	}
}

// report fills r from the counts.
func (cr *crowd) report(r *AttackReport) {
	r.Tried, r.Accepted = cr.tried.Load(), cr.accepted.Load()
	r.Refused, r.Errors, r.Closed, r.Counts = cr.refused.snapshot(), cr.errs.snapshot(), cr.closed.snapshot(), cr.counts.snapshot()
	r.PeakOpen = cr.peakOpen.Load()
	r.BytesIn, r.BytesOut = cr.bytesIn.Load(), cr.bytesOut.Load()
}
