package server_test

import (
	"strings"
	"testing"

	"pynet/internal/server"
	"pynet/protocol"
)

func TestRegisterLoginAndTakeover(t *testing.T) {
	ts := startServer(t, withAccounts)
	a, ans := ts.joinV2(t, "Alice", "lobby", "go")
	a.send(`{"type":"register","password":"short","ref":"r0"}`)
	if e := a.expectError(protocol.CodeWeakPassword); e.Ref != "r0" {
		t.Fatalf("%+v", e)
	}
	a.send(`{"type":"register"}`)
	a.expectError(protocol.CodeWeakPassword)
	a.send(`{"type":"register","password":"correct horse","ref":"r1"}`)
	reg := a.expect("registered")
	if reg.Username != "Alice" || reg.Ref != "r1" || len(reg.Session) < 40 || reg.Session == ans.welcome.Session {
		t.Fatalf("%+v", reg)
	}
	a.send(`{"type":"register","password":"correct horse"}`)
	a.expectError(protocol.CodeAlreadyRegistered)
	a.send(`{"type":"nick","username":"Alicia"}`)
	a.expectError(protocol.CodeForbidden)
	a.send(`{"type":"nick","username":"Alice"}`) // its exact name: allowed
	a.expect("renamed")

	// The name is no longer free to others.
	x := ts.dial(t)
	x.send(`{"type":"join","username":"alice","protocol":2}`)
	x.expectError(protocol.CodeUsernameTaken) // online: taken comes before auth_required
	g, _ := ts.joinV2(t, "guest")
	a.expect("joined")
	g.send(`{"type":"nick","username":"ALICE"}`)
	g.expectError(protocol.CodeUsernameTaken)
	g.send(`{"type":"password","old":"x","new":"long enough"}`)
	g.expectError(protocol.CodeAuthRequired)

	// Wrong password, unknown account: auth_failed alike.
	x.send(`{"type":"join","username":"alice","password":"wrong password"}`)
	x.expectError(protocol.CodeAuthFailed)
	x.send(`{"type":"join","username":"nobody","password":"whatever1"}`)
	x.expectError(protocol.CodeAuthFailed)

	// The right password takes the session over (a v2 login keeps its rooms).
	x.send(`{"type":"join","username":"ALICE","password":"correct horse","protocol":2,"rooms":["other"]}`)
	got := x.readJoin(2)
	if !got.welcome.Resumed || !got.welcome.Account || got.welcome.Username != "Alice" ||
		got.entered[0].Room != "lobby" || got.entered[1].Room != "go" {
		t.Fatalf("%+v", got)
	}
	if f := a.expectClosed(); len(f) == 0 || f[len(f)-1].Reason != "replaced" {
		t.Fatalf("old connection: %+v", f)
	}
	g.expectNothing()
	// The registered token was voided by the login's new one.
	y := ts.dial(t)
	y.send(`{"type":"join","username":"alice","protocol":2,"session":%q}`, reg.Session)
	y.expectError(protocol.CodeAuthFailed)

	// Change the password: the old one no longer works.
	x.send(`{"type":"password","old":"wrong","new":"new secret 1"}`)
	x.expectError(protocol.CodeAuthFailed)
	x.send(`{"type":"password","old":"correct horse","new":"tiny"}`)
	x.expectError(protocol.CodeWeakPassword)
	x.send(`{"type":"password","old":"correct horse","new":"new secret 1","ref":"p"}`)
	pc := x.expect("password_changed")
	if pc.Ref != "p" || len(pc.Session) < 40 {
		t.Fatalf("%+v", pc)
	}
	x.send(`{"type":"leave"}`)
	x.expect("bye")
	z := ts.dial(t)
	z.send(`{"type":"join","username":"alice","password":"correct horse"}`)
	z.expectError(protocol.CodeAuthFailed)
	z.send(`{"type":"join","username":"alice"}`)
	z.expectError(protocol.CodeAuthRequired)
	z.send(`{"type":"join","username":"alice","password":"new secret 1"}`)
	w := z.expect("welcome")
	if w.Protocol != 1 || !w.Account || w.Username != "Alice" {
		t.Fatalf("%+v", w)
	}
}

// A v1 login that takes over a v2 session keeps only lobby; the members of
// its other rooms hear left replaced.
func TestV1LoginTakeoverKeepsOnlyLobby(t *testing.T) {
	ts := startServer(t, withAccounts)
	a, _ := ts.joinV2(t, "acc", "go")
	a.send(`{"type":"register","password":"password1"}`)
	a.expect("registered")
	w, _ := ts.joinV2(t, "watcher", "lobby", "go")
	a.expect("joined")
	v1 := ts.dial(t)
	v1.send(`{"type":"join","username":"acc","password":"password1"}`)
	welcome := v1.expect("welcome")
	if welcome.Protocol != 1 || strings.Join(welcome.Users, ",") != "acc,watcher" {
		t.Fatalf("%+v", welcome)
	}
	if l := w.expect("left"); l.Room != "go" || l.Reason != "replaced" {
		t.Fatalf("%+v", l)
	}
	if j := w.expect("joined"); j.Room != "lobby" || j.Username != "acc" {
		t.Fatalf("%+v", j)
	}
}

// Failed logins are throttled per (name, address) and per address: a
// bucket of 5, checked before any hashing; refused attempts use no token.
func TestLoginThrottle(t *testing.T) {
	ts := startServer(t, withAccounts)
	a, _ := ts.joinV2(t, "victim")
	a.send(`{"type":"register","password":"password1"}`)
	a.expect("registered")
	c := ts.dial(t)
	for range 5 {
		c.send(`{"type":"join","username":"victim","password":"guess guess"}`)
		c.expectError(protocol.CodeAuthFailed)
	}
	c.send(`{"type":"join","username":"victim","password":"password1"}`)
	e := c.expectError(protocol.CodeRateLimited)
	if e.RetryAfterMS <= 0 || e.RetryAfterMS > 12000 {
		t.Fatalf("%+v", e)
	}
	// Per address too: another name from the same address is refused.
	c.send(`{"type":"join","username":"other","password":"password1"}`)
	c.expectError(protocol.CodeRateLimited)
	// Token failures do not count, and a guest join is not a login.
	d := ts.dial(t)
	d.send(`{"type":"join","username":"fresh"}`)
	d.expect("welcome")
}

// Passwords and account tokens over plain TCP from anything but 127.0.0.1
// and ::1 are refused with insecure_auth, before anything is checked.
func TestInsecureAuthFromRemoteAddress(t *testing.T) {
	ts := startServer(t, withAccounts)
	local, ans := ts.joinV2(t, "acc")
	local.send(`{"type":"register","password":"password1"}`)
	reg := local.expect("registered")
	_ = ans
	remote := ts.dialFrom(t, "127.0.0.2")
	remote.send(`{"type":"join","username":"acc","password":"password1"}`)
	remote.expectError(protocol.CodeInsecureAuth)
	remote.send(`{"type":"join","username":"!bad!","password":"x"}`) // nothing is checked
	remote.expectError(protocol.CodeInsecureAuth)
	remote.send(`{"type":"join","username":"acc","protocol":2,"session":%q}`, reg.Session)
	remote.expectError(protocol.CodeInsecureAuth)
	remote.send(`{"type":"join","username":"guest2","protocol":2}`)
	gans := remote.readJoin(1)
	remote.send(`{"type":"register","password":"password2"}`)
	remote.expectError(protocol.CodeInsecureAuth)
	remote.send(`{"type":"password","old":"a","new":"b"}`)
	remote.expectError(protocol.CodeInsecureAuth)
	// A guest's token may travel: nothing secret rides on it.
	remote.drop()
	r2 := ts.dialFrom(t, "127.0.0.2")
	r2.send(`{"type":"join","username":"guest2","protocol":2,"session":%q}`, gans.welcome.Session)
	if got := r2.readJoin(1); !got.welcome.Resumed {
		t.Fatalf("%+v", got.welcome)
	}

	ts2 := startServer(t, func(c *server.Config) { withAccounts(c); c.InsecureAuth = true })
	r := ts2.dialFrom(t, "127.0.0.2")
	r.send(`{"type":"join","username":"x","protocol":2}`)
	r.readJoin(1)
	r.send(`{"type":"register","password":"password1"}`)
	r.expect("registered")
}

func TestRegisterLimitPerAddress(t *testing.T) {
	ts := startServer(t, withAccounts)
	c, _ := ts.joinV2(t, "u0")
	for i := range 5 {
		c.send(`{"type":"register","password":"password1"}`)
		c.expectSkipping("registered", "left") // the previous user's left may come first
		c.send(`{"type":"leave"}`)
		c.expectSkipping("bye", "left")
		c, _ = ts.joinV2(t, "u"+string(rune('1'+i)))
	}
	c.send(`{"type":"register","password":"password1"}`)
	e := c.expectSkipping("error", "left")
	if e.Code != protocol.CodeRateLimited || e.RetryAfterMS <= 0 {
		t.Fatalf("%+v", e)
	}
}

func TestPasswordsNeverInTrace(t *testing.T) {
	logs := &syncBuffer{}
	ts := startServer(t, func(c *server.Config) {
		withAccounts(c)
		c.Trace = func(line string) { logs.Write([]byte(line + "\n")) }
	})
	a, _ := ts.joinV2(t, "acc")
	a.send(`{"type":"register","password":"hunter2-secret"}`)
	tok := a.expect("registered").Session
	a.send(`{"type":"password","old":"hunter2-secret","new":"another-secret"}`)
	a.expect("password_changed")
	b := ts.dial(t)
	b.send(`{"type":"join","username":"acc","protocol":2,"session":%q}`, tok)
	b.next()
	out := logs.String() + ts.logs.String()
	for _, secret := range []string{"hunter2", "another-secret", tok} {
		if strings.Contains(out, secret) {
			t.Fatalf("%q appears in the trace or log:\n%s", secret, out)
		}
	}
}
