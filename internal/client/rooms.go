package client

import (
	"slices"
	"strconv"
	"strings"

	"pynet/internal/term"
)

// switchTo makes a room the current one: by number n (1-based, the order
// the rooms were entered, as Alt-1…9 show them) or by name.
func (u *ui) switchTo(n int, name string) {
	if !u.v2 {
		u.t.PrintLines(u.r.Problem("this server has no rooms (it speaks protocol 1)"))
		return
	}
	if n > 0 {
		if n > len(u.rooms) {
			u.t.PrintLines(u.r.Problem("there is no room " + strconv.Itoa(n) + ": you are in " + term.Count(len(u.rooms), "room")))
			return
		}
		name = u.rooms[n-1]
	}
	if !slices.Contains(u.rooms, name) {
		u.t.PrintLines(u.r.Problem("you are not in " + term.RoomName(name) + " — /join " + term.Clean(name)))
		return
	}
	if name == u.current {
		return
	}
	u.current = name
	rs := u.room[name]
	text := "now in " + term.RoomName(name)
	if rs.unread > 0 {
		text += " — " + term.Count(rs.unread, "new message") + " above, marked " + term.RoomName(name)
	}
	rs.unread, rs.mentions = 0, 0
	u.r.Room = u.roomMark()
	u.setPrompt()
	u.t.PrintLines(u.r.Notice(text))
}

// cycle switches to the next (+1) or previous (-1) room.
func (u *ui) cycle(dir int) {
	if !u.v2 || len(u.rooms) == 0 {
		return
	}
	i := slices.Index(u.rooms, u.current)
	i = ((i+dir)%len(u.rooms) + len(u.rooms)) % len(u.rooms)
	u.switchTo(i+1, "")
}

// updateStatus draws the status row: the rooms with their numbers, the
// current one in brackets, unread counts and mentions for the others, the
// last mention or private (until the user sends something), and what
// waits to be sent. It is shown when there is more than one room or
// something to say.
func (u *ui) updateStatus() {
	var parts []string
	activity := false
	if u.v2 && len(u.rooms) > 1 {
		for i, room := range u.rooms {
			label := strconv.Itoa(i+1) + ":" + term.RoomName(room)
			rs := u.room[room]
			switch {
			case room == u.current:
				label = "[" + label + "]"
			case rs != nil && rs.mentions > 0:
				label += "(" + strconv.Itoa(rs.unread) + ", " + term.Count(rs.mentions, "mention") + ")"
				activity = true
			case rs != nil && rs.unread > 0:
				label += "(" + strconv.Itoa(rs.unread) + ")"
				activity = true
			}
			parts = append(parts, label)
		}
	}
	status := strings.Join(parts, " ")
	if u.ob != nil {
		if n := u.ob.waiting(); n > 0 && (u.offline || n > u.ob.window) {
			what := "sending " + strconv.Itoa(n) + "…"
			if u.offline {
				what = strconv.Itoa(n) + " waiting for the connection"
			}
			status = strings.TrimPrefix(status+" | "+what, " | ")
			activity = true
		}
	}
	if u.attention != "" {
		status = strings.TrimPrefix(status+" | "+u.attention, " | ")
		activity = true
	}
	if !activity && len(u.rooms) < 2 {
		status = ""
	}
	u.t.SetStatus(status, u.style(term.SGRStatus))
}

// complete is the editor's Tab completion: commands after a "/" at the
// start, rooms after /join, /part and /room, names elsewhere ("bob: " at
// the start of a line, as IRC clients do).
func (u *ui) complete(before, word string) []string {
	cmd, _ := cutWord(before)
	switch {
	case before == "" && strings.HasPrefix(word, "/"):
		var out []string
		for _, c := range commandNames {
			if strings.HasPrefix(c, strings.ToLower(word)) {
				out = append(out, c)
			}
		}
		return out
	case cmd == "/join" || cmd == "/j":
		return u.matchRooms(word, u.knownRooms())
	case cmd == "/part" || cmd == "/room" || cmd == "/users" || cmd == "/who" || cmd == "/names":
		return u.matchRooms(word, u.rooms)
	}
	var pool *roster
	if rs := u.room[u.current]; rs != nil && cmd != "/msg" && cmd != "/ignore" && cmd != "/unignore" {
		pool = rs.members // in a room: its members first
	}
	names := u.names.matching(word, u.name)
	if pool != nil {
		in := pool.matching(word, u.name)
		for _, n := range names {
			if !pool.has(n) {
				in = append(in, n)
			}
		}
		names = in
	}
	if before == "" {
		for i := range names {
			names[i] += ":"
		}
	}
	return names
}

func (u *ui) knownRooms() []string {
	var out []string
	for r := range u.known {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// matchRooms returns the rooms that start with word ("#go" or "go").
func (u *ui) matchRooms(word string, rooms []string) []string {
	prefix := strings.ToLower(strings.TrimPrefix(word, "#"))
	var out []string
	for _, r := range rooms {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// request describes an item for explanations.
func (it *outItem) request() term.Request {
	return term.Request{Type: it.kind, To: it.to, Username: it.name, Room: it.room}
}
