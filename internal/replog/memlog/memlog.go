// Package memlog is a replicated log in one process's memory: the smallest
// thing that satisfies replog.Log. Several pynet servers in one process
// (tests, and the learner's experiments) share one Shared log and behave as
// one cluster; nothing survives the process. The real log is JetStream
// (package cluster). Standard library only.
package memlog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"pynet/internal/replog"
	"pynet/internal/store"
)

// Shared is the log itself, shared by the nodes (Node) of one cluster.
type Shared struct {
	mu       sync.Mutex
	cond     *sync.Cond
	entries  []replog.Entry // in order; entries[i].Seq == first+i
	times    []time.Time
	ids      map[string]uint64 // de-duplication: msgID → seq
	epoch    string
	snapSeq  uint64
	snap     []byte
	accounts map[string]store.Account
	beats    map[string]time.Time
	down     bool          // Publish fails while true: a log that cannot be reached
	lease    time.Duration // how long a node stays listed after its last Beat
}

// SetLease changes how long a node stays listed after its last Beat
// (default 3 s).
func (s *Shared) SetLease(d time.Duration) {
	s.mu.Lock()
	s.lease = d
	s.mu.Unlock()
}

// New returns an empty log.
func New() *Shared {
	s := &Shared{ids: make(map[string]uint64), accounts: make(map[string]store.Account),
		beats: make(map[string]time.Time), lease: 3 * time.Second,
		epoch: fmt.Sprintf("mem%x", time.Now().UnixNano())}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// SetDown makes every Publish fail (true) or work again (false).
func (s *Shared) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// Node returns a node's view of the log.
func (s *Shared) Node(name string) *Node { return &Node{s: s, name: name, done: make(chan struct{})} }

// Node is one node's handle on a Shared log; it implements replog.Log.
type Node struct {
	s    *Shared
	name string
	once sync.Once
	done chan struct{}
	cut  bool // guarded by s.mu: this node alone cannot reach the log
}

// SetCut cuts this node off the log (true) or lets it back (false): while
// cut off its Publish and Beat fail and its Follow waits, as for a node
// whose link to NATS is down while the others go on.
func (n *Node) SetCut(cut bool) {
	n.s.mu.Lock()
	n.cut = cut
	n.s.cond.Broadcast()
	n.s.mu.Unlock()
}

var _ replog.Log = (*Node)(nil)

func (n *Node) Node() string  { return n.name }
func (n *Node) Epoch() string { return n.s.epoch }

// Publish appends at once; done runs on its own goroutine, like a network
// acknowledgement. Entries of one caller keep their order.
func (n *Node) Publish(subject, msgID string, data []byte, done func(replog.PubAck, error)) {
	s := n.s
	s.mu.Lock()
	var ack replog.PubAck
	var err error
	switch {
	case s.down || n.cut || n.closed():
		err = fmt.Errorf("memlog: %w", replog.ErrUnavailable)
	case msgID != "" && s.ids[msgID] != 0:
		ack = replog.PubAck{Seq: s.ids[msgID], Duplicate: true}
	default:
		ack.Seq = uint64(len(s.entries)) + 1
		s.entries = append(s.entries, replog.Entry{Seq: ack.Seq, Subject: subject, Data: slices.Clone(data)})
		s.times = append(s.times, time.Now())
		if msgID != "" {
			s.ids[msgID] = ack.Seq
		}
		s.cond.Broadcast()
	}
	s.mu.Unlock()
	go done(ack, err)
}

// Follow applies entries from one goroutine until Close.
func (n *Node) Follow(after uint64, apply func(replog.Entry), caughtUp func(), fail func(error)) {
	s := n.s
	go func() {
		<-n.done
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	go func() {
		next := after + 1
		caught := false
		for {
			s.mu.Lock()
			for (uint64(len(s.entries)) < next || n.cut) && !n.closed() {
				if !caught && !n.cut {
					caught = true
					s.mu.Unlock()
					caughtUp()
					s.mu.Lock()
					continue
				}
				s.cond.Wait()
			}
			if n.closed() {
				s.mu.Unlock()
				return
			}
			batch := slices.Clone(s.entries[next-1:])
			s.mu.Unlock()
			for _, e := range batch {
				if e.Subject != "" { // not trimmed
					apply(e)
				}
			}
			next += uint64(len(batch))
		}
	}()
}

func (n *Node) closed() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

func (n *Node) LastSeq() (uint64, error) {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	return uint64(len(n.s.entries)), nil
}

func (n *Node) Since(t time.Time, upto uint64) ([]replog.Entry, error) {
	s := n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []replog.Entry
	for i, e := range s.entries {
		if e.Seq <= upto && !s.times[i].Before(t) && isMessage(e.Subject) {
			out = append(out, e)
		}
	}
	return out, nil
}

func isMessage(subject string) bool {
	return strings.Contains(subject, ".m.") || strings.Contains(subject, ".d.")
}

func (n *Node) SaveSnapshot(seq uint64, data []byte) error {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	n.s.snapSeq, n.s.snap = seq, slices.Clone(data)
	return nil
}

func (n *Node) LoadSnapshot() (uint64, []byte, error) {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	return n.s.snapSeq, slices.Clone(n.s.snap), nil
}

// Trim removes control entries below seq (their sequence numbers stay
// unused, as in a stream).
func (n *Node) Trim(seq uint64) error {
	s := n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.entries {
		if e := &s.entries[i]; e.Seq < seq && !isMessage(e.Subject) {
			e.Subject, e.Data = "", nil
		}
	}
	return nil
}

func (n *Node) Beat() error {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	if n.closed() || n.s.down || n.cut {
		return fmt.Errorf("memlog: %w", replog.ErrUnavailable)
	}
	n.s.beats[n.name] = time.Now()
	return nil
}

// Lease is how long a node stays listed after its last Beat.
func (n *Node) Lease() time.Duration {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	return n.s.lease
}

func (n *Node) Nodes() ([]string, error) {
	s := n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name, t := range s.beats {
		if time.Since(t) < s.lease {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Close stops Follow and removes the node's lease at once.
func (n *Node) Close() error {
	n.once.Do(func() {
		close(n.done)
		n.s.mu.Lock()
		delete(n.s.beats, n.name)
		n.s.mu.Unlock()
	})
	return nil
}

func (n *Node) Store() store.Store { return memStore{n} }

// memStore serves history and accounts from the log.
type memStore struct{ n *Node }

func (m memStore) messages(match func(replog.Entry) bool) []store.Message {
	s := m.n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Message
	for _, e := range s.entries {
		if isMessage(e.Subject) && match(e) {
			if msg, err := replog.Message(e); err == nil {
				out = append(out, msg)
			}
		}
	}
	return out
}

func (m memStore) Epoch() string { return m.n.s.epoch }
func (m memStore) NextID() int64 { seq, _ := m.n.LastSeq(); return int64(seq) + 1 }
func (m memStore) Commit(*store.Batch) error {
	return errors.New("memlog: Commit is not used in a cluster")
}

func (m memStore) RoomMessages(room string, since, upto int64, limit int) ([]store.Message, error) {
	subj := replog.RoomSubject(replog.DefaultPrefix, room)
	out := m.messages(func(e replog.Entry) bool {
		return e.Subject == subj && int64(e.Seq) > since && int64(e.Seq) <= upto
	})
	return out[:min(len(out), limit)], nil
}

func (m memStore) RoomTail(room string, upto int64, n int) ([]store.Message, error) {
	subj := replog.RoomSubject(replog.DefaultPrefix, room)
	out := m.messages(func(e replog.Entry) bool { return e.Subject == subj && int64(e.Seq) <= upto })
	return out[max(0, len(out)-n):], nil
}

func (m memStore) RoomStats(room string, since, upto int64) (store.RoomStats, error) {
	msgs, _ := m.RoomMessages(room, since, upto, 1<<30)
	return store.RoomStats{Count: len(msgs)}, nil
}

func (m memStore) Privates(keys []string, since, upto int64, limit int) ([]store.Message, bool, error) {
	out := m.messages(func(e replog.Entry) bool {
		if !strings.Contains(e.Subject, ".d.") || int64(e.Seq) <= since || int64(e.Seq) > upto {
			return false
		}
		msg, err := replog.Message(e)
		return err == nil && (slices.Contains(keys, msg.FromKey) || slices.Contains(keys, msg.ToKey))
	})
	return out[:min(len(out), limit)], len(out) > limit, nil
}

func (m memStore) RecentRefs(time.Time) ([]store.Message, error) { return nil, nil }
func (m memStore) Sessions() ([]store.Session, error)            { return nil, nil }
func (m memStore) Close() error                                  { return nil }

func (m memStore) Account(key string) (store.Account, bool, error) {
	s := m.n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[key]
	return a, ok, nil
}

func (m memStore) Accounts() ([]store.Account, error) {
	s := m.n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Account
	for _, a := range s.accounts {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b store.Account) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (m memStore) CreateAccount(a store.Account) error {
	s := m.n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[a.Key]; ok {
		return store.ErrExists
	}
	s.accounts[a.Key] = a
	return nil
}

func (m memStore) SetPassword(key, hash string) error {
	s := m.n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[key]
	if !ok {
		return store.ErrNotFound
	}
	a.Hash = hash
	s.accounts[key] = a
	return nil
}

func (m memStore) DeleteAccount(key string) (bool, error) {
	s := m.n.s
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.accounts[key]
	delete(s.accounts, key)
	return ok, nil
}
