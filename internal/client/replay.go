package client

import (
	"slices"
	"strconv"

	"pynet/internal/term"
	"pynet/protocol"
)

// syncState gathers what a join replays (PROTOCOL §4: entered and each
// room's replay, then the private replay) until the link says it is all
// in, so that it can be told in a few lines instead of a wall:
//
//	first join:  — 100 earlier messages in #lobby, since yesterday; the last 12: —
//	             …the last 12…
//	             joined #lobby as alice — 3 online: alice, bob, carol
//	reconnect:   reconnected — 12 missed messages
//	             …the 12 messages…
type syncState struct {
	on         bool
	resumed    bool
	account    bool
	privateGap bool
	frames     []Frame         // replayed messages and privates, in order
	entered    []Frame         // the rooms' entered frames, in order
	gap        map[string]bool // rooms whose replay misses messages
	count      map[string]int  // replayed messages per room
}

// replayed takes a frame that arrived between a welcome and the end of
// its replays.
func (u *ui) replayed(f Frame) []term.Line {
	s := &u.sync
	switch f.Type {
	case protocol.MsgEntered:
		s.entered = append(s.entered, f)
		if !slices.Contains(u.rooms, f.Room) {
			u.rooms = append(u.rooms, f.Room)
		}
		u.resetRoom(f.Room, f.Users, f.Count)
		if f.Gap {
			if s.gap == nil {
				s.gap = make(map[string]bool)
			}
			s.gap[f.Room] = true
		}
		return nil
	case protocol.MsgMessage, protocol.MsgPrivate:
		if u.ups > 1 && u.isSelf(f.From) {
			u.ob.arrived(f.ServerFrame) // sent before the loss; it did arrive
		}
		if u.isIgnored(f.From) {
			return nil
		}
		if s.count == nil {
			s.count = make(map[string]int)
		}
		s.count[f.Room]++
		s.frames = append(s.frames, f)
		return nil
	}
	return u.frame(f)
}

// synced tells what the join replayed, now that it is all in.
func (u *ui) synced() []term.Line {
	s := u.sync
	u.sync = syncState{}
	if u.v2 && (u.current == "" || !slices.Contains(u.rooms, u.current)) {
		u.current = ""
		if len(u.rooms) > 0 {
			u.current = u.rooms[0]
		}
	}
	u.r.Room = u.roomMark()
	u.setPrompt()
	u.ob.up()
	var lines []term.Line
	if u.ups == 1 {
		lines = u.firstJoin(s)
	} else {
		lines = u.rejoined(s)
	}
	if n := u.ob.waiting(); n > 0 && u.ups > 1 {
		lines = append(lines, u.r.Notice("sending "+term.Count(n, "message")+" that the server had not confirmed")...)
	}
	return lines
}

// roomMark is the renderer's current room: "" (mark nothing) when there is
// only one room to be in, or with a v1 server.
func (u *ui) roomMark() string {
	if !u.v2 || len(u.rooms) < 2 && (len(u.rooms) == 0 || u.rooms[0] == u.current) {
		return ""
	}
	return u.current
}

// backlog is how many replayed messages of a room a first join shows: the
// replay is summarised so that the join's own line stays on screen.
func (u *ui) backlog(rooms int) int {
	return max(3, (u.scr.Height()-6)/max(1, rooms))
}

// firstJoin shows the replay of a first join: per room, how many earlier
// messages there are and since when, the last few of them, then who is
// there.
func (u *ui) firstJoin(s syncState) []term.Line {
	var lines []term.Line
	withReplay := 0
	for _, n := range s.count {
		if n > 0 {
			withReplay++
		}
	}
	k := u.backlog(withReplay)
	byRoom := map[string][]Frame{}
	var privs []Frame
	for _, f := range s.frames {
		if f.Type == protocol.MsgPrivate {
			privs = append(privs, f)
			continue
		}
		byRoom[f.Room] = append(byRoom[f.Room], f)
	}
	order := u.rooms
	if !u.v2 {
		order = []string{protocol.Lobby}
	}
	for _, room := range order {
		fs := byRoom[room]
		if len(fs) == 0 {
			continue
		}
		head := term.Count(len(fs), "earlier message")
		if u.v2 {
			head += " in " + term.RoomName(room)
		}
		if day := u.r.DayOf(fs[0].TS); day != "today" {
			head += ", since " + day
		}
		if len(fs) > k {
			head += "; the last " + strconv.Itoa(k) + ":"
			fs = fs[len(fs)-k:]
		}
		lines = append(lines, u.r.Separator(head)...)
		for _, f := range fs {
			lines = append(lines, u.r.Frame(f.ServerFrame)...)
		}
	}
	if len(privs) > 0 {
		lines = append(lines, u.r.Separator(term.Count(len(privs), "private message")+" kept for you")...)
		for _, f := range privs {
			lines = append(lines, u.r.Frame(f.ServerFrame)...)
		}
	}
	return append(lines, u.r.Notice(u.whereText(s))...)
}

// whereText says who we are and where: "joined #lobby as alice — 3
// online: alice, bob, carol".
func (u *ui) whereText(s syncState) string {
	as := " as " + term.Clean(u.name)
	if s.account {
		as += " (logged in)"
	}
	if !u.v2 {
		rs := u.room[""]
		return "joined" + as + " — " + term.Members(rs.members.list(), rs.count, true)
	}
	switch len(u.rooms) {
	case 0:
		return "joined" + as + ", in no room — /join ROOM"
	case 1:
		rs := u.room[u.rooms[0]]
		return "joined " + term.RoomName(u.rooms[0]) + as + " — " + term.Members(rs.members.list(), rs.count, true)
	}
	text := "joined" + as + " — "
	for i, room := range u.rooms {
		if i > 0 {
			text += "; "
		}
		rs := u.room[room]
		text += term.RoomName(room) + ": " + strconv.Itoa(max(rs.count, rs.members.len()))
	}
	return text + " online"
}

// rejoined tells a reconnection: how many messages were missed, whether
// some are lost, then the messages themselves (they are news to the user).
func (u *ui) rejoined(s syncState) []term.Line {
	n := len(s.frames)
	text := "reconnected"
	if !s.resumed && u.v2 {
		text += " (a new session)"
	}
	switch n {
	case 0:
		text += " — nothing missed"
	default:
		text += " — " + term.Count(n, "missed message")
	}
	lines := u.r.Notice(text)
	for _, room := range u.rooms {
		if !s.gap[room] {
			continue
		}
		if u.limits != nil && u.limits.ReplayMax > 0 && s.count[room] >= u.limits.ReplayMax {
			lines = append(lines, u.r.Problem(term.RoomName(room)+": more was missed than the server replays at once; the oldest "+
				strconv.Itoa(s.count[room])+" are shown, some after them are not")...)
		} else {
			lines = append(lines, u.r.Problem(term.RoomName(room)+": some missed messages are no longer kept by the server")...)
		}
	}
	if s.privateGap {
		lines = append(lines, u.r.Problem("some private messages sent meanwhile are no longer kept by the server")...)
	}
	mention := false
	for _, f := range s.frames {
		f.History = false // missed, not old: shown as they would have been
		if f.Type == protocol.MsgMessage && !u.isSelf(f.From) {
			m := u.r.Mentions(f.Text)
			mention = mention || m
			if rs := u.room[f.Room]; rs != nil && u.v2 && f.Room != u.current {
				rs.unread++
				if m {
					rs.mentions++
				}
			}
		}
		lines = append(lines, u.r.Frame(f.ServerFrame)...)
	}
	if mention {
		u.t.Bell()
	}
	return lines
}

// entered handles the answer to /join: the room's replay follows; it is
// shown summarised once all of it is in.
func (u *ui) entered(f Frame) []term.Line {
	if !slices.Contains(u.rooms, f.Room) {
		u.rooms = append(u.rooms, f.Room)
	}
	rs := u.resetRoom(f.Room, f.Users, f.Count)
	rs.pending, rs.got, rs.want, rs.entered = nil, 0, f.Replay, &f
	if f.Replay == 0 {
		return u.enteredLines(f.Room, rs)
	}
	return nil
}

// gathered adds f to a room's backlog (counting, not keeping, messages of
// ignored users); when all of it is in, it is shown.
func (u *ui) gathered(room string, rs *roomState, f Frame) []term.Line {
	rs.got++
	if !u.isIgnored(f.From) {
		rs.pending = append(rs.pending, f)
	}
	if rs.got < rs.want {
		return nil
	}
	return u.enteredLines(room, rs)
}

// enteredLines shows a room just entered: its last messages, summarised,
// then who is there; and makes it the current room.
func (u *ui) enteredLines(room string, rs *roomState) []term.Line {
	var lines []term.Line
	fs := rs.pending
	if len(fs) > 0 {
		head := term.Count(len(fs), "earlier message") + " in " + term.RoomName(room)
		if day := u.r.DayOf(fs[0].TS); day != "today" {
			head += ", since " + day
		}
		if k := u.backlog(1); len(fs) > k {
			head += "; the last " + strconv.Itoa(k) + ":"
			fs = fs[len(fs)-k:]
		}
		u.current = room // so the lines are not marked with it
		u.r.Room = u.roomMark()
		lines = append(lines, u.r.Separator(head)...)
		for _, f := range fs {
			lines = append(lines, u.r.Frame(f.ServerFrame)...)
		}
	}
	lines = append(lines, u.r.Notice("now in "+term.RoomName(room)+" — "+term.Members(rs.members.list(), rs.count, true))...)
	rs.pending, rs.got, rs.want, rs.entered = nil, 0, 0, nil
	u.current = room
	rs.unread, rs.mentions = 0, 0
	u.r.Room = u.roomMark()
	u.setPrompt()
	return lines
}

// exited handles the answer to /part.
func (u *ui) exited(room string) []term.Line {
	i := slices.Index(u.rooms, room)
	if i >= 0 {
		u.rooms = slices.Delete(u.rooms, i, i+1)
	}
	delete(u.room, room)
	lines := u.r.Notice("you left " + term.RoomName(room))
	if u.current == room {
		u.current = ""
		if len(u.rooms) > 0 {
			u.current = u.rooms[max(0, i-1)]
			lines = append(lines, u.r.Notice("now in "+term.RoomName(u.current))...)
		} else {
			lines = append(lines, u.r.Notice("you are in no room now — /join ROOM")...)
		}
	}
	u.r.Room = u.roomMark()
	u.setPrompt()
	return lines
}
