package client

import (
	"context"
	"errors"
	"testing"

	"pynet/protocol"
)

func connect(t *testing.T, addr, name string) *Link {
	t.Helper()
	l, err := Connect(context.Background(), testConfig(addr), Login{Name: name})
	if err != nil {
		t.Fatalf("connect %s: %v", name, err)
	}
	t.Cleanup(l.Close)
	return l
}

// TestReconnectAfterRestart stops the server (bye shutdown) and starts a
// new one on the same port: the link says so, retries, rejoins with the
// same name, and works again.
func TestReconnectAfterRestart(t *testing.T) {
	ts := startServer(t, "", nil)
	alice := connect(t, ts.addr, "alice")
	expectEvent(t, alice, "up", func(ev Event) bool { return ev.Kind == EventUp })

	ts.stop()
	down := expectEvent(t, alice, "down", func(ev Event) bool { return ev.Kind == EventDown })
	var be *ByeError
	if !errors.As(down.Err, &be) || be.Reason != protocol.ReasonShutdown {
		t.Fatalf("down because %v, want bye shutdown", down.Err)
	}
	expectEvent(t, alice, "retry", func(ev Event) bool { return ev.Kind == EventRetry })
	if err := alice.Send(messageFrame("x", "lost")); !errors.Is(err, ErrOffline) {
		t.Fatalf("send while down: %v, want ErrOffline", err)
	}

	ts2 := startServer(t, ts.addr, nil)
	up := expectEvent(t, alice, "up again", func(ev Event) bool { return ev.Kind == EventUp })
	if up.Frame.Username != "alice" {
		t.Fatalf("rejoined as %q", up.Frame.Username)
	}
	bob := join(t, ts2.addr, "bob")
	if err := alice.Send(messageFrame("m1", "back again")); err != nil {
		t.Fatal(err)
	}
	expect(t, bob, "alice's message", isMessage("alice", "back again"))
}

// TestReconnectKeepsNewName: after /nick the link rejoins with the new name.
func TestReconnectKeepsNewName(t *testing.T) {
	ts := startServer(t, "", nil)
	l := connect(t, ts.addr, "alice")
	l.Send(nickFrame("n", "alicia"))
	expectEvent(t, l, "renamed", func(ev Event) bool { return ev.Frame.Type == protocol.MsgRenamed })
	ts.stop()
	startServer(t, ts.addr, nil)
	up := expectEvent(t, l, "up again", func(ev Event) bool { return ev.Kind == EventUp && ev.Frame.Username != "alice" })
	if up.Frame.Username != "alicia" || l.Name() != "alicia" {
		t.Fatalf("rejoined as %q", up.Frame.Username)
	}
}

// TestReconnectAfterDrop cuts the connection without a bye: the link
// reports the loss, and rejoins.
func TestReconnectAfterDrop(t *testing.T) {
	ts := startServer(t, "", nil)
	px := startProxy(t, ts.addr)
	l := connect(t, px.addr, "alice")
	expectEvent(t, l, "up", func(ev Event) bool { return ev.Kind == EventUp })
	px.cut()
	down := expectEvent(t, l, "down", func(ev Event) bool { return ev.Kind == EventDown })
	if !errors.Is(down.Err, ErrLost) {
		t.Fatalf("down because %v, want ErrLost", down.Err)
	}
	// The server may not have noticed yet that the old connection is gone,
	// so the first attempts may meet username_taken; the link keeps trying.
	expectEvent(t, l, "up again", func(ev Event) bool { return ev.Kind == EventUp })
	if l.Name() != "alice" {
		t.Fatalf("name %q", l.Name())
	}
}

func TestQuitStopsLink(t *testing.T) {
	ts := startServer(t, "", nil)
	alice := connect(t, ts.addr, "alice")
	bob := join(t, ts.addr, "bob")
	alice.Quit()
	expectEvent(t, alice, "closed", func(ev Event) bool {
		if ev.Kind == EventDown || ev.Kind == EventRetry {
			t.Fatalf("link reconnects after Quit: %+v", ev)
		}
		return ev.Kind == EventClosed
	})
	left := expect(t, bob, "alice left", isType(protocol.MsgLeft))
	if left.Username != "alice" || left.Reason != protocol.ReasonQuit {
		t.Fatalf("left = %+v", left.ServerFrame)
	}
}

// TestQuitWhileReconnecting: Quit with the server gone stops the retries.
func TestQuitWhileReconnecting(t *testing.T) {
	ts := startServer(t, "", nil)
	l := connect(t, ts.addr, "alice")
	ts.stop()
	expectEvent(t, l, "retry", func(ev Event) bool { return ev.Kind == EventRetry })
	l.Quit()
	expectEvent(t, l, "closed", func(ev Event) bool { return ev.Kind == EventClosed })
}
