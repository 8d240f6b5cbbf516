package sqlitestore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"pynet/internal/store"
)

// t0 is the time stamp of message id 0 in these tests; message id n is
// accepted n seconds later.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ts(id int64) time.Time { return t0.Add(time.Duration(id) * time.Second) }

func pub(id int64, room string) store.Message {
	return store.Message{ID: id, TS: ts(id), Room: room, From: "Alice", Text: fmt.Sprintf("hello %d", id),
		FromKey: "a:alice"}
}

func priv(id int64, fromKey, toKey string) store.Message {
	return store.Message{ID: id, TS: ts(id), From: "from-" + fromKey, To: "to-" + toKey,
		Text: fmt.Sprintf("psst %d", id), FromKey: fromKey, ToKey: toKey}
}

func mustOpen(t testing.TB, dir string, opt Options) *Store {
	t.Helper()
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func commit(t testing.TB, s *Store, msgs ...store.Message) {
	t.Helper()
	if err := s.Commit(&store.Batch{Messages: msgs}); err != nil {
		t.Fatal(err)
	}
}

func ids(msgs []store.Message) []int64 {
	out := []int64{}
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func idRange(from, to int64) []int64 {
	out := []int64{}
	for id := from; id <= to; id++ {
		out = append(out, id)
	}
	return out
}

// meta reads an integer from table meta.
func meta(t testing.TB, s *Store, key string) int64 {
	t.Helper()
	var v int64
	if err := s.rdb.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v); err != nil {
		t.Fatalf("meta %s: %v", key, err)
	}
	return v
}

func synced(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nSynced
}

func mustErr(t testing.TB, err error, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

var errSimulated = errors.New("simulated failure")

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
