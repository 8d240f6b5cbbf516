package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pynet/internal/auth/argon2id"
	"pynet/internal/server"
	"pynet/internal/store/sqlitestore"
	"pynet/protocol"
)

// connectLogin connects a link with login, cfg changed by mutate.
func connectLogin(t *testing.T, addr string, login Login, mutate func(*Config)) *Link {
	t.Helper()
	cfg := testConfig(addr)
	if mutate != nil {
		mutate(&cfg)
	}
	l, err := Connect(context.Background(), cfg, login)
	if err != nil {
		t.Fatalf("connect %s: %v", login.Name, err)
	}
	t.Cleanup(l.Close)
	return l
}

func isKind(k EventKind) func(Event) bool { return func(ev Event) bool { return ev.Kind == k } }

// received collects the public messages a link delivers until done says
// enough; it fails the test on a message delivered twice (same id) and on
// a room's messages out of id order. It returns the texts in order, and
// the welcomes seen on the way.
func received(t *testing.T, l *Link, done func(texts []string) bool) (texts []string, ups []Frame) {
	t.Helper()
	seen := map[int64]bool{}
	last := map[string]int64{}
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for !done(texts) {
		select {
		case ev, ok := <-l.Events():
			if !ok {
				t.Fatalf("link closed: %v; got %q", l.Err(), texts)
			}
			switch {
			case ev.Kind == EventUp:
				ups = append(ups, ev.Frame)
			case ev.Kind == EventFrame && ev.Frame.Type == protocol.MsgMessage:
				f := ev.Frame
				if seen[f.ID] {
					t.Fatalf("message %d %q delivered twice", f.ID, f.Text)
				}
				if f.ID <= last[f.Room] {
					t.Fatalf("message %d in %s after %d", f.ID, f.Room, last[f.Room])
				}
				seen[f.ID], last[f.Room] = true, f.ID
				texts = append(texts, f.Text)
			}
		case <-deadline.C:
			t.Fatalf("waited %v; got %d messages: %q", waitLimit, len(texts), texts)
		}
	}
	return texts, ups
}

func contains(texts []string, s string) bool {
	for _, x := range texts {
		if x == s {
			return true
		}
	}
	return false
}

// checkEach fails unless every text of want is in got exactly once.
func checkEach(t *testing.T, got []string, want ...string) {
	t.Helper()
	n := map[string]int{}
	for _, g := range got {
		n[g]++
	}
	for _, w := range want {
		if n[w] != 1 {
			t.Errorf("%q received %d times, want once", w, n[w])
		}
	}
}

// TestResumeMidTraffic cuts alice's connection while bob sends to both of
// her rooms, the way a dead network does: the server keeps her stale
// connection and her name. Her link resumes the session with its token
// (taking the name back from the stale connection) from its position:
// every message arrives, none twice.
func TestResumeMidTraffic(t *testing.T) {
	// History above the traffic: what alice missed is all kept (with less,
	// the server would say gap, and rightly).
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 0; c.History = 1000 })
	px := startProxy(t, ts.addr)
	alice := connectLogin(t, px.addr, Login{Name: "alice", Rooms: []string{"lobby", "go"}}, nil)
	expectEvent(t, alice, "synced", isKind(EventSynced))
	bob := join(t, ts.addr, "bob")
	bob.Send(enterFrame("e", "go"))
	expect(t, bob, "bob in go", isType(protocol.MsgEntered))

	const n = 300
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("m%d", i))
	}
	cut := make(chan struct{})
	go func() {
		for i, text := range want {
			if i == n/2 {
				<-cut // the first half is on its way when the network dies
			}
			room := []string{"lobby", "go"}[i%2]
			if bob.Send(roomMessageFrame(fmt.Sprint("r", i), room, text, false)) != nil {
				return
			}
		}
	}()
	got, _ := received(t, alice, func(texts []string) bool { return len(texts) >= n/6 })
	px.cutClient()
	close(cut)
	rest, ups := received(t, alice, func(texts []string) bool { return contains(texts, "m298") && contains(texts, "m299") })
	got = append(got, rest...)
	checkEach(t, got, want...)
	if len(ups) != 1 || !ups[0].Resumed {
		t.Fatalf("welcomes after the cut: %+v, want one that resumed", ups)
	}
}

// TestResumeAfterDurableRestart: a server with a store restarts while
// alice is away; she resumes her session (held again from the restart)
// and gets what was said meanwhile, once.
func TestResumeAfterDurableRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() *sqlitestore.Store {
		st, err := sqlitestore.Open(dir, sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st := open()
	ts := startServer(t, "", func(c *server.Config) { c.Store = st; c.Rate = 0 })
	px := startProxy(t, ts.addr)
	alice := connectLogin(t, px.addr, Login{Name: "alice"}, nil)
	bob := join(t, ts.addr, "bob")
	bob.Send(messageFrame("b1", "before"))
	received(t, alice, func(texts []string) bool { return contains(texts, "before") })
	epoch, pos := alice.Position()

	px.hold() // alice's attempts wait until the news is in
	ts.stop()
	expectEvent(t, alice, "down", isKind(EventDown))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open()
	ts2 := startServer(t, ts.addr, func(c *server.Config) { c.Store = st; c.Rate = 0 })
	carol := join(t, ts2.addr, "carol")
	for i := range 5 {
		carol.Send(messageFrame(fmt.Sprint("c", i), fmt.Sprint("after ", i)))
		expect(t, carol, "ack", isType(protocol.MsgAck))
	}
	px.release()
	got, ups := received(t, alice, func(texts []string) bool { return contains(texts, "after 4") })
	checkEach(t, got, "after 0", "after 1", "after 2", "after 3", "after 4")
	if contains(got, "before") {
		t.Errorf("the message before the restart came again: %q", got)
	}
	if len(ups) != 1 || !ups[0].Resumed || ups[0].Epoch != epoch {
		t.Fatalf("welcome after the restart: %+v, want a resume in epoch %s", ups, epoch)
	}
	expectEvent(t, alice, "synced", isKind(EventSynced))
	if _, p := alice.Position(); p <= pos {
		t.Errorf("position %d did not move past %d", p, pos)
	}
}

// TestRejoinAfterRestartWithoutData: the server lost everything; the
// link's token is refused, and it joins afresh, in the same rooms.
func TestRejoinAfterRestartWithoutData(t *testing.T) {
	ts := startServer(t, "", nil)
	alice := connectLogin(t, ts.addr, Login{Name: "alice", Rooms: []string{"lobby", "go"}}, nil)
	expectEvent(t, alice, "synced", isKind(EventSynced))
	ts.stop()
	startServer(t, ts.addr, nil)
	up := expectEvent(t, alice, "up again", isKind(EventUp))
	if up.Frame.Resumed {
		t.Fatalf("resumed a session the server cannot have: %+v", up.Frame.ServerFrame)
	}
	rooms := map[string]bool{}
	expectEvent(t, alice, "both rooms", func(ev Event) bool {
		if ev.Kind == EventFrame && ev.Frame.Type == protocol.MsgEntered {
			rooms[ev.Frame.Room] = true
		}
		return len(rooms) == 2
	})
}

// TestByeReplacedStopsTheLink: another connection takes the session over;
// the link says so and does not fight back.
func TestByeReplacedStopsTheLink(t *testing.T) {
	ts := startServer(t, "", nil)
	alice := connectLogin(t, ts.addr, Login{Name: "alice"}, nil)
	expectEvent(t, alice, "synced", isKind(EventSynced))
	alice.mu.Lock()
	token := alice.st.token
	alice.mu.Unlock()
	other, err := joinWith(context.Background(), testConfig(ts.addr), &hello{name: "alice", token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !other.Welcome().Resumed {
		t.Fatalf("the takeover did not resume: %+v", other.Welcome().ServerFrame)
	}
	var be *ByeError
	expectEvent(t, alice, "down", func(ev Event) bool {
		return ev.Kind == EventDown && errors.As(ev.Err, &be) && be.Reason == protocol.ReasonReplaced
	})
	ev := expectEvent(t, alice, "closed", func(ev Event) bool {
		if ev.Kind == EventRetry {
			t.Fatal("the link tries to take the session back")
		}
		return ev.Kind == EventClosed
	})
	if !errors.As(ev.Err, &be) || !errors.As(alice.Err(), &be) {
		t.Fatalf("closed because %v (Err %v), want bye replaced", ev.Err, alice.Err())
	}
}

func withAccounts(c *server.Config) { c.Hasher = argon2id.NewWithParams(64, 1, 1) }

// TestRejoinLogsInAgain: without holds, a dropped account session is gone;
// the link asks for the password (once) and logs in again.
func TestRejoinLogsInAgain(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { withAccounts(c); c.ResumeGrace = 0 })
	px := startProxy(t, ts.addr)
	var asked atomic.Int32
	alice := connectLogin(t, px.addr, Login{Name: "alice"}, func(c *Config) {
		c.Password = func(_ context.Context, name string, why error) ([]byte, error) {
			asked.Add(1)
			if name != "alice" || why != nil {
				return nil, fmt.Errorf("asked for %s because %v", name, why)
			}
			return []byte("password1"), nil
		}
	})
	expectEvent(t, alice, "synced", isKind(EventSynced))
	pw := []byte("password1")
	frame := registerFrame("reg", pw)
	if err := alice.SendSecret(frame); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(frame), "password1") {
		t.Error("the register frame was not wiped after sending")
	}
	expectEvent(t, alice, "registered", func(ev Event) bool { return ev.Frame.Type == protocol.MsgRegistered })
	px.cut()
	up := expectEvent(t, alice, "up again", isKind(EventUp))
	if !up.Frame.Account || asked.Load() != 1 {
		t.Fatalf("welcome %+v after %d password prompts", up.Frame.ServerFrame, asked.Load())
	}
}

// TestPasswordNeverSentInTheClear: a password for a server that is not on
// this machine, over plain TCP, is refused before a connection is made;
// -insecure-auth lets it through.
func TestPasswordNeverSentInTheClear(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	defer ln.Close()
	_, err = Connect(context.Background(), testConfig(ln.Addr().String()), Login{Name: "alice", Password: []byte("password1")})
	if !errors.Is(err, ErrInsecureAuth) {
		t.Fatalf("err = %v, want ErrInsecureAuth", err)
	}
	ln.(*net.TCPListener).SetDeadline(time.Now())
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Fatal("the client connected anyway")
	}

	ts := startServer(t, "127.0.0.2:0", func(c *server.Config) { withAccounts(c); c.InsecureAuth = true })
	guest := connectLogin(t, ts.addr, Login{Name: "bob"}, func(c *Config) { c.InsecureAuth = true })
	expectEvent(t, guest, "synced", isKind(EventSynced))
	if err := guest.SendSecret(registerFrame("r", []byte("password1"))); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, guest, "registered", func(ev Event) bool { return ev.Frame.Type == protocol.MsgRegistered })
	guest.Quit()
	expectEvent(t, guest, "closed", isKind(EventClosed))
	l := connectLogin(t, ts.addr, Login{Name: "bob", Password: []byte("password1")}, func(c *Config) { c.InsecureAuth = true })
	up := expectEvent(t, l, "up", isKind(EventUp))
	if !up.Frame.Account {
		t.Fatalf("not logged in: %+v", up.Frame.ServerFrame)
	}
}

// TestPasswordWipedAfterJoin: the password given to Connect is zeroed once
// the join is written, whether it succeeds or not.
func TestPasswordWipedAfterJoin(t *testing.T) {
	ts := startServer(t, "", withAccounts)
	for _, pw := range [][]byte{[]byte("not-an-account"), []byte("x")} {
		_, err := Connect(context.Background(), testConfig(ts.addr), Login{Name: "carol", Password: pw})
		if err == nil {
			t.Fatal("a login to a name that is no account worked")
		}
		if strings.Trim(string(pw), "\x00") != "" {
			t.Fatalf("the password is still in memory: %q", pw)
		}
	}
	h := &hello{name: "carol", password: []byte(`pa"ss\word`)}
	frame := joinFrame(h)
	if !strings.Contains(string(frame), `"password":"pa\"ss\\word"`) {
		t.Fatalf("join frame %s", frame)
	}
}
