package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"pynet/internal/replog"
)

// waitFor bounds every wait of these tests.
const waitFor = 20 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("CLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return nil
}

func openLog(t testing.TB, o Options) *Log {
	t.Helper()
	if o.Node == "" {
		o.Node = "n1"
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	l, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

type result struct {
	ack replog.PubAck
	err error
}

// publishWait publishes and waits for done.
func publishWait(t testing.TB, l *Log, subject, msgID string, data []byte) (replog.PubAck, error) {
	t.Helper()
	ch := make(chan result, 1)
	l.Publish(subject, msgID, data, func(a replog.PubAck, err error) { ch <- result{a, err} })
	select {
	case r := <-ch:
		return r.ack, r.err
	case <-time.After(waitFor):
		t.Fatalf("publish on %s: done not called within %v", subject, waitFor)
		return replog.PubAck{}, nil
	}
}

func mustPublish(t testing.TB, l *Log, subject string, data []byte) uint64 {
	t.Helper()
	a, err := publishWait(t, l, subject, "", data)
	if err != nil {
		t.Fatalf("publish on %s: %v", subject, err)
	}
	return a.Seq
}

func roomMsg(room, from, text string) []byte {
	b, _ := json.Marshal(replog.Command{Op: replog.OpMessage, Room: room, From: from, Text: text, TS: time.Now().UnixMilli()})
	return b
}

func privMsg(fromKey, toKey, text string) []byte {
	b, _ := json.Marshal(replog.Command{Op: replog.OpPrivate, From: fromKey, To: toKey, Text: text,
		FromKey: fromKey, ToKey: toKey, TS: time.Now().UnixMilli()})
	return b
}

func control(op string, n int) []byte {
	b, _ := json.Marshal(replog.Command{Op: op, Req: uint64(n), TS: time.Now().UnixMilli()})
	return b
}

// collector follows a Log and records what it gets.
type collector struct {
	mu      sync.Mutex
	entries []replog.Entry
	atCatch int // len(entries) when caughtUp was called, -1 before
	changed chan struct{}
	caught  chan struct{}
	failed  chan error
}

func follow(l *Log, after uint64) *collector {
	c := &collector{atCatch: -1, changed: make(chan struct{}, 1), caught: make(chan struct{}), failed: make(chan error, 1)}
	l.Follow(after, func(e replog.Entry) {
		c.mu.Lock()
		c.entries = append(c.entries, e)
		c.mu.Unlock()
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}, func() {
		c.mu.Lock()
		c.atCatch = len(c.entries)
		c.mu.Unlock()
		close(c.caught)
	}, func(err error) { c.failed <- err })
	return c
}

func (c *collector) snapshot() []replog.Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]replog.Entry(nil), c.entries...)
}

func (c *collector) waitCaught(t testing.TB) int {
	t.Helper()
	select {
	case <-c.caught:
	case err := <-c.failed:
		t.Fatalf("follow failed before catching up: %v", err)
	case <-time.After(waitFor):
		t.Fatalf("follow did not catch up within %v", waitFor)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atCatch
}

// waitSeq waits until the collector has applied seq.
func (c *collector) waitSeq(t testing.TB, seq uint64) []replog.Entry {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		es := c.snapshot()
		if len(es) > 0 && es[len(es)-1].Seq >= seq {
			return es
		}
		select {
		case <-c.changed:
		case err := <-c.failed:
			t.Fatalf("follow failed waiting for %d: %v", seq, err)
		case <-deadline:
			last := uint64(0)
			if len(es) > 0 {
				last = es[len(es)-1].Seq
			}
			t.Fatalf("follow reached %d, not %d, within %v", last, seq, waitFor)
		}
	}
}

func (c *collector) waitFail(t testing.TB) error {
	t.Helper()
	select {
	case err := <-c.failed:
		return err
	case <-time.After(waitFor):
		t.Fatalf("follow did not fail within %v", waitFor)
		return nil
	}
}

// checkContiguous fails unless es are exactly the sequences from..to.
func checkContiguous(t testing.TB, es []replog.Entry, from, to uint64) {
	t.Helper()
	if uint64(len(es)) != to-from+1 {
		t.Fatalf("got %d entries, want %d (%d..%d)", len(es), to-from+1, from, to)
	}
	for i, e := range es {
		if e.Seq != from+uint64(i) {
			t.Fatalf("entry %d has seq %d, want %d", i, e.Seq, from+uint64(i))
		}
	}
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last error: %v)", what, waitFor, lastErr)
		}
		<-tick.C
	}
}

func isUnavailable(err error) bool { return errors.Is(err, replog.ErrUnavailable) }

func seqs(es []replog.Entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}
