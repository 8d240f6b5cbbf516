package protocol

// Version is the newest protocol version, the one this package speaks in
// full. A client says it speaks it with "protocol": 2 (or more) in its join.
const Version = 2

// VersionV1 is the first protocol version: a join without a protocol member,
// or with "protocol": 1, makes a version 1 client (PROTOCOL §10).
const VersionV1 = 1

// Limits fixed by the protocol.
const (
	DefaultMaxFrame = 65536 // bytes in one line, not counting CR/LF (default)
	MaxText         = 4096  // bytes of trimmed chat text
	MaxRef          = 64    // bytes of a client-chosen ref
	MaxUsername     = 32    // characters (all ASCII) of a username
	MaxRoomName     = 32    // characters (all ASCII) of a room name
	MinPassword     = 8     // bytes (UTF-8) of a password, at least
	MaxPassword     = 1024  // bytes (UTF-8) of a password, at most
	DefaultPort     = 5050
)

// Lobby is the room that always exists: version 1 clients live in it, and a
// v2 join without rooms enters it.
const Lobby = "lobby"

// Client frame types (client → server). MsgMessage and MsgPrivate, MsgUsers,
// MsgRooms, MsgPing and MsgPong are also server frame types.
const (
	MsgJoin    = "join"
	MsgMessage = "message"
	MsgPrivate = "private"
	MsgUsers   = "users"
	MsgNick    = "nick"
	MsgPing    = "ping"
	MsgPong    = "pong"
	MsgLeave   = "leave"

	MsgEnter    = "enter" // v2 only
	MsgExit     = "exit"  // v2 only
	MsgFetch    = "fetch" // v2 only
	MsgRooms    = "rooms" // v2 only; the server's reply has the same type
	MsgRegister = "register"
	MsgPassword = "password"
)

// Server-only frame types.
const (
	MsgWelcome = "welcome"
	MsgJoined  = "joined"
	MsgLeft    = "left"
	MsgAck     = "ack"
	MsgRenamed = "renamed"
	MsgError   = "error"
	MsgBye     = "bye"

	MsgEntered         = "entered" // v2: reply to enter, and after a v2 welcome
	MsgExited          = "exited"  // v2: reply to exit
	MsgFetched         = "fetched" // v2: ends the answer to fetch
	MsgRegistered      = "registered"
	MsgPasswordChanged = "password_changed"
)

// IsV2Only reports whether typ is a client frame type that only version 2
// clients may send (enter, exit, fetch, rooms). From a version 1 client the
// server answers them with unknown_type once it has joined (join_required
// before); DecodeClient itself knows them all.
func IsV2Only(typ string) bool {
	switch typ {
	case MsgEnter, MsgExit, MsgFetch, MsgRooms:
		return true
	}
	return false
}

// Error codes carried by an error frame, in the order of precedence of
// PROTOCOL §6 (rate_limited and frame_too_large stand apart). The state
// checks of join, register and password use auth_failed and auth_required in
// the orders §5.5 and §6 give for them.
const (
	CodeBadJSON           = "bad_json"
	CodeBadFrame          = "bad_frame"
	CodeUnknownType       = "unknown_type"
	CodeJoinRequired      = "join_required"
	CodeAlreadyJoined     = "already_joined"
	CodeInsecureAuth      = "insecure_auth"
	CodeInvalidRoom       = "invalid_room"
	CodeEmptyMessage      = "empty_message"
	CodeTextTooLong       = "text_too_long"
	CodeInvalidText       = "invalid_text"
	CodeInvalidUsername   = "invalid_username"
	CodeWeakPassword      = "weak_password"
	CodeNotInRoom         = "not_in_room"
	CodeAlreadyInRoom     = "already_in_room"
	CodeTooManyRooms      = "too_many_rooms"
	CodeAlreadyRegistered = "already_registered"
	CodeForbidden         = "forbidden"
	CodeUsernameTaken     = "username_taken"
	CodeAuthFailed        = "auth_failed"
	CodeAuthRequired      = "auth_required"
	CodeNoSuchUser        = "no_such_user"
	CodeRateLimited       = "rate_limited"
	CodeFrameTooLarge     = "frame_too_large"
)

// Reasons carried by left and bye frames.
const (
	ReasonQuit         = "quit"
	ReasonDisconnect   = "disconnect" // left only: the connection dropped
	ReasonTimeout      = "timeout"
	ReasonJoinTimeout  = "join_timeout"  // bye only
	ReasonSlowConsumer = "slow_consumer" // bye (if it fits) and left
	ReasonShutdown     = "shutdown"      // bye only
	ReasonServerFull   = "server_full"   // bye only
	ReasonExit         = "exit"          // left only (v2): left the room, still online
	ReasonReplaced     = "replaced"      // bye: another connection took the session over; left: a v1 takeover left the room
	ReasonIPLimit      = "ip_limit"      // bye only: too many connections from one address
)

// Error is a refused frame: the code and human-readable message of the error
// frame the server answers with. It is a protocol answer, not a Go failure.
type Error struct {
	Code    string
	Message string
	// RetryAfterMS, for rate_limited, is the frame's retry_after_ms: how
	// long until the next frame would be accepted.
	RetryAfterMS int64
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code, msg string) *Error { return &Error{Code: code, Message: msg} }
