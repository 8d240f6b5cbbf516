package client

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/protocol"
)

func TestJoinSendReceive(t *testing.T) {
	ts := startServer(t, "", nil)
	alice := join(t, ts.addr, "alice")
	if w := alice.Welcome(); w.Type != protocol.MsgWelcome || w.Username != "alice" {
		t.Fatalf("welcome = %+v", w.ServerFrame)
	}
	expect(t, alice, "alice's welcome on Frames", isType(protocol.MsgWelcome))
	bob := join(t, ts.addr, "bob")
	expect(t, bob, "bob's welcome", func(f Frame) bool {
		return f.Type == protocol.MsgWelcome && f.Protocol == protocol.Version && f.Session != ""
	})
	expect(t, bob, "bob in the lobby", func(f Frame) bool {
		return f.Type == protocol.MsgEntered && f.Room == protocol.Lobby && strings.Join(f.Users, ",") == "alice,bob"
	})
	expect(t, alice, "bob joined", func(f Frame) bool { return f.Type == protocol.MsgJoined && f.Username == "bob" })

	if err := bob.Send(messageFrame("r1", "  hello alice  ")); err != nil {
		t.Fatal(err)
	}
	ack := expect(t, bob, "ack", isType(protocol.MsgAck))
	if ack.Ref != "r1" || ack.ID == 0 {
		t.Fatalf("ack = %+v", ack.ServerFrame)
	}
	m := expect(t, alice, "bob's message", isMessage("bob", "hello alice"))
	if m.ID != ack.ID || !strings.Contains(string(m.Raw), `"text":"hello alice"`) {
		t.Fatalf("message = %+v raw %s", m.ServerFrame, m.Raw)
	}

	bob.Send(privateFrame("r2", "ALICE", "psst"))
	p := expect(t, alice, "private", isType(protocol.MsgPrivate))
	if p.From != "bob" || p.To != "alice" || p.Text != "psst" {
		t.Fatalf("private = %+v", p.ServerFrame)
	}
	bob.Send(privateFrame("r3", "carol", "anyone?"))
	e := expect(t, bob, "no_such_user", isType(protocol.MsgError))
	if e.Code != protocol.CodeNoSuchUser || e.Ref != "r3" {
		t.Fatalf("error = %+v", e.ServerFrame)
	}
}

func TestSessionFollowsRename(t *testing.T) {
	ts := startServer(t, "", nil)
	s := join(t, ts.addr, "alice")
	s.Send(nickFrame("n1", "Alicia"))
	r := expect(t, s, "renamed", isType(protocol.MsgRenamed))
	if r.Ref != "n1" || r.To != "Alicia" || s.Name() != "Alicia" {
		t.Fatalf("renamed %+v, name %q", r.ServerFrame, s.Name())
	}
}

func TestJoinRefused(t *testing.T) {
	ts := startServer(t, "", nil)
	join(t, ts.addr, "alice")
	for _, tc := range []struct{ name, code string }{
		{"ALICE", protocol.CodeUsernameTaken},
		{"-bad", protocol.CodeInvalidUsername},
	} {
		_, err := Join(context.Background(), testConfig(ts.addr), tc.name)
		var je *JoinError
		if !errors.As(err, &je) || je.Code != tc.code || !je.NameProblem() {
			t.Fatalf("join %q: err = %v, want %s", tc.name, err, tc.code)
		}
	}
}

func TestJoinServerFull(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.MaxClients = 1 })
	join(t, ts.addr, "alice")
	_, err := Join(context.Background(), testConfig(ts.addr), "bob")
	var be *ByeError
	if !errors.As(err, &be) || be.Reason != protocol.ReasonServerFull {
		t.Fatalf("err = %v, want bye server_full", err)
	}
}

func TestJoinUnreachable(t *testing.T) {
	addr := refusedAddr(t)
	start := time.Now()
	_, err := Join(context.Background(), testConfig(addr), "alice")
	var de *DialError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a DialError", err)
	}
	want := "cannot reach " + addr + ": connection refused — is `pynet server` running there?"
	if err.Error() != want {
		t.Fatalf("error %q\nwant  %q", err, want)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestJoinCancelled(t *testing.T) {
	// A listener that accepts but never answers: the join waits for welcome
	// until its context is cancelled.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Join(ctx, testConfig(ln.Addr().String()), "alice")
		done <- err
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("join did not return after cancel")
	}
}

// TestKeepalive uses a fake server that welcomes and then says nothing:
// the session must ping it, then give up with ErrSilent.
func TestKeepalive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lines := make(chan string, 4)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		lr := protocol.NewLineReader(c, 4096)
		line, err := lr.ReadLine()
		if err != nil {
			return
		}
		lines <- string(line)
		c.Write([]byte(`{"type":"welcome","username":"alice","users":["alice"],"protocol":1}` + "\n"))
		for {
			line, err := lr.ReadLine()
			if err != nil {
				return
			}
			lines <- string(line)
		}
	}()
	cfg := testConfig(ln.Addr().String())
	cfg.Silence = 100 * time.Millisecond
	s, err := Join(context.Background(), cfg, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := <-lines; !strings.Contains(got, `"join"`) {
		t.Fatalf("first line %s", got)
	}
	expect(t, s, "welcome", isType(protocol.MsgWelcome))
	select {
	case <-s.Done():
	case <-time.After(waitLimit):
		t.Fatal("session did not end")
	}
	if !errors.Is(s.Err(), ErrSilent) {
		t.Fatalf("err = %v, want ErrSilent", s.Err())
	}
	if got := <-lines; got != `{"type":"ping"}` {
		t.Fatalf("the client sent %s, want a ping", got)
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return 0.999999 }}
	low := Backoff{Min: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return 0 }}
	for n, want := range map[int]time.Duration{1: 100, 2: 200, 3: 400, 4: 800, 5: 1000, 50: 1000} {
		want *= time.Millisecond
		if got := b.Delay(n); got < want*99/100 || got > want {
			t.Errorf("Delay(%d) = %v, want about %v", n, got, want)
		}
		if got := low.Delay(n); got != want*3/4 {
			t.Errorf("Delay(%d) with no jitter = %v, want %v", n, got, want*3/4)
		}
	}
}

// TestOverlongServerLineSkipped: a line from the server over MaxLine is
// dropped without being buffered whole, and the session goes on.
func TestOverlongServerLineSkipped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := protocol.NewLineReader(c, 4096).ReadLine(); err != nil {
			return
		}
		c.Write([]byte(`{"type":"welcome","username":"alice","users":["alice"],"protocol":1}` + "\n"))
		huge := `{"type":"message","from":"x","text":"` + strings.Repeat("y", 200_000) + `"}` + "\n"
		c.Write([]byte(huge))
		c.Write([]byte(`{"type":"message","id":2,"from":"bob","text":"after"}` + "\n"))
		io.Copy(io.Discard, c)
	}()
	cfg := testConfig(ln.Addr().String())
	cfg.MaxLine = 1024
	s, err := Join(context.Background(), cfg, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	expect(t, s, "welcome", isType(protocol.MsgWelcome))
	f := expect(t, s, "the next frame", func(Frame) bool { return true })
	if f.Text != "after" {
		t.Fatalf("got %+v, want the message after the long line", f.ServerFrame)
	}
}
