package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/cluster/natstest"
	"pynet/internal/replog"
)

// While the NATS server is down, publishes fail at once with
// ErrUnavailable; after it comes back they work again, the epoch is the
// same, and the follower resumes without skipping.
func TestNATSRestart(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	epoch := l.Epoch()
	c := follow(l, 0)
	c.waitCaught(t)
	subj := replog.ControlSubject(l.Prefix())
	for i := 1; i <= 10; i++ {
		mustPublish(t, l, subj, control(replog.OpJoin, i))
	}
	c.waitSeq(t, 10)

	s.Shutdown()
	start := time.Now()
	_, err := publishWait(t, l, subj, "", control(replog.OpJoin, 11))
	if !isUnavailable(err) {
		t.Fatalf("publish while NATS is down: %v", err)
	}
	if d := time.Since(start); d > ackTimeout+time.Second {
		t.Fatalf("the failure took %v", d)
	}
	// Several at once: each done is called, each with an error.
	errs := make(chan error, 50)
	for i := range 50 {
		l.Publish(subj, "", control(replog.OpJoin, 100+i), func(_ replog.PubAck, err error) { errs <- err })
	}
	for range 50 {
		select {
		case err := <-errs:
			if !isUnavailable(err) {
				t.Fatalf("publish while down: %v", err)
			}
		case <-time.After(waitFor):
			t.Fatal("done not called while NATS is down")
		}
	}
	if _, err := l.LastSeq(); !isUnavailable(err) {
		t.Fatalf("LastSeq while down: %v", err)
	}

	s.Restart()
	var seq uint64
	eventually(t, "publish after restart", func() (bool, error) {
		a, err := publishWait(t, l, subj, "after-restart", control(replog.OpJoin, 12))
		seq = a.Seq
		return err == nil, err
	})
	if seq != 11 {
		t.Fatalf("first entry after restart got seq %d, want 11 (nothing was stored while down)", seq)
	}
	for i := 13; i <= 20; i++ {
		mustPublish(t, l, subj, control(replog.OpJoin, i))
	}
	checkContiguous(t, c.waitSeq(t, 19), 1, 19)
	again := openLog(t, Options{URLs: []string{s.URL()}, Node: "n2"})
	if again.Epoch() != epoch {
		t.Fatalf("epoch after restart %s, was %s", again.Epoch(), epoch)
	}
}

// A 3-server cluster with Replicas 3 keeps working when the stream's
// leader's server is shut down.
func TestClusterSurvivesServerLoss(t *testing.T) {
	servers := natstest.StartCluster(t, 3)
	urls := natstest.URLs(servers)
	a := openLog(t, Options{URLs: urls, Node: "a", Replicas: 3})
	b := openLog(t, Options{URLs: []string{urls[2], urls[1], urls[0]}, Node: "b", Replicas: 3})
	ca, cb := follow(a, 0), follow(b, 0)
	ca.waitCaught(t)
	cb.waitCaught(t)
	p := a.Prefix()
	// A new R3 stream can answer "no response" for a moment after its
	// leader is elected (seen on a loaded machine): retry, with message ids
	// so that a publish stored without its ack is not stored twice.
	publish := func(l *Log, subject, id string, data []byte) {
		eventually(t, "publish "+id, func() (bool, error) {
			_, err := publishWait(t, l, subject, id, data)
			if err != nil && !isUnavailable(err) {
				t.Fatalf("publish %s: %v", id, err)
			}
			return err == nil, err
		})
	}
	for i := 1; i <= 10; i++ {
		publish(a, replog.RoomSubject(p, "r"), fmt.Sprintf("before-a-%d", i), roomMsg("r", "a", "before"))
		publish(b, replog.ControlSubject(p), fmt.Sprintf("before-b-%d", i), control(replog.OpJoin, i))
	}
	ca.waitSeq(t, 20)
	cb.waitSeq(t, 20)
	if msgs, err := b.Store().RoomMessages("r", 0, 20, 100); err != nil || len(msgs) != 10 {
		t.Fatalf("history on R3: %d, %v", len(msgs), err)
	}

	// Shut down the server a is connected to, after making it the
	// stream's leader: a fails over to another server and the stream
	// elects another leader.
	var victim *natstest.Server
	for _, s := range servers {
		if s.Name() == a.nc.ConnectedServerName() {
			victim = s
		}
	}
	if victim == nil {
		t.Fatalf("a is connected to %q, not one of the servers", a.nc.ConnectedServerName())
	}
	eventually(t, "the stream's leader moves to "+victim.Name(), func() (bool, error) {
		if victim.NATS().JetStreamIsStreamLeader("$G", a.streamName) {
			return true, nil
		}
		for _, s := range servers {
			if s.NATS().JetStreamIsStreamLeader("$G", a.streamName) {
				return false, s.NATS().JetStreamStepdownStream("$G", a.streamName)
			}
		}
		return false, nil
	})
	victim.Shutdown()
	shut := time.Now()

	var last uint64
	for _, l := range []*Log{a, b} {
		eventually(t, l.Node()+" publishes after losing a server", func() (bool, error) {
			ack, err := publishWait(t, l, replog.ControlSubject(p), "after-"+l.Node(), control(replog.OpJoin, 99))
			last = max(last, ack.Seq)
			return err == nil, err
		})
	}
	t.Logf("publishing again %v after the shutdown", time.Since(shut))
	for i := 0; i < 10; i++ {
		last = max(last, mustPublish(t, a, replog.RoomSubject(p, "r"), roomMsg("r", "a", "after")))
	}
	ea, eb := ca.waitSeq(t, last), cb.waitSeq(t, last)
	t.Logf("both followers at %d %v after the shutdown", last, time.Since(shut))
	checkContiguous(t, ea, 1, last)
	checkContiguous(t, eb, 1, last)
	msgs, err := b.Store().RoomMessages("r", 0, int64(last), 100)
	t.Logf("history read %v after the shutdown", time.Since(shut))
	if err != nil || len(msgs) != 20 {
		t.Fatalf("history after losing a server: %d, %v", len(msgs), err)
	}
	tail, err := a.Store().RoomTail("r", int64(last), 5)
	if err != nil || len(tail) != 5 || tail[4].ID != msgs[19].ID {
		t.Fatalf("tail after losing a server: %v, %v", ids(tail), err)
	}
}

// A follower that falls more than Retain messages of a room behind after
// catching up fails instead of skipping the pruned ones.
func TestFollowFallsBehindRetention(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}, Retain: 5})
	p := l.Prefix()
	mustPublish(t, l, replog.RoomSubject(p, "quiet"), roomMsg("quiet", "x", "first"))
	block := make(chan struct{})
	failed := make(chan error, 1)
	caught := make(chan struct{})
	var applied []uint64
	l.Follow(0, func(e replog.Entry) {
		applied = append(applied, e.Seq)
		if e.Seq == 2 {
			<-block // stuck while the room moves on
		}
	}, func() { close(caught) }, func(err error) { failed <- err })
	select {
	case <-caught:
	case <-time.After(waitFor):
		t.Fatal("not caught up")
	}
	// More than the client's pull buffer (500) plus Retain, all in one room.
	subj := replog.RoomSubject(p, "busy")
	n := 1500
	done := make(chan struct{})
	for i := range n {
		l.Publish(subj, "", roomMsg("busy", "x", ""), func(_ replog.PubAck, err error) {
			if err != nil {
				t.Errorf("publish: %v", err)
			}
			if i == n-1 {
				close(done)
			}
		})
	}
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("publishes not acknowledged")
	}
	close(block)
	select {
	case err := <-failed:
		if !strings.Contains(err.Error(), "fell too far behind") {
			t.Fatalf("fail: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("the follower did not fail; applied up to %d", applied[len(applied)-1])
	}
	for i := 1; i < len(applied); i++ {
		if applied[i] != applied[i-1]+1 {
			t.Fatalf("applied %d after %d", applied[i], applied[i-1])
		}
	}
}

// A stream deleted and created again (a new epoch) stops the follower.
func TestStreamRecreated(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	subj := replog.ControlSubject(l.Prefix())
	for i := 1; i <= 3; i++ {
		mustPublish(t, l, subj, control(replog.OpJoin, i))
	}
	c := follow(l, 0)
	c.waitSeq(t, 3)
	ctx := context.Background()
	if err := l.js.DeleteStream(ctx, l.streamName); err != nil {
		t.Fatal(err)
	}
	other := openLog(t, Options{URLs: []string{s.URL()}, Node: "n2"})
	if other.Epoch() == l.Epoch() {
		t.Fatal("same epoch for a new stream")
	}
	for i := 1; i <= 5; i++ {
		mustPublish(t, other, subj, control(replog.OpJoin, i))
	}
	err := c.waitFail(t)
	if !strings.Contains(err.Error(), "created again") {
		t.Fatalf("fail: %v", err)
	}
	if es := c.snapshot(); len(es) != 3 {
		t.Fatalf("applied %v from two streams", seqs(es))
	}
}

// Publish is bounded: with MaxPending publishes unresolved (here because
// a done blocks the resolver), the next one waits pendingWait and fails;
// every done is called.
func TestPublishBounded(t *testing.T) {
	defer func(d time.Duration) { pendingWait = d }(pendingWait)
	pendingWait = 200 * time.Millisecond
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	subj := replog.ControlSubject(l.Prefix())
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	results := make(chan error, MaxPending+2)
	// The first done blocks; its slot was given back before it was called,
	// so MaxPending more fill every slot.
	l.Publish(subj, "", control(replog.OpJoin, 0), func(_ replog.PubAck, err error) {
		<-release
		results <- err
	})
	for i := 1; i <= MaxPending; i++ {
		l.Publish(subj, "", control(replog.OpJoin, i), func(_ replog.PubAck, err error) { results <- err })
	}
	start := time.Now()
	over := make(chan error, 1)
	l.Publish(subj, "", control(replog.OpJoin, MaxPending+1), func(_ replog.PubAck, err error) { over <- err })
	if d := time.Since(start); d < pendingWait {
		t.Fatalf("publish beyond MaxPending returned after %v", d)
	}
	select {
	case err := <-over:
		if !isUnavailable(err) || !strings.Contains(err.Error(), "waiting for NATS") {
			t.Fatalf("publish beyond MaxPending: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("done not called")
	}
	once.Do(func() { close(release) })
	for i := 0; i <= MaxPending; i++ {
		select {
		case err := <-results:
			if err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		case <-time.After(waitFor):
			t.Fatalf("%d of %d dones called", i, MaxPending+1)
		}
	}
	if last, _ := l.LastSeq(); last != MaxPending+1 {
		t.Fatalf("LastSeq %d, want %d", last, MaxPending+1)
	}
}
