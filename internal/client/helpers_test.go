package client

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/protocol"
)

// waitLimit bounds every wait in these tests; generous for -race on two
// cores, and only reached when something is broken.
const waitLimit = 10 * time.Second

// testServer is a real server on a loopback port.
type testServer struct {
	t      *testing.T
	addr   string
	cfg    server.Config
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startServer runs a server on 127.0.0.1:0 (or on addr, to restart one on
// the same port) until the test ends or stop is called.
func startServer(t *testing.T, addr string, configure func(*server.Config)) *testServer {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if configure != nil {
		configure(&cfg)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{t: t, addr: ln.Addr().String(), cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(ts.stop)
	return ts
}

// stop shuts the server down and waits for Serve to return.
func (ts *testServer) stop() {
	ts.once.Do(func() {
		ts.cancel()
		select {
		case <-ts.done:
		case <-time.After(waitLimit):
			ts.t.Errorf("server did not shut down within %v", waitLimit)
		}
	})
}

// testConfig is a client configuration for ts with short reconnect waits.
func testConfig(addr string) Config {
	return Config{
		Addr:    addr,
		Backoff: Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond},
	}
}

// join joins ts as name or fails the test; the session closes at cleanup.
func join(t *testing.T, addr, name string) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	s, err := Join(ctx, testConfig(addr), name)
	if err != nil {
		t.Fatalf("join %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// expect reads frames from s until one satisfies match, or fails the test.
func expect(t *testing.T, s *Session, what string, match func(Frame) bool) Frame {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case f, ok := <-s.Frames():
			if !ok {
				t.Fatalf("waiting for %s: session ended: %v", what, s.Err())
			}
			if match(f) {
				return f
			}
		case <-deadline.C:
			t.Fatalf("no %s within %v", what, waitLimit)
		}
	}
}

func isType(typ string) func(Frame) bool {
	return func(f Frame) bool { return f.Type == typ }
}

func isMessage(from, text string) func(Frame) bool {
	return func(f Frame) bool {
		return f.Type == protocol.MsgMessage && f.From == from && f.Text == text
	}
}

// expectEvent reads events from l until one satisfies match.
func expectEvent(t *testing.T, l *Link, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-l.Events():
			if !ok {
				t.Fatalf("waiting for %s: link events closed", what)
			}
			if match(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("no %s within %v", what, waitLimit)
		}
	}
}

// refusedAddr returns a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	ch chan struct{}
	b  strings.Builder
}

func newSyncBuffer() *syncBuffer {
	sb := &syncBuffer{ch: make(chan struct{}, 1)}
	sb.ch <- struct{}{}
	return sb
}

func (sb *syncBuffer) Write(p []byte) (int, error) {
	<-sb.ch
	defer func() { sb.ch <- struct{}{} }()
	return sb.b.Write(p)
}

func (sb *syncBuffer) String() string {
	<-sb.ch
	defer func() { sb.ch <- struct{}{} }()
	return sb.b.String()
}
