package term

import (
	"fmt"
	"strconv"
	"strings"

	"pynet/protocol"
)

// Request is what the client had asked for when the server answers with an
// error, so the error can be told in the user's terms ("bob is not online"
// rather than "no_such_user").
type Request struct {
	// Type is protocol.MsgMessage, MsgPrivate, MsgNick, MsgUsers, MsgJoin,
	// MsgEnter…; "" if unknown.
	Type     string
	To       string // private: the addressee
	Username string // nick, join: the name asked for
	Room     string // message, enter, exit, users: the room
	// Text is the message that was refused, so the user knows which one.
	Text string
}

// snippetLen bounds how much of a refused message an error quotes.
const snippetLen = 24

// Explain turns an error frame into a sentence for a person. For a refused
// message it names the message ("not sent: “hello wor…”: …") so that in a
// burst the user knows which one was lost.
func Explain(f protocol.ServerFrame, req Request) string {
	why := Cause(f, req)
	if (req.Type == protocol.MsgMessage || req.Type == protocol.MsgPrivate) && f.Code != protocol.CodeRateLimited {
		if req.Text != "" {
			return "not sent: " + Snippet(req.Text) + ": " + why
		}
		return "message not sent: " + why
	}
	return why
}

// Snippet quotes the start of a message: “hello wor…”.
func Snippet(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > snippetLen {
		text = string(r[:snippetLen-1]) + "…"
	}
	return "“" + Clean(text) + "”"
}

// Cause says why the server refused a request, without naming the request
// (pipe mode says "message 3 not sent: " before it).
func Cause(f protocol.ServerFrame, req Request) string {
	switch f.Code {
	case protocol.CodeRateLimited:
		return "rate limited — try again in " + Seconds(f.RetryAfterMS)
	case protocol.CodeNoSuchUser:
		if req.To != "" {
			return Clean(req.To) + " is not online"
		}
		return "no such user is online"
	case protocol.CodeUsernameTaken:
		if req.Username != "" {
			return "the name " + Clean(req.Username) + " is taken — pick another"
		}
		return "that name is taken — pick another"
	case protocol.CodeInvalidUsername:
		return NameRules(req.Username)
	case protocol.CodeEmptyMessage:
		return "empty messages are not sent"
	case protocol.CodeTextTooLong:
		return fmt.Sprintf("longer than %d bytes", protocol.MaxText)
	case protocol.CodeInvalidText:
		return "it holds a control character"
	case protocol.CodeFrameTooLarge:
		return "too large for this server"
	case protocol.CodeJoinRequired:
		return "not joined yet"
	case protocol.CodeInvalidRoom:
		return RoomRules(req.Room)
	case protocol.CodeNotInRoom:
		if req.Room != "" {
			return "you are not in " + RoomName(req.Room) + " — /join " + Clean(req.Room) + " first"
		}
		return "you are not in that room"
	case protocol.CodeAlreadyInRoom:
		if req.Room != "" {
			return "you are already in " + RoomName(req.Room)
		}
		return "you are already in that room"
	case protocol.CodeTooManyRooms:
		return "too many rooms: " + Clean(f.Message)
	case protocol.CodeAuthRequired:
		if req.Type == protocol.MsgJoin {
			return "the name " + Clean(req.Username) + " is a registered account: log in with its password"
		}
		return "only a logged-in account can do that"
	case protocol.CodeAuthFailed:
		if req.Type == protocol.MsgPassword {
			return "the current password is wrong"
		}
		return "wrong password (or no such account)"
	case protocol.CodeInsecureAuth:
		return "the server takes no passwords over plain TCP from a remote address — connect with -tls"
	case protocol.CodeWeakPassword:
		return fmt.Sprintf("a password needs %d to %d bytes", protocol.MinPassword, protocol.MaxPassword)
	case protocol.CodeAlreadyRegistered:
		return "this name is already a registered account"
	case protocol.CodeForbidden:
		if req.Type == protocol.MsgNick {
			return "a registered account keeps its name"
		}
	case protocol.CodeUnknownType:
		switch req.Type {
		case protocol.MsgEnter, protocol.MsgExit, protocol.MsgRooms, protocol.MsgFetch:
			return "this server has no rooms (it speaks protocol 1)"
		}
	}
	msg := Clean(f.Message)
	if msg == "" {
		msg = Clean(f.Code)
	}
	if f.Code == "" {
		return "server error: " + msg
	}
	return "the server refused a request: " + msg + " (" + Clean(f.Code) + ")"
}

// NameRules explains why name is not a valid username.
func NameRules(name string) string {
	const rules = "names have 1 to 32 letters, digits, _ . or -, and start with a letter or digit"
	if name == "" {
		return rules
	}
	return strconv.Quote(name) + " is not a valid name: " + rules
}

// RoomRules explains why room is not a valid room name.
func RoomRules(room string) string {
	const rules = "room names have 1 to 32 of a–z, 0–9, _ and -, and start with a letter or digit"
	if room == "" {
		return rules
	}
	return strconv.Quote(room) + " is not a valid room name: " + rules
}

// Seconds formats a duration in milliseconds for people: "0.8 s", "2 s",
// "1.5 s", "12 s".
func Seconds(ms int64) string {
	if ms < 0 {
		ms = 0
	}
	if ms >= 10000 || ms%1000 == 0 {
		return strconv.FormatInt((ms+500)/1000, 10) + " s"
	}
	tenths := (ms + 50) / 100
	if tenths == 0 && ms > 0 {
		tenths = 1 // never say "0.0 s" for a wait that is not zero
	}
	return strconv.FormatInt(tenths/10, 10) + "." + strconv.FormatInt(tenths%10, 10) + " s"
}

// LeftText says why name left, from a left frame's reason.
func LeftText(name, reason string) string {
	switch reason {
	case protocol.ReasonQuit, protocol.ReasonExit, "":
		return name + " left"
	case protocol.ReasonDisconnect:
		return name + " dropped (connection lost)"
	case protocol.ReasonTimeout:
		return name + " timed out"
	case protocol.ReasonSlowConsumer:
		return name + " was disconnected (too slow to keep up)"
	case protocol.ReasonReplaced:
		return name + " left (reconnected with an older client)"
	}
	return name + " left (" + Clean(reason) + ")"
}

// ByeText says why the server closed our connection, from a bye's reason.
func ByeText(reason string) string {
	switch reason {
	case protocol.ReasonQuit:
		return "you left the chat"
	case protocol.ReasonShutdown:
		return "the server shut down"
	case protocol.ReasonTimeout:
		return "the server closed the connection: nothing heard from us for too long"
	case protocol.ReasonJoinTimeout:
		return "the server closed the connection: the join took too long"
	case protocol.ReasonSlowConsumer:
		return "the server dropped us: we fell behind reading messages"
	case protocol.ReasonServerFull:
		return "the server is full: it has as many users as it can take"
	case protocol.ReasonIPLimit:
		return "the server refused us: too many connections from this address"
	case protocol.ReasonReplaced:
		return "another connection took over this session (the same name, logged in elsewhere)"
	}
	return "the server closed the connection (" + Clean(reason) + ")"
}
