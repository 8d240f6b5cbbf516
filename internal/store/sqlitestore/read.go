package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"pynet/internal/store"
)

// The read methods use the read pool and never wait for Commit. A limit
// ≤ 0 returns no messages.

// RoomMessages implements store.Store.
func (s *Store) RoomMessages(room string, since, upto int64, limit int) ([]store.Message, error) {
	if room == "" || limit <= 0 || upto <= since {
		return nil, nil
	}
	rows, err := s.reads.roomMessages.Query(room, since, upto, limit)
	if err != nil {
		return nil, s.readErr("room messages", err)
	}
	msgs, err := scanMessages(rows, min(limit, 256))
	return msgs, s.readErr("room messages", err)
}

// RoomTail implements store.Store.
func (s *Store) RoomTail(room string, upto int64, n int) ([]store.Message, error) {
	if room == "" || n <= 0 {
		return nil, nil
	}
	rows, err := s.reads.roomTail.Query(room, upto, n)
	if err != nil {
		return nil, s.readErr("room tail", err)
	}
	msgs, err := scanMessages(rows, min(n, 256))
	if err != nil {
		return nil, s.readErr("room tail", err)
	}
	slices.Reverse(msgs)
	return msgs, nil
}

// RoomStats implements store.Store.
func (s *Store) RoomStats(room string, since, upto int64) (store.RoomStats, error) {
	var rs store.RoomStats
	if room == "" {
		return rs, nil
	}
	err := s.reads.roomStats.QueryRow(room, since, upto).Scan(&rs.Count, &rs.Pruned)
	return rs, s.readErr("room stats", err)
}

// Privates implements store.Store. An empty key names no owner and is
// ignored.
func (s *Store) Privates(keys []string, since, upto int64, limit int) ([]store.Message, bool, error) {
	var ks []string
	for _, k := range keys {
		if k != "" && !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 || upto <= since {
		return nil, false, nil
	}
	args := []any{since, upto, max(limit, 0) + 1}
	for _, k := range ks {
		args = append(args, k)
	}
	rows, err := s.rdb.Query(privatesSQL(len(ks)), args...)
	if err != nil {
		return nil, false, s.readErr("privates", err)
	}
	msgs, err := scanMessages(rows, min(max(limit, 0)+1, 256))
	if err != nil {
		return nil, false, s.readErr("privates", err)
	}
	gap := false
	if len(msgs) > max(limit, 0) {
		msgs, gap = msgs[:max(limit, 0)], true
	}
	if len(msgs) == 0 {
		msgs = nil
	}
	// After the messages: a prune between the two reads can only add a
	// gap, never hide one.
	var pruned int64
	if err := s.rdb.QueryRow(keyPrunedSQL(len(ks)), args[3:]...).Scan(&pruned); err != nil {
		return nil, false, s.readErr("privates", err)
	}
	return msgs, gap || since < pruned, nil
}

// privatesSQL is the query of Privates for n keys: ?1 since, ?2 upto, ?3
// the limit, ?4... the keys. Each arm of the compound walks one private
// index in id order; the compound merges them, drops the ids found twice
// and stops at the limit.
func privatesSQL(n int) string {
	var q strings.Builder
	q.WriteString(`SELECT ` + msgCols + ` FROM messages WHERE id IN (`)
	for i := range n {
		for j, col := range []string{"from_key", "to_key"} {
			if i > 0 || j > 0 {
				q.WriteString(" UNION ")
			}
			fmt.Fprintf(&q, `SELECT id FROM messages WHERE room = '' AND %s = ?%d AND id > ?1 AND id <= ?2`, col, i+4)
		}
	}
	q.WriteString(` ORDER BY 1 LIMIT ?3) ORDER BY id`)
	return q.String()
}

// keyPrunedSQL is the highest id pruned of n owner keys.
func keyPrunedSQL(n int) string {
	return `SELECT COALESCE(MAX(pruned), 0) FROM key_pruned WHERE key IN (` +
		strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `)`
}

// RecentRefs implements store.Store.
func (s *Store) RecentRefs(since time.Time) ([]store.Message, error) {
	rows, err := s.reads.recentRefs.Query(since.UnixMilli())
	if err != nil {
		return nil, s.readErr("recent refs", err)
	}
	msgs, err := scanMessages(rows, 64)
	return msgs, s.readErr("recent refs", err)
}

// Account implements store.Store.
func (s *Store) Account(key string) (store.Account, bool, error) {
	a, err := scanAccount(s.reads.account.QueryRow(key))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, false, nil
	}
	if err != nil {
		return store.Account{}, false, s.readErr("account", err)
	}
	return a, true, nil
}

// Accounts implements store.Store: every account, sorted by key.
func (s *Store) Accounts() ([]store.Account, error) {
	rows, err := s.reads.accounts.Query()
	if err != nil {
		return nil, s.readErr("accounts", err)
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, s.readErr("accounts", err)
		}
		out = append(out, a)
	}
	return out, s.readErr("accounts", rows.Err())
}

// Sessions implements store.Store: every saved session, by id. A session
// saved with no rooms comes back with Rooms nil.
func (s *Store) Sessions() ([]store.Session, error) {
	rows, err := s.reads.sessions.Query()
	if err != nil {
		return nil, s.readErr("sessions", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var ss store.Session
		var rooms string
		var updated int64
		if err := rows.Scan(&ss.ID, &ss.TokenHash, &ss.Name, &ss.Account, &rooms, &ss.Addr,
			&ss.LastID, &updated); err != nil {
			return nil, s.readErr("sessions", err)
		}
		if err := json.Unmarshal([]byte(rooms), &ss.Rooms); err != nil {
			return nil, s.readErr("sessions", fmt.Errorf("session %s: rooms %q: %w", ss.ID, rooms, err))
		}
		if len(ss.Rooms) == 0 {
			ss.Rooms = nil
		}
		ss.Updated = fromMilli(updated)
		out = append(out, ss)
	}
	return out, s.readErr("sessions", rows.Err())
}

func (s *Store) readErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlitestore: read %s from %s: %w", what, s.path, err)
}

func fromMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

type scanner interface{ Scan(dest ...any) error }

func scanAccount(r scanner) (store.Account, error) {
	var a store.Account
	var created int64
	if err := r.Scan(&a.Key, &a.Name, &a.Hash, &created); err != nil {
		return a, err
	}
	a.Created = fromMilli(created)
	return a, nil
}

// scanMessages reads rows of msgCols and closes them.
func scanMessages(rows *sql.Rows, hint int) ([]store.Message, error) {
	defer rows.Close()
	var out []store.Message
	for rows.Next() {
		if out == nil {
			out = make([]store.Message, 0, hint)
		}
		var m store.Message
		var ts int64
		if err := rows.Scan(&m.ID, &ts, &m.Room, &m.From, &m.To, &m.Text, &m.Action,
			&m.FromKey, &m.ToKey, &m.Session, &m.Ref); err != nil {
			return nil, err
		}
		m.TS = fromMilli(ts)
		out = append(out, m)
	}
	return out, rows.Err()
}

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(a store.Account) error {
	var n int64
	err := s.write(func(ctx context.Context) error {
		res, err := s.ws.createAccount.ExecContext(ctx, a.Key, a.Name, a.Hash, a.Created.UnixMilli())
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: create account %q: %w", a.Key, err)
	}
	if n == 0 {
		return store.ErrExists
	}
	return nil
}

// SetPassword implements store.Store.
func (s *Store) SetPassword(key, hash string) error {
	var n int64
	err := s.write(func(ctx context.Context) error {
		res, err := s.ws.setPassword.ExecContext(ctx, hash, key)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: set password of %q: %w", key, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteAccount implements store.Store.
func (s *Store) DeleteAccount(key string) (bool, error) {
	var n int64
	err := s.write(func(ctx context.Context) error {
		res, err := s.ws.deleteAccount.ExecContext(ctx, key)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlitestore: delete account %q: %w", key, err)
	}
	return n > 0, nil
}

// write runs fn as its own transaction on the write connection, under the
// same fsync policy as Commit.
func (s *Store) write(fn func(ctx context.Context) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writableLocked(); err != nil {
		return err
	}
	_, err := s.writeTx(false, fn)
	return err
}
