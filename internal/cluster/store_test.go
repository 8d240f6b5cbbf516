package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/cluster/natstest"
	"pynet/internal/replog"
	"pynet/internal/store"
)

func ids(ms []store.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func seqIDs(ss []uint64) []int64 {
	out := make([]int64, len(ss))
	for i, s := range ss {
		out[i] = int64(s)
	}
	return out
}

func same(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// History with Retain 5: each room and each pair keeps its last 5.
func TestHistoryRetention(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}, Retain: 5})
	st := l.Store()
	p := l.Prefix()
	var a, b []uint64
	var pair, self, other []uint64
	for i := range 12 {
		a = append(a, mustPublish(t, l, replog.RoomSubject(p, "a"), roomMsg("a", "x", fmt.Sprint("a", i))))
		if i%4 == 0 {
			b = append(b, mustPublish(t, l, replog.RoomSubject(p, "b"), roomMsg("b", "y", fmt.Sprint("b", i))))
		}
		if i < 7 {
			from, to := "s:alice", "a:bob"
			if i%2 == 1 {
				from, to = to, from
			}
			pair = append(pair, mustPublish(t, l, replog.PrivateSubject(p, from, to), privMsg(from, to, fmt.Sprint("p", i))))
		}
		if i == 3 {
			self = append(self, mustPublish(t, l, replog.PrivateSubject(p, "s:alice", "s:alice"), privMsg("s:alice", "s:alice", "note")))
			other = append(other, mustPublish(t, l, replog.PrivateSubject(p, "s:carol", "a:bob"), privMsg("s:carol", "a:bob", "hi")))
		}
		if i%3 == 0 { // 4 control commands: below the limit
			mustPublish(t, l, replog.ControlSubject(p), control(replog.OpEnter, i))
		}
	}
	upto, _ := l.LastSeq()
	U := int64(upto)
	keptA := seqIDs(a[7:])

	msgs, err := st.RoomMessages("a", 0, U, 100)
	if err != nil || !same(ids(msgs), keptA) {
		t.Fatalf("RoomMessages(a) = %v, %v; want %v", ids(msgs), err, keptA)
	}
	if msgs[0].Room != "a" || msgs[0].Text != "a7" || msgs[0].From != "x" {
		t.Fatalf("decoded %+v", msgs[0])
	}
	msgs, _ = st.RoomMessages("a", int64(a[8]), int64(a[10]), 100)
	if !same(ids(msgs), seqIDs(a[9:11])) {
		t.Fatalf("RoomMessages(a, %d, %d) = %v", a[8], a[10], ids(msgs))
	}
	msgs, _ = st.RoomMessages("a", 0, U, 2)
	if !same(ids(msgs), seqIDs(a[7:9])) {
		t.Fatalf("RoomMessages limit 2 = %v", ids(msgs))
	}
	if msgs, _ = st.RoomMessages("nobody", 0, U, 10); len(msgs) != 0 {
		t.Fatalf("empty room: %v", ids(msgs))
	}

	tail, err := st.RoomTail("a", U, 3)
	if err != nil || !same(ids(tail), seqIDs(a[9:])) {
		t.Fatalf("RoomTail(a, 3) = %v, %v", ids(tail), err)
	}
	tail, _ = st.RoomTail("a", int64(a[9]), 100)
	if !same(ids(tail), seqIDs(a[7:10])) {
		t.Fatalf("RoomTail(a, upto %d) = %v", a[9], ids(tail))
	}
	if tail, _ = st.RoomTail("b", int64(b[0]-1), 10); len(tail) != 0 {
		t.Fatalf("RoomTail before the room's first: %v", ids(tail))
	}

	rs, err := st.RoomStats("a", 0, U)
	if err != nil || rs.Count != 5 || rs.Pruned != int64(a[7])-1 {
		t.Fatalf("RoomStats(a) = %+v, %v; want 5, pruned %d", rs, err, a[7]-1)
	}
	rs, _ = st.RoomStats("a", int64(a[8]), int64(a[10]))
	if rs.Count != 2 {
		t.Fatalf("RoomStats(a, window) = %+v", rs)
	}
	rs, _ = st.RoomStats("b", 0, U)
	if rs.Count != 3 || rs.Pruned != 0 {
		t.Fatalf("RoomStats(b) = %+v; want 3, not pruned", rs)
	}
	rs, _ = st.RoomStats("b", int64(b[1]), U)
	if rs.Count != 1 {
		t.Fatalf("RoomStats(b, since %d) = %+v", b[1], rs)
	}

	// Privates of alice (session) and bob (account).
	keptPair := seqIDs(pair[2:])
	want := append(append([]int64{}, keptPair[:1]...), int64(self[0]))
	want = append(want, keptPair[1:]...)
	sortIDs(want)
	pm, gap, err := st.Privates([]string{"s:alice"}, 0, U, 100)
	if err != nil || !same(ids(pm), want) || !gap {
		t.Fatalf("Privates(alice) = %v gap %v, %v; want %v with a gap (pair pruned)", ids(pm), gap, err, want)
	}
	// From after the pruned ones: no gap.
	pm, gap, _ = st.Privates([]string{"s:alice"}, int64(pair[2])-1, U, 100)
	if gap || len(pm) != 6 {
		t.Fatalf("Privates(alice, since %d) = %v gap %v", pair[2]-1, ids(pm), gap)
	}
	// More than the limit: a gap.
	pm, gap, _ = st.Privates([]string{"s:alice"}, int64(pair[2])-1, U, 4)
	if !gap || len(pm) != 4 {
		t.Fatalf("Privates(alice, limit 4) = %v gap %v", ids(pm), gap)
	}
	// Bob sees the pair and carol's; carol alone sees hers, no gap.
	pm, _, _ = st.Privates([]string{"a:bob"}, 0, U, 100)
	wantBob := append(append([]int64{}, keptPair...), int64(other[0]))
	sortIDs(wantBob)
	if !same(ids(pm), wantBob) {
		t.Fatalf("Privates(bob) = %v, want %v", ids(pm), wantBob)
	}
	pm, gap, _ = st.Privates([]string{"s:carol"}, 0, U, 100)
	if gap || !same(ids(pm), seqIDs(other)) || pm[0].FromKey != "s:carol" || pm[0].ToKey != "a:bob" {
		t.Fatalf("Privates(carol) = %+v gap %v", pm, gap)
	}
	// Two keys of one owner: each private once.
	pm, _, _ = st.Privates([]string{"s:alice", "a:bob"}, 0, U, 100)
	if len(pm) != len(keptPair)+2 {
		t.Fatalf("Privates(alice, bob) = %v", ids(pm))
	}

	// A node starting from 0 skips the messages pruned before it started
	// (the control subject is below its limit: nothing is lost).
	c := follow(l, 0)
	c.waitCaught(t)
	es := c.snapshot()
	if es[len(es)-1].Seq != upto || uint64(len(es)) >= upto {
		t.Fatalf("follow from 0 applied %d entries up to %d", len(es), es[len(es)-1].Seq)
	}
}

// With the control subject at its limit, a follower that would miss
// pruned control commands fails instead.
func TestControlPruned(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}, Retain: 3})
	for i := 1; i <= 6; i++ {
		mustPublish(t, l, replog.ControlSubject(l.Prefix()), control(replog.OpJoin, i))
	}
	c := follow(l, 0)
	if err := c.waitFail(t); !strings.Contains(err.Error(), "control commands were pruned") {
		t.Fatalf("fail: %v", err)
	}
	ok := follow(l, 3) // from a snapshot at 3: nothing missing
	ok.waitCaught(t)
	checkContiguous(t, ok.snapshot(), 4, 6)
}

func sortIDs(v []int64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// RoomTail on a sparse room in a longer stream, against a brute force.
func TestRoomTailSparse(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	p := l.Prefix()
	var room []uint64
	var calls int
	done := make(chan struct{})
	const total = 3000
	for i := range total {
		subj, data := replog.RoomSubject(p, "busy"), roomMsg("busy", "x", "")
		if i%11 == 0 || (i > 2000 && i%3 == 0) { // denser towards the end
			subj, data = replog.RoomSubject(p, "sparse"), roomMsg("sparse", "y", fmt.Sprint(i))
		}
		isSparse := subj == replog.RoomSubject(p, "sparse")
		l.Publish(subj, "", data, func(a replog.PubAck, err error) {
			if err != nil {
				t.Errorf("publish: %v", err)
			}
			if isSparse {
				room = append(room, a.Seq) // done is called in order from one goroutine
			}
			calls++
			if calls == total {
				close(done)
			}
		})
	}
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("publishes not acknowledged")
	}
	st := l.Store()
	for _, c := range []struct {
		upto uint64
		n    int
	}{{total, 100}, {total, 1}, {total, 10}, {total, 1000}, {1500, 50}, {room[0], 5}, {room[0] - 1, 5}, {2500, 400}} {
		var want []int64
		for _, s := range room {
			if s <= c.upto {
				want = append(want, int64(s))
			}
		}
		if len(want) > c.n {
			want = want[len(want)-c.n:]
		}
		got, err := st.RoomTail("sparse", int64(c.upto), c.n)
		if err != nil || !same(ids(got), want) {
			t.Fatalf("RoomTail(upto %d, n %d) = %d messages %v…, %v; want %d", c.upto, c.n, len(got), head(ids(got)), err, len(want))
		}
	}
}

func head(v []int64) []int64 { return v[:min(len(v), 5)] }

// Concurrent password changes to one account all land, one after the other:
// a write beaten by another reads again (updateAccount). With 4 writers of
// 3 changes each, a write can be beaten at most 9 times, under the 10 tries.
// A malformed entry is reported as such, not as "unavailable".
func TestAccountUpdatesRetryAndReportBadEntries(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	st := l.Store()
	if err := st.CreateAccount(store.Account{Key: "alice", Name: "Alice", Hash: "h0"}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 3
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- st.SetPassword("alice", fmt.Sprintf("h%d-%d", w, i))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent SetPassword: %v", err)
		}
	}
	a, ok, err := st.Account("alice")
	if err != nil || !ok || !strings.HasSuffix(a.Hash, fmt.Sprintf("-%d", each-1)) || a.Name != "Alice" {
		t.Fatalf("after the changes: %+v %v %v (want some writer's last hash, name kept)", a, ok, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.accounts.Put(ctx, accountKey("bob"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	err = st.SetPassword("bob", "h")
	if err == nil || errors.Is(err, replog.ErrUnavailable) {
		t.Fatalf("SetPassword on a malformed entry: %v, want a decoding error, not unavailable", err)
	}
	if ok, err := st.DeleteAccount("bob"); !ok || err != nil {
		t.Fatalf("DeleteAccount of a malformed entry: %v %v (it needs no decoding)", ok, err)
	}
}

func TestAccounts(t *testing.T) {
	s := natstest.Start(t)
	l := openLog(t, Options{URLs: []string{s.URL()}})
	st := l.Store()
	if all, err := st.Accounts(); err != nil || len(all) != 0 {
		t.Fatalf("no accounts yet: %v, %v", all, err)
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	names := []string{"alice", "bob.smith", "zoë"}
	for _, n := range names {
		if err := st.CreateAccount(store.Account{Key: n, Name: "Spelled " + n, Hash: "h1", Created: created}); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	if err := st.CreateAccount(store.Account{Key: "alice", Name: "Alice", Hash: "other"}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	a, ok, err := st.Account("bob.smith")
	if err != nil || !ok || a.Name != "Spelled bob.smith" || a.Hash != "h1" || !a.Created.Equal(created) {
		t.Fatalf("Account = %+v %v %v", a, ok, err)
	}
	if _, ok, err := st.Account("nobody"); ok || err != nil {
		t.Fatalf("absent account: %v %v", ok, err)
	}
	if err := st.SetPassword("zoë", "h2"); err != nil {
		t.Fatal(err)
	}
	if a, _, _ := st.Account("zoë"); a.Hash != "h2" || a.Name != "Spelled zoë" {
		t.Fatalf("after SetPassword: %+v", a)
	}
	if err := st.SetPassword("nobody", "h"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPassword(nobody): %v", err)
	}
	all, err := st.Accounts()
	if err != nil || len(all) != 3 || all[0].Key != "alice" || all[2].Key != "zoë" {
		t.Fatalf("Accounts = %+v, %v", all, err)
	}
	if ok, err := st.DeleteAccount("alice"); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, err := st.DeleteAccount("alice"); ok || err != nil {
		t.Fatalf("second delete: %v %v", ok, err)
	}
	if _, ok, _ := st.Account("alice"); ok {
		t.Fatal("deleted account still there")
	}
	if err := st.SetPassword("alice", "h"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPassword(deleted): %v", err)
	}
	if all, _ := st.Accounts(); len(all) != 2 {
		t.Fatalf("Accounts after delete: %+v", all)
	}
	if err := st.CreateAccount(store.Account{Key: "alice", Name: "Alice again", Hash: "h3"}); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
	// Another node sees the same accounts.
	other := openLog(t, Options{URLs: []string{s.URL()}, Node: "n2"})
	if a, ok, _ := other.Store().Account("alice"); !ok || a.Name != "Alice again" {
		t.Fatalf("other node: %+v %v", a, ok)
	}
	if st.Epoch() != l.Epoch() || st.NextID() < 1 {
		t.Fatalf("epoch %s / %s, next id %d", st.Epoch(), l.Epoch(), st.NextID())
	}
	if err := st.Commit(&store.Batch{}); err == nil {
		t.Fatal("Commit accepted")
	}
}
