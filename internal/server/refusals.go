package server

import (
	"log/slog"
	"sync"
	"time"
)

// refusalLog turns a flood of refused connections (server_full, ip_limit)
// into counted summaries: the first refusal of a quiet spell is logged at
// once, the rest are counted and logged as one line per interval. An
// attacker cannot make the server write a log line per connection.
type refusalLog struct {
	mu     sync.Mutex
	counts map[string]int
	last   time.Time
}

const refusalLogEvery = 10 * time.Second

func (l *refusalLog) note(log *slog.Logger, reason string) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) >= refusalLogEvery {
		counts := l.counts
		l.counts, l.last = nil, now
		l.mu.Unlock()
		for r, n := range counts {
			log.Warn("connections refused", "reason", r, "count", n, "within", refusalLogEvery)
		}
		log.Warn("connection refused", "reason", reason)
		return
	}
	if l.counts == nil {
		l.counts = make(map[string]int)
	}
	l.counts[reason]++
	l.mu.Unlock()
}
