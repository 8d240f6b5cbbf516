package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pynet/protocol"
)

// Tunables of a run that are not flags.
const (
	// lagBytes bounds, flat out, how far behind the average receiver may
	// fall (see gate) in bytes of message frames; the server's default
	// outbound queue is 1 MiB.
	lagBytes = 256 << 10
	// maxOrderCells bounds the memory of the order check: Clients × Senders
	// sequence numbers of 4 bytes (16 MiB).
	maxOrderCells = 4 << 20
	// drainPoll is how often the drain checks whether everything arrived;
	// after a disconnect it ends after drainQuiet polls without a delivery.
	drainPoll  = 5 * time.Millisecond
	drainQuiet = 40
)

// Phases for the progress line.
const (
	phaseSetup int32 = iota
	phaseWarm
	phaseMeasure
	phaseDrain
	phaseDone
)

// run is the state shared by the connections of one Run. Fields above the
// line are set before the goroutines that read them start.
type run struct {
	cfg        Config
	epoch      time.Time     // all times are ns since the epoch (monotonic clock)
	id         uint16        // run id, in every marker
	prefix     []byte        // '~' and the run id: what receivers look for
	flatOut    bool          // Rate == 0
	orderCheck bool          // receivers check per-sender order
	rooms      []string      // the rooms besides the lobby (Config.Rooms), nil for none
	lobbyEvery uint32        // Config.LobbyEvery
	kind       string        // targetPyNet, targetRedis or targetNATS
	addrs      []string      // host:port to dial, one per node (nodeOf)
	tls        []*tls.Config // with Config.TLS: the configuration for each of addrs

	trafficStart, warmEnd, end int64 // set before senders start
	// ---

	winStart, winEnd atomic.Int64 // the measured window for receivers; 0 = not yet
	stopping         atomic.Bool  // teardown: connections closing are not disconnects
	phase            atomic.Int32
	joined           atomic.Int64
	welcomeSeen      atomic.Bool   // the first welcome was checked (checkWelcome)
	allGone          chan struct{} // closed once every joined connection has dropped
	goneOnce         sync.Once
	delivered        atomic.Int64 // deliveries of this run's messages, all receivers
	disconnects      atomic.Int64
	gate             *gate
	tally            *tally
}

func (r *run) now() int64 { return int64(time.Since(r.epoch)) }

// roomOf is the index in r.rooms of client idx's room, -1 without rooms.
func (r *run) roomOf(idx int) int {
	if len(r.rooms) == 0 {
		return -1
	}
	return idx % len(r.rooms)
}

// toLobby reports whether a sender's message seq goes to the lobby.
func (r *run) toLobby(seq uint32) bool {
	if len(r.rooms) == 0 {
		return true
	}
	return r.lobbyEvery > 0 && seq%r.lobbyEvery == r.lobbyEvery-1
}

// nextLobby is the lowest sequence number at or after seq that goes to the
// lobby (math.MaxUint32 if none does).
func (r *run) nextLobby(seq uint32) uint32 {
	if len(r.rooms) == 0 {
		return seq
	}
	k := r.lobbyEvery
	if k == 0 {
		return math.MaxUint32
	}
	n := uint64(seq) + uint64(k-1-seq%k)
	return uint32(min(n, math.MaxUint32))
}

// roomLabel names room j for notes.
func (r *run) roomLabel(j int) string {
	if j < 0 {
		return lobby
	}
	return r.rooms[j]
}

// endTime is the end of the window as a wall-clock time (for deadlines).
func (r *run) endTime() time.Time { return r.epoch.Add(time.Duration(r.end)) }

// names are the usernames connection idx tries, in order.
func (r *run) names(idx int) []string {
	w := digits(r.cfg.Clients)
	return []string{
		fmt.Sprintf("%s-%0*d", r.cfg.Name, w, idx+1),
		fmt.Sprintf("%s-%04x-%0*d", r.cfg.Name, r.id, w, idx+1),
	}
}

// checkWelcome notes what in a welcome would spoil the measurement.
func (r *run) checkWelcome(f *protocol.ServerFrame) {
	if f.Protocol != r.cfg.Protocol {
		r.tally.note("protocol", fmt.Sprintf("the server speaks protocol %d, the bench %d", f.Protocol, r.cfg.Protocol))
	}
	if l := f.Limits; l != nil && l.Rate > 0 && l.Burst > 0 {
		r.tally.note("limits", fmt.Sprintf("the server rate-limits every connection (rate %g/s, burst %d): "+
			"run it with -rate 0 for benchmarks", l.Rate, l.Burst))
	}
}

// Run connects Clients users to the server, has Senders of them send for
// Warmup+Duration, waits up to Drain for what is in flight, closes every
// connection and returns the measurements. It fails only on a bad Config:
// whatever goes wrong with the server (refused connections, errors,
// disconnects) is counted in the Result. Cancelling ctx ends the run early;
// the Result then covers what was measured so far.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	r := &run{
		cfg:     cfg,
		epoch:   time.Now().Add(-time.Millisecond), // so that now() > 0
		id:      uint16(rand.Uint32()),
		flatOut: cfg.Rate == 0,
		tally:   newTally(),
		allGone: make(chan struct{}),
	}
	r.prefix = runPrefix(r.id)
	r.kind, r.addrs, _ = parseTarget(cfg.Target, cfg.Addr) // checked by Validate
	if cfg.TLS != nil {
		for _, a := range r.addrs {
			tc := cfg.TLS.Clone()
			if host, _, err := net.SplitHostPort(a); err == nil && tc.ServerName == "" {
				tc.ServerName = host
			}
			r.tls = append(r.tls, tc)
		}
	}
	for j := range cfg.Rooms {
		r.rooms = append(r.rooms, roomName(cfg.Name, j, cfg.Rooms))
	}
	r.lobbyEvery = uint32(min(cfg.LobbyEvery, math.MaxUint32))
	r.orderCheck = int64(cfg.Clients)*int64(cfg.Senders) <= maxOrderCells
	r.gate = newGate(&r.delivered)

	res := Result{
		Addr: strings.Join(r.addrs, ","), Target: cfg.Target, TLS: cfg.TLS != nil, Clients: cfg.Clients, Senders: cfg.Senders, Size: cfg.Size,
		Rate: cfg.Rate, WarmupS: cfg.Warmup.Seconds(),
		Protocol: cfg.Protocol, Rooms: cfg.Rooms, LobbyEvery: cfg.LobbyEvery,
		ServerPIDs: slices.Clone(cfg.ServerPIDs),
	}
	if r.flatOut {
		res.Window = cfg.Window
	}
	if !r.orderCheck {
		r.tally.note("order", "too many clients × senders to check message order")
	}

	var progressWG sync.WaitGroup
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		progressWG.Go(func() { r.progress(progressDone) })
	}

	rss0, rssErr := int64(0), error(nil)
	if len(cfg.ServerPIDs) > 0 {
		rss0, rssErr = r.serverRSS()
	}
	setupCPU0 := r.readCPU()
	conns := r.setup(ctx, &res)
	if setupCPU1 := r.readCPU(); res.Connected > 0 && setupCPU0.ok && setupCPU1.ok {
		res.SetupBenchCPUUS = float64((setupCPU1.self - setupCPU0.self).Microseconds()) / float64(res.Connected)
		if setupCPU0.serverOK && setupCPU1.serverOK {
			res.SetupServerCPUUS = float64((setupCPU1.server - setupCPU0.server).Microseconds()) / float64(res.Connected)
		}
	}
	if len(cfg.ServerPIDs) > 0 && cfg.Senders == 0 && rssErr == nil && res.Connected > 0 {
		r.measureIdleRSS(ctx, rss0, &res)
	}
	r.traffic(ctx, conns, &res)

	res.Interrupted = ctx.Err() != nil
	r.phase.Store(phaseDone)
	close(progressDone)
	progressWG.Wait()

	// Teardown: stop counting, close everything, wait for the readers.
	r.stopping.Store(true)
	for _, c := range conns {
		if c != nil {
			c.nc.Close()
			if c.publisher != nil {
				c.publisher.nc.Close()
			}
		}
	}
	for _, c := range conns {
		if c != nil {
			<-c.done
			if c.publisher != nil {
				<-c.publisher.done
			}
		}
	}
	r.collect(conns, &res)
	return res, nil
}

// measureIdleRSS reports how much the server's resident memory grew per
// joined, idle connection: the cost of holding a connection open.
func (r *run) measureIdleRSS(ctx context.Context, rss0 int64, res *Result) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(r.cfg.IdleSettle):
	}
	rss1, err := r.serverRSS()
	if err != nil {
		return
	}
	res.ServerRSSKiB = rss1
	res.ServerRSSKiBPerConn = float64(rss1-rss0) / float64(res.Connected)
}

// serverRSS is the resident memory, in KiB, of the ServerPIDs together.
func (r *run) serverRSS() (int64, error) {
	sum, _, err := sumOver(r.cfg.ServerPIDs, procRSS)
	return sum, err
}

// sumOver adds up read(pid) over pids. If a read fails it returns that
// pid and its error.
func sumOver[T int64 | time.Duration](pids []int, read func(pid int) (T, error)) (sum T, failed int, err error) {
	for _, pid := range pids {
		v, err := read(pid)
		if err != nil {
			return 0, pid, err
		}
		sum += v
	}
	return sum, 0, nil
}

// setup dials and joins every client, Parallel at a time, and starts each
// one's reader as soon as it has joined. It returns the connections by
// index, nil for those that did not join.
func (r *run) setup(ctx context.Context, res *Result) []*conn {
	cfg := r.cfg
	sctx, cancel := context.WithTimeout(ctx, cfg.SetupTimeout)
	defer cancel()
	conns := make([]*conn, cfg.Clients)
	var next, lastWelcome atomic.Int64
	first := r.now()
	var wg sync.WaitGroup
	for range min(cfg.Parallel, cfg.Clients) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Clients || sctx.Err() != nil {
					return
				}
				c := newConn(r, i)
				names := r.names(i)
				if err := c.join(sctx, names); err != nil {
					if c.nc != nil {
						c.nc.Close()
					}
					if c.publisher != nil {
						c.publisher.nc.Close()
					}
					if sctx.Err() == nil {
						key := errJoin
						if se, ok := err.(*setupError); ok {
							key = se.Key
						}
						r.tally.addError(key, 1)
						r.tally.note("setup:"+key, fmt.Sprintf("%s: %v", names[0], err))
					}
					continue
				}
				t := r.now()
				for {
					old := lastWelcome.Load()
					if t <= old || lastWelcome.CompareAndSwap(old, t) {
						break
					}
				}
				conns[i] = c
				r.joined.Add(1)
				go c.readLoop()
				if c.publisher != nil {
					go c.publisher.readLoop()
				}
			}
		})
	}
	wg.Wait()
	res.Connected = int(r.joined.Load())
	if len(r.addrs) > 1 {
		res.Nodes = make([]Node, len(r.addrs))
		for k, a := range r.addrs {
			res.Nodes[k].Addr = a
		}
		for i := range cfg.Clients {
			n := &res.Nodes[nodeOf(i, len(r.addrs), len(r.rooms))]
			n.Clients++
			if i < cfg.Senders {
				n.Senders++
			}
			if conns[i] != nil {
				n.Connected++
			}
		}
	}
	if res.Connected > 0 {
		d := time.Duration(lastWelcome.Load() - first)
		res.SetupS = d.Seconds()
		if d > 0 {
			res.ConnectsPerS = float64(res.Connected) / d.Seconds()
		}
	}
	if ctx.Err() == nil && sctx.Err() != nil && res.Connected < cfg.Clients {
		r.tally.note("setup", fmt.Sprintf("set-up timed out after %v with %d of %d clients joined",
			cfg.SetupTimeout, res.Connected, cfg.Clients))
	}
	return conns
}

// traffic runs the senders through the warmup and the window, takes the CPU
// readings at both ends of the window, then waits for the deliveries in
// flight (bounded by Drain).
func (r *run) traffic(ctx context.Context, conns []*conn, res *Result) {
	cfg := r.cfg
	var senders []*sender
	for _, c := range conns[:cfg.Senders] {
		if c != nil {
			if c.publisher != nil { // Redis: publish on its own connection
				c = c.publisher
			}
			senders = append(senders, newSender(r, c))
		}
	}
	// Who receives what: a lobby message reaches every other client, a
	// room message the other members of its room.
	receivers := max(int64(res.Connected)-1, 0)
	res.Receivers = int(receivers)
	members := make([]int64, len(r.rooms))
	for _, c := range conns {
		if c != nil && c.room >= 0 {
			members[c.room]++
		}
	}
	var perMessage float64 // recipients of a message, on average over the senders
	for _, s := range senders {
		s.lobbyRcpt = receivers
		s.roomRcpt = receivers
		if s.c.room >= 0 {
			s.roomRcpt = members[s.c.room] - 1
		}
		perMessage += s.perMessage()
	}
	if len(senders) > 0 {
		perMessage /= float64(len(senders))
	}
	if len(senders) == 0 || perMessage == 0 || ctx.Err() != nil {
		if cfg.Senders > 0 {
			r.tally.note("traffic", "no traffic: too few clients joined")
		}
		return
	}
	if r.flatOut {
		// Each receiver may lag by lag messages; the senders' windows bound
		// the deliveries outstanding anyway.
		frame := int64(len(senders[0].tmpl) + 64) // what a receiver gets, roughly
		lag := max(int64(cfg.Window), lagBytes/frame)
		r.gate.budget = min(int64(float64(int64(cfg.Window)*int64(len(senders)))*perMessage), lag*receivers)
		r.gate.budget = max(r.gate.budget, 1)
	}

	r.trafficStart = r.now()
	r.warmEnd = r.trafficStart + int64(cfg.Warmup)
	r.end = r.warmEnd + int64(cfg.Duration)
	r.winStart.Store(r.warmEnd)
	r.winEnd.Store(r.end)
	r.phase.Store(phaseWarm)
	if r.disconnects.Load() == r.joined.Load() { // all dropped during set-up
		r.goneOnce.Do(func() { close(r.allGone) })
	}

	// endCh closes at the end of the window; stop closes writeGrace later,
	// or at once if ctx is cancelled: open-loop senders finish the messages
	// scheduled before the end in between.
	endCh, stop := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range senders {
		if r.flatOut {
			wg.Go(func() { s.runWindow(endCh, stop) })
		} else {
			wg.Go(func() { s.runRate(stop) })
		}
	}

	// The window, as it actually runs: cut short if ctx is cancelled or
	// every connection dropped.
	var cpu0, cpu1 cpuReading
	winStart := r.warmEnd
	if r.sleepUntil(ctx, r.warmEnd) {
		r.phase.Store(phaseMeasure)
		cpu0 = r.readCPU()
		r.sleepUntil(ctx, r.end)
		cpu1 = r.readCPU()
	}
	winEnd := min(r.now(), r.end)
	select {
	case <-r.allGone:
		r.tally.note("gone", fmt.Sprintf("the server closed every connection %v into the run",
			time.Duration(r.now()-r.trafficStart).Round(time.Millisecond)))
	default:
	}
	if winEnd < r.end {
		res.Interrupted = ctx.Err() != nil
		r.winEnd.Store(max(winEnd, winStart))
	}
	close(endCh)
	if winEnd < r.end {
		close(stop)
		wg.Wait()
	} else {
		hard := time.AfterFunc(writeGrace, func() { close(stop) })
		wg.Wait()
		if hard.Stop() {
			close(stop)
		}
	}
	window := time.Duration(max(winEnd-winStart, 0))
	res.WindowS = window.Seconds()

	// Drain: wait until every message sent (both phases) reached every
	// receiver, or Drain passed. Once a connection has dropped, everything
	// will never arrive: then stop as soon as deliveries stop coming.
	r.phase.Store(phaseDrain)
	want := r.gate.owed.Load()
	deadline := time.Now().Add(cfg.Drain)
	tick := time.NewTicker(drainPoll)
	last, still := r.delivered.Load(), 0
	for last < want && time.Now().Before(deadline) && ctx.Err() == nil && still < drainQuiet {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		d := r.delivered.Load()
		if d == last && r.disconnects.Load() > 0 {
			still++
		} else {
			still = 0
		}
		last = d
	}
	tick.Stop()

	for _, s := range senders {
		res.Sent += s.sentM.Load()
		res.SentLobby += s.lobbyM.Load()
		res.Expected += s.owedM.Load()
		res.Offered += s.offeredM
	}
	if res.Offered > 0 {
		res.Unsent = max(res.Offered-res.Sent, 0)
		if winEnd < r.end {
			res.Offered, res.Unsent = 0, 0 // the schedule was cut short
		}
	}
	if res.Unsent > 0 {
		r.tally.note("unsent", fmt.Sprintf("the senders fell behind: %d of %d messages offered in the window were never sent",
			res.Unsent, res.Offered))
	}
	if len(r.rooms) == 0 {
		res.SentLobby = 0 // every message goes there
	}
	if res.Sent > 0 {
		res.PerMessage = float64(res.Expected) / float64(res.Sent)
	}
	if cpu0.ok && cpu1.ok && window > 0 {
		res.BenchCPUS = (cpu1.self - cpu0.self).Seconds()
		if len(cfg.ServerPIDs) > 0 && cpu0.serverOK && cpu1.serverOK {
			res.ServerCPUS = (cpu1.server - cpu0.server).Seconds()
		}
	}
}

// sleepUntil waits until now() reaches t. It returns false, early, if ctx
// is cancelled or every connection has dropped.
func (r *run) sleepUntil(ctx context.Context, t int64) bool {
	timer := time.NewTimer(time.Duration(max(t-r.now(), 0)))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.allGone:
		return false
	default:
	}
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-r.allGone:
		return false
	}
}

type cpuReading struct {
	ok, serverOK bool
	self, server time.Duration
}

// readCPU reads the bench's CPU time and the sum of the ServerPIDs'.
func (r *run) readCPU() cpuReading {
	var c cpuReading
	c.self, c.ok = selfCPU()
	if len(r.cfg.ServerPIDs) == 0 {
		return c
	}
	var pid int
	var err error
	c.server, pid, err = sumOver(r.cfg.ServerPIDs, procCPU)
	c.serverOK = err == nil
	if err != nil {
		r.tally.note("server-pid", fmt.Sprintf("cannot read the CPU time of server process %d: %v", pid, err))
	}
	return c
}

// collect adds up what the readers counted, once they have all stopped.
func (r *run) collect(conns []*conn, res *Result) {
	var h Histogram
	var inWindow int64
	for _, c := range conns {
		if c == nil {
			continue
		}
		h.Merge(&c.hist)
		res.Delivered += c.nMeasured
		if res.Nodes != nil {
			res.Nodes[c.node].Delivered += c.nMeasured
		}
		inWindow += c.nInWindow
	}
	res.Latency = latencyOf(&h)
	if res.Expected > 0 {
		res.DeliveredFraction = float64(res.Delivered) / float64(res.Expected)
	}
	if res.WindowS > 0 {
		res.SentPerS = float64(res.Sent) / res.WindowS
		res.DeliveriesPerS = float64(inWindow) / res.WindowS
	}
	if inWindow > 0 {
		res.BenchCPUPerDeliveryUS = res.BenchCPUS * 1e6 / float64(inWindow)
		res.ServerCPUPerDeliveryUS = res.ServerCPUS * 1e6 / float64(inWindow)
	}
	res.Disconnects = r.disconnects.Load()
	if len(r.addrs) > 1 && res.Senders > 0 && res.Connected > 1 && (res.Delivered < res.Expected || res.Sent == 0) {
		r.tally.note("nodes", "not every message reached every client: with several addresses they must be "+
			"nodes of one cluster (independent servers deliver only to their own clients, and flat out the "+
			"senders then wait for deliveries that never come)")
	}
	res.Errors, res.Byes, res.Notes = r.tally.snapshot()
}
