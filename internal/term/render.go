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
//	[15:04] > <alice> your own message
//	[15:04] ~ <bob> a message from the history replay
//	[15:04] @ bob → you: a private message (and "you → bob" for yours)
//	[15:04] * bob joined             (also leaves, renames, notices)
//	[15:04] ! bob is not online      (errors)
//
// The following lines of a multi-line message are indented under the first.
// Everything received is passed through Clean first.
type Renderer struct {
	Color bool
	// Self is the user's own name: their messages and renames read as
	// "you", and messages naming them stand out.
	Self string
	// Loc is the time zone of time stamps; nil means time.Local.
	Loc *time.Location
	// Now gives the time of local notices and of frames without ts; nil
	// means time.Now.
	Now func() time.Time
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
func (r *Renderer) Frame(f protocol.ServerFrame) []string {
	p := painter(r.Color)
	switch f.Type {
	case protocol.MsgMessage:
		if f.History {
			return r.chat(f.TS, markHistory, f.From, f.Text, sgrDim)
		}
		if r.isSelf(f.From) {
			return r.chat(f.TS, markOwn, f.From, f.Text, sgrBold)
		}
		return r.chat(f.TS, markChat, f.From, f.Text, "")
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
		return r.info(f.TS, sgrJoin, Clean(f.Username)+" joined")
	case protocol.MsgLeft:
		return r.info(f.TS, sgrLeave, LeftText(Clean(f.Username), f.Reason))
	case protocol.MsgRenamed:
		if r.isSelf(f.From) {
			return r.info(f.TS, sgrInfo, "you are now known as "+Clean(f.To))
		}
		return r.info(f.TS, sgrInfo, Clean(f.From)+" is now known as "+Clean(f.To))
	case protocol.MsgUsers:
		return r.info(f.TS, sgrInfo, Online(f.Users))
	case protocol.MsgWelcome:
		return r.info(f.TS, sgrInfo, "joined as "+Clean(f.Username)+" — "+Online(f.Users))
	case protocol.MsgError:
		return r.Error(f, Request{})
	case protocol.MsgBye:
		return r.info(f.TS, sgrInfo, ByeText(f.Reason))
	}
	return nil
}

// Own renders the user's own public message once the server accepted it,
// at the time the server gave (ts of the ack).
func (r *Renderer) Own(ts, text string) []string {
	return r.chat(ts, markOwn, r.Self, text, sgrBold)
}

// OwnPrivate renders a private message the user sent, once accepted.
func (r *Renderer) OwnPrivate(ts, to, text string) []string {
	p := painter(r.Color)
	head := "you" + p.paint(sgrPrivate, " → ") + r.name(to) + ":"
	return r.lines(ts, markPrivate, sgrPrivate, head, text, "")
}

// Notice renders a message of the client itself ("reconnected").
func (r *Renderer) Notice(text string) []string {
	return r.info("", sgrInfo, text)
}

// Problem renders something that went wrong locally ("not connected").
func (r *Renderer) Problem(text string) []string {
	p := painter(r.Color)
	return []string{r.stamp("", markError, sgrError) + p.paint(sgrError, text)}
}

// Error renders an error frame, explained in terms of the request it
// answers.
func (r *Renderer) Error(f protocol.ServerFrame, req Request) []string {
	return r.Problem(Explain(f, req))
}

// Online describes a user list: "3 online: alice, bob, carol".
func Online(users []string) string {
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

// chat renders a public message: "<name> text", the text in style.
func (r *Renderer) chat(ts string, mark byte, from, text, style string) []string {
	p := painter(r.Color)
	nameStyle := UserColor(from)
	if mark == markOwn {
		nameStyle = join(nameStyle, sgrBold)
	}
	head := p.paint(join(style, nameStyle), "<"+Clean(from)+">")
	textStyle := style
	if mark == markChat && r.mentionsSelf(text) {
		textStyle = sgrBold
	}
	return r.lines(ts, mark, style, head, text, textStyle)
}

// info renders a one-line event in style.
func (r *Renderer) info(ts, style, text string) []string {
	p := painter(r.Color)
	return []string{r.stamp(ts, markInfo, style) + p.paint(style, text)}
}

// lines renders "stamp mark head text" and indents the text's further
// lines under its first.
func (r *Renderer) lines(ts string, mark byte, markStyle, head, text, textStyle string) []string {
	p := painter(r.Color)
	prefix := r.stamp(ts, mark, markStyle) + head + " "
	body := CleanLines(text)
	out := make([]string, 0, len(body))
	out = append(out, prefix+p.paint(textStyle, body[0]))
	if len(body) > 1 {
		indent := strings.Repeat(" ", min(visibleWidth(prefix), maxIndent))
		for _, l := range body[1:] {
			out = append(out, indent+p.paint(textStyle, l))
		}
	}
	return out
}

// stamp renders "[15:04] m " with the marker in markStyle.
func (r *Renderer) stamp(ts string, mark byte, markStyle string) string {
	p := painter(r.Color)
	return p.paint(sgrDim, "["+r.clock(ts)+"]") + " " + p.paint(markStyle, string(mark)) + " "
}

// clock formats ts (PROTOCOL's RFC 3339 UTC) as local "15:04", with the
// date in front when it is not today (history can be old).
func (r *Renderer) clock(ts string) string {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	loc := r.Loc
	if loc == nil {
		loc = time.Local
	}
	today := now().In(loc)
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t = today
	}
	t = t.In(loc)
	if y, m, d := t.Date(); y != today.Year() || m != today.Month() || d != today.Day() {
		if y != today.Year() {
			return t.Format("2006-01-02 15:04")
		}
		return t.Format("Jan 2 15:04")
	}
	return t.Format("15:04")
}

func (r *Renderer) name(n string) string {
	return painter(r.Color).paint(UserColor(n), Clean(n))
}

func (r *Renderer) isSelf(name string) bool {
	return r.Self != "" && protocol.FoldName(name) == protocol.FoldName(r.Self)
}

// mentionsSelf reports whether text names the user as a whole word.
func (r *Renderer) mentionsSelf(text string) bool {
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
