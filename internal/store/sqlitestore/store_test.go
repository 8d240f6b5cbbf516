package sqlitestore

import (
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/store"
)

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := mustOpen(t, dir, Options{})
	if e := s.Epoch(); len(e) < 22 {
		t.Errorf("epoch %q: want ≥ 128 bits", e)
	}
	if got := s.NextID(); got != 1 {
		t.Errorf("NextID of a new store = %d, want 1", got)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {s.Path(), 0o600}, {s.Path() + "-wal", 0o600}, {s.Path() + "-shm", 0o600}} {
		if fi, err := os.Stat(p.path); err != nil {
			t.Error(err)
		} else if fi.Mode() != p.mode {
			t.Errorf("%s: mode %v, want %v", p.path, fi.Mode(), p.mode)
		}
	}

	all := []store.Message{
		pub(1, "lobby"),
		{ID: 2, TS: ts(2), Room: "lobby", From: "Bob", Text: "waves", Action: true, FromKey: "s:b1",
			Session: "b1", Ref: "r2"},
		pub(3, "dev"),
		priv(4, "a:alice", "s:b1"),
		pub(5, "lobby"),
		priv(6, "s:b1", "a:alice"),
		priv(7, "a:carol", "s:b1"),
		{ID: 8, TS: ts(8), From: "Carol", To: "Alice", Text: "x", FromKey: "a:carol", ToKey: "a:alice",
			Session: "c1", Ref: "r8"},
	}
	sessions := []store.Session{
		{ID: "b1", TokenHash: "th1", Name: "Bob", Rooms: []string{"lobby", "dev"}, Addr: "10.0.0.1",
			LastID: 8, Updated: ts(8)},
		{ID: "c1", TokenHash: "th2", Name: "Carol", Account: "carol", Addr: "10.0.0.2", LastID: 3, Updated: ts(3)},
		{ID: "gone", TokenHash: "th3", Name: "Dan", Updated: ts(1)},
	}
	if err := s.Commit(&store.Batch{Messages: all[:4], Sessions: sessions}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(&store.Batch{Messages: all[4:], Ended: []string{"gone", "never-saved"}}); err != nil {
		t.Fatal(err)
	}

	// RoomMessages: (since, upto], oldest first, limit.
	got, err := s.RoomMessages("lobby", 0, 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Message{all[0], all[1], all[4]}; !reflect.DeepEqual(got, want) {
		t.Errorf("RoomMessages(lobby) =\n%+v\nwant\n%+v", got, want)
	}
	for _, c := range []struct {
		since, upto int64
		limit       int
		want        []int64
	}{
		{1, 100, 10, []int64{2, 5}},
		{0, 4, 10, []int64{1, 2}},
		{0, 100, 2, []int64{1, 2}},
		{5, 100, 10, []int64{}},
		{0, 100, 0, []int64{}},
	} {
		got, err := s.RoomMessages("lobby", c.since, c.upto, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("RoomMessages(lobby, %d, %d, %d) = %v, want %v", c.since, c.upto, c.limit, ids(got), c.want)
		}
	}
	// RoomTail: the last n up to upto, oldest first.
	for _, c := range []struct {
		upto int64
		n    int
		want []int64
	}{{100, 2, []int64{2, 5}}, {4, 1, []int64{2}}, {100, 10, []int64{1, 2, 5}}, {100, 0, []int64{}}} {
		got, err := s.RoomTail("lobby", c.upto, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("RoomTail(lobby, %d, %d) = %v, want %v", c.upto, c.n, ids(got), c.want)
		}
	}
	// RoomStats
	if rs, err := s.RoomStats("lobby", 1, 5); err != nil || rs != (store.RoomStats{Count: 2}) {
		t.Errorf("RoomStats(lobby, 1, 5) = %+v, %v", rs, err)
	}
	if rs, err := s.RoomStats("nowhere", 0, 100); err != nil || rs != (store.RoomStats{}) {
		t.Errorf("RoomStats(nowhere) = %+v, %v", rs, err)
	}
	// Privates, by account key, session key, both.
	for _, c := range []struct {
		keys        []string
		since, upto int64
		limit       int
		want        []int64
		gap         bool
	}{
		{[]string{"a:alice"}, 0, 100, 10, []int64{4, 6, 8}, false},
		{[]string{"s:b1"}, 0, 100, 10, []int64{4, 6, 7}, false},
		{[]string{"s:b1", "a:alice"}, 0, 100, 10, []int64{4, 6, 7, 8}, false},
		{[]string{"s:b1", "a:alice", "s:b1", ""}, 4, 7, 10, []int64{6, 7}, false},
		{[]string{"s:b1", "a:alice"}, 0, 100, 2, []int64{4, 6}, true},
		{[]string{"s:b1", "a:alice"}, 0, 100, 0, []int64{}, true},
		{[]string{"a:carol"}, 7, 100, 1, []int64{8}, false},
		{[]string{"a:nobody"}, 0, 100, 10, []int64{}, false},
		{nil, 0, 100, 10, []int64{}, false},
	} {
		got, gap, err := s.Privates(c.keys, c.since, c.upto, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), c.want) || gap != c.gap {
			t.Errorf("Privates(%q, %d, %d, %d) = %v gap %v, want %v gap %v",
				c.keys, c.since, c.upto, c.limit, ids(got), gap, c.want, c.gap)
		}
	}
	if got, _, _ := s.Privates([]string{"a:carol"}, 0, 100, 10); !reflect.DeepEqual(got, []store.Message{all[6], all[7]}) {
		t.Errorf("Privates(a:carol) = %+v", got)
	}
	// RecentRefs
	if got, err := s.RecentRefs(ts(2)); err != nil || !reflect.DeepEqual(got, []store.Message{all[1], all[7]}) {
		t.Errorf("RecentRefs(ts 2) = %+v, %v", got, err)
	}
	// Sessions: saved ones, "gone" ended; no rooms comes back nil.
	gotS, err := s.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotS, sessions[:2]) {
		t.Errorf("Sessions() =\n%+v\nwant\n%+v", gotS, sessions[:2])
	}
	// A session saved again is replaced.
	up := sessions[0]
	up.Rooms, up.LastID, up.TokenHash = []string{"dev"}, 9, "th9"
	if err := s.Commit(&store.Batch{Sessions: []store.Session{up}, Ended: []string{"c1"}}); err != nil {
		t.Fatal(err)
	}
	if gotS, _ := s.Sessions(); !reflect.DeepEqual(gotS, []store.Session{up}) {
		t.Errorf("Sessions() after update = %+v", gotS)
	}

	// Accounts
	accs := []store.Account{
		{Key: "zed", Name: "Zed", Hash: "$argon2id$z", Created: ts(50)},
		{Key: "amy", Name: "AMY", Hash: "$argon2id$a", Created: ts(51)},
	}
	for _, a := range accs {
		if err := s.CreateAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	mustErr(t, s.CreateAccount(store.Account{Key: "amy", Name: "Amy2", Hash: "h"}), store.ErrExists)
	if a, ok, err := s.Account("amy"); err != nil || !ok || a != accs[1] {
		t.Errorf("Account(amy) = %+v %v %v", a, ok, err)
	}
	if _, ok, err := s.Account("bob"); err != nil || ok {
		t.Errorf("Account(bob) = %v %v", ok, err)
	}
	if got, err := s.Accounts(); err != nil || !reflect.DeepEqual(got, []store.Account{accs[1], accs[0]}) {
		t.Errorf("Accounts() = %+v %v", got, err)
	}
	if err := s.SetPassword("zed", "$argon2id$new"); err != nil {
		t.Fatal(err)
	}
	mustErr(t, s.SetPassword("bob", "h"), store.ErrNotFound)
	if a, _, _ := s.Account("zed"); a.Hash != "$argon2id$new" {
		t.Errorf("hash after SetPassword = %q", a.Hash)
	}
	if ok, err := s.DeleteAccount("zed"); err != nil || !ok {
		t.Errorf("DeleteAccount(zed) = %v %v", ok, err)
	}
	if ok, err := s.DeleteAccount("zed"); err != nil || ok {
		t.Errorf("DeleteAccount(zed) again = %v %v", ok, err)
	}
	if got, _ := s.Accounts(); !reflect.DeepEqual(got, []store.Account{accs[1]}) {
		t.Errorf("Accounts() after delete = %+v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestOddPath: the path reaches SQLite intact whatever its characters.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?x=1&y#frag%20", "data")
	s := mustOpen(t, dir, Options{})
	commit(t, s, pub(1, "r"))
	if got, err := s.RoomMessages("r", 0, 1, 1); err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files in %s: %v", dir, entries)
	}
}

func TestTimesAreUTCMilliseconds(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	local := time.FixedZone("X", 3*3600)
	at := time.Date(2025, 6, 1, 10, 20, 30, 123456789, local)
	m := pub(1, "r")
	m.TS = at
	commit(t, s, m)
	got, err := s.RoomMessages("r", 0, 1, 1)
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	want := at.Truncate(time.Millisecond).UTC()
	if got[0].TS != want || got[0].TS.Location() != time.UTC {
		t.Errorf("TS = %v (%v), want %v", got[0].TS, got[0].TS.Location(), want)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{CeilingStep: 50})
	epoch := s.Epoch()
	commit(t, s, pub(1, "r"), priv(2, "a:x", "a:y"))
	commit(t, s, pub(3, "r"))
	if err := s.CreateAccount(store.Account{Key: "x", Name: "X", Hash: "h", Created: ts(1)}); err != nil {
		t.Fatal(err)
	}
	sess := store.Session{ID: "s1", TokenHash: "t", Name: "N", Rooms: []string{"r"}, LastID: 3, Updated: ts(3)}
	if err := s.Commit(&store.Batch{Sessions: []store.Session{sess}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path() + "-wal"); !os.IsNotExist(err) {
		t.Errorf("WAL file left after Close: %v", err)
	}

	s = mustOpen(t, dir, Options{CeilingStep: 50})
	if s.Epoch() != epoch {
		t.Errorf("epoch changed: %q then %q", epoch, s.Epoch())
	}
	if got := s.NextID(); got != 2+50+1 { // the first batch went up to 2
		t.Errorf("NextID after reopen = %d, want %d (first batch's top + step + 1)", got, 2+50+1)
	}
	if got, _ := s.RoomMessages("r", 0, 100, 10); !slices.Equal(ids(got), []int64{1, 3}) {
		t.Errorf("messages after reopen: %v", ids(got))
	}
	if got, _, _ := s.Privates([]string{"a:y"}, 0, 100, 10); !slices.Equal(ids(got), []int64{2}) {
		t.Errorf("privates after reopen: %v", ids(got))
	}
	if _, ok, _ := s.Account("x"); !ok {
		t.Error("account lost")
	}
	if got, _ := s.Sessions(); !reflect.DeepEqual(got, []store.Session{sess}) {
		t.Errorf("sessions after reopen: %+v", got)
	}
	// Ids must stay above what was committed.
	mustErr(t, s.Commit(&store.Batch{Messages: []store.Message{pub(3, "r")}}), errNotAbove)
	commit(t, s, pub(s.NextID(), "r"))
}

// TestCeiling checks the rule: a commit with an id above the ceiling raises
// it to that id + CeilingStep, synced; NextID at Open is
// max(ceiling, highest id) + 1.
func TestCeiling(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{CeilingStep: 100})
	if got := meta(t, s, "ceiling"); got != 0 {
		t.Fatalf("ceiling of a new store = %d", got)
	}
	commit(t, s, pub(5, "r"))
	if got := meta(t, s, "ceiling"); got != 105 {
		t.Fatalf("ceiling after id 5 = %d, want 105", got)
	}
	if got := synced(s); got != 1 {
		t.Errorf("the raising commit was not synced (%d synced)", got)
	}
	s.Close()

	s = mustOpen(t, dir, Options{CeilingStep: 100})
	if got := s.NextID(); got != 106 {
		t.Fatalf("NextID after reopen = %d, want 106", got)
	}
	// Up to the ceiling: no raise, and in batch mode no sync.
	commit(t, s, pub(105, "r")) // the ceiling itself
	if got := meta(t, s, "ceiling"); got != 105 {
		t.Errorf("ceiling raised to %d by id 105", got)
	}
	if got := synced(s); got != 0 {
		t.Errorf("%d commits synced in batch mode without a raise", got)
	}
	var batch []store.Message
	for id := int64(106); id <= 205; id++ {
		batch = append(batch, pub(id, "r"))
	}
	commit(t, s, batch...)
	if got := meta(t, s, "ceiling"); got != 305 {
		t.Errorf("ceiling after a batch up to 205 = %d, want 305", got)
	}
	if got := synced(s); got != 1 {
		t.Errorf("raising commit synced %d times", got)
	}
	commit(t, s, pub(305, "r"))
	if got := meta(t, s, "ceiling"); got != 305 {
		t.Errorf("ceiling moved to %d by id 305", got)
	}
	s.Close()
	s = mustOpen(t, dir, Options{})
	if got := s.NextID(); got != 306 {
		t.Errorf("NextID = %d, want 306", got)
	}
}

// TestNextIDAboveMessages: a message above the ceiling (an older
// database, or a smaller step) still bounds NextID.
func TestNextIDAboveMessages(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{CeilingStep: 10})
	commit(t, s, pub(3, "r"))
	if _, err := s.wc.ExecContext(t.Context(), `UPDATE meta SET value = 1 WHERE key = 'ceiling'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, dir, Options{})
	if got := s.NextID(); got != 4 {
		t.Errorf("NextID = %d, want 4", got)
	}
}

func TestFsyncAlways(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{Fsync: "always"})
	for id := int64(1); id <= 3; id++ {
		commit(t, s, pub(id, "r"))
	}
	if err := s.CreateAccount(store.Account{Key: "k", Name: "K"}); err != nil {
		t.Fatal(err)
	}
	if got := synced(s); got != 4 {
		t.Errorf("%d writes synced of 4", got)
	}
	var lvl int
	if err := s.wc.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&lvl); err != nil || lvl != 2 {
		t.Errorf("synchronous = %d (%v), want 2 (FULL)", lvl, err)
	}
}

// TestBatchSyncTimer: in batch mode an unsynced commit is synced by the
// timer once it has waited syncEvery.
func TestBatchSyncTimer(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.syncEvery = 20 * time.Millisecond
	s.syncedCh = ch
	s.mu.Unlock()
	commit(t, s, pub(1, "r")) // raises the ceiling: synced
	commit(t, s, pub(2, "r")) // not synced
	s.mu.Lock()
	dirty := !s.dirtySince.IsZero()
	n := s.nSynced
	s.mu.Unlock()
	if !dirty || n != 1 {
		t.Fatalf("after an unsynced commit: dirty %v, synced %d", dirty, n)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no background sync")
	}
	s.mu.Lock()
	dirty = !s.dirtySince.IsZero()
	n = s.nSynced
	s.mu.Unlock()
	if dirty || n != 2 {
		t.Errorf("after the background sync: dirty %v, synced %d", dirty, n)
	}
	var lvl int
	if err := s.wc.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&lvl); err != nil || lvl != 2 {
		t.Errorf("synchronous after a FULL write = %d (%v)", lvl, err)
	}
	// The next commit goes back to NORMAL.
	commit(t, s, pub(3, "r"))
	if err := s.wc.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&lvl); err != nil || lvl != 1 {
		t.Errorf("synchronous after a batch write = %d (%v)", lvl, err)
	}
}

// TestBatchSyncPiggyback: a commit made when the store has been dirty for
// syncEvery is synced itself.
func TestBatchSyncPiggyback(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	commit(t, s, pub(1, "r"))
	commit(t, s, pub(2, "r"))
	s.mu.Lock()
	s.dirtySince = s.dirtySince.Add(-time.Hour) // as if an hour ago
	s.mu.Unlock()
	commit(t, s, pub(3, "r"))
	s.mu.Lock()
	dirty, n := !s.dirtySince.IsZero(), s.nSynced
	s.mu.Unlock()
	if dirty || n != 2 {
		t.Errorf("dirty %v, synced %d; want clean, 2", dirty, n)
	}
}

// TestCloseSyncs: Close syncs an unsynced commit.
func TestCloseSyncs(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	commit(t, s, pub(1, "r"))
	commit(t, s, pub(2, "r"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.nSynced != 2 || !s.dirtySince.IsZero() {
		t.Errorf("Close did not sync: synced %d", s.nSynced)
	}
	mustErr(t, s.Commit(&store.Batch{Messages: []store.Message{pub(3, "r")}}), errClosed)
	mustErr(t, s.CreateAccount(store.Account{Key: "k"}), errClosed)
}

// TestVisibleToAnotherConnection: once Commit returns, the rows are in the
// database file for any other connection (another process would see the
// same).
func TestVisibleToAnotherConnection(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	commit(t, s, pub(1, "r"), priv(2, "a:x", "s:y"))
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("another connection sees %d messages (%v)", n, err)
	}
	commit(t, s, pub(3, "r"))
	if err := db.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("another connection sees %d messages (%v)", n, err)
	}
	// And a second store on the same directory.
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Epoch() != s.Epoch() || s2.NextID() <= 3 {
		t.Errorf("second Open: epoch %q (want %q), NextID %d", s2.Epoch(), s.Epoch(), s2.NextID())
	}
	if got, _ := s2.RoomMessages("r", 0, 10, 10); !slices.Equal(ids(got), []int64{1, 3}) {
		t.Errorf("second Open sees %v", ids(got))
	}
}

func TestCommitErrors(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	if err := s.Commit(nil); err != nil {
		t.Errorf("Commit(nil) = %v", err)
	}
	if err := s.Commit(&store.Batch{}); err != nil {
		t.Errorf("Commit(empty) = %v", err)
	}
	commit(t, s, pub(10, "r"))
	mustErr(t, s.Commit(&store.Batch{Messages: []store.Message{pub(10, "r")}}), errNotAbove)
	mustErr(t, s.Commit(&store.Batch{Messages: []store.Message{pub(12, "r"), pub(11, "r")}}), errNotAbove)

	// A write that fails inside the transaction (standing in for a disk
	// error): an error, nothing of the batch kept.
	if _, err := s.wc.ExecContext(t.Context(), `CREATE TEMP TRIGGER fail BEFORE INSERT ON messages
		WHEN NEW.id = 13 BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END`); err != nil {
		t.Fatal(err)
	}
	err := s.Commit(&store.Batch{
		Messages: []store.Message{pub(11, "r"), pub(12, "r"), pub(13, "r")},
		Sessions: []store.Session{{ID: "x", Updated: ts(1)}},
	})
	if err == nil || !strings.Contains(err.Error(), "simulated write failure") || !strings.Contains(err.Error(), s.Path()) {
		t.Fatalf("Commit with a failing write = %v", err)
	}
	if got, _ := s.RoomMessages("r", 0, 100, 10); !slices.Equal(ids(got), []int64{10}) {
		t.Errorf("after a failed commit the store has %v", ids(got))
	}
	if got, _ := s.Sessions(); len(got) != 0 {
		t.Errorf("after a failed commit the store has sessions %v", got)
	}
	if got := meta(t, s, "ceiling"); got != 10+DefaultCeilingStep {
		t.Errorf("ceiling after a failed commit = %d", got)
	}
	// The same ids again, once the failure is gone.
	if _, err := s.wc.ExecContext(t.Context(), `DROP TRIGGER fail`); err != nil {
		t.Fatal(err)
	}
	commit(t, s, pub(11, "r"), pub(12, "r"), pub(13, "r"))
	if got, _ := s.RoomMessages("r", 0, 100, 10); !slices.Equal(ids(got), []int64{10, 11, 12, 13}) {
		t.Errorf("store has %v", ids(got))
	}

	// A failing background sync stops every later write.
	s.mu.Lock()
	s.syncErr = errSimulated
	s.mu.Unlock()
	mustErr(t, s.Commit(&store.Batch{Messages: []store.Message{pub(14, "r")}}), errSimulated)
	mustErr(t, s.Close(), errSimulated)
}

// TestConcurrentReaders reads while the committer writes (run with -race).
func TestConcurrentReaders(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{Retain: 50})
	const commits, per = 60, 8
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	reader := func(read func() error) {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := read(); err != nil {
				errs <- err
				return
			}
		}
	}
	sorted := func(msgs []store.Message) error {
		for i := 1; i < len(msgs); i++ {
			if msgs[i].ID <= msgs[i-1].ID {
				return errorf("not oldest first: %v", ids(msgs))
			}
		}
		return nil
	}
	wg.Add(4)
	go reader(func() error {
		msgs, err := s.RoomMessages("a", 0, 1<<40, 1000)
		if err == nil {
			err = sorted(msgs)
		}
		if err == nil && len(msgs) > 50 { // pruned in the commit's transaction
			err = errorf("room a holds %d > retain", len(msgs))
		}
		return err
	})
	go reader(func() error {
		msgs, _, err := s.Privates([]string{"a:x", "s:y"}, 0, 1<<40, 1000)
		if err == nil {
			err = sorted(msgs)
		}
		return err
	})
	go reader(func() error {
		_, err := s.RoomStats("b", 0, 1<<40)
		return err
	})
	go reader(func() error {
		msgs, err := s.RoomTail("b", 1<<40, 20)
		if err == nil {
			err = sorted(msgs)
		}
		return err
	})
	id := int64(0)
	for range commits {
		var b store.Batch
		for j := range per {
			id++
			switch j % 3 {
			case 0:
				b.Messages = append(b.Messages, pub(id, "a"))
			case 1:
				b.Messages = append(b.Messages, pub(id, "b"))
			default:
				b.Messages = append(b.Messages, priv(id, "a:x", "s:y"))
			}
		}
		if err := s.Commit(&b); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRecentRefs(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	var msgs []store.Message
	for id := int64(1); id <= 10; id++ {
		m := pub(id, "r")
		if id%2 == 0 {
			m.Session, m.Ref = "s", "ref"
		}
		if id == 9 {
			m.Session = "s" // no ref: nothing to de-duplicate
		}
		msgs = append(msgs, m)
	}
	p := priv(11, "s:s", "a:b")
	p.Session, p.Ref = "s", "pref"
	msgs = append(msgs, p)
	commit(t, s, msgs...)
	for _, c := range []struct {
		since time.Time
		want  []int64
	}{
		{ts(0), []int64{2, 4, 6, 8, 10, 11}},
		{ts(6), []int64{6, 8, 10, 11}},
		{ts(7), []int64{8, 10, 11}},
		{ts(12), []int64{}},
	} {
		got, err := s.RecentRefs(c.since)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("RecentRefs(ts %v) = %v, want %v", c.since, ids(got), c.want)
		}
	}
}

var numbered = regexp.MustCompile(`\?(\d+)`)

// TestQueryPlans: no statement walks the whole messages table.
func TestQueryPlans(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	qs := append(slices.Clone(readSQL), writeSQL...)
	for n := 1; n <= 3; n++ {
		qs = append(qs, privatesSQL(n), keyPrunedSQL(n))
	}
	args := []any{int64(1), int64(2), int64(3), "a", "b", "c"}
	for len(args) < 16 {
		args = append(args, "x")
	}
	for _, q := range qs {
		n := strings.Count(q, "?") // anonymous parameters
		if m := numbered.FindAllStringSubmatch(q, -1); m != nil {
			n = 0
			for _, x := range m {
				k, _ := strconv.Atoi(x[1])
				n = max(n, k)
			}
		}
		rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+q, args[:n]...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, d := range plan {
			if strings.HasPrefix(d, "SCAN messages") {
				t.Errorf("%s\nwalks the table: %q", q, plan)
			}
		}
	}
}

// Commits never checkpoint (a checkpoint's syncs would delay the messages
// waiting for that commit); the background checkpointer copies the WAL into
// the database file soon after.
func TestBackgroundCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	var auto int
	if err := s.wc.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d (%v), want 0 on the write connection", auto, err)
	}
	db := filepath.Join(dir, FileName)
	size := func() int64 {
		fi, err := os.Stat(db)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for id := int64(1); id <= 2000; id++ {
		commit(t, s, pub(id, "r"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before { // the rows reach the database file only through a checkpoint
		if time.Now().After(deadline) {
			t.Fatalf("the WAL was not checkpointed in the background (database file still %d bytes)", size())
		}
		time.Sleep(20 * time.Millisecond) // polling a state that has no event
	}
}
