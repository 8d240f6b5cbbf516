package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"pynet/internal/server"
	"pynet/protocol"
)

func TestV2WelcomeAndExampleSession(t *testing.T) {
	ts := startServer(t, nil)
	alice, _ := ts.joinV2(t, "alice", "lobby", "go")
	bob, _ := ts.joinV2(t, "bob")
	alice.expect("joined") // bob, in lobby
	bob.send(`{"type":"message","text":"hi all","ref":"b1"}`)
	bob.expect("ack")
	alice.expect("message")
	alice.send(`{"type":"message","room":"go","text":"generics?","ref":"a1"}`)
	alice.expect("ack")

	carol := ts.dial(t)
	carol.name = "carol"
	carol.send(`{"type":"join","username":"carol","protocol":2,"rooms":["lobby","GO"],"ref":"j"}`)
	line, err := carol.nextRaw()
	if err != nil {
		t.Fatal(err)
	}
	w := mustJSON(t, line)
	for _, k := range []string{"session", "epoch"} {
		if s, _ := w[k].(string); len(s) < 16 {
			t.Fatalf("welcome %s = %v", k, w[k])
		}
	}
	if w["protocol"] != 2.0 || w["last_id"] != 2.0 || w["resumed"] != false || w["privates"] != 0.0 ||
		w["account"] != false || w["ref"] != "j" || w["server"] != "pynet/2.0.0" || w["users"] != nil {
		t.Fatalf("welcome %s", line)
	}
	lim := w["limits"].(map[string]any)
	for k, v := range map[string]float64{"max_frame": 65536, "max_text": 4096, "max_rooms": 100,
		"presence_limit": 1000, "history": 100, "replay_max": 1000, "resume_grace_ms": 60000} {
		if lim[k] != v {
			t.Fatalf("limits.%s = %v, want %v (%s)", k, lim[k], v, line)
		}
	}
	e := carol.expect("entered")
	if e.Room != "lobby" || e.Count != 3 || strings.Join(e.Users, ",") != "alice,bob,carol" || e.Replay != 1 {
		t.Fatalf("entered lobby: %+v", e)
	}
	if m := carol.expect("message"); m.ID != 1 || !m.History || m.Room != "lobby" || m.From != "bob" {
		t.Fatalf("lobby replay: %+v", m)
	}
	e = carol.expect("entered")
	if e.Room != "go" || e.Count != 2 || strings.Join(e.Users, ",") != "alice,carol" || e.Replay != 1 {
		t.Fatalf("entered go: %+v", e)
	}
	if m := carol.expect("message"); m.ID != 2 || m.Room != "go" || m.Text != "generics?" {
		t.Fatalf("go replay: %+v", m)
	}
	carol.expectNothing()
	// alice hears carol once per room, bob only in lobby.
	if j := alice.expect("joined"); j.Username != "carol" || j.Room != "lobby" {
		t.Fatalf("%+v", j)
	}
	if j := alice.expect("joined"); j.Username != "carol" || j.Room != "go" {
		t.Fatalf("%+v", j)
	}
	if j := bob.expect("joined"); j.Room != "lobby" {
		t.Fatalf("%+v", j)
	}
	bob.expectNothing()
}

func TestEnterExitFetchUsersRooms(t *testing.T) {
	ts := startServer(t, nil)
	a, _ := ts.joinV2(t, "a")
	b, _ := ts.joinV2(t, "b", "dev")
	a.send(`{"type":"enter","room":"Dev","ref":"e1"}`)
	e := a.expect("entered")
	if e.Room != "dev" || e.Ref != "e1" || e.Count != 2 || e.Replay != 0 || strings.Join(e.Users, ",") != "a,b" {
		t.Fatalf("%+v", e)
	}
	if j := b.expect("joined"); j.Username != "a" || j.Room != "dev" {
		t.Fatalf("%+v", j)
	}
	a.send(`{"type":"enter","room":"dev"}`)
	a.expectError(protocol.CodeAlreadyInRoom)
	for _, bad := range []string{`""`, `"-x"`, `"a b"`, `"` + strings.Repeat("x", 33) + `"`, `"é"`} {
		a.send(`{"type":"enter","room":%s}`, bad)
		a.expectError(protocol.CodeInvalidRoom)
	}
	a.send(`{"type":"enter"}`)
	a.expectError(protocol.CodeInvalidRoom)
	a.send(`{"type":"message","room":"ops","text":"x"}`)
	a.expectError(protocol.CodeNotInRoom)
	a.send(`{"type":"fetch","room":"ops"}`)
	a.expectError(protocol.CodeNotInRoom)

	b.send(`{"type":"message","room":"dev","text":"one"}`)
	b.send(`{"type":"message","room":"dev","text":"waves","action":true}`)
	m := a.expect("message")
	if m.Text != "one" || m.Room != "dev" || m.Action {
		t.Fatalf("%+v", m)
	}
	if m := a.expect("message"); !m.Action || m.Text != "waves" {
		t.Fatalf("%+v", m)
	}
	a.send(`{"type":"fetch","room":"dev","since":%d,"ref":"f"}`, m.ID)
	if h := a.expect("message"); !h.History || h.ID != m.ID+1 || !h.Action {
		t.Fatalf("%+v", h)
	}
	if f := a.expect("fetched"); f.Count != 1 || f.Ref != "f" || f.Room != "dev" || f.Gap {
		t.Fatalf("%+v", f)
	}

	a.send(`{"type":"users","room":"dev","ref":"u"}`)
	if u := a.expect("users"); u.Room != "dev" || u.Count != 2 || strings.Join(u.Users, ",") != "a,b" || u.Ref != "u" {
		t.Fatalf("%+v", u)
	}
	a.send(`{"type":"users","room":"nobody-here"}`)
	if u := a.expect("users"); u.Count != 0 || len(u.Users) != 0 || u.Room != "nobody-here" {
		t.Fatalf("%+v", u)
	}
	a.send(`{"type":"rooms","ref":"r"}`)
	r := a.expect("rooms")
	if fmt.Sprint(r.Rooms) != "[{dev 2} {lobby 1}]" || r.More || r.Ref != "r" {
		t.Fatalf("%+v", r)
	}
	a.send(`{"type":"rooms","after":"dev"}`)
	if r := a.expect("rooms"); fmt.Sprint(r.Rooms) != "[{lobby 1}]" {
		t.Fatalf("%+v", r)
	}

	a.send(`{"type":"exit","room":"dev","ref":"x"}`)
	if x := a.expect("exited"); x.Room != "dev" || x.Ref != "x" {
		t.Fatalf("%+v", x)
	}
	if l := b.expect("left"); l.Reason != "exit" || l.Room != "dev" || l.Username != "a" {
		t.Fatalf("%+v", l)
	}
	b.send(`{"type":"message","room":"dev","text":"after exit"}`)
	b.sync()
	a.expectNothing() // nothing of dev after exited
	a.send(`{"type":"exit","room":"dev"}`)
	a.expectError(protocol.CodeNotInRoom)
}

func TestV1ClientSeesOnlyLobby(t *testing.T) {
	ts := startServer(t, nil)
	v2, _ := ts.joinV2(t, "two", "lobby", "side")
	v1 := ts.join(t, "one")
	v2.expect("joined")
	v1.send(`{"type":"enter","room":"side"}`)
	v1.expectError(protocol.CodeUnknownType)
	v1.send(`{"type":"rooms"}`)
	v1.expectError(protocol.CodeUnknownType)
	v2.send(`{"type":"message","room":"side","text":"secret side"}`)
	v2.send(`{"type":"message","text":"to lobby"}`)
	if m := v1.expect("message"); m.Text != "to lobby" || m.Room != "lobby" {
		t.Fatalf("%+v", m)
	}
	v1.send(`{"type":"message","room":"side","text":"room ignored"}`) // v2 member: ignored
	if m := v2.expect("message"); m.Room != "lobby" || m.Text != "room ignored" {
		t.Fatalf("%+v", m)
	}
	// Before join, v2-only types are join_required for everyone.
	c := ts.dial(t)
	c.send(`{"type":"enter","room":"x"}`)
	c.expectError(protocol.CodeJoinRequired)
}

func TestTooManyRooms(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxRooms = 3; c.MaxRoomsTotal = 4 })
	c := ts.dial(t)
	c.send(`{"type":"join","username":"x","protocol":2,"rooms":["a","b","c","d"]}`)
	c.expectError(protocol.CodeTooManyRooms)
	c.send(`{"type":"join","username":"x","protocol":2,"rooms":["a","A","b","c"]}`) // duplicates count once
	c.readJoin(3)
	c.send(`{"type":"enter","room":"d"}`)
	c.expectError(protocol.CodeTooManyRooms)
	y, _ := ts.joinV2(t, "y", "lobby") // 4 rooms with members now: a b c lobby
	y.send(`{"type":"enter","room":"e"}`)
	y.expectError(protocol.CodeTooManyRooms)
	y.send(`{"type":"enter","room":"a"}`) // an existing room is fine
	y.expect("entered")
	c.expect("joined")
	c.send(`{"type":"join","username":"z","protocol":2,"rooms":["a","!"]}`)
	c.expectError(protocol.CodeAlreadyJoined)
	d := ts.dial(t)
	d.send(`{"type":"join","username":"z","protocol":2,"rooms":["a","!"]}`)
	d.expectError(protocol.CodeInvalidRoom)
}

// Two rooms send at once; a member of both must see live messages in
// strictly increasing id order (PROTOCOL §5.3), and each room's members the
// same order.
func TestTwoRoomsConcurrentIDOrder(t *testing.T) {
	ts := startServer(t, nil)
	both, _ := ts.joinV2(t, "both", "r1", "r2")
	onlyR1, _ := ts.joinV2(t, "only1", "r1")
	both.expect("joined")
	s1, _ := ts.joinV2(t, "s1", "r1")
	s2, _ := ts.joinV2(t, "s2", "r2")
	both.expect("joined")
	both.expect("joined")
	onlyR1.expect("joined")
	const n = 400
	var wg sync.WaitGroup
	for _, s := range []struct {
		c    *client
		room string
	}{{s1, "r1"}, {s2, "r2"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sb strings.Builder
			for i := range n {
				fmt.Fprintf(&sb, `{"type":"message","room":%q,"text":"%s %d"}`+"\n", s.room, s.room, i)
				if i%50 == 49 {
					s.c.nc.Write([]byte(sb.String()))
					sb.Reset()
				}
			}
		}()
	}
	wg.Wait()
	var last int64
	perRoom := map[string][]int64{}
	for range 2 * n {
		m := both.expect("message")
		if m.ID <= last {
			t.Fatalf("id %d after %d", m.ID, last)
		}
		last = m.ID
		perRoom[m.Room] = append(perRoom[m.Room], m.ID)
	}
	for i := range n {
		m := onlyR1.expect("message")
		if m.ID != perRoom["r1"][i] {
			t.Fatalf("only1 saw r1 message %d as id %d, both saw %d", i, m.ID, perRoom["r1"][i])
		}
	}
}

// A user enters a room in the middle of a message stream: the replay and
// the live messages that follow have no gap and no duplicate.
func TestEnterDuringTrafficNoGapNoDuplicate(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.History = 50 })
	src, _ := ts.joinV2(t, "src", "busy")
	const n = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		var sb strings.Builder
		for i := range n {
			fmt.Fprintf(&sb, `{"type":"message","room":"busy","text":"%d"}`+"\n", i)
			if i%20 == 19 {
				src.nc.Write([]byte(sb.String()))
				sb.Reset()
			}
		}
	}()
	late, _ := ts.joinV2(t, "late")
	late.send(`{"type":"enter","room":"busy","since":0}`)
	e := late.expect("entered")
	var ids []int64
	lastText := ""
	for range e.Replay {
		m := late.expect("message")
		ids, lastText = append(ids, m.ID), m.Text
	}
	<-done
	for lastText != fmt.Sprint(n-1) {
		m := late.expect("message")
		lastText = m.Text
		ids = append(ids, m.ID)
	}
	// Only src sends, so the room's ids are consecutive.
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("after id %d came %d (replay of %d, gap=%v)", ids[i-1], ids[i], e.Replay, e.Gap)
		}
	}
	if ids[len(ids)-1] != int64(n) {
		t.Fatalf("last id %d, want %d", ids[len(ids)-1], n)
	}
	if ids[0] > 1 && !e.Gap {
		t.Fatalf("replay from since 0 starts at %d without gap", ids[0])
	}
}

func TestPresenceLimit(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.PresenceLimit = 2 })
	a, _ := ts.joinV2(t, "a")
	b, _ := ts.joinV2(t, "b")
	a.expect("joined") // 2 members: announced
	c, ans := ts.joinV2(t, "c")
	if e := ans.entered[0]; e.Users != nil || e.Count != 3 || !e.HasCount {
		t.Fatalf("entered over the limit: %+v", e)
	}
	b.send(`{"type":"users"}`)
	if u := b.expect("users"); u.Users != nil || u.Count != 3 {
		t.Fatalf("users over the limit: %+v", u)
	}
	v1 := ts.join(t, "old")
	c.send(`{"type":"nick","username":"c2"}`)
	c.expect("renamed") // to itself only: the room is over the limit
	c.send(`{"type":"leave"}`)
	c.expect("bye")
	eventually(t, wait, "c's departure", func() bool { return ts.Stats().Joined.Load() == 3 })
	v1.send(`{"type":"leave"}`)
	v1.expect("bye")
	// Back to 2 members after old's leave: that change is announced.
	if l := a.expect("left"); l.Username != "old" {
		t.Fatalf("%+v", l)
	}
	a.expectNothing() // nothing of c (joined, renamed, left: all over the limit)
	a.send(`{"type":"users"}`)
	if u := a.expect("users"); strings.Join(u.Users, ",") != "a,b" {
		t.Fatalf("%+v", u)
	}
}

func TestPresenceLimitV1Welcome(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.PresenceLimit = 1 })
	ts.join(t, "a")
	c := ts.dial(t)
	c.send(`{"type":"join","username":"b"}`)
	w := c.expect("welcome")
	if strings.Join(w.Users, ",") != "b" || w.Count != 2 {
		t.Fatalf("%+v", w)
	}
}

func TestRenameReachesSharedRoomsOnce(t *testing.T) {
	ts := startServer(t, nil)
	a, _ := ts.joinV2(t, "a", "lobby", "x", "y")
	b, _ := ts.joinV2(t, "b", "x", "y")
	other, _ := ts.joinV2(t, "other", "z")
	a.expect("joined")
	a.expect("joined")
	b.send(`{"type":"nick","username":"B2","ref":"n"}`)
	if r := b.expect("renamed"); r.From != "b" || r.To != "B2" || r.Ref != "n" {
		t.Fatalf("%+v", r)
	}
	if r := a.expect("renamed"); r.Ref != "" || r.To != "B2" {
		t.Fatalf("%+v", r)
	}
	a.expectNothing() // once, although they share two rooms
	other.expectNothing()
}

func TestRenameLimit(t *testing.T) {
	ts := startServer(t, nil)
	a, _ := ts.joinV2(t, "a")
	for i := range 5 {
		a.send(`{"type":"nick","username":"n%d"}`, i)
		a.expect("renamed")
	}
	a.send(`{"type":"nick","username":"n4"}`) // own name: no token
	a.expect("renamed")
	a.send(`{"type":"nick","username":"!!"}`) // invalid comes first
	a.expectError(protocol.CodeInvalidUsername)
	a.send(`{"type":"nick","username":"n9"}`)
	if e := a.expectError(protocol.CodeRateLimited); e.RetryAfterMS <= 0 || e.RetryAfterMS > 10000 {
		t.Fatalf("%+v", e)
	}
}

func TestEnterExitBucket(t *testing.T) {
	ts := startServer(t, nil)
	a, _ := ts.joinV2(t, "a")
	for i := range 10 {
		a.send(`{"type":"enter","room":"r%d"}`, i)
		a.expect("entered")
		a.send(`{"type":"exit","room":"r%d"}`, i)
		a.expect("exited")
	}
	a.send(`{"type":"enter","room":"r99"}`)
	if e := a.expectError(protocol.CodeRateLimited); e.RetryAfterMS <= 0 || e.RetryAfterMS > 1000 {
		t.Fatalf("%+v", e)
	}
	a.send(`{"type":"enter","room":"lobby"}`) // a state error comes before the bucket
	a.expectError(protocol.CodeAlreadyInRoom)
}

func TestLeaveAndPongAreNeverRateLimited(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.Rate = 1; c.Burst = 2 })
	a := ts.join(t, "a") // join and drainHistory's ping used the burst
	a.send(`{"type":"pong"}`)
	a.send(`{"type":"users"}`)
	a.expectError(protocol.CodeRateLimited)
	a.send(`{"type":"leave","ref":"l"}`)
	if b := a.expect("bye"); b.Reason != "quit" || b.Ref != "l" {
		t.Fatalf("%+v", b)
	}
}

func TestRoomsPaging(t *testing.T) {
	ts := startServer(t, nil)
	for u := range 11 {
		names := make([]string, 100)
		for i := range names {
			names[i] = fmt.Sprintf("u%02dr%03d", u, i)
		}
		ts.joinV2(t, fmt.Sprintf("user%d", u), names...)
	}
	c, _ := ts.joinV2(t, "pager", "lobby")
	c.send(`{"type":"rooms"}`)
	r := c.expect("rooms")
	if len(r.Rooms) != 1000 || !r.More || r.Rooms[0].Room != "lobby" && r.Rooms[0].Room != "u00r000" {
		t.Fatalf("first page: %d rooms, more=%v, first %v", len(r.Rooms), r.More, r.Rooms[0])
	}
	c.send(`{"type":"rooms","after":%q}`, r.Rooms[999].Room)
	r2 := c.expect("rooms")
	if len(r2.Rooms) != 101 || r2.More {
		t.Fatalf("second page: %d rooms, more=%v", len(r2.Rooms), r2.More)
	}
}

// Without a store, rooms without members are forgotten, history included,
// least recently emptied first, while more than 1,000 of them exist.
func TestEmptyRoomsAreForgottenBeyondAThousand(t *testing.T) {
	ts := startServer(t, nil)
	first, _ := ts.joinV2(t, "first", "oldest")
	first.send(`{"type":"message","room":"oldest","text":"remember me","ref":"m"}`)
	first.expect("ack")
	first.send(`{"type":"leave"}`)
	first.expect("bye")
	for u := range 11 { // 1,100 more rooms, emptied after "oldest"
		names := make([]string, 100)
		for i := range names {
			names[i] = fmt.Sprintf("u%02dr%03d", u, i)
		}
		c, _ := ts.joinV2(t, fmt.Sprintf("user%d", u), names...)
		c.send(`{"type":"leave"}`)
		c.expect("bye")
	}
	c, ans := ts.joinV2(t, "late")
	c.send(`{"type":"enter","room":"oldest","since":0,"epoch":%q}`, ans.welcome.Epoch)
	if e := c.expect("entered"); e.Replay != 0 || !e.Gap {
		t.Fatalf("a forgotten room: %+v, want no replay and gap", e)
	}
	// "oldest" is made anew: its messages from before are gone.
	c.send(`{"type":"exit","room":"oldest"}`)
	c.expect("exited")
	c.send(`{"type":"users","room":"oldest"}`)
	if u := c.expect("users"); u.Count != 0 {
		t.Fatalf("%+v", u)
	}
}
