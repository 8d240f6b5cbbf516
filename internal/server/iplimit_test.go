package server_test

import (
	"fmt"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/protocol"
)

func TestMaxPerIP(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxPerIP = 3 })
	var held []*client
	for range 3 {
		c := ts.dialFrom(t, "127.0.0.2")
		c.sync()
		held = append(held, c)
	}
	extra := ts.dialFrom(t, "127.0.0.2")
	if f := extra.next(); f.Type != "bye" || f.Reason != protocol.ReasonIPLimit {
		t.Fatalf("%+v", f)
	}
	extra.expectClosed()
	// Other addresses are not affected; 127.0.0.1 is exempt by default.
	ts.dialFrom(t, "127.0.0.3").sync()
	for range 5 {
		ts.dial(t).sync()
	}
	// A place frees up when a connection closes.
	held[0].send(`{"type":"leave"}`)
	held[0].expectClosed()
	eventually(t, wait, "the place to be released", func() bool { return ts.Stats().ConnsCurrent.Load() == 8 })
	ts.dialFrom(t, "127.0.0.2").sync()
	if n := ts.Stats().Closed.Get(protocol.ReasonIPLimit); n != 1 {
		t.Fatalf("ip_limit closes = %d", n)
	}
}

func TestIPLimitExemptListReplacesDefault(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.MaxPerIP = 1
		c.IPLimitExempt = mustPrefixes(t, "127.0.0.2/32")
	})
	for range 3 {
		ts.dialFrom(t, "127.0.0.2").sync()
	}
	ts.dial(t).sync()
	if f := ts.dial(t).next(); f.Reason != protocol.ReasonIPLimit {
		t.Fatalf("127.0.0.1 is no longer exempt: %+v", f)
	}
}

func TestServerFullIsCheckedFirst(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxPerIP = 1; c.MaxClients = 1 })
	ts.dialFrom(t, "127.0.0.2").sync()
	if f := ts.dialFrom(t, "127.0.0.2").next(); f.Reason != protocol.ReasonServerFull {
		t.Fatalf("%+v", f)
	}
}

// Held sessions count towards max_per_ip; a connection over the limit only
// because of them is kept until its join, which must resume one of them.
func TestHeldSessionsCountTowardsTheAddressLimit(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxPerIP = 2 })
	a := ts.dialFrom(t, "127.0.0.2")
	a.send(`{"type":"join","username":"a","protocol":2}`)
	ans := a.readJoin(1)
	b := ts.dialFrom(t, "127.0.0.2")
	b.send(`{"type":"join","username":"b","protocol":2}`)
	b.readJoin(1)
	a.drop() // a is held: still two places taken at 127.0.0.2
	eventually(t, wait, "the hold", func() bool { return ts.Stats().Closed.Get("disconnect") == 1 })

	other := ts.dialFrom(t, "127.0.0.2")
	other.sync() // let in until its join
	other.send(`{"type":"join","username":"c","protocol":2}`)
	if f := other.next(); f.Type != "bye" || f.Reason != protocol.ReasonIPLimit {
		t.Fatalf("%+v", f)
	}
	other.expectClosed()
	eventually(t, wait, "the refused connection to be released", func() bool { return ts.Stats().ConnsCurrent.Load() == 1 })
	back := ts.dialFrom(t, "127.0.0.2")
	back.send(`{"type":"join","username":"a","protocol":2,"session":%q}`, ans.welcome.Session)
	if got := back.readJoin(1); !got.welcome.Resumed {
		t.Fatalf("%+v", got.welcome)
	}
}

func TestHeldSessionsCountTowardsMaxClients(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxClients = 2 })
	a, ans := ts.joinV2(t, "a")
	ts.joinV2(t, "b")
	a.drop()
	eventually(t, wait, "the hold", func() bool { return ts.Stats().Closed.Get("disconnect") == 1 })
	c := ts.dial(t)
	c.send(`{"type":"join","username":"c"}`)
	if f := c.next(); f.Reason != protocol.ReasonServerFull {
		t.Fatalf("%+v", f)
	}
	c.expectClosed()
	eventually(t, wait, "the refused connection to be released", func() bool { return ts.Stats().ConnsCurrent.Load() == 1 })
	d := ts.dial(t)
	d.send(`{"type":"join","username":"a","protocol":2,"session":%q}`, ans.welcome.Session)
	d.readJoin(1)
}

// Joins per address are throttled: a burst, then a steady rate; new
// connections do not reset it; exempt addresses are not throttled.
func TestJoinThrottlePerAddress(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.JoinBurst = 3; c.JoinEvery = time.Hour })
	for i := range 3 {
		c := ts.dialFrom(t, "127.0.0.2")
		c.send(`{"type":"join","username":"u%d"}`, i)
		c.expect("welcome")
		c.send(`{"type":"leave"}`)
		c.expect("bye")
	}
	c := ts.dialFrom(t, "127.0.0.2")
	c.send(`{"type":"join","username":"again"}`)
	if e := c.expectError(protocol.CodeRateLimited); e.RetryAfterMS <= 0 {
		t.Fatalf("%+v", e)
	}
	other := ts.dialFrom(t, "127.0.0.3")
	other.send(`{"type":"join","username":"other"}`)
	other.expect("welcome")
	for i := range 5 {
		ts.join(t, fmt.Sprintf("local%d", i)) // 127.0.0.1 is exempt
	}
}
