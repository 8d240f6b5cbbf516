package term

import (
	"fmt"
	"strconv"

	"pynet/protocol"
)

// Request is what the client had asked for when the server answers with an
// error, so the error can be told in the user's terms ("bob is not online"
// rather than "no_such_user").
type Request struct {
	Type     string // protocol.MsgMessage, MsgPrivate, MsgNick, MsgUsers, MsgJoin; "" if unknown
	To       string // private: the addressee
	Username string // nick, join: the name asked for
}

// Explain turns an error frame into a sentence for a person.
func Explain(f protocol.ServerFrame, req Request) string {
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
		return fmt.Sprintf("message not sent: longer than %d bytes", protocol.MaxText)
	case protocol.CodeInvalidText:
		return "message not sent: it holds a control character"
	case protocol.CodeFrameTooLarge:
		return "message not sent: too large for this server"
	case protocol.CodeJoinRequired:
		return "not joined yet"
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
	case protocol.ReasonQuit:
		return name + " left"
	case protocol.ReasonDisconnect:
		return name + " dropped (connection lost)"
	case protocol.ReasonTimeout:
		return name + " timed out"
	case protocol.ReasonSlowConsumer:
		return name + " was disconnected (too slow to keep up)"
	case "":
		return name + " left"
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
	}
	return "the server closed the connection (" + Clean(reason) + ")"
}
