package server_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"pynet/internal/server"
)

// A bounded randomized workload over real sockets: senders in several rooms
// send messages and privates while wanderers enter and exit rooms (with and
// without since) and drop and resume. Invariants (PROTOCOL §5.1, §5.3):
//   - every connection sees live message/private/ack ids strictly rise;
//   - a watcher in every room for the whole run gets every public message
//     exactly once;
//   - each wanderer's entered replay and the live messages after it are,
//     per room, strictly increasing: nothing is both replayed and live.
func TestRandomizedOrderAndHandOver(t *testing.T) {
	for _, mode := range []string{"memory", "store"} {
		t.Run(mode, func(t *testing.T) {
			var ts *testServer
			if mode == "store" {
				ts = startDurable(t, t.TempDir(), func(c *server.Config) { c.History = 20 }).testServer
			} else {
				ts = startServer(t, func(c *server.Config) { c.History = 20 })
			}
			stressRooms(t, ts)
		})
	}
}

func stressRooms(t *testing.T, ts *testServer) {
	rooms := []string{"r0", "r1", "r2", "r3"}
	watcher, _ := ts.joinV2(t, "watcher", rooms...)
	const senders, perSender = 4, 150
	var wg sync.WaitGroup
	sent := make(chan int, senders) // messages each sender sent
	for i := range senders {
		s, _ := ts.joinV2(t, fmt.Sprintf("s%d", i), rooms...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			var last int64
			var b strings.Builder
			for n := range perSender {
				if rng.IntN(10) == 0 {
					fmt.Fprintf(&b, `{"type":"private","to":"watcher","text":"p%d-%d","ref":"p%d"}`+"\n", i, n, n)
				} else {
					fmt.Fprintf(&b, `{"type":"message","room":%q,"text":"m%d-%d","ref":"m%d"}`+"\n", rooms[rng.IntN(len(rooms))], i, n, n)
				}
				if n%10 == 9 {
					s.write(b.String())
					b.Reset()
				}
			}
			// Read our acks (and joined/left noise) until every message is acked.
			for got := 0; got < perSender; {
				f := s.next()
				switch f.Type {
				case "ack":
					if f.ID <= last {
						t.Errorf("s%d: ack id %d after %d", i, f.ID, last)
					}
					last = f.ID
					got++
				case "message", "private":
					if f.ID <= last {
						t.Errorf("s%d: %s id %d after %d", i, f.Type, f.ID, last)
					}
					last = f.ID
				}
			}
			sent <- perSender
		}()
	}
	// Wanderers enter and exit rooms while the senders send.
	const wanderers = 3
	for w := range wanderers {
		c, ans := ts.joinV2(t, fmt.Sprintf("w%d", w), "lobby")
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			epoch := ans.welcome.Epoch
			for range 6 {
				room := rooms[rng.IntN(len(rooms))]
				if rng.IntN(2) == 0 {
					c.send(`{"type":"enter","room":%q}`, room)
				} else {
					c.send(`{"type":"enter","room":%q,"since":%d,"epoch":%q}`, room, rng.IntN(50), epoch)
				}
				var ids []int64
				var last int64
				replay := -1
				for replay < 0 || len(ids) < replay {
					f := c.next()
					switch f.Type {
					case "entered":
						replay = f.Replay
					case "message":
						if f.Room == room && f.History {
							ids = append(ids, f.ID)
						} else if !f.History && f.ID <= last {
							t.Errorf("w%d: live id %d after %d", w, f.ID, last)
						}
					}
				}
				c.send(`{"type":"ping","ref":"mark"}`)
				for {
					f := c.next()
					if f.Type == "pong" && f.Ref == "mark" {
						break
					}
					if f.Type == "message" && f.Room == room && !f.History {
						ids = append(ids, f.ID)
					}
				}
				for i := 1; i < len(ids); i++ {
					if ids[i] <= ids[i-1] {
						t.Errorf("w%d in %s: id %d after %d (replay %d)", w, room, ids[i], ids[i-1], replay)
					}
				}
				c.send(`{"type":"exit","room":%q}`, room)
				for f := c.next(); f.Type != "exited"; f = c.next() {
					if f.Type == "error" {
						t.Errorf("w%d: %+v", w, f)
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for range senders {
		total += <-sent
	}
	// The watcher got every public message once and every private once,
	// in increasing id order.
	seen := map[string]bool{}
	var last int64
	for len(seen) < total {
		f := watcher.next()
		if f.Type != "message" && f.Type != "private" {
			continue
		}
		if f.ID <= last {
			t.Fatalf("watcher: id %d after %d", f.ID, last)
		}
		last = f.ID
		if seen[f.Text] {
			t.Fatalf("watcher got %q twice", f.Text)
		}
		seen[f.Text] = true
	}
	watcher.send(`{"type":"ping","ref":"end"}`)
	for f := watcher.next(); f.Type != "pong" || f.Ref != "end"; f = watcher.next() {
		if f.Type == "message" || f.Type == "private" {
			t.Fatalf("watcher: one more than was sent: %+v", f)
		}
	}
}
