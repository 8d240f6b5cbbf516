package server_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"pynet/internal/replog/memlog"
	"pynet/internal/server"
	"pynet/protocol"
)

// startNodes starts n servers that share one in-memory log: a cluster in
// one process. The NATS-backed log is tested the same way in package
// cluster.
func startNodes(t *testing.T, n int, mutate func(*server.Config)) (*memlog.Shared, []*testServer) {
	return startNodesLease(t, n, 0, mutate)
}

// startNodesLease is startNodes with a node lease of its own (0: memlog's).
func startNodesLease(t *testing.T, n int, lease time.Duration, mutate func(*server.Config)) (*memlog.Shared, []*testServer) {
	t.Helper()
	log := memlog.New()
	if lease > 0 {
		log.SetLease(lease)
	}
	var nodes []*testServer
	for i := range n {
		node := log.Node(fmt.Sprintf("node%d", i+1))
		t.Cleanup(func() { node.Close() })
		nodes = append(nodes, startServer(t, func(c *server.Config) {
			c.Cluster = node
			if mutate != nil {
				mutate(c)
			}
		}))
	}
	return log, nodes
}

func TestClusterCrossNodeChatInOneOrder(t *testing.T) {
	_, nodes := startNodes(t, 3, nil)
	alice, _ := nodes[0].joinV2(t, "alice")
	bob, _ := nodes[1].joinV2(t, "bob")
	alice.expect("joined")
	carol, w := nodes[2].joinV2(t, "carol")
	alice.expect("joined")
	bob.expect("joined")

	// Everyone lists everyone, whichever node they are on.
	carol.send(`{"type":"users","room":"lobby"}`)
	if u := carol.expect("users"); fmt.Sprint(u.Users) != "[alice bob carol]" {
		t.Fatalf("users on node3 = %v", u.Users)
	}
	if w.welcome.LastID == 0 {
		t.Fatalf("welcome last_id = 0 after two joins")
	}

	// Alice and bob send at once from two nodes; carol, on a third, and
	// each of them see the other's messages in one id order, and the acks
	// carry the ids the others see.
	const each = 50
	var wg sync.WaitGroup
	for _, c := range []*client{alice, bob} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				fmt.Fprintf(c.nc, `{"type":"message","text":"%s %d","ref":"r%d"}`+"\n", c.name, i, i)
			}
		}()
	}
	wg.Wait()
	ids := map[string]int64{} // "from text" → id, as carol saw them
	var last int64
	for range 2 * each {
		m := carol.expect("message")
		if m.ID <= last {
			t.Fatalf("carol: id %d after %d", m.ID, last)
		}
		last = m.ID
		ids[m.From+" "+m.Text] = m.ID
	}
	for _, c := range []*client{alice, bob} {
		other := map[string]string{"alice": "bob", "bob": "alice"}[c.name]
		var last int64
		got := 0
		for got < 2*each {
			f := c.next()
			switch f.Type {
			case "message":
				if f.From != other || ids[f.From+" "+f.Text] != f.ID {
					t.Fatalf("%s: %+v, carol saw id %d", c.name, f, ids[f.From+" "+f.Text])
				}
			case "ack":
				var i int
				fmt.Sscanf(f.Ref, "r%d", &i)
				if want := ids[fmt.Sprintf("%s %s %d", c.name, c.name, i)]; f.ID != want {
					t.Fatalf("%s: ack %+v, carol saw id %d", c.name, f, want)
				}
			default:
				t.Fatalf("%s: unexpected %+v", c.name, f)
			}
			if f.ID <= last {
				t.Fatalf("%s: id %d after %d", c.name, f.ID, last)
			}
			last = f.ID
			got++
		}
	}
}

func TestClusterRoomsAndPrivatesAcrossNodes(t *testing.T) {
	_, nodes := startNodes(t, 2, nil)
	alice, _ := nodes[0].joinV2(t, "alice", "lobby", "go")
	bob, a := nodes[1].joinV2(t, "bob", "go")
	if a.entered[0].Count != 2 || fmt.Sprint(a.entered[0].Users) != "[alice bob]" {
		t.Fatalf("bob's entered on node2 = %+v", a.entered[0])
	}
	if j := alice.expect("joined"); j.Room != "go" || j.Username != "bob" {
		t.Fatalf("alice got %+v", j)
	}
	alice.send(`{"type":"message","room":"go","text":"hi go"}`)
	if m := bob.expect("message"); m.Room != "go" || m.Text != "hi go" || m.From != "alice" {
		t.Fatalf("bob got %+v", m)
	}
	bob.send(`{"type":"message","room":"lobby","text":"x","ref":"1"}`)
	bob.expectError(protocol.CodeNotInRoom)

	bob.send(`{"type":"private","to":"ALICE","text":"psst","ref":"p"}`)
	ack := bob.expect("ack")
	if p := alice.expect("private"); p.From != "bob" || p.To != "alice" || p.ID != ack.ID {
		t.Fatalf("alice got %+v (ack %+v)", p, ack)
	}

	// Enter and exit on one node are seen on the other, in order with
	// messages; a late joiner gets the room's history from the log.
	bob.send(`{"type":"enter","room":"lobby","ref":"e"}`)
	if e := bob.expect("entered"); e.Count != 2 {
		t.Fatalf("entered = %+v", e)
	}
	alice.expect("joined")
	bob.send(`{"type":"exit","room":"go","ref":"x"}`)
	bob.expect("exited")
	if l := alice.expect("left"); l.Room != "go" || l.Reason != protocol.ReasonExit {
		t.Fatalf("alice got %+v", l)
	}
	_, c := nodes[1].joinV2(t, "carol", "go")
	if r := c.replay["go"]; len(r) != 1 || r[0].Text != "hi go" {
		t.Fatalf("carol's go replay on node2 = %+v", r)
	}

	bob.send(`{"type":"rooms"}`)
	if r := bob.expect("rooms"); fmt.Sprint(r.Rooms) != "[{go 2} {lobby 2}]" {
		t.Fatalf("rooms = %v", r.Rooms)
	}
}

func TestClusterNameRaceHasOneWinner(t *testing.T) {
	_, nodes := startNodes(t, 2, nil)
	for round := range 20 {
		name := fmt.Sprintf("Dup%d", round)
		a, b := nodes[0].dial(t), nodes[1].dial(t)
		a.send(`{"type":"join","username":%q,"protocol":2}`, name)
		b.send(`{"type":"join","username":%q,"protocol":2}`, name)
		wins := 0
		for _, c := range []*client{a, b} {
			f := c.next()
			switch {
			case f.Type == "welcome":
				wins++
			case f.Type == "error" && f.Code == protocol.CodeUsernameTaken:
			default:
				t.Fatalf("round %d: %+v", round, f)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners", round, wins)
		}
	}
}

func TestClusterResumeOnAnotherNode(t *testing.T) {
	_, nodes := startNodes(t, 2, nil)
	alice, a := nodes[0].joinV2(t, "alice")
	bob, _ := nodes[1].joinV2(t, "bob")
	alice.expect("joined")
	bob.send(`{"type":"message","text":"one","ref":"1"}`)
	seen := alice.expect("message").ID
	alice.drop()
	bob.expect("ack")
	bob.send(`{"type":"message","text":"two"}`)
	bob.send(`{"type":"private","to":"alice","text":"while away"}`)
	bob.sync()

	// Alice comes back on the other node with her token and position: she
	// gets what she missed, public and private; bob hears nothing.
	back, r := nodes[1].resume(t, "alice", a.welcome, seen, 1)
	if !r.welcome.Resumed {
		t.Fatalf("welcome = %+v, want resumed", r.welcome)
	}
	if got := r.replay["lobby"]; len(got) != 1 || got[0].Text != "two" {
		t.Fatalf("replay = %+v", got)
	}
	if len(r.privs) != 1 || r.privs[0].Text != "while away" {
		t.Fatalf("private replay = %+v", r.privs)
	}
	bob.expectNothing()
	back.send(`{"type":"message","text":"back","ref":"b"}`)
	back.expect("ack")
	if m := bob.expect("message"); m.From != "alice" {
		t.Fatalf("bob got %+v", m)
	}
	// The old token is void on every node.
	c := nodes[0].dial(t)
	c.send(`{"type":"join","username":"alice","protocol":2,"session":%q}`, a.welcome.Session)
	c.expectError(protocol.CodeAuthFailed)
}

func TestClusterNodeDeathHoldsItsUsers(t *testing.T) {
	_, nodes := startNodesLease(t, 2, 300*time.Millisecond, func(c *server.Config) { c.ResumeGrace = 30 * time.Second })
	alice, _ := nodes[0].joinV2(t, "alice")
	bob, b := nodes[1].joinV2(t, "bob")
	alice.expect("joined")
	bob.send(`{"type":"message","text":"before"}`)
	seen := alice.expect("message").ID

	// node2 dies without a word: its log handle goes (lease and all) and its
	// process with it. Node1 notices the lapsed lease and holds bob's
	// session: nobody hears that bob left, his name stays taken.
	nodes[1].kill(t)
	alice.send(`{"type":"private","to":"bob","text":"are you there?","ref":"q"}`)
	alice.expect("ack")
	eventually(t, wait, "node1 holds bob's session", func() bool { return nodes[0].HeldSessions() == 1 })
	alice.expectNothing()
	c := nodes[0].dial(t)
	c.send(`{"type":"join","username":"bob","protocol":2}`)
	c.expectError(protocol.CodeUsernameTaken)

	// Bob resumes on node1 and gets what he missed.
	back, r := nodes[0].resume(t, "bob", b.welcome, seen, 1)
	if !r.welcome.Resumed || len(r.privs) != 1 || r.privs[0].Text != "are you there?" {
		t.Fatalf("resume on node1: %+v privates %+v", r.welcome, r.privs)
	}
	back.send(`{"type":"message","text":"back","ref":"1"}`)
	back.expect("ack")
	alice.expect("message")
}

func TestClusterHoldOfDeadNodeExpires(t *testing.T) {
	_, nodes := startNodesLease(t, 2, 300*time.Millisecond, func(c *server.Config) { c.ResumeGrace = 200 * time.Millisecond })
	alice, _ := nodes[0].joinV2(t, "alice")
	nodes[1].joinV2(t, "bob")
	alice.expect("joined")
	nodes[1].kill(t)
	if l := alice.expect("left"); l.Username != "bob" || l.Reason != protocol.ReasonDisconnect {
		t.Fatalf("alice got %+v", l)
	}
	nodes[0].joinV2(t, "bob") // the name is free again
}

// kill ends a cluster node as a crash would: its log handle goes first
// (nothing more reaches the others), then the process.
func (ts *testServer) kill(t *testing.T) {
	t.Helper()
	ts.Config().Cluster.Close()
	ts.stop(t)
}

func TestClusterRefusesWhileTheLogIsDown(t *testing.T) {
	log, nodes := startNodes(t, 2, nil)
	alice, _ := nodes[0].joinV2(t, "alice")
	bob, _ := nodes[1].joinV2(t, "bob")
	alice.expect("joined")
	log.SetDown(true)
	alice.send(`{"type":"message","text":"lost?","ref":"1"}`)
	if e := alice.expectError(protocol.CodeRateLimited); e.Ref != "1" {
		t.Fatalf("error = %+v", e)
	}
	alice.send(`{"type":"enter","room":"go","ref":"2"}`)
	alice.expectError(protocol.CodeRateLimited)
	log.SetDown(false)
	alice.send(`{"type":"message","text":"now","ref":"3"}`)
	alice.expect("ack")
	if m := bob.expect("message"); m.Text != "now" {
		t.Fatalf("bob got %+v", m)
	}
}

func TestClusterNodeStartsFromSnapshot(t *testing.T) {
	log, nodes := startNodes(t, 2, func(c *server.Config) { c.ClusterSnapshotEvery = 2 })
	alice, _ := nodes[0].joinV2(t, "alice", "lobby", "go")
	bob, b := nodes[1].joinV2(t, "Bob", "go")
	alice.expect("joined")
	bob.send(`{"type":"message","room":"go","text":"kept","ref":"k"}`)
	bob.expect("ack")
	alice.expect("message")
	eventually(t, wait, "a snapshot after the joins", func() bool {
		seq, _, _ := log.Node("probe").LoadSnapshot()
		return seq >= uint64(b.welcome.LastID)+1
	})
	bob.send(`{"type":"exit","room":"go"}`) // after the snapshot: from the log
	bob.expect("exited")
	alice.expect("left")

	// A third node starts from the snapshot (the control entries before it
	// are trimmed) and the log after it, and knows everything.
	node3 := log.Node("node3")
	t.Cleanup(func() { node3.Close() })
	third := startServer(t, func(c *server.Config) { c.Cluster = node3 })
	carol, a := third.joinV2(t, "carol", "go")
	if fmt.Sprint(a.entered[0].Users) != "[alice carol]" || len(a.replay["go"]) != 1 {
		t.Fatalf("carol on node3: %+v replay %+v", a.entered[0], a.replay["go"])
	}
	if j := alice.expect("joined"); j.Username != "carol" {
		t.Fatalf("alice got %+v", j)
	}
	c := third.dial(t)
	c.send(`{"type":"join","username":"bob","protocol":2}`)
	c.expectError(protocol.CodeUsernameTaken)
	// Bob's resend is recognised on the new node too (the de-duplication
	// window is in the snapshot), and he resumes there.
	bob.drop()
	back, _ := third.resume(t, "Bob", b.welcome, 0, 0) // in no room since its exit
	back.send(`{"type":"message","text":"again","ref":"k"}`)
	if ack := back.expect("ack"); ack.ID == 0 {
		t.Fatalf("ack = %+v", ack)
	}
	alice.expectNothing()
	carol.expectNothing()
}

func TestClusterAccountsNamesAndV1AcrossNodes(t *testing.T) {
	_, nodes := startNodes(t, 2, withAccounts)
	alice, _ := nodes[0].joinV2(t, "alice")
	alice.send(`{"type":"register","password":"correct horse","ref":"r"}`)
	if r := alice.expect("registered"); r.Session == "" {
		t.Fatalf("registered = %+v", r)
	}
	// The account is the cluster's: on the other node its name needs the
	// password, and the password logs in, taking the session over.
	c := nodes[1].dial(t)
	c.send(`{"type":"join","username":"Alice","protocol":2}`)
	c.expectError(protocol.CodeUsernameTaken)
	c.send(`{"type":"join","username":"alice","protocol":2,"password":"correct horse"}`)
	if w := c.readJoin(1).welcome; !w.Resumed || !w.Account {
		t.Fatalf("login on node2: %+v", w)
	}
	if b := alice.expect("bye"); b.Reason != protocol.ReasonReplaced {
		t.Fatalf("alice on node1 got %+v", b)
	}

	// A v1 client on node1 sees node2's users in lobby and talks with them.
	v1 := nodes[0].join(t, "oldtimer")
	c.expect("joined")
	v1.send(`{"type":"users"}`)
	if u := v1.expect("users"); fmt.Sprint(u.Users) != "[alice oldtimer]" {
		t.Fatalf("v1 users = %v", u.Users)
	}
	c.send(`{"type":"message","text":"hello v1"}`)
	if m := v1.expect("message"); m.Text != "hello v1" || m.Room != "lobby" {
		t.Fatalf("v1 got %+v", m)
	}

	// A rename on one node frees the old name and takes the new one on both.
	v1.send(`{"type":"nick","username":"newtimer"}`)
	v1.expect("renamed")
	if r := c.expect("renamed"); r.From != "oldtimer" || r.To != "newtimer" {
		t.Fatalf("node2 got %+v", r)
	}
	d := nodes[1].dial(t)
	d.send(`{"type":"join","username":"NEWTIMER"}`)
	d.expectError(protocol.CodeUsernameTaken)
	d.send(`{"type":"join","username":"oldtimer"}`)
	d.expect("welcome")

	// v1 leaves: the others hear quit at once.
	v1.send(`{"type":"leave"}`)
	v1.expectSkipping("bye", "joined")
	for {
		f := c.next()
		if f.Type == "left" && f.Username == "newtimer" {
			if f.Reason != protocol.ReasonQuit {
				t.Fatalf("left = %+v", f)
			}
			break
		}
	}
}

func TestClusterResendIsDeliveredOnce(t *testing.T) {
	_, nodes := startNodes(t, 2, nil)
	alice, _ := nodes[0].joinV2(t, "alice")
	bob, _ := nodes[1].joinV2(t, "bob")
	alice.expect("joined")
	// The same ref three times in a row: while the first is on its way
	// (the log's de-duplication) and after it (the session's window).
	for range 3 {
		alice.send(`{"type":"message","text":"once","ref":"same"}`)
	}
	first := alice.expect("ack")
	for range 2 {
		if a := alice.expect("ack"); a.ID != first.ID || a.TS != first.TS {
			t.Fatalf("ack %+v, first %+v", a, first)
		}
	}
	if m := bob.expect("message"); m.ID != first.ID {
		t.Fatalf("bob got %+v", m)
	}
	bob.expectNothing()
}

func TestClusterNodeShutdownHoldsItsUsers(t *testing.T) {
	_, nodes := startNodes(t, 2, func(c *server.Config) { c.ResumeGrace = 30 * time.Second })
	alice, _ := nodes[0].joinV2(t, "alice")
	bob, b := nodes[1].joinV2(t, "bob")
	alice.expect("joined")
	nodes[1].stop(t)
	if f := bob.expect("bye"); f.Reason != protocol.ReasonShutdown {
		t.Fatalf("bob got %+v", f)
	}
	alice.send(`{"type":"message","text":"still here?"}`)
	alice.sync()
	back, r := nodes[0].resume(t, "bob", b.welcome, b.welcome.LastID, 1)
	if !r.welcome.Resumed || len(r.replay["lobby"]) != 1 {
		t.Fatalf("resume: %+v replay %+v", r.welcome, r.replay)
	}
	back.expectNothing()
	alice.expectNothing() // no left, no joined: bob never left
}

func TestClusterDroppedSessionExpiresAfterItsGrace(t *testing.T) {
	_, nodes := startNodes(t, 2, func(c *server.Config) { c.ResumeGrace = 150 * time.Millisecond })
	alice, _ := nodes[0].joinV2(t, "alice", "lobby", "go")
	bob, _ := nodes[1].joinV2(t, "bob", "go")
	alice.expect("joined")
	bob.drop()
	// Held for its grace (nothing said), then left with the reason its
	// connection ended, on the other node too; the name is free again.
	if l := alice.expect("left"); l.Username != "bob" || l.Room != "go" || l.Reason != protocol.ReasonDisconnect {
		t.Fatalf("alice got %+v", l)
	}
	nodes[0].joinV2(t, "bob")
	if j := alice.expect("joined"); j.Username != "bob" || j.Room != "lobby" {
		t.Fatalf("alice got %+v", j)
	}
}

func TestClusterNodeCutOffLongerThanALease(t *testing.T) {
	log := memlog.New()
	log.SetLease(300 * time.Millisecond)
	n1, n2 := log.Node("node1"), log.Node("node2")
	t.Cleanup(func() { n1.Close(); n2.Close() })
	grace := func(c *server.Config) { c.ResumeGrace = 30 * time.Second }
	a := startServer(t, func(c *server.Config) { c.Cluster = n1; grace(c) })
	b := startServer(t, func(c *server.Config) { c.Cluster = n2; grace(c) })
	alice, _ := a.joinV2(t, "alice")
	bob, w := b.joinV2(t, "bob")
	alice.expect("joined")

	// node2 loses the log while its process and bob's connection live on;
	// node1 takes it for dead after a lease and holds bob's session.
	n2.SetCut(true)
	eventually(t, wait, "node1 holds bob's session", func() bool { return a.HeldSessions() == 1 })
	alice.expectNothing() // nobody left: bob is held

	// When node2 is back it learns it was taken for dead and closes bob's
	// connection with bye shutdown; bob resumes (here, on node1).
	n2.SetCut(false)
	if f := bob.expectSkipping("bye", "message", "joined", "left"); f.Reason != protocol.ReasonShutdown {
		t.Fatalf("bob got %+v", f)
	}
	back, r := a.resume(t, "bob", w.welcome, w.welcome.LastID, 1)
	if !r.welcome.Resumed {
		t.Fatalf("resume: %+v", r.welcome)
	}
	back.send(`{"type":"message","text":"back"}`)
	back.sync()
	if m := alice.expect("message"); m.Text != "back" || m.From != "bob" {
		t.Fatalf("alice got %+v", m)
	}
}
