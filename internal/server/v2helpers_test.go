package server_test

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"pynet/internal/auth/argon2id"
	"pynet/internal/server"
	"pynet/protocol"
)

// cheapHasher makes password tests fast; production uses OWASP parameters.
var cheapHasher = argon2id.NewWithParams(64, 1, 1)

// withAccounts turns accounts on with the cheap hasher.
func withAccounts(c *server.Config) { c.Hasher = cheapHasher }

// joinAnswer is everything a v2 join is answered with.
type joinAnswer struct {
	welcome protocol.ServerFrame
	entered []protocol.ServerFrame
	replay  map[string][]protocol.ServerFrame // by room
	privs   []protocol.ServerFrame
}

// readJoin reads a v2 welcome, then entered and its replay for each of n
// rooms, then the private replay the welcome announced.
func (c *client) readJoin(n int) joinAnswer {
	c.t.Helper()
	a := joinAnswer{welcome: c.expect("welcome"), replay: map[string][]protocol.ServerFrame{}}
	if a.welcome.Protocol != 2 {
		c.t.Fatalf("%s: welcome %+v is not v2", c.name, a.welcome)
	}
	for range n {
		e := c.expect("entered")
		a.entered = append(a.entered, e)
		for range e.Replay {
			m := c.expect("message")
			if !m.History || m.Room != e.Room {
				c.t.Fatalf("%s: replay of %s: %+v", c.name, e.Room, m)
			}
			a.replay[e.Room] = append(a.replay[e.Room], m)
		}
	}
	for range a.welcome.Privates {
		p := c.expect("private")
		if !p.History {
			c.t.Fatalf("%s: private replay frame without history: %+v", c.name, p)
		}
		a.privs = append(a.privs, p)
	}
	return a
}

// joinV2 dials and joins as a v2 client in rooms (nil: the default lobby),
// reading the whole answer.
func (ts *testServer) joinV2(t *testing.T, name string, rooms ...string) (*client, joinAnswer) {
	t.Helper()
	c := ts.dial(t)
	c.name = name
	n := 1
	if rooms == nil {
		c.send(`{"type":"join","username":%q,"protocol":2}`, name)
	} else {
		q := make([]string, len(rooms))
		for i, r := range rooms {
			q[i] = fmt.Sprintf("%q", r)
		}
		c.send(`{"type":"join","username":%q,"protocol":2,"rooms":[%s]}`, name, strings.Join(q, ","))
		n = len(rooms)
	}
	return c, c.readJoin(n)
}

// resume dials and resumes a session.
func (ts *testServer) resume(t *testing.T, name string, w protocol.ServerFrame, since int64, rooms int) (*client, joinAnswer) {
	t.Helper()
	c := ts.dial(t)
	c.name = name + "'"
	c.send(`{"type":"join","username":%q,"protocol":2,"session":%q,"epoch":%q,"since":%d}`, name, w.Session, w.Epoch, since)
	return c, c.readJoin(rooms)
}

// dialFrom dials from a local source address such as 127.0.0.2, to play a
// remote client (only 127.0.0.1 and ::1 count as this machine).
func (ts *testServer) dialFrom(t *testing.T, src string) *client {
	t.Helper()
	d := net.Dialer{Timeout: wait, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	nc, err := d.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, lr: protocol.NewLineReader(nc, 1<<24), lines: make(chan string, 16)}
}

// drop closes the client's socket abruptly (no leave): a dropped laptop.
func (c *client) drop() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.nc.Close()
}

// expectNothing proves no frame is waiting: a ping's pong comes first.
func (c *client) expectNothing() { c.t.Helper(); c.sync() }

// expectFor reads frames until one of type typ, failing on anything that
// is not listed in skip.
func (c *client) expectSkipping(typ string, skip ...string) protocol.ServerFrame {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		f := c.next()
		if f.Type == typ {
			return f
		}
		ok := false
		for _, s := range skip {
			ok = ok || f.Type == s
		}
		if !ok {
			c.t.Fatalf("%s: got %+v while waiting for %q", c.name, f, typ)
		}
	}
	c.t.Fatalf("%s: no %q within %v", c.name, typ, wait)
	return protocol.ServerFrame{}
}

func mustPrefixes(t *testing.T, list ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
