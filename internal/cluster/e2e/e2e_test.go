// Package e2e runs pynet cluster nodes (internal/server) on the real
// JetStream log (internal/cluster) against NATS servers started in the test
// process (internal/cluster/natstest), on 127.0.0.1: the scenarios of
// docs/cluster.md, end to end. The same scenarios on the in-memory log are
// in internal/server/cluster_test.go.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/cluster"
	"pynet/internal/cluster/natstest"
	"pynet/internal/server"
	"pynet/internal/servertest"
	"pynet/protocol"
)

const wait = 10 * time.Second

// node is one pynet node on a JetStream log.
type node struct {
	*servertest.Server
	log *cluster.Log
}

// startNode opens a log for name on urls and starts a server on it.
func startNode(t *testing.T, urls []string, name string, mutate func(*server.Config)) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	l, err := cluster.Open(ctx, cluster.Options{URLs: urls, Node: name, Lease: 600 * time.Millisecond, Replicas: replicasFor(urls),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("cluster.Open(%s): %v", name, err)
	}
	t.Cleanup(func() { l.Close() })
	s := servertest.Start(t, func(c *server.Config) {
		c.Cluster = l
		c.ResumeGrace = 30 * time.Second
		if mutate != nil {
			mutate(c)
		}
	})
	return &node{Server: s, log: l}
}

func replicasFor(urls []string) int {
	if len(urls) >= 3 {
		return 3
	}
	return 1
}

// kill ends a node as a crash would: its log goes first (nothing more of
// it reaches the others, its lease lapses), then its process.
func (n *node) kill(t *testing.T) {
	n.log.Close()
	n.Stop(t)
}

// client is a line client that reads frames with a deadline.
type client struct {
	t    *testing.T
	name string
	nc   net.Conn
	lr   *protocol.LineReader
}

func dial(t *testing.T, n *node, name string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", n.Addr, wait)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, name: name, nc: nc, lr: protocol.NewLineReader(nc, 1<<24)}
}

func (c *client) send(format string, args ...any) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.nc, format+"\n", args...); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

func (c *client) next() protocol.ServerFrame {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(wait))
	line, err := c.lr.ReadLine()
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.name, err)
	}
	f, err := protocol.DecodeServer(line)
	if err != nil {
		c.t.Fatalf("%s: %q: %v", c.name, line, err)
	}
	return f
}

// expect reads until a frame of type typ, skipping only those in skip.
func (c *client) expect(typ string, skip ...string) protocol.ServerFrame {
	c.t.Helper()
	for {
		f := c.next()
		if f.Type == typ {
			return f
		}
		ok := false
		for _, s := range skip {
			ok = ok || s == f.Type
		}
		if !ok {
			c.t.Fatalf("%s: got %+v, want %q", c.name, f, typ)
		}
	}
}

// join joins as a v2 client in lobby and reads the welcome, entered and
// the replay.
func join(t *testing.T, n *node, name string) (*client, protocol.ServerFrame) {
	t.Helper()
	c := dial(t, n, name)
	c.send(`{"type":"join","username":%q,"protocol":2}`, name)
	w := c.expect("welcome")
	e := c.expect("entered")
	for range e.Replay {
		c.expect("message")
	}
	return c, w
}

// sync proves nothing else is queued: the pong comes next.
func (c *client) sync() {
	c.t.Helper()
	c.send(`{"type":"ping","ref":"sync"}`)
	if f := c.next(); f.Type != "pong" || f.Ref != "sync" {
		c.t.Fatalf("%s: got %+v before the pong", c.name, f)
	}
}

// sendUntilAcked sends messages "prefix N" until one is acked, as a client
// does after rate_limited (with a shorter pause); anything but an ack or
// rate_limited fails the test, with when in its message.
func (c *client) sendUntilAcked(prefix, when string) {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for i := 0; ; i++ {
		c.send(`{"type":"message","text":"%s %d","ref":"a%d"}`, prefix, i, i)
		f := c.next()
		if f.Type == "ack" {
			return
		}
		if f.Code != protocol.CodeRateLimited || time.Now().After(deadline) {
			c.t.Fatalf("%s: %+v", when, f)
		}
		time.Sleep(100 * time.Millisecond) // the client's retry_after pause, shortened
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

// twoNodes starts nodes a and b on the NATS servers at urls, joins alice on
// a and bob on b, and waits until alice has heard bob join: the starting
// point of most tests here. It returns bob's welcome too (for a resume).
func twoNodes(t *testing.T, urls []string) (a, b *node, alice, bob *client, bobWelcome protocol.ServerFrame) {
	t.Helper()
	a, b = startNode(t, urls, "a", nil), startNode(t, urls, "b", nil)
	alice, _ = join(t, a, "alice")
	bob, bobWelcome = join(t, b, "bob")
	alice.expect("joined")
	return a, b, alice, bob, bobWelcome
}

func TestThreeNodesOneOrder(t *testing.T) {
	ns := natstest.Start(t)
	urls := []string{ns.URL()}
	nodes := []*node{startNode(t, urls, "n1", nil), startNode(t, urls, "n2", nil), startNode(t, urls, "n3", nil)}
	var cs []*client
	for i, n := range nodes {
		c, _ := join(t, n, fmt.Sprintf("user%d", i+1))
		cs = append(cs, c)
	}
	cs[0].expect("joined")
	cs[0].expect("joined")
	cs[1].expect("joined")

	// Every node's user sends at once; every user sees the others'
	// messages and its own acks in one strictly rising id order, and the
	// same id for the same message.
	const each = 100
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			for i := range each {
				fmt.Fprintf(&b, `{"type":"message","text":"%s-%d","ref":"%d"}`+"\n", c.name, i, i)
			}
			c.nc.Write([]byte(b.String()))
		}()
	}
	wg.Wait()
	idOf := make([]map[string]int64, len(cs))
	for k, c := range cs {
		idOf[k] = map[string]int64{}
		var last int64
		for range 3 * each {
			f := c.next()
			key := f.Text
			if f.Type == "ack" {
				key = fmt.Sprintf("%s-%s", c.name, f.Ref)
			} else if f.Type != "message" {
				t.Fatalf("%s: %+v", c.name, f)
			}
			if f.ID <= last {
				t.Fatalf("%s: id %d after %d", c.name, f.ID, last)
			}
			last = f.ID
			idOf[k][key] = f.ID
		}
	}
	for key, id := range idOf[0] {
		for k := 1; k < len(cs); k++ {
			if got := idOf[k][key]; got != id {
				t.Fatalf("%s: id %d on node1, %d on node%d", key, id, got, k+1)
			}
		}
	}
}

func TestRoomsPrivatesAndANameRace(t *testing.T) {
	ns := natstest.Start(t)
	a, b, alice, bob, _ := twoNodes(t, []string{ns.URL()})
	bob.send(`{"type":"enter","room":"go","ref":"e"}`)
	bob.expect("entered")
	alice.send(`{"type":"enter","room":"go"}`)
	if e := alice.expect("entered"); e.Count != 2 {
		t.Fatalf("entered = %+v", e)
	}
	bob.expect("joined")
	alice.send(`{"type":"message","room":"go","text":"in go"}`)
	if m := bob.expect("message"); m.Room != "go" || m.From != "alice" {
		t.Fatalf("bob got %+v", m)
	}
	bob.send(`{"type":"private","to":"Alice","text":"psst","ref":"p"}`)
	ack := bob.expect("ack")
	if p := alice.expect("private"); p.ID != ack.ID || p.Text != "psst" {
		t.Fatalf("alice got %+v, ack %+v", p, ack)
	}
	for round := range 10 {
		name := fmt.Sprintf("Racer%d", round)
		x, y := dial(t, a, "x"), dial(t, b, "y")
		x.send(`{"type":"join","username":%q,"protocol":2}`, name)
		y.send(`{"type":"join","username":%q,"protocol":2}`, strings.ToLower(name))
		wins := 0
		for _, c := range []*client{x, y} {
			switch f := c.next(); {
			case f.Type == "welcome":
				wins++
			case f.Code == protocol.CodeUsernameTaken:
			default:
				t.Fatalf("round %d: %+v", round, f)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners", round, wins)
		}
	}
}

func TestResumeOnAnotherNodeAfterANodeDies(t *testing.T) {
	ns := natstest.Start(t)
	a, b, alice, bob, w := twoNodes(t, []string{ns.URL()})
	bob.send(`{"type":"message","text":"one"}`)
	seen := alice.expect("message").ID

	b.kill(t) // bob's node crashes
	alice.send(`{"type":"message","text":"while you were away","ref":"1"}`)
	alice.expect("ack")
	alice.send(`{"type":"private","to":"bob","text":"ping me","ref":"2"}`)
	alice.expect("ack")
	eventually(t, "node a holds bob's session", func() bool { return a.HeldSessions() == 1 })

	back := dial(t, a, "bob'")
	back.send(`{"type":"join","username":"bob","protocol":2,"session":%q,"epoch":%q,"since":%d}`, w.Session, w.Epoch, seen)
	if f := back.expect("welcome"); !f.Resumed || f.Privates != 1 {
		t.Fatalf("welcome = %+v", f)
	}
	back.expect("entered")
	if m := back.expect("message"); m.Text != "while you were away" || !m.History {
		t.Fatalf("replay = %+v", m)
	}
	if p := back.expect("private"); p.Text != "ping me" {
		t.Fatalf("private replay = %+v", p)
	}
	alice.sync() // nobody left, nobody joined
}

func TestNATSRestart(t *testing.T) {
	ns := natstest.Start(t)
	_, _, alice, bob, _ := twoNodes(t, []string{ns.URL()})

	ns.Shutdown()
	// While NATS is away a message is refused, clearly, and not lost later.
	alice.send(`{"type":"message","text":"refused","ref":"r"}`)
	if e := alice.expect("error"); e.Code != protocol.CodeRateLimited || e.Ref != "r" {
		t.Fatalf("error = %+v", e)
	}
	ns.Restart()
	// Once the nodes are back on the log, chat goes on across them and
	// nobody was taken for dead.
	alice.sendUntilAcked("again", "after the restart")
	m := bob.expect("message")
	if !strings.HasPrefix(m.Text, "again") {
		t.Fatalf("bob got %+v", m)
	}
	bob.send(`{"type":"message","text":"back"}`)
	if m := alice.expect("message"); m.Text != "back" {
		t.Fatalf("alice got %+v", m)
	}
}

func TestNATSClusterLosesOneServer(t *testing.T) {
	servers := natstest.StartCluster(t, 3)
	_, _, alice, bob, _ := twoNodes(t, natstest.URLs(servers))
	servers[0].Shutdown()
	alice.sendUntilAcked("r3", "with one NATS server down")
	if m := bob.expect("message"); !strings.HasPrefix(m.Text, "r3") {
		t.Fatalf("bob got %+v", m)
	}
}

// TestTLSToNATS: -cluster-tls-ca is what a node needs to reach a NATS
// server that speaks only TLS; without it the node refuses to start.
func TestTLSToNATS(t *testing.T) {
	pair, serverTLS := servertest.LoopbackTLS(t)
	ns := natstest.StartTLS(t, serverTLS)
	certFile, _, err := pair.WriteFiles(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if l, err := cluster.Open(ctx, cluster.Options{URLs: []string{ns.URL()}, Node: "x", Logger: quiet, ConnectTimeout: 2 * time.Second}); err == nil {
		l.Close()
		t.Fatal("a node joined a TLS-only NATS without trusting its certificate")
	}
	l, err := cluster.Open(ctx, cluster.Options{URLs: []string{ns.URL()}, Node: "a", TLSCA: certFile, Logger: quiet})
	if err != nil {
		t.Fatalf("with -cluster-tls-ca: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	s := servertest.Start(t, func(c *server.Config) { c.Cluster = l })
	alice, _ := join(t, &node{Server: s, log: l}, "alice")
	alice.send(`{"type":"message","text":"over tls","ref":"1"}`)
	if a := alice.expect("ack"); a.ID == 0 {
		t.Fatalf("ack = %+v", a)
	}
}

// TestNodeStopHoldsItsUsersAtOnce: a node that stops (SIGTERM) says bye
// shutdown, appends the ends of its connections before it lets go of the
// log (their holds), and its users resume on another node at once; nobody
// hears them leave.
func TestNodeStopHoldsItsUsersAtOnce(t *testing.T) {
	ns := natstest.Start(t)
	a, b, alice, bob, w := twoNodes(t, []string{ns.URL()})
	b.Stop(t)
	b.log.Close()
	if f := bob.expect("bye"); f.Reason != protocol.ReasonShutdown {
		t.Fatalf("bob got %+v", f)
	}
	back := dial(t, a, "bob'")
	back.send(`{"type":"join","username":"bob","protocol":2,"session":%q,"epoch":%q,"since":%d}`, w.Session, w.Epoch, w.LastID)
	if f := back.expect("welcome"); !f.Resumed {
		t.Fatalf("welcome = %+v", f)
	}
	back.expect("entered")
	alice.sync() // nobody left
}
