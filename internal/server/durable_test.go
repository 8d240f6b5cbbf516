package server_test

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/store"
	"pynet/internal/store/sqlitestore"
	"pynet/protocol"
)

// openStore opens a SQLite store in dir, closed at the end of the test
// (after every server using it has stopped: cleanups run last-in first-out).
func openStore(t *testing.T, dir string, retain int) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(dir, sqlitestore.Options{Fsync: "batch", Retain: retain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// durableServer runs a server on a store; stop it with ds.stop to restart
// on the same directory.
type durableServer struct {
	*testServer
	st *sqlitestore.Store
}

func startDurable(t *testing.T, dir string, mutate func(*server.Config)) *durableServer {
	t.Helper()
	st := openStore(t, dir, 100000)
	ts := startServer(t, func(c *server.Config) {
		c.Store = st
		withAccounts(c)
		if mutate != nil {
			mutate(c)
		}
	})
	return &durableServer{testServer: ts, st: st}
}

// restart stops ds (gracefully), closes its store and starts a new server
// on the same directory.
func (ds *durableServer) restart(t *testing.T, dir string, mutate func(*server.Config)) *durableServer {
	t.Helper()
	ds.stopAndClose(t)
	return startDurable(t, dir, mutate)
}

func (ds *durableServer) stopAndClose(t *testing.T) {
	t.Helper()
	ds.testServer.stop(t)
	if err := ds.st.Close(); err != nil {
		t.Fatalf("closing the store: %v", err)
	}
}

func TestRestartKeepsHistoryIDsAccountsAndSessions(t *testing.T) {
	dir := t.TempDir()
	ds := startDurable(t, dir, nil)
	a, ansA := ds.joinV2(t, "alice", "lobby", "go")
	b, ansB := ds.joinV2(t, "bob", "go")
	a.expect("joined")
	a.send(`{"type":"register","password":"password1"}`)
	a.expect("registered")
	var last int64
	for i := range 5 {
		b.send(`{"type":"message","room":"go","text":"m%d","ref":"r%d"}`, i, i)
		last = b.expect("ack").ID
		a.expect("message")
	}
	b.send(`{"type":"private","to":"alice","text":"secret","ref":"p"}`)
	pid := b.expect("ack").ID
	a.expect("private")
	epoch := ansA.welcome.Epoch

	ds = ds.restart(t, dir, nil)
	// bob was connected at shutdown: he is held again and resumes.
	b2, got := ds.resume(t, "bob", ansB.welcome, last-2, 1)
	if !got.welcome.Resumed || got.welcome.Epoch != epoch || got.welcome.LastID < pid {
		t.Fatalf("welcome after restart: %+v", got.welcome)
	}
	if r := got.replay["go"]; len(r) != 2 || r[0].ID != last-1 || r[1].ID != last || r[1].Text != "m4" {
		t.Fatalf("replay after restart: %+v", r)
	}
	// His ref is still remembered: a resend is acked, not delivered again.
	b2.send(`{"type":"message","room":"go","text":"m4","ref":"r4"}`)
	if ack := b2.expect("ack"); ack.ID != last {
		t.Fatalf("resend after restart: %+v", ack)
	}
	// alice's account survived; her login takes her held session over.
	a2 := ds.dial(t)
	a2.send(`{"type":"join","username":"alice","password":"password1","protocol":2,"since":%d,"epoch":%q}`, last, epoch)
	ga := a2.readJoin(2)
	if !ga.welcome.Resumed || !ga.welcome.Account || len(ga.privs) != 1 || ga.privs[0].ID != pid {
		t.Fatalf("alice after restart: %+v", ga)
	}
	// New ids are higher than any before.
	b2.send(`{"type":"message","room":"go","text":"new","ref":"n"}`)
	if ack := b2.expect("ack"); ack.ID <= pid {
		t.Fatalf("new id %d not above %d", ack.ID, pid)
	}
	_ = a
}

// A new store is a new epoch: a since from the old one is ignored.
func TestEpochChangesWhenTheStoreIsReplaced(t *testing.T) {
	ds := startDurable(t, t.TempDir(), nil)
	a, ans := ds.joinV2(t, "a")
	a.send(`{"type":"message","text":"old","ref":"1"}`)
	a.expect("ack")
	ds.stopAndClose(t)

	fresh := startDurable(t, t.TempDir(), nil)
	c := fresh.dial(t)
	c.send(`{"type":"join","username":"a","protocol":2,"since":1,"epoch":%q,"session":%q}`, ans.welcome.Epoch, ans.welcome.Session)
	c.expectError(protocol.CodeAuthFailed) // the session was in the old store
	c.send(`{"type":"join","username":"a","protocol":2,"since":1,"epoch":%q}`, ans.welcome.Epoch)
	got := c.readJoin(1)
	if got.welcome.Epoch == ans.welcome.Epoch || got.welcome.LastID != 0 || got.entered[0].Gap {
		t.Fatalf("%+v", got)
	}
}

// Replays older than the history cache come from the store, in pages, and
// say gap only where retention removed something.
func TestReplayFromStoreBeyondTheCache(t *testing.T) {
	ds := startDurable(t, t.TempDir(), func(c *server.Config) { c.History = 10 })
	s, _ := ds.joinV2(t, "s", "r")
	const n = 700
	for i := range n {
		s.send(`{"type":"message","room":"r","text":"%d"}`, i)
	}
	s.send(`{"type":"ping","ref":"done"}`)
	s.expect("pong")
	eventually(t, wait, "every message committed", func() bool { return ds.Stats().Committed.Load() == n })
	late, ans := ds.joinV2(t, "late")
	late.send(`{"type":"enter","room":"r","since":0,"epoch":%q}`, ans.welcome.Epoch)
	e := late.expect("entered")
	if e.Replay != n || e.Gap {
		t.Fatalf("%+v", e)
	}
	for i := range n {
		if m := late.expect("message"); m.ID != int64(i+1) || m.Text != strconv.Itoa(i) || !m.History {
			t.Fatalf("replay %d: %+v", i, m)
		}
	}
	// Without since: the last `history` messages.
	late.send(`{"type":"exit","room":"r"}`)
	late.expect("exited")
	late.send(`{"type":"enter","room":"r"}`)
	if e := late.expect("entered"); e.Replay != 10 {
		t.Fatalf("%+v", e)
	}
}

func TestRetentionGapFromStore(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, 5)
	ts := startServer(t, func(c *server.Config) { c.Store = st; c.History = 2; c.ReplayMax = 100 })
	s, ans := ts.joinV2(t, "s")
	for i := range 20 {
		s.send(`{"type":"message","text":"%d","ref":"%d"}`, i, i)
		s.expect("ack")
	}
	s.send(`{"type":"fetch","room":"lobby","since":1}`)
	var got []int64
	for {
		f := s.next()
		if f.Type == "fetched" {
			if !f.Gap || f.Count != len(got) {
				t.Fatalf("%+v after %v", f, got)
			}
			break
		}
		got = append(got, f.ID)
	}
	if len(got) < 5 || got[len(got)-1] != 20 {
		t.Fatalf("fetched %v", got)
	}
	_ = ans
}

// gatedStore holds every Commit until the test lets it through, or fails
// it: the server must deliver and ack nothing before the commit.
type gatedStore struct {
	store.Store
	sessions bool // hold commits that save sessions too
	mu       sync.Mutex
	open     chan struct{}
	fail     error
	entered  chan struct{}
}

func (g *gatedStore) Commit(b *store.Batch) error {
	if len(b.Messages) > 0 || g.sessions && len(b.Sessions) > 0 {
		select {
		case g.entered <- struct{}{}:
		default:
		}
		<-g.open
	}
	g.mu.Lock()
	err := g.fail
	g.mu.Unlock()
	if err != nil && len(b.Messages) > 0 {
		return err
	}
	return g.Store.Commit(b)
}

func TestNothingIsDeliveredBeforeItIsCommitted(t *testing.T) {
	st := openStore(t, t.TempDir(), 0)
	g := &gatedStore{Store: st, open: make(chan struct{}), entered: make(chan struct{}, 1)}
	ts := startServer(t, func(c *server.Config) { c.Store = g })
	r, _ := ts.joinV2(t, "r")
	s, _ := ts.joinV2(t, "s")
	r.expect("joined")
	s.send(`{"type":"message","text":"held back","ref":"h"}`)
	<-g.entered // the committer is writing it
	r.expectNothing()
	s.expectNothing()
	close(g.open)
	if a := s.expect("ack"); a.Ref != "h" {
		t.Fatalf("%+v", a)
	}
	if m := r.expect("message"); m.Text != "held back" {
		t.Fatalf("%+v", m)
	}
}

// A store that fails stops the server loudly; the failed message is
// neither delivered nor acknowledged.
func TestStoreFailureStopsTheServer(t *testing.T) {
	st := openStore(t, t.TempDir(), 0)
	g := &gatedStore{Store: st, open: make(chan struct{}), entered: make(chan struct{}, 1), fail: errors.New("disk full")}
	close(g.open)
	logs := &syncBuffer{}
	cfg := server.DefaultConfig()
	cfg.Rate = 0
	cfg.Store = g
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(t.Context(), ln) }()
	ts := &testServer{Server: srv, addr: ln.Addr().String(), logs: logs}
	r, _ := ts.joinV2(t, "r")
	s, _ := ts.joinV2(t, "s")
	r.expect("joined")
	s.send(`{"type":"message","text":"lost?","ref":"x"}`)
	for _, f := range s.expectClosed() {
		if f.Type == "ack" {
			t.Fatalf("acked a message the store refused: %+v", f)
		}
	}
	for _, f := range r.expectClosed() {
		if f.Type == "message" {
			t.Fatalf("delivered a message the store refused: %+v", f)
		}
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Serve returned nil after a store failure")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop after the store failed")
	}
}

// A welcome (and registered, password_changed) reveals a new token only
// once the session holding it is in the store: a client never holds a
// token that a crash could forget.
func TestTokensAreStoredBeforeTheyAreSent(t *testing.T) {
	st := openStore(t, t.TempDir(), 0)
	g := &gatedStore{Store: st, sessions: true, open: make(chan struct{}), entered: make(chan struct{}, 1)}
	ts := startServer(t, func(c *server.Config) { c.Store = g })
	c := ts.dial(t)
	c.send(`{"type":"join","username":"a","protocol":2}`)
	<-g.entered
	// Nothing may arrive while the commit is held (a slow server makes this
	// pass, never fail: only a welcome sent too early fails it).
	c.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := c.lr.ReadLine(); err == nil {
		t.Fatalf("got %s before the session was stored", line)
	}
	close(g.open)
	c.readJoin(1)
}

// With a store, a message followed at once by leave (or EOF) still gets its
// ack before the bye: complete frames are handled before the close.
func TestAckBeforeByeWithStore(t *testing.T) {
	ds := startDurable(t, t.TempDir(), nil)
	for _, ending := range []string{`{"type":"leave"}` + "\n", ""} {
		c := ds.dial(t)
		c.write(`{"type":"join","username":"x"}` + "\n" + `{"type":"message","text":"t","ref":"r"}` + "\n" + ending)
		if ending == "" {
			c.nc.(*net.TCPConn).CloseWrite()
		}
		var got []string
		for _, f := range c.expectClosed() {
			if !f.History {
				got = append(got, f.Type)
			}
		}
		if strings.Join(got, ",") != "welcome,ack,bye" && strings.Join(got, ",") != "welcome,ack" {
			t.Fatalf("ending %q: got %v, want welcome, ack (, bye)", ending, got)
		}
	}
}
