package client

import (
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"time"

	"pynet/protocol"
)

// outbox holds what the user asked to send, in order, until the server
// answers it. Both the interactive client and pipe mode send through one,
// so they deliver the same way:
//
//  1. Every frame carries a ref. A message refused with rate_limited is sent
//     again after retry_after_ms, so a burst (80 pasted lines) is paced, not
//     lost.
//  2. While the server limits the rate, one frame is in flight at a time:
//     with several, a refused one could be overtaken by the next, and the
//     order would be lost. Without a limit a window keeps the pipe full.
//  3. When the connection is lost, what was sent and not answered is sent
//     again once the link is back and its replays are in, with the same
//     ref: a resumed session's server acknowledges a message it already
//     has instead of delivering it twice (PROTOCOL §5.3). After a fresh
//     join, messages the replay shows as arrived are not sent again.
//  4. Requests that are only questions (users, rooms) are dropped with the
//     connection; the user asks again.
//
// An outbox belongs to one goroutine (the UI loop or the pipe loop).
type outbox struct {
	send func([]byte) error

	items    []*outItem // waiting or in flight, in order; at most maxOutbox
	inflight int        // items with sent set
	window   int
	resumeAt time.Time // after rate_limited, send nothing before this
	online   bool      // connected, and the join's replays are in
	v1       bool      // the server speaks protocol 1: no rooms in frames

	refBase string // unique to this run: a session taken over keeps its refs
	nextRef uint64
}

// maxOutbox bounds the frames waiting; the caller stops reading ahead.
const maxOutbox = 4096

// Window sizes: see outbox.
const (
	windowLimited   = 1
	windowUnlimited = 64
)

// outItem is one frame on its way.
type outItem struct {
	kind   string // protocol.MsgMessage, MsgPrivate, MsgNick, MsgUsers, MsgEnter, MsgExit, MsgRooms
	room   string // message (v2: "" for the server's default), users, enter, exit
	to     string // private
	text   string // message, private
	action bool   // message: /me
	name   string // nick
	n      int    // the caller's number for it (pipe: the message's line)
	part   string // "2/3" when a long message was split

	ref   string // given when first sent, kept across resends
	sent  bool   // written on the current connection, not answered
	tried bool   // written at least once: it may have arrived
}

func newOutbox(send func([]byte) error) *outbox {
	var b [5]byte
	rand.Read(b[:])
	return &outbox{
		send:    send,
		window:  windowLimited,
		refBase: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]) + "-",
	}
}

// frame encodes it with its ref; a version 1 server gets no rooms.
func (it *outItem) frame(v1 bool) []byte {
	room := it.room
	if v1 {
		room = ""
	}
	switch it.kind {
	case protocol.MsgPrivate:
		return privateFrame(it.ref, it.to, it.text)
	case protocol.MsgNick:
		return nickFrame(it.ref, it.name)
	case protocol.MsgUsers:
		return roomUsersFrame(it.ref, room)
	case protocol.MsgEnter:
		return enterFrame(it.ref, it.room)
	case protocol.MsgExit:
		return exitFrame(it.ref, it.room)
	case protocol.MsgRooms:
		return roomsFrame(it.ref)
	}
	return roomMessageFrame(it.ref, room, it.text, it.action)
}

// question reports the requests dropped with a connection.
func (it *outItem) question() bool {
	return it.kind == protocol.MsgUsers || it.kind == protocol.MsgRooms
}

// full reports whether the outbox takes no more.
func (o *outbox) full() bool { return len(o.items) >= maxOutbox }

// waiting is how many items are not answered yet.
func (o *outbox) waiting() int { return len(o.items) }

// add queues it; it is sent by the next pump.
func (o *outbox) add(it *outItem) { o.items = append(o.items, it) }

// welcome learns the server's version and limits: the window is wide
// only when there is no rate limit.
func (o *outbox) welcome(w protocol.ServerFrame) {
	o.v1 = w.Protocol < protocol.Version
	if l := w.Limits; l != nil && (l.Rate == 0 || l.Burst == 0) {
		o.window = windowUnlimited
	} else {
		o.window = windowLimited
	}
}

// pump sends waiting items, oldest first, while the window allows. It
// returns how long to wait before pumping again (0: nothing to wait for).
func (o *outbox) pump(now time.Time) time.Duration {
	if !o.online || o.inflight == len(o.items) {
		return 0
	}
	if wait := o.resumeAt.Sub(now); wait > 0 {
		return wait
	}
	for _, it := range o.items {
		if o.inflight >= o.window {
			break
		}
		if it.sent {
			continue
		}
		if it.ref == "" {
			o.nextRef++
			it.ref = o.refBase + strconv.FormatUint(o.nextRef, 10)
		}
		if o.send(it.frame(o.v1)) != nil {
			return 0 // the link noticed: down follows
		}
		it.sent, it.tried = true, true
		o.inflight++
	}
	return 0
}

// answered removes and returns the item ref answers (nil if none).
func (o *outbox) answered(ref string) *outItem {
	if ref == "" {
		return nil
	}
	for i, it := range o.items {
		if it.sent && it.ref == ref {
			o.inflight--
			o.items = append(o.items[:i], o.items[i+1:]...)
			return it
		}
	}
	return nil
}

// refused handles an error frame: for rate_limited the item waits and is
// sent again (retry), otherwise it is removed. It returns the item the
// error answers (nil if none).
func (o *outbox) refused(f protocol.ServerFrame, now time.Time) (it *outItem, retry bool) {
	if f.Code != protocol.CodeRateLimited {
		return o.answered(f.Ref), false
	}
	for _, it := range o.items {
		if it.sent && it.ref == f.Ref {
			it.sent = false
			o.inflight--
			o.window = windowLimited
			o.resumeAt = now.Add(time.Duration(f.RetryAfterMS) * time.Millisecond)
			return it, true
		}
	}
	return nil, false
}

// down: the connection is lost. Everything in flight will be sent again;
// questions are dropped and returned.
func (o *outbox) down() (dropped []*outItem) {
	o.online = false
	o.inflight = 0
	kept := o.items[:0]
	for _, it := range o.items {
		if it.sent && it.question() {
			dropped = append(dropped, it)
			continue
		}
		it.sent = false
		kept = append(kept, it)
	}
	clear(o.items[len(kept):])
	o.items = kept
	return dropped
}

// up: the link is back and its replays are in; sending goes on.
func (o *outbox) up() {
	o.online = true
	o.resumeAt = time.Time{}
}

// arrived handles a replayed message or private of our own: one sent
// before the connection was lost and never acknowledged did arrive, so it
// is not sent again. It returns that item, or nil.
func (o *outbox) arrived(f protocol.ServerFrame) *outItem {
	for i, it := range o.items {
		if !it.tried || it.sent || it.kind != f.Type || it.text != f.Text {
			continue
		}
		same := it.action == f.Action && (it.room == f.Room || it.room == "" && f.Room == protocol.Lobby)
		if f.Type == protocol.MsgPrivate {
			same = protocol.FoldName(it.to) == protocol.FoldName(f.To)
		}
		if same {
			o.items = append(o.items[:i], o.items[i+1:]...)
			return it
		}
	}
	return nil
}
