package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pynet/internal/cluster/natstest"
	"pynet/internal/replog"
)

// Two nodes publish concurrently on one server: every follower sees one
// order, without holes, in which each node's entries keep its call order;
// every done is called once with the sequence the entry got.
func TestPublishFollowOrder(t *testing.T) {
	s := natstest.Start(t)
	a := openLog(t, Options{URLs: []string{s.URL()}, Node: "a"})
	b := openLog(t, Options{URLs: []string{s.URL()}, Node: "b"})
	ca, cb := follow(a, 0), follow(b, 0)
	ca.waitCaught(t)
	cb.waitCaught(t)

	const per = 500
	acks := map[string][]uint64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range []*Log{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var calls sync.WaitGroup
			for i := range per {
				calls.Add(1)
				subj := replog.RoomSubject(l.Prefix(), "lobby")
				data := roomMsg("lobby", l.Node(), fmt.Sprint(i))
				if i%3 == 0 {
					subj = replog.ControlSubject(l.Prefix())
					data = control(replog.OpJoin, i)
				}
				l.Publish(subj, "", data, func(ack replog.PubAck, err error) {
					defer calls.Done()
					if err != nil {
						t.Errorf("%s publish %d: %v", l.Node(), i, err)
						return
					}
					mu.Lock()
					acks[l.Node()] = append(acks[l.Node()], ack.Seq)
					mu.Unlock()
				})
			}
			calls.Wait()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, n := range []string{"a", "b"} {
		if len(acks[n]) != per {
			t.Fatalf("%s: %d acks, want %d", n, len(acks[n]), per)
		}
		for i := 1; i < per; i++ {
			if acks[n][i] <= acks[n][i-1] {
				t.Fatalf("%s: acks out of order at %d: %d after %d", n, i, acks[n][i], acks[n][i-1])
			}
		}
	}
	ea := ca.waitSeq(t, 2*per)
	eb := cb.waitSeq(t, 2*per)
	checkContiguous(t, ea, 1, 2*per)
	checkContiguous(t, eb, 1, 2*per)
	for i := range ea {
		if ea[i].Subject != eb[i].Subject || string(ea[i].Data) != string(eb[i].Data) {
			t.Fatalf("followers differ at seq %d", ea[i].Seq)
		}
	}
	// Each node's entries appear in its call order, at the acked seqs.
	for _, n := range []string{"a", "b"} {
		for i, seq := range acks[n] {
			e := ea[seq-1]
			c, err := replog.Decode(e.Data)
			if err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 {
				if c.Op != replog.OpJoin || c.Req != uint64(i) {
					t.Fatalf("%s call %d: seq %d holds %+v", n, i, seq, c)
				}
			} else if c.From != n || c.Text != fmt.Sprint(i) {
				t.Fatalf("%s call %d: seq %d holds %+v", n, i, seq, c)
			}
		}
	}
	if last, err := a.LastSeq(); err != nil || last != 2*per {
		t.Fatalf("LastSeq = %d, %v; want %d", last, err, 2*per)
	}
	if a.Epoch() == "" || a.Epoch() != b.Epoch() {
		t.Fatalf("epochs %q and %q", a.Epoch(), b.Epoch())
	}
}

func TestDedupe(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	subj := replog.RoomSubject(l.Prefix(), "r")
	mustPublish(t, l, subj, roomMsg("r", "x", "before"))
	a1, err := publishWait(t, l, subj, "m-1", roomMsg("r", "x", "once"))
	if err != nil || a1.Duplicate {
		t.Fatalf("first: %+v %v", a1, err)
	}
	mustPublish(t, l, subj, roomMsg("r", "x", "between"))
	a2, err := publishWait(t, l, subj, "m-1", roomMsg("r", "x", "once"))
	if err != nil || !a2.Duplicate || a2.Seq != a1.Seq {
		t.Fatalf("second: %+v %v; want duplicate of %d", a2, err, a1.Seq)
	}
	if last, _ := l.LastSeq(); last != 3 {
		t.Fatalf("LastSeq %d, want 3", last)
	}
}

func TestFollowFromPositionAndCaughtUp(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})

	// Empty stream: caught up at once.
	empty := follow(l, 0)
	if n := empty.waitCaught(t); n != 0 {
		t.Fatalf("caught up after %d entries on an empty stream", n)
	}
	subj := replog.ControlSubject(l.Prefix())
	for i := 1; i <= 20; i++ {
		mustPublish(t, l, subj, control(replog.OpEnter, i))
	}
	checkContiguous(t, empty.waitSeq(t, 20), 1, 20)

	// Non-empty: caught up once all 20 are applied.
	all := follow(l, 0)
	if n := all.waitCaught(t); n != 20 {
		t.Fatalf("caught up after %d entries, want 20", n)
	}
	// From a position.
	from := follow(l, 12)
	if n := from.waitCaught(t); n != 8 {
		t.Fatalf("from 12: caught up after %d entries, want 8", n)
	}
	checkContiguous(t, from.snapshot(), 13, 20)
	// At the end: caught up at once, then live.
	end := follow(l, 20)
	if n := end.waitCaught(t); n != 0 {
		t.Fatalf("from the end: caught up after %d", n)
	}
	mustPublish(t, l, subj, control(replog.OpExit, 21))
	checkContiguous(t, end.waitSeq(t, 21), 21, 21)
	checkContiguous(t, all.waitSeq(t, 21), 1, 21)
}

// Since returns the message entries (not control) stored at or after t.
func TestSince(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	p := l.Prefix()
	mustPublish(t, l, replog.RoomSubject(p, "r"), roomMsg("r", "x", "old"))
	oldSeq := mustPublish(t, l, replog.PrivateSubject(p, "s:1", "s:2"), privMsg("s:1", "s:2", "old"))
	// t0 is just after the last old entry's stored time.
	old, err := l.leaderGet(context.Background(), l.streamName, directReq{Seq: oldSeq})
	if err != nil {
		t.Fatal(err)
	}
	t0 := old.Time.Add(time.Nanosecond)
	var want []uint64
	for i := range 6 {
		switch i % 3 {
		case 0:
			want = append(want, mustPublish(t, l, replog.RoomSubject(p, "r"), roomMsg("r", "x", "new")))
		case 1:
			want = append(want, mustPublish(t, l, replog.PrivateSubject(p, "s:1", "a:bob"), privMsg("s:1", "a:bob", "new")))
		case 2:
			mustPublish(t, l, replog.ControlSubject(p), control(replog.OpJoin, i))
		}
	}
	last, _ := l.LastSeq()
	es, err := l.Since(t0, last)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs(es)) != fmt.Sprint(want) {
		t.Fatalf("Since = %v, want %v", seqs(es), want)
	}
	es, err = l.Since(t0, want[1])
	if err != nil || fmt.Sprint(seqs(es)) != fmt.Sprint(want[:2]) {
		t.Fatalf("Since upto %d = %v, %v; want %v", want[1], seqs(es), err, want[:2])
	}
}

func TestSnapshot(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	seq, data, err := l.LoadSnapshot()
	if err != nil || seq != 0 || data != nil {
		t.Fatalf("no snapshot: %d, %d bytes, %v", seq, len(data), err)
	}
	big := make([]byte, 6<<20)
	for i := range big {
		big[i] = byte(i*7 + i/4096)
	}
	if err := l.SaveSnapshot(1234, big); err != nil {
		t.Fatal(err)
	}
	seq, data, err = l.LoadSnapshot()
	if err != nil || seq != 1234 || string(data) != string(big) {
		t.Fatalf("load: %d, %d bytes, %v", seq, len(data), err)
	}
	if err := l.SaveSnapshot(2000, []byte("small")); err != nil {
		t.Fatal(err)
	}
	// Another node sees the newest.
	other := openLog(t, Options{URLs: []string{s.URL()}, Node: "n2"})
	seq, data, err = other.LoadSnapshot()
	if err != nil || seq != 2000 || string(data) != "small" {
		t.Fatalf("load newest: %d, %q, %v", seq, data, err)
	}
}

// Trim removes control commands below the sequence and nothing else; a
// follower that needed them fails, one starting at the snapshot does not.
func TestTrim(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	p := l.Prefix()
	var ctl []uint64
	for i := 1; i <= 10; i++ {
		ctl = append(ctl, mustPublish(t, l, replog.ControlSubject(p), control(replog.OpJoin, i)))
		mustPublish(t, l, replog.RoomSubject(p, "r"), roomMsg("r", "x", fmt.Sprint(i)))
	}
	cut := ctl[5] // keep control commands from the 6th on
	if err := l.Trim(cut); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rs, err := l.readRange(ctx, replog.ControlSubject(p), 1, nil, 1000, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 || rs[0].Seq != cut {
		t.Fatalf("control after trim: %d entries from %d, want 5 from %d", len(rs), rs[0].Seq, cut)
	}
	msgs, err := l.Store().RoomMessages("r", 0, 1000, 100)
	if err != nil || len(msgs) != 10 {
		t.Fatalf("room after trim: %d, %v", len(msgs), err)
	}
	// Trim to a lower point does not lower the floor.
	if err := l.Trim(ctl[2]); err != nil {
		t.Fatal(err)
	}
	if f, err := l.trimFloor(ctx); err != nil || f != cut {
		t.Fatalf("trim floor %d, %v; want %d", f, err, cut)
	}
	// A node that starts from before the trim would skip control commands.
	old := follow(l, 0)
	if err := old.waitFail(t); !strings.Contains(err.Error(), "trimmed") {
		t.Fatalf("follow from 0 after trim: %v", err)
	}
	if n := len(old.snapshot()); n != 0 {
		t.Fatalf("applied %d entries before failing, want none", n)
	}
	// One that starts from the snapshot (cut-1) catches up.
	fresh := follow(l, cut-1)
	fresh.waitCaught(t)
	es := fresh.snapshot()
	if len(es) != 10 || es[0].Seq != cut {
		t.Fatalf("from the snapshot: %v", seqs(es))
	}
}

func TestNodesLease(t *testing.T) {
	s := natstest.Start(t)
	lease := time.Second
	a := openLog(t, Options{URLs: []string{s.URL()}, Node: "a", Lease: lease})
	b := openLog(t, Options{URLs: []string{s.URL()}, Node: "b", Lease: lease})
	if ns, err := a.Nodes(); err != nil || len(ns) != 0 {
		t.Fatalf("nodes before any beat: %v, %v", ns, err)
	}
	if err := a.Beat(); err != nil {
		t.Fatal(err)
	}
	if err := b.Beat(); err != nil {
		t.Fatal(err)
	}
	if ns, err := a.Nodes(); err != nil || fmt.Sprint(ns) != "[a b]" {
		t.Fatalf("nodes: %v, %v", ns, err)
	}
	// a keeps beating, b stops: b disappears after the lease.
	stopped := time.Now()
	eventually(t, "b's lease expires", func() (bool, error) {
		if err := a.Beat(); err != nil {
			return false, err
		}
		ns, err := b.Nodes()
		return fmt.Sprint(ns) == "[a]", err
	})
	if d := time.Since(stopped); d < lease-100*time.Millisecond {
		t.Fatalf("b disappeared after %v, before its lease of %v", d, lease)
	}
	if err := b.Beat(); err != nil {
		t.Fatal(err)
	}
	if ns, err := a.Nodes(); err != nil || fmt.Sprint(ns) != "[a b]" {
		t.Fatalf("nodes after b beats again: %v, %v", ns, err)
	}
}

func TestOpenErrors(t *testing.T) {
	// Nothing listens there.
	ctx := context.Background()
	_, err := Open(ctx, Options{URLs: []string{"nats://user:secret@127.0.0.1:1"}, Node: "n", ConnectTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "nats://127.0.0.1:1") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable: %v", err)
	}
	if _, err := Open(ctx, Options{URLs: []string{"nats://127.0.0.1:1"}, Node: "bad.name"}); err == nil {
		t.Fatal("a node name with a dot was accepted")
	}

	s := natstest.Start(t)
	// A stream of that name that is not ours is refused.
	nc, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER_CHAT", Subjects: []string{"elsewhere.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Options{URLs: []string{s.URL()}, Node: "n", Prefix: "other"}); err == nil || !strings.Contains(err.Error(), "not a pynet log") {
		t.Fatalf("foreign stream: %v", err)
	}

	// Retain changes update the stream; the smallest limit is remembered.
	l5 := openLog(t, Options{URLs: []string{s.URL()}, Retain: 5})
	epoch := l5.Epoch()
	l5.Close()
	l9 := openLog(t, Options{URLs: []string{s.URL()}, Retain: 9})
	info, err := l9.streamInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxMsgsPerSubject != 9 || minRetainOf(info.Config) != 5 || l9.Epoch() != epoch {
		t.Fatalf("after reopening with 9: limit %d, min %d, epoch %s (was %s)",
			info.Config.MaxMsgsPerSubject, minRetainOf(info.Config), l9.Epoch(), epoch)
	}
}

// Publish after Close fails (done still called); Close is idempotent.
func TestClose(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	c := follow(l, 0)
	c.waitCaught(t)
	l.Close()
	_, err := publishWait(t, l, replog.ControlSubject(l.Prefix()), "", control(replog.OpJoin, 1))
	if !isUnavailable(err) {
		t.Fatalf("publish after close: %v", err)
	}
	l.Close()
	select {
	case err := <-c.failed:
		t.Fatalf("follow failed on close: %v", err)
	default:
	}
}
