package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/servertest"
	"pynet/protocol"
)

// wait is how long a test waits for a frame that must come.
const wait = 5 * time.Second

// testServer is a real server on 127.0.0.1:0, shut down at the end of the
// test, whose log is kept for failure reports.
type testServer struct {
	*server.Server
	addr string
	logs *syncBuffer
	run  *servertest.Server // nil for servers a test runs itself
}

// stop shuts the server down and waits for it.
func (ts *testServer) stop(t *testing.T) { ts.run.Stop(t) }

// syncBuffer collects log output from the server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer starts a server with the protocol defaults, the rate limit off
// (most tests send fast), changed by mutate.
func startServer(t *testing.T, mutate func(*server.Config)) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	t.Cleanup(func() { // runs after the server has stopped
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	s := servertest.Start(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if mutate != nil {
			mutate(c)
		}
	})
	return &testServer{Server: s.Server, addr: s.Addr, logs: logs, run: s}
}

// client is a raw protocol client for tests.
type client struct {
	t     *testing.T
	nc    net.Conn
	lr    *protocol.LineReader
	name  string
	lines chan string // for tests that read in a goroutine
}

func (ts *testServer) dial(t *testing.T) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.addr, wait)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, lr: protocol.NewLineReader(nc, 1<<24), lines: make(chan string, 16)}
}

// join dials and joins as name, reading the welcome and the history replay
// (returned) so that the next frame read is live traffic.
func (ts *testServer) join(t *testing.T, name string) *client {
	t.Helper()
	c := ts.dial(t)
	c.name = name
	c.send(`{"type":"join","username":%q}`, name)
	w := c.next()
	for w.Type == "ping" { // a test with a short ping interval on a busy machine
		w = c.next()
	}
	if w.Type != "welcome" {
		t.Fatalf("%s: got %+v, want a welcome", name, w)
	}
	if w.Username != name {
		t.Fatalf("welcome username = %q, want %q", w.Username, name)
	}
	c.drainHistory()
	return c
}

// drainHistory reads the history replay that follows a welcome. The replay
// is followed by nothing in particular, so a ping marks its end.
func (c *client) drainHistory() []protocol.ServerFrame {
	c.t.Helper()
	c.send(`{"type":"ping","ref":"end-of-history"}`)
	var hist []protocol.ServerFrame
	for {
		f := c.next()
		if f.Type == "pong" && f.Ref == "end-of-history" {
			return hist
		}
		if f.History {
			hist = append(hist, f)
		}
	}
}

// send writes one frame; format and args as in fmt.Sprintf, then a LF.
func (c *client) send(format string, args ...any) {
	c.t.Helper()
	line := format
	if len(args) > 0 {
		line = fmt.Sprintf(format, args...)
	}
	c.write(line + "\n")
}

func (c *client) write(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// nextRaw reads one line within the wait.
func (c *client) nextRaw() ([]byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(wait))
	return c.lr.ReadLine()
}

// next reads and decodes one frame, failing the test on a timeout or close.
func (c *client) next() protocol.ServerFrame {
	c.t.Helper()
	line, err := c.nextRaw()
	if err != nil {
		c.t.Fatalf("%s: reading a frame: %v", c.name, err)
	}
	f, err := protocol.DecodeServer(line)
	if err != nil {
		c.t.Fatalf("%s: bad frame %q: %v", c.name, line, err)
	}
	return f
}

// expect reads the next frame and checks its type.
func (c *client) expect(typ string) protocol.ServerFrame {
	c.t.Helper()
	f := c.next()
	if f.Type != typ {
		c.t.Fatalf("%s: got %+v, want a %q frame", c.name, f, typ)
	}
	return f
}

// expectError reads the next frame and checks it is an error with code.
func (c *client) expectError(code string) protocol.ServerFrame {
	c.t.Helper()
	f := c.expect("error")
	if f.Code != code {
		c.t.Fatalf("%s: error code %q (%s), want %q", c.name, f.Code, f.Message, code)
	}
	return f
}

// expectClosed reads until the server closes the connection and returns the
// frames read on the way.
func (c *client) expectClosed() []protocol.ServerFrame {
	c.t.Helper()
	var got []protocol.ServerFrame
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		line, err := c.nextRaw()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return got // EOF or reset: closed
		}
		f, _ := protocol.DecodeServer(line)
		got = append(got, f)
	}
	c.t.Fatalf("%s: connection still open after %v; frames: %+v", c.name, wait, got)
	return nil
}

// sync proves every earlier reply has been read: it pings and reads up to
// the pong, failing on anything else in between.
func (c *client) sync() {
	c.t.Helper()
	c.send(`{"type":"ping","ref":"sync"}`)
	f := c.next()
	if f.Type != "pong" || f.Ref != "sync" {
		c.t.Fatalf("%s: expected nothing before the pong, got %+v", c.name, f)
	}
}

// eventually polls cond until it holds or the deadline passes. It is for
// states with no event to wait on (goroutine counts, counters).
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond)
	}
}

// mustJSON decodes a raw line into a generic map for member-level checks.
func mustJSON(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("not JSON: %q: %v", line, err)
	}
	return m
}
