package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// seenMsg is what a client saw of a message: as a recipient or as the
// sender's ack.
type seenMsg struct {
	id   int64
	text string
	room string
}

// frameConn is a minimal v2 client for the process tests.
type frameConn struct {
	nc net.Conn
	rd *bufio.Reader
}

func dialFrames(t *testing.T, addr string) *frameConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, opsWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &frameConn{nc: nc, rd: bufio.NewReaderSize(nc, 1<<16)}
}

func (c *frameConn) send(format string, args ...any) error {
	c.nc.SetWriteDeadline(time.Now().Add(opsWait))
	_, err := fmt.Fprintf(c.nc, format+"\n", args...)
	return err
}

func (c *frameConn) next() (map[string]any, error) {
	c.nc.SetReadDeadline(time.Now().Add(opsWait))
	line, err := c.rd.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	var f map[string]any
	return f, json.Unmarshal(line, &f)
}

// must reads frames until one of type typ.
func (c *frameConn) must(t *testing.T, typ string) map[string]any {
	t.Helper()
	for {
		f, err := c.next()
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f["type"] == typ {
			return f
		}
	}
}

// The server process is killed (SIGKILL) under load and restarted on the
// same directory: every message any client received or was acked is in the
// history with its id and text, the account and the sessions survived, and
// new ids are higher than every id seen before (PROTOCOL §5.3).
func TestKillNineUnderLoadLosesNothingAcked(t *testing.T) {
	bin := buildPynet(t)
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{"-data", dir, "-rate", "0", "-replay-max", "100000"}
	p, addr := startOpsServer(t, bin, args...)

	acc := dialFrames(t, addr)
	acc.send(`{"type":"join","username":"keeper","protocol":2}`)
	acc.must(t, "welcome")
	acc.send(`{"type":"register","password":"password1"}`)
	acc.must(t, "registered")

	rooms := []string{"alpha", "beta", "lobby"}
	var (
		mu   sync.Mutex
		seen = map[int64]seenMsg{}
	)
	note := func(m seenMsg) {
		mu.Lock()
		defer mu.Unlock()
		if old, ok := seen[m.id]; ok && old != m {
			t.Errorf("id %d seen as %+v and as %+v", m.id, old, m)
		}
		seen[m.id] = m
	}
	// A reader in every room records what it receives.
	var wg sync.WaitGroup
	reader := dialFrames(t, addr)
	reader.send(`{"type":"join","username":"reader","protocol":2,"rooms":["alpha","beta","lobby"]}`)
	reader.must(t, "welcome")
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f, err := reader.next()
			if err != nil {
				return // killed
			}
			if f["type"] == "message" && f["history"] == nil {
				note(seenMsg{int64(f["id"].(float64)), f["text"].(string), f["room"].(string)})
			}
		}
	}()
	// Senders, one per room, each with a bounded number of messages; the
	// kill comes while they are still sending.
	const perSender = 5000
	acked := make(chan struct{}, 3*perSender)
	for i, room := range rooms {
		s := dialFrames(t, addr)
		s.send(`{"type":"join","username":"sender%d","protocol":2,"rooms":[%q]}`, i, room)
		s.must(t, "welcome")
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n := range perSender {
				if s.send(`{"type":"message","room":%q,"text":"%s-%d","ref":"%d"}`, room, room, n, n) != nil {
					return
				}
			}
		}()
		texts := map[string]string{}
		for n := range perSender {
			texts[fmt.Sprint(n)] = fmt.Sprintf("%s-%d", room, n)
		}
		go func() {
			defer wg.Done()
			for {
				f, err := s.next()
				if err != nil {
					return
				}
				if f["type"] == "ack" {
					note(seenMsg{int64(f["id"].(float64)), texts[f["ref"].(string)], room})
					acked <- struct{}{}
				}
			}
		}()
	}
	for range 1500 { // well into the load
		select {
		case <-acked:
		case <-time.After(opsWait):
			t.Fatal("the senders stalled")
		}
	}
	if err := p.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	p.wait(t, "the killed server")
	p.stopOnce.Do(func() {}) // already gone: no SIGINT at cleanup
	wg.Wait()
	mu.Lock()
	var maxID int64
	for id := range seen {
		maxID = max(maxID, id)
	}
	t.Logf("%d messages seen (received or acked) before the kill; highest id %d", len(seen), maxID)
	mu.Unlock()

	_, addr = startOpsServer(t, bin, args...)
	check := dialFrames(t, addr)
	check.send(`{"type":"join","username":"checker","protocol":2,"rooms":[]}`)
	w := check.must(t, "welcome")
	epoch := w["epoch"].(string)
	stored := map[int64]seenMsg{}
	for _, room := range rooms {
		check.send(`{"type":"enter","room":%q,"since":0,"epoch":%q}`, room, epoch)
		e := check.must(t, "entered")
		for range int(e["replay"].(float64)) {
			f := check.must(t, "message")
			stored[int64(f["id"].(float64))] = seenMsg{int64(f["id"].(float64)), f["text"].(string), room}
		}
	}
	for id, m := range seen {
		if stored[id] != m {
			t.Errorf("seen before the kill: %+v; in the store after: %+v", m, stored[id])
		}
	}
	// New ids are above every id seen before.
	check.send(`{"type":"message","text":"after","ref":"a"}`)
	if ack := check.must(t, "ack"); int64(ack["id"].(float64)) <= maxID {
		t.Fatalf("new id %v is not above %d", ack["id"], maxID)
	}
	// The account survived, and the sessions are held again.
	login := dialFrames(t, addr)
	login.send(`{"type":"join","username":"keeper","password":"password1"}`)
	if w := login.must(t, "welcome"); w["account"] != true {
		t.Fatalf("%v", w)
	}
	other := dialFrames(t, addr)
	other.send(`{"type":"join","username":"reader","protocol":2}`)
	if e := other.must(t, "error"); e["code"] != "username_taken" {
		t.Fatalf("reader's held session: %v", e)
	}
}
