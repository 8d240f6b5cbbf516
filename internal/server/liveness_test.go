package server_test

import (
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/servertest"
	"pynet/protocol"
)

func TestPingAfterSilenceThenIdleTimeout(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.PingInterval = 100 * time.Millisecond
		c.IdleTimeout = 900 * time.Millisecond // room for two pings on a busy machine
	})
	watcher := ts.join(t, "w")
	quiet := ts.join(t, "quiet")
	watcher.expect("joined")
	// The watcher answers pings; the quiet one does not.
	go func() {
		for {
			watcher.nc.SetReadDeadline(time.Now().Add(wait))
			line, err := watcher.lr.ReadLine()
			if err != nil {
				return
			}
			if strings.HasPrefix(string(line), `{"type":"ping"`) {
				watcher.nc.Write([]byte(`{"type":"pong"}` + "\n"))
			}
			if strings.HasPrefix(string(line), `{"type":"left"`) {
				watcher.lines <- string(line)
			}
		}
	}()
	pings := 0
	for {
		f := quiet.next()
		if f.Type == "ping" {
			pings++
			continue
		}
		if f.Type != "bye" || f.Reason != "timeout" {
			t.Fatalf("got %+v, want pings then bye timeout", f)
		}
		break
	}
	if pings < 2 {
		t.Fatalf("%d pings before the idle timeout, want one per silent interval (≥ 2)", pings)
	}
	quiet.expectClosed()
	select {
	case l := <-watcher.lines:
		if !strings.Contains(l, `"username":"quiet","room":"lobby","reason":"timeout"`) {
			t.Fatalf("watcher saw %s", l)
		}
	case <-time.After(wait):
		t.Fatal("watcher never saw left timeout")
	}
	// The watcher, who kept answering, is still there.
	if n := ts.Stats().Joined.Load(); n != 1 {
		t.Fatalf("joined = %d, want 1", n)
	}
}

func TestAnyLineCountsAsHeard(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.IdleTimeout = 600 * time.Millisecond })
	c := ts.dial(t)
	// Bad lines keep the connection alive as well as good ones; the idle
	// timer also runs before join. (Each round takes ~100 ms; the timeout
	// leaves room for a busy machine.)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		c.send(`not json`)
		c.expectError(protocol.CodeBadJSON)
		c.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if line, err := c.lr.ReadLine(); err == nil {
			t.Fatalf("unexpected %s", line)
		}
	}
	c.send(`{"type":"ping"}`)
	c.expect("pong")
	if f := c.next(); f.Type != "bye" || f.Reason != "timeout" {
		t.Fatalf("got %+v, want bye timeout once silent", f)
	}
}

func TestJoinTimeout(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.JoinTimeout = 200 * time.Millisecond })
	c := ts.dial(t)
	c.send(`{"type":"ping"}`) // activity does not stop the join clock
	c.expect("pong")
	c.send(`{"type":"join","username":"-"}`)
	c.expectError(protocol.CodeInvalidUsername)
	if f := c.next(); f.Type != "bye" || f.Reason != "join_timeout" {
		t.Fatalf("got %+v, want bye join_timeout", f)
	}
	c.expectClosed()
	// A successful join stops the clock.
	j := ts.join(t, "j")
	j.nc.SetReadDeadline(time.Now().Add(600 * time.Millisecond))
	if line, err := j.lr.ReadLine(); err == nil {
		t.Fatalf("joined connection got %s", line)
	}
	j.sync()
}

func TestTimersOff(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.PingInterval, c.IdleTimeout, c.JoinTimeout = 0, 0, 0 })
	c := ts.dial(t)
	c.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := c.lr.ReadLine(); err == nil {
		t.Fatalf("got %s with every timer off", line)
	}
	c.sync()
}

func TestRateLimit(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.Rate, c.Burst = 1, 3 })
	c := ts.dial(t)
	// The bucket starts full: join and two more frames pass; the fourth does
	// not, whatever it is, and carries its ref and a retry time.
	c.send(`{"type":"join","username":"r","ref":"j"}`)
	if w := c.expect("welcome"); w.Limits == nil || w.Limits.Rate != 1 || w.Limits.Burst != 3 {
		t.Fatalf("welcome limits: %+v", w.Limits)
	}
	c.send(`{"type":"ping","ref":"1"}`)
	c.expect("pong")
	c.send(`garbage`)
	c.expectError(protocol.CodeBadJSON) // counts: every non-blank line does
	c.send(`{"type":"dance","ref":"4"}`)
	e := c.expectError(protocol.CodeRateLimited)
	if e.Ref != "4" || e.RetryAfterMS < 1 || e.RetryAfterMS > 1000 {
		t.Fatalf("rate_limited: %+v", e)
	}
	// Blank lines are not frames: they never count.
	c.write("\n\n  \r\n")
	// An over-long line is answered frame_too_large even when over the limit.
	c.write(strings.Repeat("x", 70000) + "\n")
	c.expectError(protocol.CodeFrameTooLarge)
}

func TestMaxClients(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxClients = 2 })
	a := ts.dial(t)      // not joined: counts all the same
	b := ts.join(t, "b") // joined
	c := ts.dial(t)      // one too many
	if f := c.next(); f.Type != "bye" || f.Reason != "server_full" {
		t.Fatalf("got %+v, want bye server_full", f)
	}
	c.expectClosed()
	// A place frees up when a connection closes.
	a.send(`{"type":"leave"}`)
	a.expect("bye")
	a.expectClosed()
	eventually(t, wait, "the closed connection to be released", func() bool { return ts.Stats().ConnsCurrent.Load() == 1 })
	ts.join(t, "d")
	b.expect("joined")
}

func TestLeaveBeforeJoinAndNothingAfterLeave(t *testing.T) {
	ts := startServer(t, nil)
	w := ts.join(t, "w")
	c := ts.dial(t)
	c.send(`{"type":"leave","ref":"bye1"}`)
	if f := c.expect("bye"); f.Reason != "quit" || f.Ref != "bye1" {
		t.Fatalf("%+v", f)
	}
	c.expectClosed()
	d := ts.join(t, "d")
	w.expect("joined")
	d.write(`{"type":"leave"}` + "\n" + `{"type":"message","text":"too late"}` + "\n")
	d.expect("bye")
	d.expectClosed()
	if l := w.expect("left"); l.Reason != "quit" {
		t.Fatalf("%+v", l)
	}
	w.sync() // "too late" was never broadcast
}

// Shutdown: the listener closes first, every connection (joined or not,
// reading or not) gets bye shutdown, Serve returns promptly, and no
// goroutine is left behind.
func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := servertest.Start(t, func(c *server.Config) {
		c.ShutdownGrace = 300 * time.Millisecond
		c.MaxQueue = 16 << 20 // the frozen reader must still be there at shutdown, however much the kernel buffers
	})
	ts := &testServer{Server: srv.Server, addr: srv.Addr}

	joined, idle := ts.join(t, "a"), ts.dial(t)
	// A frozen reader with a full socket: shutdown must not wait for it.
	frozen := ts.join(t, "frozen")
	joined.expect("joined")
	flood := strings.Repeat(`{"type":"message","text":"`+strings.Repeat("f", 3000)+`"}`+"\n", 100)
	for i := 0; i < 10; i++ {
		joined.write(flood)
		joined.sync()
	}
	idle.sync()
	stopped := make(chan struct{})
	go func() { srv.Stop(t); close(stopped) }()
	for _, c := range []*client{joined, idle} {
		var last string
		for _, f := range c.expectClosed() {
			last = f.Type + " " + f.Reason
		}
		if last != "bye shutdown" {
			t.Fatalf("%s: last frame %q, want bye shutdown", c.name, last)
		}
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5 s")
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Fatal("the listener still accepts after shutdown")
	}
	frozen.nc.Close()
	eventually(t, wait, "goroutines to return to their count before the server", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

// The last frame is written even when the connection has been quiet for
// longer than the write timeout (a stale write deadline must not kill it).
func TestByeAfterLongQuiet(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    func(*server.Config)
		join   bool
		reason string
	}{
		{"join_timeout", func(c *server.Config) { c.JoinTimeout = 400 * time.Millisecond }, false, "join_timeout"},
		{"idle timeout", func(c *server.Config) { c.IdleTimeout = 400 * time.Millisecond }, true, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, func(c *server.Config) {
				c.WriteTimeout = 50 * time.Millisecond
				c.PingInterval = 0
				tc.cfg(c)
			})
			c := ts.dial(t)
			if tc.join {
				c.send(`{"type":"join","username":"q"}`)
				c.expect("welcome")
			} else {
				c.send(`{"type":"ping"}`)
				c.expect("pong")
			}
			if f := c.next(); f.Type != "bye" || f.Reason != tc.reason {
				t.Fatalf("got %+v, want bye %s", f, tc.reason)
			}
		})
	}
}

// A line must be completed within line_timeout of its first byte, whether
// it is being read or discarded as too large (PROTOCOL §1): a slowloris
// dripping bytes is closed with bye timeout; complete lines never are.
func TestLineTimeout(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.LineTimeout = 300 * time.Millisecond
		c.PingInterval, c.IdleTimeout = 0, 0 // no other timer wakes the reader
		c.MaxFrame = 64
	})
	w := ts.join(t, "w")
	drip := ts.join(t, "drip")
	w.expect("joined")
	start := time.Now()
	drip.write(`{"type":"message",`)
	for _, f := range drip.expectClosed() {
		if f.Type == "bye" && f.Reason != "timeout" {
			t.Fatalf("%+v", f)
		}
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatalf("closed after %v, before the line timeout", time.Since(start))
	}
	if l := w.expect("left"); l.Reason != "timeout" {
		t.Fatalf("%+v", l)
	}
	// An over-long line being discarded is a pending line too.
	big := ts.dial(t)
	big.write(strings.Repeat("x", 200))
	if f := big.expect("error"); f.Code != "frame_too_large" {
		t.Fatalf("%+v", f)
	}
	if f := big.next(); f.Type != "bye" || f.Reason != "timeout" {
		t.Fatalf("%+v", f)
	}
	// Complete lines keep a connection alive however slowly they come.
	ok := ts.join(t, "ok")
	for range 3 {
		ok.sync()
	}
}
