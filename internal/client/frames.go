package client

import (
	"time"
	"unicode/utf8"

	"pynet/protocol"
)

// Encoders of the client frames (PROTOCOL §3). A ref, when not "", lets the
// server's answer (ack, error, renamed, users, entered…) be matched to the
// request.

// hello is what a join says: who joins, where, and how to come back.
type hello struct {
	name string
	// v1 joins as a version 1 client (no protocol member).
	v1 bool
	// rooms to enter (v2); nil leaves the server's default, lobby, and an
	// empty slice enters none.
	rooms []string
	// token resumes a session (v2); epoch and since ask for what was
	// missed after since (also without a token).
	token    string
	epoch    string
	since    int64
	hasSince bool
	// password logs in to an account. The caller wipes it once the frame
	// is written (joinFrame's result is wiped by the sender).
	password []byte
}

func joinFrame(h *hello) []byte {
	// Room enough that the buffer never grows (and leaves a copy of the
	// password behind): every byte of a password may take 6 escaped.
	size := 256 + len(h.name) + len(h.token) + len(h.epoch) + 6*len(h.password)
	for _, r := range h.rooms {
		size += len(r) + 3
	}
	b := protocol.NewFrame(make([]byte, 0, size), protocol.MsgJoin).Str("username", h.name)
	if !h.v1 {
		b.Int("protocol", protocol.Version)
		if h.rooms != nil {
			b.Strs("rooms", h.rooms)
		}
		if h.token != "" {
			b.Str("session", h.token)
		}
		if h.epoch != "" && h.hasSince {
			b.Str("epoch", h.epoch).Int("since", h.since)
		}
	}
	if h.password != nil {
		rawSecret(b, "password", h.password)
	}
	return b.End()
}

// rawSecret adds a password member to b, wiping the bytes it used on the
// way.
func rawSecret(b *protocol.Builder, key string, pw []byte) {
	buf := appendSecret(make([]byte, 0, 2+6*len(pw)), pw)
	b.Raw(key, buf)
	clear(buf)
}

// checkSecret checks a password as protocol.CheckPassword does, without
// making a string of it (a string could not be wiped).
func checkSecret(pw []byte) *protocol.Error {
	if len(pw) >= protocol.MinPassword && len(pw) <= protocol.MaxPassword && utf8.Valid(pw) {
		return nil
	}
	return &protocol.Error{Code: protocol.CodeWeakPassword, Message: "a password has 8 to 1024 bytes of UTF-8"}
}

// appendSecret appends b as a JSON string. It exists so that a password
// never becomes a Go string (which could not be wiped): b must be valid
// UTF-8 (protocol.CheckPassword), so only '"', '\' and control characters
// need escaping. Callers wipe what it returns once it is written.
func appendSecret(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// registerFrame claims the current name as an account (PROTOCOL §5.5).
func registerFrame(ref string, password []byte) []byte {
	b := protocol.NewFrame(make([]byte, 0, 128+len(ref)+6*len(password)), protocol.MsgRegister)
	rawSecret(b, "password", password)
	return withRef(b, ref).End()
}

// passwordFrame changes the account's password.
func passwordFrame(ref string, old, new []byte) []byte {
	b := protocol.NewFrame(make([]byte, 0, 128+len(ref)+6*(len(old)+len(new))), protocol.MsgPassword)
	rawSecret(b, "old", old)
	rawSecret(b, "new", new)
	return withRef(b, ref).End()
}

// messageFrame is a public message; room "" leaves the server's default
// (lobby, and the only room of a version 1 server).
func messageFrame(ref, text string) []byte { return roomMessageFrame(ref, "", text, false) }

func roomMessageFrame(ref, room, text string, action bool) []byte {
	b := protocol.NewFrame(nil, protocol.MsgMessage).Str("text", text)
	if room != "" {
		b.Str("room", room)
	}
	if action {
		b.Bool("action", true)
	}
	return withRef(b, ref).End()
}

func privateFrame(ref, to, text string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgPrivate).Str("to", to).Str("text", text), ref).End()
}

func nickFrame(ref, name string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgNick).Str("username", name), ref).End()
}

func roomUsersFrame(ref, room string) []byte {
	b := protocol.NewFrame(nil, protocol.MsgUsers)
	if room != "" {
		b.Str("room", room)
	}
	return withRef(b, ref).End()
}

func enterFrame(ref, room string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgEnter).Str("room", room), ref).End()
}

func exitFrame(ref, room string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgExit).Str("room", room), ref).End()
}

func roomsFrame(ref string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgRooms), ref).End()
}

func pongFrame(ref string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgPong), ref).End()
}

func pingFrame(ref string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgPing), ref).End()
}

// leaveRef is the ref of every leave, so that a rate_limited answer to it
// can be recognised: the rate limit applies to leave too, and a client
// that has just used its burst must resend its goodbye.
const leaveRef = "leave"

func leaveFrame() []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgLeave), leaveRef).End()
}

// isLeaveRefused reports an error frame refusing our leave for the rate,
// and how long to wait before resending it.
func isLeaveRefused(f protocol.ServerFrame) (time.Duration, bool) {
	if f.Type != protocol.MsgError || f.Ref != leaveRef || f.Code != protocol.CodeRateLimited {
		return 0, false
	}
	return time.Duration(f.RetryAfterMS) * time.Millisecond, true
}

func withRef(b *protocol.Builder, ref string) *protocol.Builder {
	if ref != "" {
		b.Str("ref", ref)
	}
	return b
}
