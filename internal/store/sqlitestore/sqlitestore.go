// Package sqlitestore is the SQLite implementation of store.Store: one
// database file, dir/pynet.db, in WAL mode, written through one dedicated
// connection and read through a separate pool, so reads never wait for a
// commit.
//
// # Durability
//
// With Fsync "always" every write transaction runs with
// PRAGMA synchronous=FULL: in WAL mode SQLite fsyncs the WAL after writing
// the commit frame, before COMMIT returns.
//
// With Fsync "batch" (the default) write transactions run with
// synchronous=NORMAL, which syncs nothing at commit (it stays consistent,
// but a power loss may roll the last commits back). The store then syncs the
// WAL at least once a second while there were commits: a write made while
// the store has been "dirty" for a second or more runs with synchronous=FULL
// itself, and a timer armed when the store becomes dirty runs a tiny
// synchronous=FULL transaction (it rewrites meta.synced) if no write came in
// time. An fsync of the WAL file covers every frame written before it, so
// one FULL commit makes all earlier NORMAL commits durable too.
//
// PRAGMA wal_checkpoint(PASSIVE) was considered instead and rejected: it
// syncs the WAL only when it has frames it may copy back into the database,
// which is not the case when a reader still uses the oldest snapshot (see
// walCheckpoint in SQLite's wal.c), so it cannot promise a sync.
//
// # Id ceiling
//
// Table meta holds the epoch, the schema version and the id ceiling. NextID
// is max(ceiling, highest message id)+1 as found at Open. A Commit whose
// highest id is above the ceiling raises it to that id + CeilingStep in the
// same transaction and runs that transaction with synchronous=FULL, whatever
// the Fsync policy; so every id Commit has returned for is at most the
// durable ceiling or in a durable message, and ids never repeat after a
// power loss.
//
// # Retention
//
// With Retain > 0 the store keeps at most Retain public messages per room
// and Retain privates per unordered pair of owner keys. It counts them in
// memory (a room or pair is counted from the database the first time a
// process commits to it) and, once a count passes Retain by a small slack,
// deletes the oldest down to Retain inside the commit transaction, at most
// pruneBudget rows per commit (the rest follow in the next commits). The
// highest id pruned is kept per room (RoomStats.Pruned) and per owner key
// (the Privates gap).
package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"pynet/internal/store"
)

// FileName is the database's name inside the data directory.
const FileName = "pynet.db"

const (
	// DefaultCeilingStep is used when Options.CeilingStep is 0.
	DefaultCeilingStep = 10000
	// busyTimeoutMS bounds how long a connection waits for a lock held by
	// another connection (another process, or a checkpoint).
	busyTimeoutMS = 5000
	// syncInterval is how long, at most, a "batch" store stays unsynced
	// while it has commits.
	syncInterval = time.Second
	// journalSizeLimit truncates the WAL back to this size after a
	// checkpoint that emptied it, should a burst have grown it.
	journalSizeLimit = 64 << 20
	// checkpointEvery is how often the background checkpointer copies the
	// WAL into the database file while there are writes. Commits never
	// checkpoint themselves (wal_autocheckpoint=0): a checkpoint inside a
	// commit, with its syncs, would add milliseconds to that commit and to
	// every message waiting for it.
	checkpointEvery = 250 * time.Millisecond
)

// Options configures Open.
type Options struct {
	// Fsync is "batch" (the default when empty): commits are synced to
	// disk at least once a second; or "always": every commit is synced
	// before Commit returns.
	Fsync string
	// Retain is how many messages are kept per room and per pair of
	// private owners; 0 keeps everything.
	Retain int
	// CeilingStep is how far above the highest assigned id the durable id
	// ceiling is put when it is raised; 0 means DefaultCeilingStep.
	CeilingStep int64
	// Exclusive takes the directory's server lock (an flock on the database
	// file, which does not interfere with SQLite's own fcntl locks):
	// two servers assigning ids from one store would collide, so a server
	// opens its store exclusively. Tools (pynet accounts) do not.
	Exclusive bool
}

// Store is a store.Store on a SQLite database. Make one with Open.
type Store struct {
	path   string
	always bool
	step   int64
	retain int
	epoch  string
	nextID int64

	rdb   *sql.DB // the read pool
	reads readStmts

	wdb *sql.DB // holds the one write connection

	unlock func() // releases the directory's server lock (nil: not taken)

	// The background checkpointer: its own connection, told by dirty
	// that there were commits since its last run.
	cdb    *sql.DB
	dirty  atomic.Bool
	ckStop chan struct{}
	ckDone chan struct{}

	// mu serialises the writes and guards everything below.
	mu      sync.Mutex
	wc      *sql.Conn
	ws      writeStmts
	closed  bool
	ceiling int64
	lastID  int64 // highest message id in the store
	// full reports the synchronous level currently set on wc.
	full bool
	// dirtySince is when the first write not yet synced to disk was made;
	// zero when everything is synced.
	dirtySince time.Time
	syncEvery  time.Duration
	timer      *time.Timer
	// syncErr is a failed background sync: the store refuses every write
	// after it, since committed data may be lost.
	syncErr error
	ret     retention

	// For tests: how many write transactions were synced (FULL), and a
	// channel told (without blocking) after each background sync.
	nSynced  int
	syncedCh chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the store in dir (created with mode 0700 if
// missing). It fails, naming the path, when dir is not a writable
// directory, when the database is not a SQLite database, is corrupt or
// belongs to something else, or when its schema is newer than this code.
func Open(dir string, opt Options) (*Store, error) {
	return open(dir, opt, migrations)
}

func open(dir string, opt Options, migs []string) (*Store, error) {
	s := &Store{syncEvery: syncInterval}
	switch opt.Fsync {
	case "", "batch":
	case "always":
		s.always = true
	default:
		return nil, fmt.Errorf("sqlitestore: unknown fsync policy %q (want batch or always)", opt.Fsync)
	}
	if opt.Retain < 0 {
		return nil, fmt.Errorf("sqlitestore: negative retention %d", opt.Retain)
	}
	s.retain = opt.Retain
	s.ret.init(opt.Retain)
	switch {
	case opt.CeilingStep == 0:
		s.step = DefaultCeilingStep
	case opt.CeilingStep < 0:
		return nil, fmt.Errorf("sqlitestore: negative ceiling step %d", opt.CeilingStep)
	default:
		s.step = opt.CeilingStep
	}
	if dir == "" {
		return nil, errors.New("sqlitestore: no data directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: data directory %s: %w", dir, err)
	}
	if err := prepareDir(abs); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok && s.unlock != nil {
			s.unlock()
		}
	}()
	s.path = filepath.Join(abs, FileName)
	// Create the file ourselves with mode 0600: SQLite gives its -wal and
	// -shm files the database file's permissions, so they are private too.
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	if opt.Exclusive {
		unlock, err := lockFile(s.path, abs)
		if err != nil {
			return nil, err
		}
		s.unlock = unlock
	}
	if err := s.openDB(migs); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", s.path, explain(err))
	}
	ok = true
	return s, nil
}

// prepareDir makes dir if missing and checks that files can be made in it
// (SQLite needs to create the -wal and -shm files next to the database).
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sqlitestore: create data directory %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".pynet-probe-*")
	if err != nil {
		return fmt.Errorf("sqlitestore: data directory %s is not writable: %w", dir, err)
	}
	name := probe.Name()
	err = probe.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: data directory %s is not writable: %w", dir, err)
	}
	return nil
}

// SQLite primary result codes that get a plainer explanation.
const (
	sqliteCorrupt = 11
	sqliteNotADB  = 26
)

// explain adds a plain sentence to the errors that mean "this file is not a
// usable SQLite database".
func explain(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteNotADB:
			return fmt.Errorf("not a SQLite database (or encrypted, or damaged): %w", err)
		case sqliteCorrupt:
			return fmt.Errorf("the database is corrupt: %w", err)
		}
	}
	return err
}

// dsn is the driver name for the database at path. The URI form lets SQLite
// see the path whatever characters it has; the driver reads the _pragma
// parameters, SQLite ignores them.
func dsn(path string, pragmas ...string) string {
	q := url.Values{"_pragma": pragmas}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	if !strings.HasPrefix(u.Path, "/") { // a Windows drive path
		u.Path = "/" + u.Path
	}
	return u.String()
}

func (s *Store) openDB(migs []string) error {
	ctx := context.Background()
	busy := "busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")"

	var err error
	s.wdb, err = sql.Open("sqlite", dsn(s.path, busy))
	if err != nil {
		return err
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if s.wc, err = s.wdb.Conn(ctx); err != nil {
		return err
	}
	var mode string
	if err := s.wc.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("cannot switch to WAL mode (journal mode is %q)", mode)
	}
	for _, p := range []string{
		"PRAGMA synchronous=" + level(s.always),
		"PRAGMA journal_size_limit=" + strconv.Itoa(journalSizeLimit),
		"PRAGMA wal_autocheckpoint=0",
	} {
		if _, err := s.wc.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	s.full = s.always
	if err := quickCheck(ctx, s.wc); err != nil {
		return err
	}
	if err := migrate(ctx, s.wc, migs); err != nil {
		return err
	}
	if err := s.loadMeta(ctx); err != nil {
		return err
	}
	if err := s.ws.prepare(ctx, s.wc); err != nil {
		return err
	}

	s.rdb, err = sql.Open("sqlite", dsn(s.path, busy, "query_only(1)"))
	if err != nil {
		return err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(n)
	s.rdb.SetMaxIdleConns(n)
	if err := s.reads.prepare(ctx, s.rdb); err != nil {
		return err
	}
	if s.cdb, err = sql.Open("sqlite", dsn(s.path, busy)); err != nil {
		return err
	}
	s.cdb.SetMaxOpenConns(1)
	s.ckStop, s.ckDone = make(chan struct{}), make(chan struct{})
	go s.checkpointer()
	return nil
}

// checkpointer copies the WAL into the database file in the background, a
// PASSIVE checkpoint at a time (it never blocks the writer or the readers,
// and does what it can). A failed checkpoint is tried again at the next
// tick; closing the write connection checkpoints whatever is left.
func (s *Store) checkpointer() {
	defer close(s.ckDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ckStop:
			return
		case <-t.C:
			if s.dirty.Swap(false) {
				s.cdb.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			}
		}
	}
}

func level(full bool) string {
	if full {
		return "FULL"
	}
	return "NORMAL"
}

// quickCheck runs PRAGMA quick_check and turns anything but "ok" into an
// error quoting the first problems found.
func quickCheck(ctx context.Context, c *sql.Conn) error {
	rows, err := c.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		return err
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		return nil
	}
	return fmt.Errorf("the database is corrupt (quick_check: %s)", strings.Join(msgs, "; "))
}

// loadMeta reads the epoch, the ceiling and the highest id, and works out
// NextID.
func (s *Store) loadMeta(ctx context.Context) error {
	var ceiling sql.NullInt64
	err := s.wc.QueryRowContext(ctx,
		`SELECT (SELECT value FROM meta WHERE key='epoch'),
		        (SELECT value FROM meta WHERE key='ceiling'),
		        (SELECT COALESCE(MAX(id), 0) FROM messages)`).Scan(&s.epoch, &ceiling, &s.lastID)
	if err != nil {
		return fmt.Errorf("read meta: %w", err)
	}
	if s.epoch == "" || !ceiling.Valid {
		return errors.New("meta has no epoch or no ceiling")
	}
	s.ceiling = ceiling.Int64
	s.nextID = max(s.ceiling, s.lastID) + 1
	return nil
}

func newEpoch() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Epoch implements store.Store.
func (s *Store) Epoch() string { return s.epoch }

// NextID implements store.Store: max(ceiling, highest message id)+1 as
// found at Open.
func (s *Store) NextID() int64 { return s.nextID }

// Close syncs what was not synced yet and closes the database. Later calls
// do nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	var errs []error
	if s.syncErr != nil {
		errs = append(errs, s.syncErr)
	}
	if !s.dirtySince.IsZero() && s.syncErr == nil {
		if err := s.syncLocked(); err != nil {
			errs = append(errs, fmt.Errorf("sqlitestore: sync at close: %w", err))
		}
	}
	s.mu.Unlock()
	if s.ckStop != nil {
		close(s.ckStop)
		<-s.ckDone
	}
	// The readers first, so that the write connection is the last one:
	// closing it checkpoints the WAL into the database file.
	if err := s.closeDBs(); err != nil {
		errs = append(errs, fmt.Errorf("sqlitestore: close %s: %w", s.path, err))
	}
	if s.unlock != nil {
		s.unlock()
	}
	return errors.Join(errs...)
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.cdb != nil {
		errs = append(errs, s.cdb.Close())
	}
	s.reads.close()
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	s.ws.close()
	if s.wc != nil {
		errs = append(errs, s.wc.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

var errClosed = errors.New("sqlitestore: store is closed")

// writableLocked says why no write may be made now, if so.
func (s *Store) writableLocked() error {
	if s.closed {
		return errClosed
	}
	if s.syncErr != nil {
		return s.syncErr
	}
	return nil
}

// writeTx runs fn in one IMMEDIATE transaction on the write connection,
// with synchronous=FULL when full (or when the store is due for its
// periodic sync), and keeps the sync bookkeeping. It reports whether the
// transaction was synced. s.mu must be held.
func (s *Store) writeTx(full bool, fn func(ctx context.Context) error) (bool, error) {
	ctx := context.Background()
	now := time.Now()
	full = full || s.always || s.syncDueLocked(now)
	if full != s.full {
		if _, err := s.wc.ExecContext(ctx, "PRAGMA synchronous="+level(full)); err != nil {
			return false, err
		}
		s.full = full
	}
	if _, err := s.wc.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return false, err
	}
	err := fn(ctx)
	if err == nil {
		_, err = s.wc.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		// Some errors (an I/O error, a full disk) roll the transaction
		// back already; then this ROLLBACK fails harmlessly. Should the
		// transaction truly survive, the next BEGIN fails and says so.
		_, _ = s.wc.ExecContext(ctx, "ROLLBACK")
		return false, err
	}
	s.dirty.Store(true) // for the checkpointer
	if full {
		s.nSynced++
		s.dirtySince = time.Time{}
	} else {
		s.markDirtyLocked(now)
	}
	return full, nil
}

func (s *Store) syncDueLocked(now time.Time) bool {
	return !s.dirtySince.IsZero() && now.Sub(s.dirtySince) >= s.syncEvery
}

// markDirtyLocked notes an unsynced write and arms the sync timer.
func (s *Store) markDirtyLocked(now time.Time) {
	if !s.dirtySince.IsZero() {
		return
	}
	s.dirtySince = now
	if s.timer == nil {
		s.timer = time.AfterFunc(s.syncEvery, s.syncTick)
	} else {
		s.timer.Reset(s.syncEvery)
	}
}

// syncTick runs on the timer: it syncs the WAL if a write has been
// waiting for a sync for syncEvery.
func (s *Store) syncTick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.syncErr != nil || s.dirtySince.IsZero() {
		return
	}
	if wait := s.syncEvery - time.Since(s.dirtySince); wait > 0 {
		s.timer.Reset(wait)
		return
	}
	if err := s.syncLocked(); err != nil {
		s.syncErr = fmt.Errorf("sqlitestore: sync %s: %w", s.path, err)
		return
	}
	if s.syncedCh != nil {
		select {
		case s.syncedCh <- struct{}{}:
		default:
		}
	}
}

// syncLocked makes every committed write durable: a tiny transaction with
// synchronous=FULL, whose commit fsyncs the whole WAL file.
func (s *Store) syncLocked() error {
	_, err := s.writeTx(true, func(ctx context.Context) error {
		_, err := s.ws.synced.ExecContext(ctx, time.Now().UnixMilli())
		return err
	})
	return err
}
