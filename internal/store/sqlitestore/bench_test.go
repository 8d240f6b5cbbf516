package sqlitestore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"pynet/internal/store"
)

// BenchmarkCommit commits batches of 1, 16 and 128 messages of 100 bytes
// (public ones over 8 rooms, every 8th a private) with each fsync policy,
// with the default retention, and reports messages per second.
func BenchmarkCommit(b *testing.B) {
	for _, fsync := range []string{"batch", "always"} {
		for _, size := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("fsync=%s/batch=%d", fsync, size), func(b *testing.B) {
				benchCommit(b, fsync, size, 100000)
			})
		}
	}
}

// BenchmarkCommitPruning is BenchmarkCommit with a retention small enough
// that pruning runs all along (Retain 1000, slack 15: a room or pair past
// 1015 messages loses its 16 oldest).
func BenchmarkCommitPruning(b *testing.B) {
	for _, size := range []int{1, 128} {
		b.Run(fmt.Sprintf("fsync=batch/batch=%d", size), func(b *testing.B) {
			benchCommit(b, "batch", size, 1000)
		})
	}
}

func benchCommit(b *testing.B, fsync string, size, retain int) {
	text := strings.Repeat("x", 100)
	s, err := Open(b.TempDir(), Options{Fsync: fsync, Retain: retain})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	id := s.NextID() - 1
	batch := &store.Batch{Messages: make([]store.Message, size)}
	now := time.Now()
	for b.Loop() {
		for j := range batch.Messages {
			id++
			m := store.Message{ID: id, TS: now, From: "bench", Text: text, FromKey: "s:bench",
				Session: "bench", Ref: fmt.Sprint(id)}
			if id%8 == 0 {
				m.To, m.ToKey = "peer", "a:peer"
			} else {
				m.Room = fmt.Sprintf("room%d", id%8)
			}
			batch.Messages[j] = m
		}
		if err := s.Commit(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "msgs/s")
}
