package term

import (
	"strconv"
	"strings"
	"time"

	"pynet/protocol"
)

// Renderer turns server frames and the client's own notices into display
// lines. Every line starts with a local time stamp and a one-character
// marker column, so kinds of lines stay apart even without colour:
//
//	[15:04]   <bob> a public message
//	[15:04]   #go <bob> a message in another room than the current one
//	[15:04]   * bob waves            (an action, /me)
//	[15:04] > <alice> your own message
//	[15:04] ~ <bob> a message from the history replay
//	[15:04] @ bob → you: a private message (and "you → bob" for yours)
//	[15:04] * bob joined             (also leaves, renames, notices)
//	[15:04] ! bob is not online      (errors)
//
// The following lines of a multi-line message are indented under the first,
// and so are the rows a long line wraps into (Line.Indent). Everything
// received is passed through Clean first.
//
// A Renderer is not safe for concurrent use; with DateLines it keeps the
// day of the last line rendered.
type Renderer struct {
	Color bool
	// Colors256 picks nick colours from the 256-colour palette.
	Colors256 bool
	// Self is the user's own name: their messages and renames read as
	// "you", and messages naming them stand out.
	Self string
	// Room is the current room: lines about other rooms carry their name.
	// "" marks no room (a version 1 server, or pipe mode in one room).
	Room string
	// DateLines puts a line with the date before the first line of each
	// new day, and then time stamps show the time only.
	DateLines bool
	// Loc is the time zone of time stamps; nil means time.Local.
	Loc *time.Location
	// Now gives the time of local notices and of frames without ts; nil
	// means time.Now.
	Now func() time.Time

	lastDay int // yyyymmdd of the last line rendered (DateLines)
}

// Markers of the marker column.
const (
	markChat    = ' '
	markOwn     = '>'
	markHistory = '~'
	markPrivate = '@'
	markInfo    = '*'
	markError   = '!'
)

// maxIndent bounds the indentation of continuation lines, so a long name
// does not push the text of a multi-line message off a narrow screen.
const maxIndent = 40

// maxListed bounds how many names a user list shows.
const maxListed = 200

// Frame renders a server frame. Frames with nothing to show (ack, ping,
// pong, unknown types) give no lines; acks are shown by the client through
// Own, which knows what was sent.
func (r *Renderer) Frame(f protocol.ServerFrame) []Line {
	p := painter(r.Color)
	switch f.Type {
	case protocol.MsgMessage:
		switch {
		case f.History:
			return r.chat(f.TS, markHistory, f.Room, f.From, f.Text, f.Action, sgrDim)
		case r.isSelf(f.From):
			return r.chat(f.TS, markOwn, f.Room, f.From, f.Text, f.Action, sgrBold)
		}
		return r.chat(f.TS, markChat, f.Room, f.From, f.Text, f.Action, "")
	case protocol.MsgPrivate:
		from := r.name(f.From)
		if r.isSelf(f.From) {
			from = "you"
		}
		to := "you"
		if !r.isSelf(f.To) {
			to = r.name(f.To)
		}
		head := from + p.paint(sgrPrivate, " → ") + to + ":"
		return r.lines(f.TS, markPrivate, sgrPrivate, head, f.Text, "")
	case protocol.MsgJoined:
		return r.info(f.TS, sgrJoin, Clean(f.Username)+" joined"+r.inRoom(f.Room))
	case protocol.MsgLeft:
		return r.info(f.TS, sgrLeave, LeftText(Clean(f.Username), f.Reason)+r.inRoom(f.Room))
	case protocol.MsgRenamed:
		if r.isSelf(f.From) {
			return r.info(f.TS, sgrInfo, "you are now known as "+Clean(f.To))
		}
		return r.info(f.TS, sgrInfo, Clean(f.From)+" is now known as "+Clean(f.To))
	case protocol.MsgUsers:
		text := Members(f.Users, f.Count, f.HasCount)
		if f.Room != "" {
			text = RoomName(f.Room) + ": " + text
		}
		return r.info(f.TS, sgrInfo, text)
	case protocol.MsgWelcome:
		text := "joined as " + Clean(f.Username)
		if f.Account {
			text += " (logged in to the account)"
		}
		if f.Protocol < protocol.Version {
			text += " — " + Members(f.Users, f.Count, f.HasCount)
		}
		return r.info(f.TS, sgrInfo, text)
	case protocol.MsgEntered:
		return r.info(f.TS, sgrInfo, "in "+RoomName(f.Room)+" — "+Members(f.Users, f.Count, f.HasCount))
	case protocol.MsgExited:
		return r.info(f.TS, sgrInfo, "you left "+RoomName(f.Room))
	case protocol.MsgFetched:
		return r.info(f.TS, sgrInfo, RoomName(f.Room)+": "+Count(f.Count, "earlier message")+" fetched")
	case protocol.MsgRooms:
		return r.info(f.TS, sgrInfo, RoomList(f.Rooms, f.More, nil))
	case protocol.MsgRegistered:
		return r.info(f.TS, sgrInfo, Clean(f.Username)+" is now a registered account: next time, log in with -login")
	case protocol.MsgPasswordChanged:
		return r.info(f.TS, sgrInfo, "password changed; other sessions of the account were logged out")
	case protocol.MsgError:
		return r.Error(f, Request{})
	case protocol.MsgBye:
		return r.info(f.TS, sgrInfo, ByeText(f.Reason))
	}
	return nil
}

// Own renders the user's own public message once the server accepted it,
// at the time the server gave (ts of the ack).
func (r *Renderer) Own(ts, room, text string, action bool) []Line {
	return r.chat(ts, markOwn, room, r.Self, text, action, sgrBold)
}

// OwnPrivate renders a private message the user sent, once accepted.
func (r *Renderer) OwnPrivate(ts, to, text string) []Line {
	p := painter(r.Color)
	who := r.name(to)
	if r.isSelf(to) {
		who = "you"
	}
	head := "you" + p.paint(sgrPrivate, " → ") + who + ":"
	return r.lines(ts, markPrivate, sgrPrivate, head, text, "")
}

// Notice renders a message of the client itself ("reconnected").
func (r *Renderer) Notice(text string) []Line {
	return r.info("", sgrInfo, text)
}

// Problem renders something that went wrong locally ("not connected").
func (r *Renderer) Problem(text string) []Line {
	p := painter(r.Color)
	stamp, t := r.stamp("", markError, sgrError)
	return r.dated(t, []Line{{Text: stamp + p.paint(sgrError, text), Indent: visibleWidth(stamp)}})
}

// Separator renders a line that sets a block apart: "— text —", dim.
func (r *Renderer) Separator(text string) []Line {
	return r.info("", sgrDim, "— "+text+" —")
}

// Error renders an error frame, explained in terms of the request it
// answers.
func (r *Renderer) Error(f protocol.ServerFrame, req Request) []Line {
	return r.Problem(Explain(f, req))
}

// RoomName shows a room as IRC users know it: #go.
func RoomName(room string) string { return "#" + Clean(room) }

// Count says "1 message", "12 messages".
func Count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// Online describes a user list: "3 online: alice, bob, carol".
func Online(users []string) string { return Members(users, 0, false) }

// Members describes a member list, or only its count when the server gave
// no list (a room over the presence limit).
func Members(users []string, count int, hasCount bool) string {
	if hasCount && len(users) == 0 && count > 0 {
		return strconv.Itoa(count) + " online (too many to list)"
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(users)))
	b.WriteString(" online")
	for i, u := range users {
		if i == maxListed {
			b.WriteString(", … and " + strconv.Itoa(len(users)-maxListed) + " more")
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(Clean(u))
	}
	return b.String()
}

// RoomList describes a rooms frame: "rooms: #go (3), #lobby (5)"; the
// rooms in mine are starred.
func RoomList(rooms []protocol.RoomCount, more bool, mine func(string) bool) string {
	if len(rooms) == 0 {
		return "no rooms have members"
	}
	var b strings.Builder
	b.WriteString("rooms: ")
	for i, rc := range rooms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(RoomName(rc.Room))
		if mine != nil && mine(rc.Room) {
			b.WriteString("*")
		}
		b.WriteString(" (" + strconv.Itoa(rc.Count) + ")")
	}
	if more {
		b.WriteString(", and more")
	}
	if mine != nil {
		b.WriteString(" — * you are in")
	}
	return b.String()
}

// inRoom names room after an event when it is not the current room.
func (r *Renderer) inRoom(room string) string {
	if r.otherRoom(room) {
		return " " + RoomName(room)
	}
	return ""
}

func (r *Renderer) otherRoom(room string) bool {
	return r.Room != "" && room != "" && room != r.Room
}

// chat renders a public message: "<name> text", or "* name text" for an
// action, the text in style, with the room when it is not the current one.
func (r *Renderer) chat(ts string, mark byte, room, from, text string, action bool, style string) []Line {
	p := painter(r.Color)
	nameStyle := r.NameColor(from)
	if mark == markOwn {
		nameStyle = join(nameStyle, sgrBold)
	}
	var head string
	if r.otherRoom(room) {
		head = p.paint(join(style, sgrInfo), RoomName(room)) + " "
	}
	if action {
		head += p.paint(style, "*") + " " + p.paint(join(style, nameStyle), Clean(from))
	} else {
		head += p.paint(join(style, nameStyle), "<"+Clean(from)+">")
	}
	textStyle := style
	if mark == markChat && r.Mentions(text) {
		textStyle = sgrMention
	}
	return r.lines(ts, mark, style, head, text, textStyle)
}

// NameColor is the SGR colour of a name in this renderer's palette.
func (r *Renderer) NameColor(name string) string { return UserColor(name, r.Colors256) }

// info renders a one-line event in style.
func (r *Renderer) info(ts, style, text string) []Line {
	p := painter(r.Color)
	stamp, t := r.stamp(ts, markInfo, style)
	return r.dated(t, []Line{{Text: stamp + p.paint(style, text), Indent: visibleWidth(stamp)}})
}

// lines renders "stamp mark head text" and indents the text's further
// lines (and wrapped rows) under its first.
func (r *Renderer) lines(ts string, mark byte, markStyle, head, text, textStyle string) []Line {
	p := painter(r.Color)
	stamp, t := r.stamp(ts, mark, markStyle)
	prefix := stamp + head + " "
	indent := min(visibleWidth(prefix), maxIndent)
	body := CleanLines(text)
	out := make([]Line, 0, len(body))
	out = append(out, Line{Text: prefix + p.paint(textStyle, body[0]), Indent: indent})
	for _, l := range body[1:] {
		out = append(out, Line{Text: p.paint(textStyle, l), Indent: indent, Cont: true})
	}
	return r.dated(t, out)
}

// stamp renders "[15:04] m " with the marker in markStyle, and returns the
// local time it shows.
func (r *Renderer) stamp(ts string, mark byte, markStyle string) (string, time.Time) {
	p := painter(r.Color)
	t := r.localTime(ts)
	return p.paint(sgrDim, "["+r.clock(t)+"]") + " " + p.paint(markStyle, string(mark)) + " ", t
}

func (r *Renderer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// localTime parses ts (PROTOCOL's RFC 3339 UTC) into the renderer's zone;
// a missing or odd ts is now.
func (r *Renderer) localTime(ts string) time.Time {
	loc := r.Loc
	if loc == nil {
		loc = time.Local
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t = r.now()
	}
	return t.In(loc)
}

func dayOf(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// clock formats t as "15:04", with the date in front when it is not today
// (history can be old), unless date lines say the day already.
func (r *Renderer) clock(t time.Time) string {
	today := r.now().In(t.Location())
	if r.DateLines || dayOf(t) == dayOf(today) {
		return t.Format("15:04")
	}
	if t.Year() != today.Year() {
		return t.Format("2006-01-02 15:04")
	}
	return t.Format("Jan 2 15:04")
}

// dated puts a date line before lines when their day is not the day of the
// last lines rendered (DateLines only). The first day is today's.
func (r *Renderer) dated(t time.Time, lines []Line) []Line {
	if !r.DateLines {
		return lines
	}
	if r.lastDay == 0 {
		r.lastDay = dayOf(r.now().In(t.Location()))
	}
	day := dayOf(t)
	if day == r.lastDay {
		return lines
	}
	r.lastDay = day
	text := t.Format("Monday 2 January 2006")
	if day == dayOf(r.now().In(t.Location())) {
		text += " (today)"
	}
	p := painter(r.Color)
	return append([]Line{{Text: p.paint(sgrDim, "—— "+text+" ——")}}, lines...)
}

// Clock is the time stamp of ts as the renderer shows it ("15:04").
func (r *Renderer) Clock(ts string) string { return r.clock(r.localTime(ts)) }

// DayOf says when t is, for a person: "today", "yesterday", "Nov 25",
// "2025-11-25".
func (r *Renderer) DayOf(ts string) string {
	t := r.localTime(ts)
	today := r.now().In(t.Location())
	switch dayOf(t) {
	case dayOf(today):
		return "today"
	case dayOf(today.AddDate(0, 0, -1)):
		return "yesterday"
	}
	if t.Year() != today.Year() {
		return t.Format("2006-01-02")
	}
	return t.Format("Jan 2")
}

func (r *Renderer) name(n string) string {
	return painter(r.Color).paint(r.NameColor(n), Clean(n))
}

func (r *Renderer) isSelf(name string) bool {
	return r.Self != "" && protocol.FoldName(name) == protocol.FoldName(r.Self)
}

// Mentions reports whether text names the user as a whole word.
func (r *Renderer) Mentions(text string) bool {
	if r.Self == "" {
		return false
	}
	lower, self := strings.ToLower(text), strings.ToLower(r.Self)
	for i := 0; ; {
		j := strings.Index(lower[i:], self)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(self)
		if (start == 0 || !isNameByte(lower[start-1])) && (end == len(lower) || !isNameByte(lower[end])) {
			return true
		}
		i = start + 1
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// visibleWidth is the display width of s without its SGR sequences.
func visibleWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j + 1
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != 0x1b {
			j++
		}
		w += StringWidth(s[i:j])
		i = j
	}
	return w
}
