package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"pynet/internal/store"
)

// Commit implements store.Store: b in one transaction, messages first, then
// the saved sessions, then the ended ones (so a session both saved and ended
// in b is gone). The messages must be in increasing id order above every id
// committed before; Commit refuses the batch otherwise. A nil or empty batch
// does nothing.
func (s *Store) Commit(b *store.Batch) error {
	if b == nil || len(b.Messages) == 0 && len(b.Sessions) == 0 && len(b.Ended) == 0 {
		return nil
	}
	// Encode the rooms before taking the lock.
	rooms := make([]string, len(b.Sessions))
	for i := range b.Sessions {
		r := b.Sessions[i].Rooms
		if r == nil {
			r = []string{}
		}
		j, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("sqlitestore: commit: session %s: %w", b.Sessions[i].ID, err)
		}
		rooms[i] = string(j)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writableLocked(); err != nil {
		return err
	}
	top := s.lastID
	for i := range b.Messages {
		id := b.Messages[i].ID
		if id <= top {
			return fmt.Errorf("%w: id %d after %d", errNotAbove, id, top)
		}
		top = id
	}
	ceiling := s.ceiling
	raise := top > s.ceiling
	if raise {
		ceiling = top + s.step
	}
	var plan *prunePlan
	_, err := s.writeTx(raise, func(ctx context.Context) error {
		for i := range b.Messages {
			m := &b.Messages[i]
			if _, err := s.ws.insMsg.ExecContext(ctx, m.ID, m.TS.UnixMilli(), m.Room, m.From, m.To,
				m.Text, m.Action, m.FromKey, m.ToKey, m.Session, m.Ref); err != nil {
				return fmt.Errorf("message %d: %w", m.ID, err)
			}
		}
		for i := range b.Sessions {
			ss := &b.Sessions[i]
			if _, err := s.ws.putSession.ExecContext(ctx, ss.ID, ss.TokenHash, ss.Name, ss.Account,
				rooms[i], ss.Addr, ss.LastID, ss.Updated.UnixMilli()); err != nil {
				return fmt.Errorf("session %s: %w", ss.ID, err)
			}
		}
		for _, id := range b.Ended {
			if _, err := s.ws.endSession.ExecContext(ctx, id); err != nil {
				return fmt.Errorf("end session %s: %w", id, err)
			}
		}
		if raise {
			if _, err := s.ws.setCeiling.ExecContext(ctx, ceiling); err != nil {
				return fmt.Errorf("raise the id ceiling: %w", err)
			}
		}
		if s.retain > 0 && len(b.Messages) > 0 {
			var err error
			if plan, err = s.prune(ctx, b.Messages); err != nil {
				return fmt.Errorf("retention: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: commit to %s: %w", s.path, err)
	}
	s.lastID = top
	s.ceiling = ceiling
	if plan != nil {
		s.ret.apply(plan)
	}
	return nil
}

var errNotAbove = errors.New("sqlitestore: commit: message ids must increase above every id committed before")

// pruneBudget is the most rows retention deletes in one commit.
const pruneBudget = 1024

// maxTracked bounds the in-memory counts; past it they are forgotten (and
// counted again from the database when next needed).
const maxTracked = 1 << 16

// target is a room (room != "") or an unordered pair of private owners
// (a <= b) whose messages retention counts.
type target struct{ room, a, b string }

func targetOf(m *store.Message) target {
	if m.Room != "" {
		return target{room: m.Room}
	}
	a, b := m.FromKey, m.ToKey
	if b < a {
		a, b = b, a
	}
	return target{a: a, b: b}
}

// retention is the in-memory side of pruning. It is changed only after a
// commit succeeded (apply), so a failed commit leaves it as it was.
type retention struct {
	retain, slack int
	counts        map[target]int      // how many messages the store holds
	pending       map[target]struct{} // pruning started but not finished
}

func (r *retention) init(retain int) {
	r.retain = retain
	// Prune when a count passes retain by this much, so that deletes come
	// in runs rather than one row per message.
	r.slack = min(retain/64, 256)
	r.counts = make(map[target]int)
	r.pending = make(map[target]struct{})
}

// prunePlan is what a commit's transaction changed, to apply after it
// commits.
type prunePlan struct {
	counts  map[target]int
	started map[target]bool // pruned in this commit: true if more is left
}

func (r *retention) apply(p *prunePlan) {
	if len(r.counts)+len(p.counts) > maxTracked {
		clear(r.counts)
	}
	for t, c := range p.counts {
		r.counts[t] = c
	}
	for t, more := range p.started {
		if more {
			r.pending[t] = struct{}{}
		} else {
			delete(r.pending, t)
		}
	}
}

// prune runs in the commit transaction after msgs were inserted: it
// updates the counts of the rooms and pairs msgs touched and deletes the
// oldest messages of those past retain+slack (and of those left pending),
// down to retain, at most pruneBudget rows in all.
func (s *Store) prune(ctx context.Context, msgs []store.Message) (*prunePlan, error) {
	r := &s.ret
	p := &prunePlan{counts: make(map[target]int), started: make(map[target]bool)}
	var order []target
	added := make(map[target]int)
	for i := range msgs {
		t := targetOf(&msgs[i])
		if added[t] == 0 {
			order = append(order, t)
		}
		added[t]++
	}
	var work []target
	for _, t := range order {
		c, ok := r.counts[t]
		if ok {
			c += added[t]
		} else {
			var err error
			if c, err = s.count(ctx, t); err != nil { // includes msgs
				return nil, err
			}
		}
		p.counts[t] = c
		if c > r.retain+r.slack {
			work = append(work, t)
		}
	}
	for t := range r.pending {
		if _, ok := p.counts[t]; ok {
			if p.counts[t] <= r.retain+r.slack {
				work = append(work, t) // not in work yet
			}
			continue
		}
		c, ok := r.counts[t]
		if !ok {
			var err error
			if c, err = s.count(ctx, t); err != nil {
				return nil, err
			}
		}
		p.counts[t] = c
		work = append(work, t)
	}
	budget := pruneBudget
	for _, t := range work {
		c := p.counts[t]
		if budget == 0 {
			p.started[t] = c > r.retain
			continue
		}
		if c <= r.retain {
			p.started[t] = false
			continue
		}
		n := min(c-r.retain, budget)
		deleted, err := s.deleteOldest(ctx, t, n)
		if err != nil {
			return nil, err
		}
		if deleted < n { // the count was off: take it again
			if c, err = s.count(ctx, t); err != nil {
				return nil, err
			}
		} else {
			c -= deleted
		}
		budget -= deleted
		p.counts[t] = c
		p.started[t] = c > r.retain
	}
	return p, nil
}

// count counts the messages of t in the database.
func (s *Store) count(ctx context.Context, t target) (int, error) {
	var n int
	var err error
	if t.room != "" {
		err = s.ws.roomCount.QueryRowContext(ctx, t.room).Scan(&n)
	} else {
		err = s.ws.pairCount.QueryRowContext(ctx, t.a, t.b).Scan(&n)
	}
	return n, err
}

// deleteOldest deletes the n oldest messages of t (n ≥ 1) and records the
// highest id deleted. It returns how many it deleted.
func (s *Store) deleteOldest(ctx context.Context, t target, n int) (int, error) {
	var cutoff int64
	var err error
	if t.room != "" {
		err = s.ws.roomCutoff.QueryRowContext(ctx, t.room, n-1).Scan(&cutoff)
	} else {
		err = s.ws.pairCutoff.QueryRowContext(ctx, t.a, t.b, n-1).Scan(&cutoff)
	}
	if errors.Is(err, sql.ErrNoRows) { // fewer than n: the caller counts again
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var deleted int64
	if t.room != "" {
		res, err := s.ws.roomDelete.ExecContext(ctx, t.room, cutoff)
		if err != nil {
			return 0, err
		}
		deleted, _ = res.RowsAffected()
		if _, err := s.ws.roomPruned.ExecContext(ctx, t.room, cutoff); err != nil {
			return 0, err
		}
		return int(deleted), nil
	}
	dirs := [][2]string{{t.a, t.b}}
	if t.a != t.b {
		dirs = append(dirs, [2]string{t.b, t.a})
	}
	for _, d := range dirs {
		res, err := s.ws.pairDelete.ExecContext(ctx, d[0], d[1], cutoff)
		if err != nil {
			return 0, err
		}
		k, _ := res.RowsAffected()
		deleted += k
	}
	keys := []string{t.a}
	if t.b != t.a {
		keys = append(keys, t.b)
	}
	for _, k := range keys {
		if k == "" { // not an owner: nobody replays by it
			continue
		}
		if _, err := s.ws.keyPruned.ExecContext(ctx, k, cutoff); err != nil {
			return 0, err
		}
	}
	return int(deleted), nil
}
