package attack

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pynet/protocol"
)

// pair is the well-behaved pair of users: two version 1 clients in the
// lobby that message each other at a steady rate, plus a fresh connection
// that joins and leaves every FreshEvery.
type pair struct {
	cfg    *Config
	target netip.AddrPort
	tag    string
	users  [2]*user

	stopping atomic.Bool // the harness is ending the pair's connections
	stopSend chan struct{}
	senders  sync.WaitGroup
	freshWG  sync.WaitGroup

	mu       sync.Mutex
	lat      []time.Duration // message latencies, both directions
	freshLat []time.Duration
	errs     []string

	freshTried, freshOK atomic.Int64
	freshFail           tally
}

// user is one of the pair.
type user struct {
	p    *pair
	name string
	peer *user
	conn *net.TCPConn
	wmu  sync.Mutex // writes: the sender, pongs, the final leave

	sent     atomic.Int64 // messages this user sent
	acked    atomic.Int64
	refused  tally        // this user's messages refused, by code
	received atomic.Int64 // the peer's messages this user received (once each)
	seen     map[int64]bool
	done     chan struct{} // the reader ended
}

// startPair connects and joins both users; it fails if either cannot join.
func startPair(ctx context.Context, cfg *Config, target netip.AddrPort, tag string) (*pair, error) {
	p := &pair{cfg: cfg, target: target, tag: tag, stopSend: make(chan struct{})}
	for i := range p.users {
		p.users[i] = &user{p: p, name: fmt.Sprintf("wb%s-%c", tag, 'a'+i), seen: make(map[int64]bool), done: make(chan struct{})}
	}
	p.users[0].peer, p.users[1].peer = p.users[1], p.users[0]
	for i, u := range p.users {
		c, err := dial(ctx, userAddrs[i], target, 0)
		if err != nil {
			p.closeAll()
			return nil, fmt.Errorf("the well-behaved user %s cannot connect from %s: %v", u.name, userAddrs[i], err)
		}
		u.conn = c
		fr := newFrameReader(c, 128<<10, nil)
		if err := writeAll(c, joinFrame(u.name)); err != nil {
			p.closeAll()
			return nil, fmt.Errorf("the well-behaved user %s: %v", u.name, err)
		}
		if a := awaitJoin(c, fr); !a.joined {
			p.closeAll()
			return nil, fmt.Errorf("the well-behaved user %s could not join: %s", u.name, a.outcome())
		}
		go u.read(fr)
	}
	return p, nil
}

func (p *pair) closeAll() {
	p.stopping.Store(true)
	for _, u := range p.users {
		if u.conn != nil {
			u.conn.Close()
		}
	}
}

func (p *pair) fail(format string, args ...any) {
	p.mu.Lock()
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

// read handles what the server sends one user until its connection ends.
func (u *user) read(fr *frameReader) {
	defer close(u.done)
	p := u.p
	for {
		line, err := fr.next()
		if err != nil {
			if !p.stopping.Load() {
				p.fail("%s: connection ended (%s)", u.name, errKind(err))
			}
			return
		}
		switch frameType(line) {
		case protocol.MsgMessage:
			now := time.Now()
			f, err := protocol.DecodeServer(line)
			if err != nil || f.History || f.From != u.peer.name {
				continue
			}
			seq, at, ok := parseText(f.Text)
			if !ok || u.seen[seq] {
				continue
			}
			u.seen[seq] = true
			u.received.Add(1)
			p.mu.Lock()
			p.lat = append(p.lat, now.Sub(at))
			p.mu.Unlock()
		case protocol.MsgAck:
			u.acked.Add(1)
		case protocol.MsgError:
			f := decodeSmall(line)
			if strings.HasPrefix(f.Ref, "m") {
				u.refused.add(f.Code, 1)
			} else {
				p.fail("%s: error %s", u.name, f.Code)
			}
		case protocol.MsgBye:
			if !p.stopping.Load() {
				p.fail("%s: bye %s", u.name, decodeSmall(line).Reason)
			}
			return
		case protocol.MsgPing:
			u.write(pongFrame)
		}
	}
}

func (u *user) write(b []byte) error {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	return writeAll(u.conn, b)
}

// messageText carries the sequence number and the scheduled send time,
// padded with x to size bytes.
func messageText(seq int64, at time.Time, size int) string {
	s := "wb " + strconv.FormatInt(seq, 10) + " " + strconv.FormatInt(at.UnixNano(), 10)
	if pad := size - len(s) - 1; pad > 0 {
		s += " " + strings.Repeat("x", pad)
	}
	return s
}

func parseText(s string) (seq int64, at time.Time, ok bool) {
	f := strings.Fields(s)
	if len(f) < 3 || len(f) > 4 || f[0] != "wb" {
		return 0, time.Time{}, false
	}
	seq, err1 := strconv.ParseInt(f[1], 10, 64)
	ns, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, false
	}
	return seq, time.Unix(0, ns), true
}

// startTraffic starts both senders and the fresh joins.
func (p *pair) startTraffic(ctx context.Context) {
	start := time.Now()
	for i, u := range p.users {
		p.senders.Add(1)
		// The second user starts half an interval later: the two do not
		// send at the same instant.
		go u.send(start.Add(time.Duration(float64(time.Second) / p.cfg.UserRate * float64(i) / 2)))
	}
	p.senders.Add(1)
	go func() {
		defer p.senders.Done()
		t := time.NewTicker(p.cfg.FreshEvery)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-p.stopSend:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p.freshWG.Add(1)
			go p.freshJoin(ctx, n)
		}
	}()
}

// send sends UserRate messages a second, open loop: message k is due at
// start + k/UserRate and carries that time, so a send delayed by a busy
// harness or a full socket counts in the latency.
func (u *user) send(start time.Time) {
	defer u.p.senders.Done()
	every := time.Duration(float64(time.Second) / u.p.cfg.UserRate)
	t := time.NewTimer(0)
	defer t.Stop()
	for seq := int64(1); ; seq++ {
		at := start.Add(time.Duration(seq-1) * every)
		t.Reset(time.Until(at))
		select {
		case <-u.p.stopSend:
			return
		case <-u.done:
			return
		case <-t.C:
		}
		b := append([]byte(`{"type":"message","text":`), protocol.AppendString(nil, messageText(seq, at, u.p.cfg.UserSize))...)
		b = append(b, `,"ref":"m`...)
		b = strconv.AppendInt(b, seq, 10)
		b = append(b, "\"}\n"...)
		if err := u.write(b); err != nil {
			u.p.fail("%s: sending: %s", u.name, errKind(err))
			return
		}
		u.sent.Add(1)
	}
}

// freshJoin opens a connection from one of the pair's addresses, joins,
// and leaves, timing connect → welcome.
func (p *pair) freshJoin(ctx context.Context, n int) {
	defer p.freshWG.Done()
	p.freshTried.Add(1)
	start := time.Now()
	c, err := dial(ctx, userAddrs[n%2], p.target, 0)
	if err != nil {
		p.freshFail.add("dial "+errKind(err), 1)
		return
	}
	defer c.Close()
	fr := newFrameReader(c, 64<<10, nil)
	if err := writeAll(c, joinFrame(fmt.Sprintf("wbf%s-%d", p.tag, n))); err != nil {
		p.freshFail.add("write "+errKind(err), 1)
		return
	}
	a := awaitJoin(c, fr)
	if !a.joined {
		p.freshFail.add(a.outcome(), 1)
		return
	}
	d := time.Since(start)
	p.freshOK.Add(1)
	p.mu.Lock()
	p.freshLat = append(p.freshLat, d)
	p.mu.Unlock()
	writeAll(c, leaveFrame)
}

// stopTraffic stops the senders and waits for the fresh joins in progress.
func (p *pair) stopTraffic() {
	close(p.stopSend)
	p.senders.Wait()
	p.freshWG.Wait()
}

// expected is how many of u's messages its peer should get.
func (u *user) expected() int64 {
	n := u.sent.Load()
	for _, v := range u.refused.snapshot() {
		n -= v
	}
	return n
}

// drain waits up to d for the messages in flight.
func (p *pair) drain(d time.Duration) {
	by := time.Now().Add(d)
	for time.Now().Before(by) {
		a, b := p.users[0], p.users[1]
		if b.received.Load() >= a.expected() && a.received.Load() >= b.expected() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finish says goodbye, closes the connections and fills r.
func (p *pair) finish(r *UserReport) {
	p.stopping.Store(true)
	for _, u := range p.users {
		u.write(leaveFrame)
	}
	for _, u := range p.users {
		select {
		case <-u.done:
		case <-time.After(time.Second):
		}
		u.conn.Close()
		<-u.done
	}
	r.Protocol = 1
	r.Refused = map[string]int64{}
	for _, u := range p.users {
		r.Sent += u.sent.Load()
		r.Acked += u.acked.Load()
		r.Received += u.received.Load()
		r.Lost += max(u.expected()-u.peer.received.Load(), 0)
		for k, v := range u.refused.snapshot() {
			r.Refused[k] += v
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	sortDurations(p.lat)
	r.P50MS, r.P99MS = percentile(p.lat, 0.50), percentile(p.lat, 0.99)
	if n := len(p.lat); n > 0 {
		r.MaxMS = ms(p.lat[n-1])
	}
	for _, d := range p.lat {
		if d > time.Second {
			r.Over1s++
		}
	}
	r.FreshTried, r.FreshOK = p.freshTried.Load(), p.freshOK.Load()
	r.FreshFailed = r.FreshTried - r.FreshOK
	r.FreshFail = p.freshFail.snapshot()
	sortDurations(p.freshLat)
	r.FreshP50MS = percentile(p.freshLat, 0.50)
	if n := len(p.freshLat); n > 0 {
		r.FreshMaxMS = ms(p.freshLat[n-1])
	}
	r.Errors = append([]string{}, p.errs...)
}
