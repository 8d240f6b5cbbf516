package client

import (
	"time"

	"pynet/protocol"
)

// Encoders of the client frames (PROTOCOL §3). A ref, when not "", lets the
// server's answer (ack, error, renamed, users) be matched to the request.

func joinFrame(name string) []byte {
	return protocol.NewFrame(nil, protocol.MsgJoin).Str("username", name).End()
}

func messageFrame(ref, text string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgMessage).Str("text", text), ref).End()
}

func privateFrame(ref, to, text string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgPrivate).Str("to", to).Str("text", text), ref).End()
}

func nickFrame(ref, name string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgNick).Str("username", name), ref).End()
}

func usersFrame(ref string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgUsers), ref).End()
}

func pongFrame(ref string) []byte {
	return withRef(protocol.NewFrame(nil, protocol.MsgPong), ref).End()
}

func pingFrame() []byte { return protocol.NewFrame(nil, protocol.MsgPing).End() }

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
