// Package store defines what PyNet keeps beyond a connection's life when it
// runs with a data directory (-data): messages with their ids, the epoch and
// the id ceiling, accounts and sessions. It is only the interface and its
// types, standard library only, so the server core depends on no database:
// the SQLite engine lives in package store/sqlitestore and is wired in by
// cmd/pynet; a cluster backend can stand in for it later.
//
// # Who calls what
//
//   - Commit is called by one goroutine only, the server's committer, with
//     batches in id order. It returns once the batch is in the store (and
//     synced when the fsync policy says so). Only after that does the server
//     deliver or acknowledge any message of the batch: commit before fan-out.
//   - The read methods (RoomMessages, RoomStats, Privates, RecentRefs,
//     Account, Accounts, Sessions) may be called from any goroutine,
//     concurrently with Commit and with each other.
//   - The account writes (CreateAccount, SetPassword, DeleteAccount) may be
//     called from any goroutine; each is its own transaction.
package store

import (
	"errors"
	"time"
)

// ErrExists is returned by CreateAccount when the name is an account already.
var ErrExists = errors.New("store: already exists")

// ErrNotFound is returned when an account to change does not exist.
var ErrNotFound = errors.New("store: not found")

// Message is one accepted chat message, public (Room != "") or private
// (Room == "").
type Message struct {
	ID     int64     // the server-wide id; strictly increasing across Commits
	TS     time.Time // when it was accepted (millisecond precision is kept)
	Room   string    // folded room name; "" for a private
	From   string    // the sender's name as shown
	To     string    // private only: the recipient's name as shown
	Text   string    // trimmed text, as delivered
	Action bool      // an emote (/me)

	// FromKey and ToKey say who may see a private again in a private replay
	// (PROTOCOL §5.4): an owner key is "s:"+session id for a guest session or
	// "a:"+folded account name for an account. Empty for public messages
	// (ToKey) or for a v1 sender without a session (FromKey may be "").
	FromKey string
	ToKey   string

	// Session and Ref de-duplicate resends (PROTOCOL §5.3): the sending v2
	// session's id and the frame's ref; both "" when there is nothing to
	// de-duplicate.
	Session string
	Ref     string
}

// Account is a registered name.
type Account struct {
	Key     string // folded name: the primary key
	Name    string // the account's spelling
	Hash    string // the password hash in its encoded (PHC) form
	Created time.Time
}

// Session is a v2 session that must survive a restart: held again from
// the restart until its grace passes or its owner resumes it.
type Session struct {
	ID        string   // stable internal id (never sent on the wire)
	TokenHash string   // hash of the current token; the token itself is never stored
	Name      string   // current username
	Account   string   // folded account name, "" for a guest
	Rooms     []string // folded room names, in the order they were entered
	Addr      string   // last client address (for max_per_ip while held)
	LastID    int64    // highest id delivered to it when it was last saved
	Updated   time.Time
}

// Batch is what the committer writes in one transaction.
type Batch struct {
	Messages []Message // in increasing id order, above every id committed before
	Sessions []Session // inserted or replaced
	Ended    []string  // ids of sessions to delete
}

// RoomStats describes what a room's replay from a position would hold.
type RoomStats struct {
	// Count is how many retained public messages of the room have
	// since < id <= upto.
	Count int
	// Pruned is the highest id of the room ever removed by retention (0 if
	// none): a replay from since < Pruned may miss messages (gap).
	Pruned int64
}

// Store is the durable backend. See the package doc for who calls what.
type Store interface {
	// Epoch names this store's id sequence; it is made when the store is
	// created and changes only if the store is new, lost or replaced.
	Epoch() string
	// NextID is the first id that may be assigned after opening: above
	// every committed message and above the durable id ceiling.
	NextID() int64
	// Commit writes b in one transaction. It keeps the id ceiling above
	// every id in b, syncing the ceiling to disk before it returns,
	// whatever the fsync policy, so ids never repeat after a power loss.
	Commit(b *Batch) error

	// RoomMessages returns up to limit public messages of room with
	// since < id <= upto, oldest first.
	RoomMessages(room string, since, upto int64, limit int) ([]Message, error)
	// RoomTail returns the last n public messages of room with id <= upto,
	// oldest first (a replay without a position).
	RoomTail(room string, upto int64, n int) ([]Message, error)
	// RoomStats counts a room's retained messages in (since, upto].
	RoomStats(room string, since, upto int64) (RoomStats, error)
	// Privates returns up to limit privates with since < id <= upto whose
	// FromKey or ToKey is one of keys, oldest first, and reports whether
	// more matched than limit or some that would match were pruned.
	Privates(keys []string, since, upto int64, limit int) (msgs []Message, gap bool, err error)
	// RecentRefs returns the messages with a Session and Ref accepted at or
	// after since, oldest first: the de-duplication window after a restart.
	RecentRefs(since time.Time) ([]Message, error)

	Account(key string) (Account, bool, error)
	Accounts() ([]Account, error)
	// CreateAccount adds a; ErrExists if a.Key is an account already.
	CreateAccount(a Account) error
	// SetPassword replaces the hash of an account; ErrNotFound if none.
	SetPassword(key, hash string) error
	// DeleteAccount removes an account; it reports whether there was one.
	DeleteAccount(key string) (bool, error)

	// Sessions returns every saved session (at start, to hold them again).
	Sessions() ([]Session, error)

	// Close syncs and closes the store. Nothing may be called after it.
	Close() error
}
