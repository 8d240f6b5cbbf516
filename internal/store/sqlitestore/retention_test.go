package sqlitestore

import (
	"slices"
	"testing"

	"pynet/internal/store"
)

func roomIDs(t *testing.T, s *Store, room string) []int64 {
	t.Helper()
	msgs, err := s.RoomMessages(room, 0, 1<<40, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return ids(msgs)
}

func privIDs(t *testing.T, s *Store, since int64, keys ...string) ([]int64, bool) {
	t.Helper()
	msgs, gap, err := s.Privates(keys, since, 1<<40, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return ids(msgs), gap
}

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Retain: 3})
	// One batch: room a gets 1..6, room b 7..8; privates: x↔y (both
	// directions) 9..13, y↔z 14..15.
	var b []store.Message
	for id := int64(1); id <= 6; id++ {
		b = append(b, pub(id, "a"))
	}
	b = append(b, pub(7, "b"), pub(8, "b"),
		priv(9, "s:x", "a:y"), priv(10, "a:y", "s:x"), priv(11, "s:x", "a:y"), priv(12, "a:y", "s:x"),
		priv(13, "s:x", "a:y"), priv(14, "a:y", "a:z"), priv(15, "a:z", "a:y"))
	commit(t, s, b...)

	if got := roomIDs(t, s, "a"); !slices.Equal(got, []int64{4, 5, 6}) {
		t.Errorf("room a keeps %v", got)
	}
	if got := roomIDs(t, s, "b"); !slices.Equal(got, []int64{7, 8}) {
		t.Errorf("room b keeps %v", got)
	}
	if rs, _ := s.RoomStats("a", 0, 100); rs != (store.RoomStats{Count: 3, Pruned: 3}) {
		t.Errorf("RoomStats(a) = %+v", rs)
	}
	if rs, _ := s.RoomStats("b", 0, 100); rs != (store.RoomStats{Count: 2}) {
		t.Errorf("RoomStats(b) = %+v", rs)
	}
	// x↔y keeps 11..13 (pruned up to 10); y↔z is whole.
	for _, c := range []struct {
		keys  []string
		since int64
		want  []int64
		gap   bool
	}{
		{[]string{"s:x"}, 0, []int64{11, 12, 13}, true},
		{[]string{"s:x"}, 9, []int64{11, 12, 13}, true},
		{[]string{"s:x"}, 10, []int64{11, 12, 13}, false},
		{[]string{"a:y"}, 0, []int64{11, 12, 13, 14, 15}, true},
		{[]string{"a:z"}, 0, []int64{14, 15}, false},
	} {
		got, gap := privIDs(t, s, c.since, c.keys...)
		if !slices.Equal(got, c.want) || gap != c.gap {
			t.Errorf("Privates(%q, %d) = %v gap %v, want %v gap %v", c.keys, c.since, got, gap, c.want, c.gap)
		}
	}

	// One message at a time.
	for id := int64(16); id <= 20; id++ {
		commit(t, s, pub(id, "b"))
	}
	if got := roomIDs(t, s, "b"); !slices.Equal(got, []int64{18, 19, 20}) {
		t.Errorf("room b keeps %v", got)
	}
	if rs, _ := s.RoomStats("b", 17, 100); rs != (store.RoomStats{Count: 3, Pruned: 17}) {
		t.Errorf("RoomStats(b, 17) = %+v", rs)
	}
	commit(t, s, priv(21, "a:z", "a:y"), priv(22, "a:y", "a:z"))
	if got, gap := privIDs(t, s, 0, "a:z"); !slices.Equal(got, []int64{15, 21, 22}) || !gap {
		t.Errorf("Privates(a:z) = %v gap %v", got, gap)
	}
	if got, gap := privIDs(t, s, 14, "a:z"); !slices.Equal(got, []int64{15, 21, 22}) || gap {
		t.Errorf("Privates(a:z, 14) = %v gap %v", got, gap)
	}
	// A private to oneself is a pair too.
	for id := int64(23); id <= 27; id++ {
		commit(t, s, priv(id, "s:me", "s:me"))
	}
	if got, gap := privIDs(t, s, 0, "s:me"); !slices.Equal(got, []int64{25, 26, 27}) || !gap {
		t.Errorf("Privates(s:me) = %v gap %v", got, gap)
	}

	// After a reopen the counts come from the database.
	s.Close()
	s = mustOpen(t, dir, Options{Retain: 3})
	id := s.NextID()
	commit(t, s, pub(id, "a"), priv(id+1, "s:x", "a:y"))
	if got := roomIDs(t, s, "a"); !slices.Equal(got, []int64{5, 6, id}) {
		t.Errorf("room a after reopen keeps %v", got)
	}
	if got, _ := privIDs(t, s, 10, "s:x"); !slices.Equal(got, []int64{12, 13, id + 1}) {
		t.Errorf("x↔y after reopen keeps %v", got)
	}
	if rs, _ := s.RoomStats("a", 0, 1<<40); rs.Pruned != 4 {
		t.Errorf("room a pruned up to %d, want 4", rs.Pruned)
	}

	// Retain 0 keeps everything.
	s.Close()
	s = mustOpen(t, dir, Options{})
	id = s.NextID()
	commit(t, s, pub(id, "a"), pub(id+1, "a"))
	if got := roomIDs(t, s, "a"); len(got) != 5 {
		t.Errorf("with Retain 0 room a keeps %v", got)
	}
}

// TestRetentionBudget: a backlog larger than a commit's budget is pruned
// over the next commits, even ones that do not touch its room.
func TestRetentionBudget(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{Retain: 10})
	n := int64(2*pruneBudget + 100)
	var b []store.Message
	for id := int64(1); id <= n; id++ {
		b = append(b, pub(id, "big"))
	}
	commit(t, s, b...)
	if got := len(roomIDs(t, s, "big")); got != int(n)-pruneBudget {
		t.Fatalf("after one commit room big has %d, want %d", got, int(n)-pruneBudget)
	}
	commit(t, s, pub(n+1, "other"))
	if got := len(roomIDs(t, s, "big")); got != int(n)-2*pruneBudget {
		t.Fatalf("after two commits room big has %d, want %d", got, int(n)-2*pruneBudget)
	}
	commit(t, s, pub(n+2, "other"))
	if got := roomIDs(t, s, "big"); !slices.Equal(got, idRange(n-9, n)) {
		t.Fatalf("after three commits room big has %v", got)
	}
	if len(s.ret.pending) != 0 {
		t.Errorf("still pending: %v", s.ret.pending)
	}
	if rs, _ := s.RoomStats("big", 0, 1<<40); rs != (store.RoomStats{Count: 10, Pruned: n - 10}) {
		t.Errorf("RoomStats(big) = %+v", rs)
	}
}

// TestRetentionSlack: with a larger Retain the store lets a count pass it
// by the slack before pruning, then prunes down to Retain.
func TestRetentionSlack(t *testing.T) {
	const retain = 640 // slack 10
	s := mustOpen(t, t.TempDir(), Options{Retain: retain})
	if s.ret.slack != 10 {
		t.Fatalf("slack %d", s.ret.slack)
	}
	id := int64(0)
	for range retain + 10 {
		id++
		commit(t, s, pub(id, "r"))
	}
	if got := len(roomIDs(t, s, "r")); got != retain+10 {
		t.Errorf("pruned before the slack: %d", got)
	}
	id++
	commit(t, s, pub(id, "r"))
	if got := roomIDs(t, s, "r"); !slices.Equal(got, idRange(id-retain+1, id)) {
		t.Errorf("after passing the slack: %d messages from %d", len(got), got[0])
	}
}
