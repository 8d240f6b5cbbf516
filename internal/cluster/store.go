package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"pynet/internal/replog"
	"pynet/internal/store"
)

// logStore is the store.Store of a Log: history read from the stream,
// accounts in the PREFIX_ACCOUNTS bucket. Message ids are stream
// sequences.
type logStore struct {
	l *Log

	mu        sync.Mutex
	minRetain int64
	readAt    time.Time
}

var _ store.Store = (*logStore)(nil)

var errCommit = errors.New("cluster: Commit is not used in cluster mode (messages are published to the log)")

func (s *logStore) Epoch() string { return s.l.epoch }

// NextID is the stream's last sequence + 1 (0 if NATS cannot say).
func (s *logStore) NextID() int64 {
	last, err := s.l.LastSeq()
	if err != nil {
		s.l.log.Warn("next id: no last sequence", "err", err)
		return 0
	}
	return int64(last) + 1
}

func (s *logStore) Commit(*store.Batch) error                     { return errCommit }
func (s *logStore) Sessions() ([]store.Session, error)            { return nil, nil }
func (s *logStore) RecentRefs(time.Time) ([]store.Message, error) { return nil, nil }
func (s *logStore) Close() error                                  { return nil }
func readCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
func clampSeq(v int64) uint64 { return uint64(max(v, 0)) }
func (s *logStore) decode(r rawMsg) (store.Message, error) {
	return replog.Message(replog.Entry{Seq: r.Seq, Subject: r.Subject, Data: r.Data})
}
func (s *logStore) roomSubject(room string) string { return replog.RoomSubject(s.l.o.Prefix, room) }
func (s *logStore) decodeAll(rs []rawMsg) ([]store.Message, error) {
	out := make([]store.Message, 0, len(rs))
	for _, r := range rs {
		m, err := s.decode(r)
		if err != nil {
			return nil, fmt.Errorf("cluster: entry %d: %w", r.Seq, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// retainFloor is the smallest per-subject limit the stream ever had (0 if
// never limited), read from the stream's config at most every 10 s.
func (s *logStore) retainFloor(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.readAt.IsZero() && time.Since(s.readAt) < 10*time.Second {
		return s.minRetain, nil
	}
	info, err := s.l.streamInfo(ctx)
	if err != nil {
		return 0, err
	}
	s.minRetain, s.readAt = minRetainOf(info.Config), time.Now()
	return s.minRetain, nil
}

// RoomMessages returns up to limit public messages of room with
// since < id <= upto, oldest first.
func (s *logStore) RoomMessages(room string, since, upto int64, limit int) ([]store.Message, error) {
	if limit <= 0 || upto <= since {
		return nil, nil
	}
	ctx, cancel := readCtx()
	defer cancel()
	if err := s.l.barrier(ctx, clampSeq(upto)); err != nil {
		return nil, err
	}
	rs, err := s.l.readRange(ctx, s.roomSubject(room), clampSeq(since)+1, nil, clampSeq(upto), limit)
	if err != nil {
		return nil, err
	}
	return s.decodeAll(rs)
}

// RoomTail returns the last n public messages of room with id <= upto,
// oldest first.
//
// A room's messages are sparse in the stream, and JetStream reads only
// forwards; but a direct get reports how many messages of the subject
// follow the one it returns. RoomTail counts the room's messages after
// upto, then searches (interpolating on sequence, bisecting when that
// stalls; at most 40 probes of one small request each) for a start from
// which between n and about 1.25n+64 messages remain up to upto, and reads
// those in batches.
func (s *logStore) RoomTail(room string, upto int64, n int) ([]store.Message, error) {
	if n <= 0 || upto <= 0 {
		return nil, nil
	}
	ctx, cancel := readCtx()
	defer cancel()
	u := uint64(upto)
	if err := s.l.barrier(ctx, u); err != nil {
		return nil, err
	}
	subj := s.roomSubject(room)
	first, total, err := s.l.probe(ctx, subj, 1)
	if err != nil || total == 0 || first > u {
		return nil, err
	}
	_, after, err := s.l.probe(ctx, subj, u+1)
	if err != nil {
		return nil, err
	}
	if after > total {
		after = total
	}
	want := uint64(n)
	// c(x) = count of the room's messages in [x, upto].
	lo, clo := first, total-after
	hi, chi := u+1, uint64(0)
	slack := want + want/4 + 64
	for i := 0; clo > slack && hi-lo > 1 && i < 40; i++ {
		var mid uint64
		if i%2 == 0 {
			// interpolate: aim at c(mid) ≈ want + want/8 + 32
			target := want + want/8 + 32
			frac := float64(target-chi) / float64(clo-chi)
			mid = hi - uint64(float64(hi-lo)*frac)
		} else {
			mid = lo + (hi-lo)/2
		}
		mid = min(max(mid, lo+1), hi-1)
		f, c, err := s.l.probe(ctx, subj, mid)
		if err != nil {
			return nil, err
		}
		cm := uint64(0)
		if c > after {
			cm = c - after
		}
		if cm >= want {
			lo, clo = max(f, mid), cm
		} else {
			hi, chi = mid, cm
		}
	}
	rs, err := s.l.readRange(ctx, subj, lo, nil, u, int(clo))
	if err != nil {
		return nil, err
	}
	if len(rs) > n {
		rs = rs[len(rs)-n:]
	}
	return s.decodeAll(rs)
}

// RoomStats counts the room's retained messages in (since, upto]. Pruned
// is the first retained message's id - 1 when the room holds at least as
// many messages as the smallest per-subject limit the stream ever had (so
// retention may have removed older ones), else 0: an upper bound of the
// highest id removed, never below it.
func (s *logStore) RoomStats(room string, since, upto int64) (store.RoomStats, error) {
	ctx, cancel := readCtx()
	defer cancel()
	u := clampSeq(upto)
	if err := s.l.barrier(ctx, u); err != nil {
		return store.RoomStats{}, err
	}
	subj := s.roomSubject(room)
	first, total, err := s.l.probe(ctx, subj, 1)
	if err != nil || total == 0 {
		return store.RoomStats{}, err
	}
	var rs store.RoomStats
	mr, err := s.retainFloor(ctx)
	if err != nil {
		return rs, err
	}
	if mr > 0 && total >= uint64(mr) {
		rs.Pruned = int64(first) - 1
	}
	if upto <= since {
		return rs, nil
	}
	count := func(from uint64) (uint64, error) {
		if from <= first {
			return total, nil
		}
		_, c, err := s.l.probe(ctx, subj, from)
		return c, err
	}
	cs, err := count(clampSeq(since) + 1)
	if err != nil {
		return rs, err
	}
	ca, err := count(u + 1)
	if err != nil {
		return rs, err
	}
	if cs > ca {
		rs.Count = int(cs - ca)
	}
	return rs, nil
}

// Privates returns up to limit privates with since < id <= upto sent by
// or to one of keys, oldest first. gap is true when more matched than
// limit, or when a pair subject of these owners holds as many messages as
// the smallest per-subject limit the stream ever had and its first
// retained one is above since+1 (some after since may have been pruned).
//
// Each key has two subject filters (its token first or second in the
// pair); JetStream refuses overlapping filters in one request, so each is
// read on its own and the results are merged by sequence.
func (s *logStore) Privates(keys []string, since, upto int64, limit int) ([]store.Message, bool, error) {
	if len(keys) == 0 || upto <= since || limit < 0 {
		return nil, false, nil
	}
	ctx, cancel := readCtx()
	defer cancel()
	u := clampSeq(upto)
	if err := s.l.barrier(ctx, u); err != nil {
		return nil, false, err
	}
	from := clampSeq(since) + 1
	var filters []string
	for _, k := range keys {
		for _, f := range replog.PrivateFilters(s.l.o.Prefix, k) {
			if !slices.Contains(filters, f) {
				filters = append(filters, f)
			}
		}
	}
	seen := make(map[uint64]rawMsg)
	for _, f := range filters {
		rs, err := s.l.readRange(ctx, f, from, nil, u, limit+1)
		if err != nil {
			return nil, false, err
		}
		for _, r := range rs {
			seen[r.Seq] = r
		}
	}
	all := make([]rawMsg, 0, len(seen))
	for _, r := range seen {
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b rawMsg) int { return cmpSeq(a.Seq, b.Seq) })
	msgs := make([]store.Message, 0, min(len(all), limit))
	matched := 0
	for _, r := range all {
		m, err := s.decode(r)
		if err != nil {
			return nil, false, fmt.Errorf("cluster: entry %d: %w", r.Seq, err)
		}
		// The subject is a hash of the keys: check the keys themselves.
		if !slices.Contains(keys, m.FromKey) && !slices.Contains(keys, m.ToKey) {
			continue
		}
		matched++
		if len(msgs) < limit {
			msgs = append(msgs, m)
		}
	}
	gap := matched > limit
	if !gap {
		var err error
		gap, err = s.privatesPruned(ctx, filters, from)
		if err != nil {
			return nil, false, err
		}
	}
	return msgs, gap, nil
}

// privatesPruned reports whether a pair subject matching filters is at the
// limit with its first retained message above from.
func (s *logStore) privatesPruned(ctx context.Context, filters []string, from uint64) (bool, error) {
	mr, err := s.retainFloor(ctx)
	if err != nil || mr == 0 {
		return false, err
	}
	for _, f := range filters {
		info, err := s.l.streamInfo(ctx, jetstream.WithSubjectFilter(f))
		if err != nil {
			return false, err
		}
		for subj, n := range info.State.Subjects {
			if n < uint64(mr) {
				continue
			}
			first, _, err := s.l.probe(ctx, subj, 1)
			if err != nil {
				return false, err
			}
			if first > from {
				return true, nil
			}
		}
	}
	return false, nil
}

// Accounts live in bucket PREFIX_ACCOUNTS under the hex of the folded
// name (names may hold characters keys may not), as JSON.

func accountKey(key string) string { return hex.EncodeToString([]byte(key)) }

func (s *logStore) Account(key string) (store.Account, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	e, err := s.l.accounts.Get(ctx, accountKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return store.Account{}, false, nil
	}
	if err != nil {
		return store.Account{}, false, unavailable("account", err)
	}
	var a store.Account
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		return store.Account{}, false, fmt.Errorf("cluster: account %q: %w", key, err)
	}
	return a, true, nil
}

func (s *logStore) Accounts() ([]store.Account, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := s.l.accounts.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, unavailable("accounts", err)
	}
	defer w.Stop()
	var out []store.Account
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // every current value has been delivered
				slices.SortFunc(out, func(a, b store.Account) int {
					switch {
					case a.Key < b.Key:
						return -1
					case a.Key > b.Key:
						return 1
					}
					return 0
				})
				return out, nil
			}
			var a store.Account
			if err := json.Unmarshal(e.Value(), &a); err != nil {
				return nil, fmt.Errorf("cluster: account entry %s: %w", e.Key(), err)
			}
			out = append(out, a)
		case <-ctx.Done():
			return nil, unavailable("accounts", ctx.Err())
		}
	}
}

func (s *logStore) CreateAccount(a store.Account) error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = s.l.accounts.Create(ctx, accountKey(a.Key), v)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return store.ErrExists
	}
	if err != nil {
		return unavailable("create account", err)
	}
	return nil
}

func (s *logStore) SetPassword(key, hash string) error {
	return s.updateAccount("set password", key, func(ctx context.Context, k string, e jetstream.KeyValueEntry) error {
		var a store.Account
		if err := json.Unmarshal(e.Value(), &a); err != nil {
			return fmt.Errorf("cluster: account %q: %w", key, err)
		}
		a.Hash = hash
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		_, err = s.l.accounts.Update(ctx, k, v, e.Revision())
		return kvWrite(err)
	})
}

func (s *logStore) DeleteAccount(key string) (bool, error) {
	err := s.updateAccount("delete account", key, func(ctx context.Context, k string, e jetstream.KeyValueEntry) error {
		return kvWrite(s.l.accounts.Delete(ctx, k, jetstream.LastRevision(e.Revision())))
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// updateAccount reads key's account entry and calls write with it, which
// writes on condition that the entry is still that revision; if another
// write came first, it reads again (at most 10 times). A missing account
// is store.ErrNotFound. Failed reads and writes (write's errors made by
// kvWrite) are "unavailable"; write's other errors, such as a malformed
// entry, are returned as they are.
func (s *logStore) updateAccount(op, key string, write func(context.Context, string, jetstream.KeyValueEntry) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	k := accountKey(key)
	for range 10 {
		e, err := s.l.accounts.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return store.ErrNotFound
		}
		if err != nil {
			return unavailable(op, err)
		}
		err = write(ctx, k, e)
		var kv kvWriteError
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &kv):
			return err
		case errors.Is(kv.err, jetstream.ErrKeyExists):
			// Changed (or deleted) in between: read again.
		default:
			return unavailable(op, kv.err)
		}
	}
	return unavailable(op, errors.New("the account keeps changing"))
}

// kvWriteError marks an error of the accounts bucket's conditional write,
// for updateAccount to tell from the caller's own errors.
type kvWriteError struct{ err error }

func (e kvWriteError) Error() string { return e.err.Error() }

func kvWrite(err error) error {
	if err == nil {
		return nil
	}
	return kvWriteError{err}
}
