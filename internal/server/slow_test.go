package server_test

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/server"
)

// A member that never reads is cut off as a slow consumer while the others
// receive every message, and server memory stays bounded by the queue limit.
func TestFrozenReaderIsCutOffOthersGetEverything(t *testing.T) {
	// The readers may fall behind by up to maxQueue on a busy machine (a
	// test goroutine decoding 4 KB frames under -race); the frozen reader is
	// still cut off, since the flood is far more than its queue plus what
	// its socket buffers hold.
	const maxQueue = 1 << 20
	const messages = 2500 // × 4 KB: far more than socket buffers plus the queue
	ts := startServer(t, func(c *server.Config) { c.MaxQueue = maxQueue })

	frozen := ts.dial(t)
	frozen.name = "frozen"
	frozen.send(`{"type":"join","username":"frozen"}`)
	frozen.expect("welcome") // and never read again until the end

	readers := []*client{ts.join(t, "r1"), ts.join(t, "r2")}
	sender := ts.join(t, "sender")
	readers[0].expect("joined")
	readers[0].expect("joined")
	readers[1].expect("joined")

	// The sender keeps at most `window` messages ahead of the live readers,
	// so only the frozen reader falls behind.
	const window = 32
	text := strings.Repeat("z", 4000)
	var peak atomicMax
	errs := make(chan error, len(readers)+1)
	progress := make([]chan struct{}, len(readers))
	for i, r := range readers {
		progress[i] = make(chan struct{}, messages)
		go func() { errs <- readAll(r, messages, &peak, progress[i]) }()
	}
	sender.nc.SetWriteDeadline(time.Time{})
	go func() {
		for i := 0; i < messages; i++ {
			if i >= window {
				for _, p := range progress {
					select {
					case <-p:
					case <-time.After(wait):
						errs <- fmt.Errorf("sender: readers stalled at message %d", i-window)
						return
					}
				}
			}
			line := fmt.Sprintf(`{"type":"message","text":"%d %s"}`+"\n", i, text)
			if _, err := sender.nc.Write([]byte(line)); err != nil {
				errs <- fmt.Errorf("sender: %v", err)
				return
			}
		}
		errs <- nil
	}()
	for range len(readers) + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// The frozen connection was closed: reading it now ends in EOF or a reset
	// (its last frame, if the socket took it, is bye slow_consumer).
	frames := frozen.expectClosed()
	if n := len(frames); n > 0 && frames[n-1].Type == "bye" && frames[n-1].Reason != "slow_consumer" {
		t.Fatalf("bye reason %q", frames[n-1].Reason)
	}
	// Memory budget, not timing: 2500 × 4 KB would be 10 MB in the frozen
	// reader's queue if it were unbounded.
	if p := peak.load(); p > 48<<20 {
		t.Fatalf("heap in use peaked at %d MB", p>>20)
	}
	if got := ts.Stats().Closed.Get("slow_consumer"); got != 1 {
		t.Fatalf("slow_consumer closes = %d, want 1", got)
	}
}

// readAll reads n messages numbered 0… in order, and the frozen reader's
// left slow_consumer, noting the heap in use as it goes. It parses with
// bytes.Index rather than JSON so that the readers keep up under -race.
func readAll(r *client, n int, peak *atomicMax, progress chan<- struct{}) error {
	got, sawLeft := 0, false
	for got < n {
		r.nc.SetReadDeadline(time.Now().Add(wait))
		line, err := r.lr.ReadLine()
		if err != nil {
			return fmt.Errorf("%s after %d messages: %v", r.name, got, err)
		}
		switch {
		case bytes.HasPrefix(line, []byte(`{"type":"message"`)):
			want := fmt.Sprintf(`"text":"%d `, got)
			if !bytes.Contains(line, []byte(want)) {
				return fmt.Errorf("%s: %.60s…, want text %s…", r.name, line, want)
			}
			got++
			progress <- struct{}{}
			if got%250 == 0 {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak.note(ms.HeapInuse)
			}
		case bytes.HasPrefix(line, []byte(`{"type":"left"`)):
			if !bytes.Contains(line, []byte(`"username":"frozen","room":"lobby","reason":"slow_consumer"`)) {
				return fmt.Errorf("%s: unexpected %s", r.name, line)
			}
			sawLeft = true
		default:
			return fmt.Errorf("%s: unexpected %s", r.name, line)
		}
	}
	if !sawLeft {
		return fmt.Errorf("%s never saw the frozen reader leave", r.name)
	}
	return nil
}

type atomicMax struct {
	mu sync.Mutex
	v  uint64
}

func (m *atomicMax) note(v uint64) {
	m.mu.Lock()
	m.v = max(m.v, v)
	m.mu.Unlock()
}

func (m *atomicMax) load() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.v
}

// A client that floods requests but never reads the replies is a slow
// consumer too: its own replies fill its queue.
func TestUnreadRepliesMakeASlowConsumer(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxQueue = 16 << 10 })
	watcher := ts.join(t, "w")
	c := ts.join(t, "flooder")
	watcher.expect("joined")
	go func() {
		users := []byte(strings.Repeat(`{"type":"users"}`+"\n", 1000))
		for i := 0; i < 500; i++ {
			if _, err := c.nc.Write(users); err != nil {
				return // closed by the server: expected
			}
		}
	}()
	if l := watcher.expect("left"); l.Username != "flooder" || l.Reason != "slow_consumer" {
		t.Fatalf("left: %+v", l)
	}
	c.expectClosed()
}

// A joiner's welcome and history replay do not count against the queue
// limit: a history far larger than -max-queue never locks joiners out.
func TestHistoryIsExemptFromQueueLimit(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxQueue = 16 << 10; c.History = 50 })
	a := ts.join(t, "a")
	text := strings.Repeat("h", 4000)
	for i := 0; i < 50; i++ {
		a.send(`{"type":"message","text":"%d %s","ref":"r"}`, i, text)
		a.expect("ack") // 50 × 4 KB = 200 KB of history, 12 × the queue limit
	}
	b := ts.dial(t)
	b.name = "b"
	b.send(`{"type":"join","username":"b"}`)
	b.expect("welcome")
	for i := 0; i < 50; i++ {
		if m := b.expect("message"); !m.History || !strings.HasPrefix(m.Text, fmt.Sprintf("%d ", i)) {
			t.Fatalf("replay %d: %.20q history=%v", i, m.Text, m.History)
		}
	}
	a.send(`{"type":"message","text":"live"}`)
	if m := b.expect("message"); m.History || m.Text != "live" {
		t.Fatalf("after the replay: %+v", m)
	}
}
