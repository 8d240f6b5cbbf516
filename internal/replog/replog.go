// Package replog is the seam between the server core and a cluster: the
// replicated log that several pynet nodes share, as an interface, plus the
// subjects and the encoding of its entries. Standard library only, so the
// core depends on no messaging system; the NATS JetStream implementation
// lives in package cluster and is wired in by cmd/pynet.
//
// # The idea
//
// Every change to what users share (a message, a private, a join, an
// enter, an exit, a rename, a hold, a session's end) is appended to one
// log as an Entry. Every node reads the whole log in order and applies each
// entry to its own copy of the shared state, delivering frames to the
// connections it holds. The log's sequence number is the message id, so
// every node delivers in one order (PROTOCOL §5.3). The node a request came
// from (its origin) is the one that answers the client, when it applies the
// entry.
//
// # Subjects
//
//	PREFIX.m.ROOM        a public message of ROOM (room names are one token)
//	PREFIX.d.OWNER.OWNER a private, between two owner keys (hashed, sorted)
//	PREFIX.c             everything else: the control commands
//
// Retention is per subject (the last -retain messages of each room and of
// each pair), so a busy room never pushes a quiet one out of history.
package replog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"pynet/internal/store"
)

// Entry is one record of the log.
type Entry struct {
	Seq     uint64 // the log's sequence: strictly increasing, never reused
	Subject string
	Data    []byte // a Command encoded as JSON
}

// PubAck is what appending an entry returned.
type PubAck struct {
	Seq       uint64
	Duplicate bool // the msgID was seen in the de-duplication window: Seq is the original's
}

// ErrUnavailable is returned (wrapped) when the log cannot be reached: the
// request is refused, never silently dropped.
var ErrUnavailable = errors.New("cluster log unavailable")

// Log is the replicated log, as one node sees it. Implementations must be
// safe for concurrent use.
type Log interface {
	// Node names this node (unique among the live nodes).
	Node() string
	// Epoch names the log's sequence: it changes only if the log is new,
	// lost or replaced (PROTOCOL §5.3).
	Epoch() string

	// Publish appends data on subject. msgID, when not "", de-duplicates:
	// a second append with the same msgID within the window is not stored
	// and its ack says Duplicate with the original's Seq. done is called
	// exactly once, from another goroutine, when the log stored the entry
	// or it failed (with an error wrapping ErrUnavailable when the log
	// could not be reached in time). Entries published by one node are
	// stored in the order of the Publish calls.
	Publish(subject, msgID string, data []byte, done func(PubAck, error))

	// Follow calls apply for every entry with Seq > after, in order, from
	// one goroutine, until Close. caughtUp is called (once) when apply has
	// seen every entry that existed when Follow began. If the log cannot
	// continue without skipping an entry, Follow stops and fail is called
	// with the reason: a node never skips.
	Follow(after uint64, apply func(Entry), caughtUp func(), fail func(error))

	// LastSeq is the highest sequence stored now (0 for an empty log).
	LastSeq() (uint64, error)

	// Since returns the entries on the message subjects (PREFIX.m.> and
	// PREFIX.d.>) stored at or after t and with Seq <= upto, oldest first:
	// the de-duplication window a starting node rebuilds.
	Since(t time.Time, upto uint64) ([]Entry, error)

	// SaveSnapshot stores the shared state as it was after applying seq;
	// LoadSnapshot returns the newest one (seq 0 and no data if none).
	SaveSnapshot(seq uint64, data []byte) error
	LoadSnapshot() (seq uint64, data []byte, err error)
	// Trim removes control commands (PREFIX.c) with Seq < seq: they are
	// covered by a snapshot.
	Trim(seq uint64) error

	// Beat tells the others this node is alive; Nodes lists the nodes
	// that did so within the lease time (this one included).
	Beat() error
	Nodes() ([]string, error)

	// Store serves the reads of history (RoomMessages, RoomTail,
	// RoomStats, Privates) from the log and keeps accounts, so the
	// server's replays and logins work unchanged. Its Commit, Sessions and
	// RecentRefs are not used in cluster mode.
	Store() store.Store

	// Close stops Follow and releases the connection.
	Close() error
}

// DefaultPrefix is the subject prefix of a log that names no other
// (a Log may say its own with a Prefix() string method).
const DefaultPrefix = "pynet"

// Subject layout.
const (
	opRoom    = ".m."
	opPrivate = ".d."
	opControl = ".c"
)

// RoomSubject is the subject of room's public messages.
func RoomSubject(prefix, room string) string { return prefix + opRoom + room }

// ControlSubject is the subject of every command that is not a message.
func ControlSubject(prefix string) string { return prefix + opControl }

// OwnerToken turns an owner key ("s:"+session id or "a:"+account; see
// store.Message) into one subject token: hex of its SHA-256, 32 characters.
// "" (a v1 sender, who has no replay) becomes "none".
func OwnerToken(key string) string {
	if key == "" {
		return "none"
	}
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:16])
}

// PrivateSubject is the subject of a private between two owners: their
// tokens in byte order, so both directions share one subject (retention is
// per pair, as with -data).
func PrivateSubject(prefix, fromKey, toKey string) string {
	a, b := OwnerToken(fromKey), OwnerToken(toKey)
	if b < a {
		a, b = b, a
	}
	return prefix + opPrivate + a + "." + b
}

// PrivateFilters are the subject filters that together match every private
// of an owner (its token first or second). They overlap in the private to
// oneself: readers must merge by Seq.
func PrivateFilters(prefix, key string) []string {
	t := OwnerToken(key)
	return []string{prefix + opPrivate + t + ".*", prefix + opPrivate + "*." + t}
}

// MessageFilters match every message subject.
func MessageFilters(prefix string) []string {
	return []string{prefix + opRoom + ">", prefix + opPrivate + ">"}
}

// Command is an entry's payload. Op says what it is; the other members are
// those the op needs (absent otherwise). Encode and Decode (codec.go) turn
// it into bytes and back.
type Command struct {
	Op   string `json:"op"`
	Node string `json:"node,omitempty"` // origin node
	Req  uint64 `json:"req,omitempty"`  // origin's request number: who waits for the result
	Conn uint64 `json:"conn,omitempty"` // origin's connection number
	SID  string `json:"sid,omitempty"`  // the session acted on
	Att  uint64 `json:"att,omitempty"`  // the session's attachment the request came through
	TS   int64  `json:"ts"`             // when the origin accepted it, Unix milliseconds

	// Messages (Op "msg": public, "dm": private).
	Room    string `json:"room,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	ToSID   string `json:"to_sid,omitempty"`
	Text    string `json:"text,omitempty"`
	Action  bool   `json:"action,omitempty"`
	Ref     string `json:"ref,omitempty"`
	HasRef  bool   `json:"has_ref,omitempty"`
	FromKey string `json:"from_key,omitempty"`
	ToKey   string `json:"to_key,omitempty"`

	// Control commands.
	Name      string   `json:"name,omitempty"`
	V2        bool     `json:"v2,omitempty"`
	Rooms     []string `json:"rooms,omitempty"`
	Since     int64    `json:"since,omitempty"`
	UseSince  bool     `json:"use_since,omitempty"`
	Token     string   `json:"token,omitempty"`      // hash of a presented token (resume)
	NewToken  string   `json:"new_token,omitempty"`  // hash of the token the reply reveals
	Account   string   `json:"account,omitempty"`    // folded account name
	AccName   string   `json:"acc_name,omitempty"`   // the account's spelling
	IsAccount bool     `json:"is_account,omitempty"` // the join's name is an account
	Addr      string   `json:"addr,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Gen       uint64   `json:"gen,omitempty"`
	Nodes     []string `json:"nodes,omitempty"`
}

// Time is the command's ts as a time.
func (c *Command) Time() time.Time { return time.UnixMilli(c.TS) }

// Message turns a message entry ("msg" or "dm") into what the store
// interface returns.
func Message(e Entry) (store.Message, error) {
	c, err := Decode(e.Data)
	if err != nil {
		return store.Message{}, err
	}
	if c.Op != OpMessage && c.Op != OpPrivate {
		return store.Message{}, errors.New("replog: entry " + e.Subject + " is not a message")
	}
	m := store.Message{ID: int64(e.Seq), TS: c.Time(), Room: c.Room, From: c.From, To: c.To, Text: c.Text,
		Action: c.Action, FromKey: c.FromKey, ToKey: c.ToKey, Ref: c.Ref}
	if c.HasRef {
		m.Session = c.SID
	}
	return m, nil
}

// Ops.
const (
	OpMessage  = "msg"
	OpPrivate  = "dm"
	OpJoin     = "join"
	OpEnter    = "enter"
	OpExit     = "exit"
	OpNick     = "nick"
	OpDetach   = "detach"   // a connection ended: hold or end the session
	OpExpire   = "expire"   // a hold's grace passed
	OpRegister = "register" // the session claimed its name as an account
	OpPassword = "password" // the account's password changed: new token
	OpNodeDown = "nodedown" // nodes whose lease expired: hold their sessions
)
