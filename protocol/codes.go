package protocol

// Version is the protocol version announced in welcome.
const Version = 1

// Limits fixed by the protocol.
const (
	DefaultMaxFrame = 65536 // bytes in one line, not counting CR/LF (default)
	MaxText         = 4096  // bytes of trimmed chat text
	MaxRef          = 64    // bytes of a client-chosen ref
	MaxUsername     = 32    // characters (all ASCII) of a username
	DefaultPort     = 5050
)

// Client frame types (client → server). MsgMessage and MsgPrivate, MsgUsers,
// MsgPing and MsgPong are also server frame types.
const (
	MsgJoin    = "join"
	MsgMessage = "message"
	MsgPrivate = "private"
	MsgUsers   = "users"
	MsgNick    = "nick"
	MsgPing    = "ping"
	MsgPong    = "pong"
	MsgLeave   = "leave"
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
)

// Error codes carried by an error frame, in the order of precedence of
// PROTOCOL §6 (rate_limited and frame_too_large stand apart).
const (
	CodeBadJSON         = "bad_json"
	CodeBadFrame        = "bad_frame"
	CodeUnknownType     = "unknown_type"
	CodeJoinRequired    = "join_required"
	CodeAlreadyJoined   = "already_joined"
	CodeEmptyMessage    = "empty_message"
	CodeTextTooLong     = "text_too_long"
	CodeInvalidText     = "invalid_text"
	CodeInvalidUsername = "invalid_username"
	CodeUsernameTaken   = "username_taken"
	CodeNoSuchUser      = "no_such_user"
	CodeRateLimited     = "rate_limited"
	CodeFrameTooLarge   = "frame_too_large"
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
