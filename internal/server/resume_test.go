package server_test

import (
	"strings"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/protocol"
)

// A v2 client drops, the others keep talking, and it resumes with since:
// it gets exactly what it missed, nothing twice, and nobody saw it leave.
func TestDropAndResumeWithSince(t *testing.T) {
	ts := startServer(t, nil)
	carol, ans := ts.joinV2(t, "carol", "lobby", "go")
	alice, _ := ts.joinV2(t, "alice", "lobby", "go")
	carol.expect("joined")
	carol.expect("joined")
	alice.send(`{"type":"message","room":"go","text":"before"}`)
	seen := carol.expect("message").ID

	carol.drop()
	eventually(t, wait, "the drop to be noticed", func() bool { return ts.Stats().Closed.Get("disconnect") == 1 })
	alice.send(`{"type":"message","room":"go","text":"missed 1","ref":"1"}`)
	alice.send(`{"type":"message","text":"missed 2","ref":"2"}`)
	alice.send(`{"type":"private","to":"carol","text":"psst","ref":"3"}`)
	for range 3 {
		alice.expectSkipping("ack")
	}
	alice.send(`{"type":"users","room":"go"}`)
	if u := alice.expect("users"); strings.Join(u.Users, ",") != "alice,carol" {
		t.Fatalf("held carol is not listed: %+v", u)
	}

	back, ans2 := ts.resume(t, "Carol", ans.welcome, seen, 2)
	w := ans2.welcome
	if !w.Resumed || w.Session == ans.welcome.Session || w.Epoch != ans.welcome.Epoch || w.Username != "carol" {
		t.Fatalf("resume welcome %+v", w)
	}
	if got := len(ans2.replay["go"]) + len(ans2.replay["lobby"]); got != 2 {
		t.Fatalf("replayed %d messages, want the 2 missed: %+v", got, ans2.replay)
	}
	if ans2.replay["go"][0].Text != "missed 1" || ans2.replay["lobby"][0].Text != "missed 2" {
		t.Fatalf("%+v", ans2.replay)
	}
	if len(ans2.privs) != 1 || ans2.privs[0].Text != "psst" {
		t.Fatalf("private replay %+v", ans2.privs)
	}
	alice.expectNothing() // no left, no joined
	alice.send(`{"type":"message","room":"go","text":"live"}`)
	if m := back.expect("message"); m.Text != "live" || m.History {
		t.Fatalf("%+v", m)
	}
	// The old token is void.
	c := ts.dial(t)
	c.send(`{"type":"join","username":"carol","protocol":2,"session":%q}`, ans.welcome.Session)
	c.expectError(protocol.CodeAuthFailed)
	c.send(`{"type":"join","username":"someone","protocol":2,"session":%q}`, w.Session)
	c.expectError(protocol.CodeAuthFailed) // a token for another name
}

// Without resuming, the held user's name stays taken until the grace
// passes; then the others hear left with the original reason.
func TestGraceExpiry(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.ResumeGrace = 300 * time.Millisecond })
	a, _ := ts.joinV2(t, "a")
	b, ans := ts.joinV2(t, "b")
	a.expect("joined")
	b.drop()
	c := ts.dial(t)
	c.send(`{"type":"join","username":"B","protocol":2}`)
	c.expectError(protocol.CodeUsernameTaken)
	l := a.expect("left")
	if l.Username != "b" || l.Reason != "disconnect" {
		t.Fatalf("%+v", l)
	}
	c.send(`{"type":"join","username":"b","protocol":2,"session":%q}`, ans.welcome.Session)
	c.expectError(protocol.CodeAuthFailed) // expired
	c.send(`{"type":"join","username":"b","protocol":2}`)
	c.readJoin(1)
}

func TestNoHoldsWhenGraceIsZeroOrV1(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.ResumeGrace = 0 })
	a, _ := ts.joinV2(t, "a")
	b, _ := ts.joinV2(t, "b")
	a.expect("joined")
	b.drop()
	if l := a.expect("left"); l.Reason != "disconnect" {
		t.Fatalf("%+v", l)
	}
	ts2 := startServer(t, nil)
	x, _ := ts2.joinV2(t, "x")
	v1 := ts2.join(t, "v1")
	x.expect("joined")
	v1.drop()
	if l := x.expect("left"); l.Username != "v1" {
		t.Fatalf("%+v", l)
	}
}

// A half-open connection (the laptop lost its network; the server does
// not know yet) is replaced by the resume: bye replaced on the old one.
func TestTakeoverOfHalfOpenConnection(t *testing.T) {
	ts := startServer(t, nil)
	a, _ := ts.joinV2(t, "a")
	old, ans := ts.joinV2(t, "b", "lobby", "x")
	a.expect("joined")
	a.send(`{"type":"message","text":"m1"}`)
	last := old.expect("message").ID
	nu, ans2 := ts.resume(t, "b", ans.welcome, last, 2)
	if !ans2.welcome.Resumed || len(ans2.replay["lobby"]) != 0 {
		t.Fatalf("%+v", ans2)
	}
	frames := old.expectClosed()
	if n := len(frames); n == 0 || frames[n-1].Type != "bye" || frames[n-1].Reason != "replaced" {
		t.Fatalf("old connection got %+v, want bye replaced", frames)
	}
	a.expectNothing()
	a.send(`{"type":"message","text":"m2"}`)
	if m := nu.expect("message"); m.Text != "m2" {
		t.Fatalf("%+v", m)
	}
	if ts.Stats().Joined.Load() != 2 {
		t.Fatalf("joined = %d", ts.Stats().Joined.Load())
	}
}

// Resends with the same ref are acked with the original id, once each,
// and delivered once, across a resume.
func TestResentRefsAckedOnce(t *testing.T) {
	ts := startServer(t, nil)
	r, _ := ts.joinV2(t, "r")
	s, ans := ts.joinV2(t, "s")
	r.expect("joined")
	s.send(`{"type":"message","text":"once","ref":"m1"}`)
	ack := s.expect("ack")
	r.expect("message")
	s.send(`{"type":"message","text":"once","ref":"m1"}`)
	if a := s.expect("ack"); a.ID != ack.ID || a.TS != ack.TS || a.Ref != "m1" {
		t.Fatalf("resend ack %+v, original %+v", a, ack)
	}
	// The ref alone decides, before every other check.
	s.send(`{"type":"message","room":"nowhere","text":"","ref":"m1"}`)
	if a := s.expect("ack"); a.ID != ack.ID {
		t.Fatalf("%+v", a)
	}
	s.send(`{"type":"private","to":"r","text":"p","ref":"p1"}`)
	pack := s.expect("ack")
	r.expect("private")
	s.drop()
	s2, _ := ts.resume(t, "s", ans.welcome, pack.ID, 1)
	s2.send(`{"type":"message","text":"once","ref":"m1"}`)
	s2.send(`{"type":"private","to":"r","text":"p","ref":"p1"}`)
	if a := s2.expect("ack"); a.ID != ack.ID {
		t.Fatalf("%+v", a)
	}
	if a := s2.expect("ack"); a.ID != pack.ID {
		t.Fatalf("%+v", a)
	}
	r.expectNothing()
	// v1 clients are not de-duplicated.
	v1 := ts.join(t, "v")
	r.expect("joined")
	v1.send(`{"type":"message","text":"x","ref":"same"}`)
	v1.send(`{"type":"message","text":"x","ref":"same"}`)
	if a, b := v1.expect("ack"), v1.expect("ack"); a.ID == b.ID {
		t.Fatalf("v1 resend was de-duplicated")
	}
}

// Privates to a held user are accepted and arrive only in its private
// replay; a resume without since replays what was kept while held.
func TestPrivateToHeldUser(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.join(t, "a") // a v1 client
	b, ans := ts.joinV2(t, "b")
	a.expect("joined")
	b.drop()
	eventually(t, wait, "the drop to be noticed", func() bool { return ts.Stats().Closed.Get("disconnect") == 1 })
	a.send(`{"type":"private","to":"B","text":"while away","ref":"x"}`)
	a.expect("ack")
	c := ts.dial(t)
	c.send(`{"type":"join","username":"b","protocol":2,"session":%q}`, ans.welcome.Session)
	got := c.readJoin(1)
	if len(got.privs) != 1 || got.privs[0].Text != "while away" || got.privs[0].To != "b" {
		t.Fatalf("%+v", got.privs)
	}
	if got.welcome.LastID < got.privs[0].ID {
		t.Fatalf("replayed id %d above last_id %d", got.privs[0].ID, got.welcome.LastID)
	}
}

// A join with a since of another epoch replays as without it.
func TestSinceWithOtherEpochIsIgnored(t *testing.T) {
	ts := startServer(t, nil)
	a, _ := ts.joinV2(t, "a")
	a.send(`{"type":"message","text":"m","ref":"m"}`)
	a.expect("ack")
	b := ts.dial(t)
	b.send(`{"type":"join","username":"b","protocol":2,"since":1,"epoch":"other"}`)
	got := b.readJoin(1)
	if len(got.replay["lobby"]) != 1 || got.entered[0].Gap {
		t.Fatalf("%+v", got)
	}
	c := ts.dial(t)
	c.send(`{"type":"join","username":"c","protocol":2,"since":1,"epoch":%q}`, got.welcome.Epoch)
	if got := c.readJoin(1); len(got.replay["lobby"]) != 0 {
		t.Fatalf("%+v", got)
	}
}

// Replays from a position stop at replay_max and say gap; fetch gets the
// rest; a position older than the history cache (memory mode) says gap.
func TestReplayMaxAndGap(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.ReplayMax = 3; c.History = 5 })
	a, _ := ts.joinV2(t, "a")
	for i := range 8 {
		a.send(`{"type":"message","text":"m%d","ref":"r%d"}`, i, i)
		a.expect("ack")
	}
	b := ts.dial(t)
	b.send(`{"type":"join","username":"b","protocol":2}`)
	got := b.readJoin(1)
	if n := len(got.replay["lobby"]); n != 5 {
		t.Fatalf("replay without since holds %d, want history=5", n)
	}
	ep := got.welcome.Epoch
	b.send(`{"type":"enter","room":"lobby"}`)
	b.expectError(protocol.CodeAlreadyInRoom)
	b.send(`{"type":"fetch","room":"lobby","since":5}`)
	for i := int64(6); i <= 8; i++ {
		if m := b.expect("message"); m.ID != i {
			t.Fatalf("%+v", m)
		}
	}
	if f := b.expect("fetched"); f.Count != 3 || f.Gap {
		t.Fatalf("%+v", f)
	}
	b.send(`{"type":"fetch","room":"lobby","since":4}`)
	for range 3 {
		b.expect("message")
	}
	if f := b.expect("fetched"); f.Count != 3 || !f.Gap {
		t.Fatalf("more than replay_max after since: %+v", f)
	}
	b.send(`{"type":"fetch","room":"lobby","since":1}`) // ids 2 and 3 are no longer kept
	for range 3 {
		b.expect("message")
	}
	if f := b.expect("fetched"); !f.Gap {
		t.Fatalf("%+v", f)
	}
	c := ts.dial(t)
	c.send(`{"type":"join","username":"c","protocol":2,"since":6,"epoch":%q}`, ep)
	if got := c.readJoin(1); len(got.replay["lobby"]) != 2 || got.entered[0].Gap {
		t.Fatalf("%+v", got.entered)
	}
}

// A private to oneself and its ack share one id.
func TestPrivateToSelf(t *testing.T) {
	ts := startServer(t, nil)
	a, _ := ts.joinV2(t, "a")
	a.send(`{"type":"private","to":"A","text":"note","ref":"n"}`)
	p := a.expect("private")
	ack := a.expect("ack")
	if p.ID != ack.ID || p.To != "a" || p.From != "a" {
		t.Fatalf("%+v %+v", p, ack)
	}
}
