// Package server is the PyNet Chat server: PROTOCOL.md version 2 (and the
// version 1 view for v1 clients) over TCP, optionally TLS. It imports only
// the standard library and the project's stdlib-only packages; the SQLite
// store and the password hash are plugged in through interfaces
// (Config.Store, Config.Hasher) by cmd/pynet.
//
// # Concurrency
//
// Goroutines and what they own:
//
//   - The accept loop (Serve) accepts connections, applies max_clients and
//     max_per_ip (admit), and starts one reader goroutine per connection.
//   - Each connection's reader goroutine (conn.run, conn.go) is the only code
//     that reads its socket. It decodes and handles frames in order, runs the
//     connection's timers through read deadlines (no timer goroutine), and
//     at the end detaches from its session (held, ended or replaced) and
//     closes the socket.
//   - Each connection's writer goroutine (outQueue.writeLoop, outqueue.go) is
//     the only code that writes its socket. It runs only while frames are
//     pending: an idle connection has no writer. It also expands replays
//     (replay.go) as the connection drains.
//   - The hub (hub.go) owns the id sequence, rooms, names, sessions, history
//     caches and fanout, under one mutex: that is what keeps every
//     connection's live frames in id order (the argument is in hub.go).
//     Critical sections touch memory and enqueue to outQueues, which never
//     block; no I/O, no logging and no hashing happen under it.
//   - With a store, the committer (committer.go) is the one goroutine that
//     writes it: group commit, then delivery in id order.
//   - Hold timers (session.go) end held sessions; the janitor forgets idle
//     empty rooms; the lazy flusher batches announcement writes.
//
// How a message travels: the reader decodes {"type":"message"} and checks
// it → hub.publish takes hub.mu, assigns the id and encodes the frame once
// (acceptLocked) → in memory mode deliverLocked at once; with a store the
// committer commits the batch and then calls deliverLocked → deliverLocked
// records the frame in the room's history cache and appends the same bytes
// to every other member's outQueue (fanoutLocked) and acks the sender →
// each member's writer wakes and writes everything pending in one syscall.
// A member whose queue is over MaxQueue is cut off (slow consumer) instead
// of slowing anyone else down.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"pynet/protocol"
)

// Server is a PyNet chat server. Create it with New and run it with Serve.
type Server struct {
	cfg      Config
	log      *slog.Logger
	stats    *Stats
	hub      *hub
	ips      *ipLimiter
	accounts *accountBook
	guard    *guard
	lazy     *lazyFlusher
	writers  *writerPool
	settle   *settler
	// lineBudget is shared by every connection's LineReader (nil: none).
	lineBudget *byteBudget
	// fatal is closed when the store fails: Serve stops and returns failErr.
	fatal     chan struct{}
	fatalOnce sync.Once
	failErr   error

	// wg counts reader, writer and refusal goroutines; Serve waits for it.
	wg sync.WaitGroup

	mu       sync.Mutex // protects conns and closing
	conns    map[*conn]struct{}
	closing  bool
	nextNum  uint64
	refusing atomic.Int32 // server_full refusals in progress
	refusals refusalLog
}

// sendBuffer is each client socket's SO_SNDBUF (the kernel doubles it):
// enough for full-speed fanout of small frames, bounded for memory.
const sendBuffer = 256 << 10

// refuseWriteTimeout bounds the accept loop's own write of a refusal's bye.
const refuseWriteTimeout = 50 * time.Millisecond

// maxRefusing bounds the goroutines that tell refused connections server_full.
const maxRefusing = 64

// New checks cfg and returns a server ready to Serve.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, stats: newStats(), conns: make(map[*conn]struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.ips = newIPLimiter(&s.cfg)
	s.hub = newHub(&s.cfg, s.stats, s.log, s.ips)
	s.accounts = newAccountBook(s.hub.store) // the cluster's store in a cluster
	s.guard = newGuard(&s.cfg)
	s.lazy = newLazyFlusher()
	s.writers = newWriterPool(s)
	s.settle = newSettler(s.log)
	s.fatal = make(chan struct{})
	if cfg.LineBudget > 0 {
		s.lineBudget = &byteBudget{limit: cfg.LineBudget}
	}
	if cfg.Store != nil {
		if err := s.hub.restore(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Stats returns the live counters.
func (s *Server) Stats() *Stats { return s.stats }

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }

// Serve accepts connections on ln until ctx is cancelled, then shuts down:
// the listener closes first (new connections are refused), every connection
// gets bye shutdown, and Serve returns once all are closed: within
// ShutdownGrace + 1 s, or at worst ShutdownGrace + 2 s when some sockets
// must be closed under their readers (4 s with the defaults), even if some
// peers never read. It logs
// "listening on HOST:PORT" once it accepts connections.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLS != nil {
		ln = tlsListener{ln, s.cfg.TLS} // tls.NewListener, with a tlsSink under each connection
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			s.log.Info("shutting down")
		case <-s.fatal:
			s.log.Error("shutting down: the store failed", "err", s.failErr)
		case <-done:
			return
		}
		ln.Close()
	}()
	if cl := s.hub.cl; cl != nil {
		// A cluster node answers nobody before it has caught up with the log.
		if err := cl.start(ctx.Done(), s.fatal, s.fail); err != nil {
			ln.Close()
			return err
		}
		stopCluster := make(chan struct{})
		go cl.run(stopCluster)
		defer close(stopCluster)
	}
	// Scripts wait for this line (PROTOCOL §9), so it is logged even when
	// the level hides info: at the lowest level the logger shows.
	level := slog.LevelInfo
	for !s.log.Enabled(ctx, level) && level < slog.LevelError {
		level += 4
	}
	s.log.Log(ctx, level, "listening on "+ln.Addr().String(), "tls", s.cfg.TLS != nil)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.lazy.run() }()
	if cm := s.hub.commit; cm != nil {
		go cm.run(s.fail)
	}
	stopJanitor := s.hub.startJanitor()
	err := s.acceptLoop(ctx, ln)
	ln.Close()
	stopJanitor()
	s.settle.stop()
	s.shutdown()
	if s.failErr != nil {
		return s.failErr
	}
	return err
}

// Listen opens the TCP listener for Serve on addr. When the server finds
// dead peers itself (IdleTimeout: a silent connection is pinged, then
// closed), TCP keep-alive is left off: it would find nothing the idle
// timeout does not, and it costs four setsockopt calls on every accept.
func (s *Server) Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	if s.cfg.IdleTimeout > 0 {
		lc.KeepAlive = -1
	}
	return lc.Listen(ctx, "tcp", addr)
}

// acceptLoop runs until the listener is closed. Temporary errors (such as
// running out of file descriptors) are retried with a growing pause.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) error {
	var pause time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || s.failErr != nil {
				return nil
			}
			if !isTemporary(err) {
				return err
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "err", err, "pause", pause)
			select {
			case <-time.After(pause):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		pause = 0
		s.stats.ConnsAccepted.Add(1)
		s.admit(nc)
	}
}

// admit applies the capacity limits of PROTOCOL §5.6 to a new connection:
// max_clients (checked first), then max_per_ip, each counting held
// sessions too. A connection that is over a limit only because of held
// sessions is let in until its join (PROTOCOL §5.4).
func (s *Server) admit(nc net.Conn) {
	conns := int(s.stats.ConnsCurrent.Load())
	held := s.hub.heldCount()
	if conns >= s.cfg.MaxClients {
		s.refuse(nc, protocol.ReasonServerFull)
		return
	}
	over := conns+held >= s.cfg.MaxClients
	ip := ipKeyOf(nc.RemoteAddr())
	if s.ips.limited(ip) {
		if n := s.ips.count(ip); n >= s.cfg.MaxPerIP {
			if n-s.hub.heldAt(ip) >= s.cfg.MaxPerIP { // the hub's lock only on this rare path
				s.refuse(nc, protocol.ReasonIPLimit)
				return
			}
			over = true
		}
	}
	s.start(nc, ip, over)
}

// fail stops the server after the store failed.
func (s *Server) fail(err error) {
	s.fatalOnce.Do(func() {
		s.failErr = err
		close(s.fatal)
	})
}

func isTemporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM)
}

// start registers a new connection and starts its reader goroutine. Only the
// accept loop calls it, so checking and raising ConnsCurrent cannot race.
func (s *Server) start(nc net.Conn, ip ipKey, overLimit bool) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.nextNum++
	raw := nc
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok { // TLS
		raw = tc.NetConn()
	}
	if sink, ok := raw.(*tlsSink); ok {
		raw = sink.Conn
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		// Cap what the kernel holds for a reader that does not read: with
		// autotuning a socket may take megabytes, and thousands of
		// non-reading joiners would take gigabytes of kernel memory.
		tc.SetWriteBuffer(sendBuffer)
	}
	c := newConn(s, asNetConn(nc), s.nextNum, time.Now())
	c.overLimit = overLimit
	s.ips.add(ip)
	s.conns[c] = struct{}{}
	s.stats.ConnsCurrent.Add(1)
	s.wg.Add(1)
	s.mu.Unlock()
	s.settle.accepted() // refused connections cost little and do not count
	c.logInfo("connected")
	go c.run()
}

// release forgets a connection once its socket is closed.
func (s *Server) release(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.ips.release(c.ip)
	s.stats.ConnsCurrent.Add(-1)
}

// refuse tells a connection over MaxClients or MaxPerIP why it cannot stay
// (bye server_full or ip_limit) and closes it; it never counts as a
// client. The bye is written by a goroutine (a TLS handshake may be
// needed), at most maxRefusing at once; past that the connection is just
// closed. Refusals are logged as counted summaries, not one line each.
func (s *Server) refuse(nc net.Conn, reason string) {
	s.stats.Closed.Add(reason, 1)
	if s.refusing.Load() >= maxRefusing {
		// A flood: no goroutine and no linger, but over plain TCP the bye
		// still goes out (a fresh socket's buffer takes it at once).
		if s.cfg.TLS == nil {
			nc.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
			if _, err := nc.Write(protocol.NewFrame(nil, protocol.MsgBye).Str("reason", reason).End()); err == nil {
				s.stats.FramesOut.Add(protocol.MsgBye, 1)
			}
		}
		nc.Close()
		s.refusals.note(s.log, reason)
		return
	}
	s.refusing.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.refusing.Add(-1)
		c := asNetConn(nc)
		c.SetDeadline(time.Now().Add(time.Second))
		s.stats.FramesOut.Add(protocol.MsgBye, 1)
		if _, err := c.Write(protocol.NewFrame(nil, protocol.MsgBye).Str("reason", reason).End()); err == nil && c.CloseWrite() == nil {
			discardInput(c) // within the one-second deadline set above
		}
		c.Close()
	}()
	s.refusals.note(s.log, reason)
}

// shutdown sends bye shutdown to every connection and waits until they are
// closed. Writers get ShutdownGrace to flush; a reader that is still not done
// a second after that has its socket closed under it.
func (s *Server) shutdown() {
	s.hub.shutdown()
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.stop(protocol.ReasonShutdown)
	}
	s.lazy.stop()
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(s.cfg.ShutdownGrace + lingerTime + 500*time.Millisecond):
		s.mu.Lock()
		s.log.Warn("connections still open after the grace period; closing them", "count", len(s.conns))
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		select {
		case <-waited:
		case <-time.After(time.Second):
			s.log.Error("some connection goroutines did not finish")
		}
	}
	if cm := s.hub.commit; cm != nil {
		// Everything accepted is in the store before Serve returns.
		close(cm.stop)
		<-cm.done
	}
	if cl := s.hub.cl; cl != nil {
		// The ends of this node's connections are in the log before the
		// log is closed: other nodes hold those sessions at once.
		cl.waitAppends(2 * time.Second)
	}
	s.log.Info("shut down", "connections_closed", len(conns))
}

// LineBudgetInUse reports the bytes connections hold for partial lines
// beyond their initial buffers (for metrics and tests).
func (s *Server) LineBudgetInUse() int64 {
	if s.lineBudget == nil {
		return 0
	}
	return s.lineBudget.used.Load()
}

// byteBudget is a server-wide bound on bytes, shared without a lock.
type byteBudget struct {
	limit int64
	used  atomic.Int64
}

func (b *byteBudget) Reserve(n int) bool {
	if b.used.Add(int64(n)) > b.limit {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

func (b *byteBudget) Release(n int) { b.used.Add(-int64(n)) }

// HeldSessions is how many sessions this server holds for a resume (in a
// cluster: whose hold timers run on this node).
func (s *Server) HeldSessions() int { return s.hub.heldCount() }
