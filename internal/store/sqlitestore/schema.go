package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// migrations are the schema's scripts: migrations[i] takes a database from
// schema version i to i+1. Append only; never edit a released one.
//
// Conventions: every column is NOT NULL (the empty string or 0 for "none");
// times are unix milliseconds; the room index covers public messages only
// (queries add the term room <> "" to use it) and the private indexes
// privates only (room = "").
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value ANY
) STRICT;

CREATE TABLE messages (
	id        INTEGER PRIMARY KEY,
	ts        INTEGER NOT NULL,
	room      TEXT NOT NULL,
	from_name TEXT NOT NULL,
	to_name   TEXT NOT NULL,
	text      TEXT NOT NULL,
	action    INTEGER NOT NULL,
	from_key  TEXT NOT NULL,
	to_key    TEXT NOT NULL,
	session   TEXT NOT NULL,
	ref       TEXT NOT NULL
) STRICT;
-- public replays and room retention
CREATE INDEX messages_room ON messages (room, id) WHERE room <> '';
-- private replays by owner key
CREATE INDEX messages_from ON messages (from_key, id) WHERE room = '';
CREATE INDEX messages_to ON messages (to_key, id) WHERE room = '';
-- retention per pair of owners
CREATE INDEX messages_pair ON messages (from_key, to_key, id) WHERE room = '';
-- the de-duplication window (RecentRefs)
CREATE INDEX messages_refs ON messages (ts) WHERE session <> '' AND ref <> '';

CREATE TABLE accounts (
	key     TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	hash    TEXT NOT NULL,
	created INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL,
	name       TEXT NOT NULL,
	account    TEXT NOT NULL,
	rooms      TEXT NOT NULL, -- JSON array of folded room names
	addr       TEXT NOT NULL,
	last_id    INTEGER NOT NULL,
	updated    INTEGER NOT NULL
) STRICT;

-- retention bookkeeping: the highest id ever pruned
CREATE TABLE room_pruned (
	room   TEXT PRIMARY KEY,
	pruned INTEGER NOT NULL
) STRICT;
CREATE TABLE key_pruned (
	key    TEXT PRIMARY KEY, -- an owner key, "s:..." or "a:..."
	pruned INTEGER NOT NULL
) STRICT;
`,
}

// schemaVersion reads the version of the database on c: 0 for a database
// without PyNet's tables. hasMeta says whether table meta exists.
func schemaVersion(ctx context.Context, c *sql.Conn) (v int, hasMeta bool, err error) {
	var n int
	if err := c.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_schema WHERE type='table' AND name='meta'`).Scan(&n); err != nil {
		return 0, false, err
	}
	if n == 0 {
		return 0, false, nil
	}
	var raw any
	err = c.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='schema_version'`).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, true, errors.New("table meta has no schema_version: not a PyNet database")
	}
	if err != nil {
		return 0, true, err
	}
	switch x := raw.(type) {
	case int64:
		v = int(x)
	case string:
		if v, err = strconv.Atoi(x); err != nil {
			return 0, true, fmt.Errorf("bad schema_version %q", x)
		}
	default:
		return 0, true, fmt.Errorf("bad schema_version %v", raw)
	}
	if v < 1 {
		return 0, true, fmt.Errorf("bad schema_version %d", v)
	}
	return v, true, nil
}

// migrate brings the database on c to version len(migs) in one
// transaction, creating meta's epoch and ceiling with a new database. It
// refuses a database newer than migs or one that has tables but not
// PyNet's.
func migrate(ctx context.Context, c *sql.Conn, migs []string) (err error) {
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
		}
	}()
	v, hasMeta, err := schemaVersion(ctx, c)
	if err != nil {
		return err
	}
	if v > len(migs) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d): run a newer pynet or use another data directory", v, len(migs))
	}
	if !hasMeta {
		var n int
		if err := c.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errors.New("a SQLite database with other tables, not PyNet's (no table meta)")
		}
	}
	for i := v; i < len(migs); i++ {
		if _, err := c.ExecContext(ctx, migs[i]); err != nil {
			return fmt.Errorf("schema migration %d: %w", i+1, err)
		}
	}
	if v < len(migs) {
		if _, err := c.ExecContext(ctx,
			`INSERT INTO meta (key, value) VALUES ('schema_version', ?)
			 ON CONFLICT (key) DO UPDATE SET value = excluded.value`, len(migs)); err != nil {
			return err
		}
	}
	if v == 0 {
		if _, err := c.ExecContext(ctx,
			`INSERT INTO meta (key, value) VALUES ('epoch', ?), ('ceiling', 0)`, newEpoch()); err != nil {
			return err
		}
	}
	_, err = c.ExecContext(ctx, "COMMIT")
	return err
}

// writeStmts are the write connection's prepared statements.
type writeStmts struct {
	insMsg, putSession, endSession, setCeiling, synced *sql.Stmt
	// retention
	roomCount, pairCount, roomCutoff, pairCutoff, roomDelete, pairDelete, roomPruned, keyPruned *sql.Stmt
	// accounts
	createAccount, setPassword, deleteAccount *sql.Stmt
}

func (w *writeStmts) list() []**sql.Stmt {
	return []**sql.Stmt{&w.insMsg, &w.putSession, &w.endSession, &w.setCeiling, &w.synced,
		&w.roomCount, &w.pairCount, &w.roomCutoff, &w.pairCutoff, &w.roomDelete, &w.pairDelete,
		&w.roomPruned, &w.keyPruned, &w.createAccount, &w.setPassword, &w.deleteAccount}
}

// writeSQL are the texts of writeStmts, in the order of list.
var writeSQL = []string{
	`INSERT INTO messages (id, ts, room, from_name, to_name, text, action, from_key, to_key, session, ref)
	 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	`INSERT OR REPLACE INTO sessions (id, token_hash, name, account, rooms, addr, last_id, updated)
	 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	`DELETE FROM sessions WHERE id = ?`,
	`UPDATE meta SET value = ? WHERE key = 'ceiling'`,
	`INSERT INTO meta (key, value) VALUES ('synced', ?)
	 ON CONFLICT (key) DO UPDATE SET value = excluded.value`,

	`SELECT COUNT(*) FROM messages WHERE room = ? AND room <> ''`,
	`SELECT (SELECT COUNT(*) FROM messages WHERE room = '' AND from_key = ?1 AND to_key = ?2)
	      + (SELECT COUNT(*) FROM messages WHERE room = '' AND from_key = ?2 AND to_key = ?1 AND ?1 <> ?2)`,
	// the id of the n-th oldest (OFFSET n-1)
	`SELECT id FROM messages WHERE room = ? AND room <> '' ORDER BY id LIMIT 1 OFFSET ?`,
	`SELECT id FROM messages WHERE room = '' AND from_key = ?1 AND to_key = ?2
	 UNION ALL
	 SELECT id FROM messages WHERE room = '' AND from_key = ?2 AND to_key = ?1 AND ?1 <> ?2
	 ORDER BY 1 LIMIT 1 OFFSET ?3`,
	`DELETE FROM messages WHERE room = ? AND room <> '' AND id <= ?`,
	// one direction of a pair; run twice
	`DELETE FROM messages WHERE room = '' AND from_key = ? AND to_key = ? AND id <= ?`,
	`INSERT INTO room_pruned (room, pruned) VALUES (?, ?)
	 ON CONFLICT (room) DO UPDATE SET pruned = max(pruned, excluded.pruned)`,
	`INSERT INTO key_pruned (key, pruned) VALUES (?, ?)
	 ON CONFLICT (key) DO UPDATE SET pruned = max(pruned, excluded.pruned)`,

	`INSERT INTO accounts (key, name, hash, created) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
	`UPDATE accounts SET hash = ? WHERE key = ?`,
	`DELETE FROM accounts WHERE key = ?`,
}

func (w *writeStmts) prepare(ctx context.Context, c *sql.Conn) error {
	for i, p := range w.list() {
		st, err := c.PrepareContext(ctx, writeSQL[i])
		if err != nil {
			return fmt.Errorf("prepare %q: %w", writeSQL[i], err)
		}
		*p = st
	}
	return nil
}

func (w *writeStmts) close() {
	for _, p := range w.list() {
		if *p != nil {
			_ = (*p).Close()
		}
	}
}

// msgCols are the columns scanMessages reads, in its order.
const msgCols = `id, ts, room, from_name, to_name, text, action, from_key, to_key, session, ref`

// readStmts are the read pool's prepared statements.
type readStmts struct {
	roomMessages, roomTail, roomStats, recentRefs, account, accounts, sessions *sql.Stmt
}

func (r *readStmts) list() []**sql.Stmt {
	return []**sql.Stmt{&r.roomMessages, &r.roomTail, &r.roomStats, &r.recentRefs, &r.account, &r.accounts, &r.sessions}
}

// readSQL are the texts of readStmts, in the order of list.
var readSQL = []string{
	`SELECT ` + msgCols + ` FROM messages
	 WHERE room = ? AND room <> '' AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
	`SELECT ` + msgCols + ` FROM messages
	 WHERE room = ? AND room <> '' AND id <= ? ORDER BY id DESC LIMIT ?`,
	`SELECT (SELECT COUNT(*) FROM messages WHERE room = ?1 AND room <> '' AND id > ?2 AND id <= ?3),
	        COALESCE((SELECT pruned FROM room_pruned WHERE room = ?1), 0)`,
	// INDEXED BY: without it the planner may prefer walking the whole
	// table in id order to sorting the few rows the index finds.
	`SELECT ` + msgCols + ` FROM messages INDEXED BY messages_refs
	 WHERE session <> '' AND ref <> '' AND ts >= ? ORDER BY id`,
	`SELECT key, name, hash, created FROM accounts WHERE key = ?`,
	`SELECT key, name, hash, created FROM accounts ORDER BY key`,
	`SELECT id, token_hash, name, account, rooms, addr, last_id, updated FROM sessions ORDER BY id`,
}

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	for i, p := range r.list() {
		st, err := db.PrepareContext(ctx, readSQL[i])
		if err != nil {
			return fmt.Errorf("prepare %q: %w", readSQL[i], err)
		}
		*p = st
	}
	return nil
}

func (r *readStmts) close() {
	for _, p := range r.list() {
		if *p != nil {
			_ = (*p).Close()
		}
	}
}
