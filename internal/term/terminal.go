package term

import (
	"io"
	"unicode/utf8"
)

// Input is one thing the user did that the program must act on.
type Input struct {
	Action Action // ActSubmit, ActEOF, ActInterrupt, ActDiscard, ActRoom…, ActOverflow
	Line   string // for ActSubmit (empty in Secret mode), ActRoom (the digit)
	// Secret is what was entered at a Secret prompt (ActSubmit); the
	// receiver should clear it once used.
	Secret []byte
}

// keepLines bounds the conversation lines kept to draw the screen again
// (Ctrl-L): more than any screen is high.
const keepLines = 1000

// Terminal is the interactive screen: a status row (when there is one) and
// a prompt with the line being edited at the bottom, and the conversation
// printed above them.
//
// Every change is drawn with one Write: move to the area's first row, clear
// to the end of the screen, print the new lines, draw status, prompt and
// input again. So however fast lines arrive, the line being typed is never
// mixed into them and is redrawn intact below them.
//
// A Terminal is not safe for concurrent use: one goroutine (the client's UI
// loop) feeds it input and hands it output.
type Terminal struct {
	w     io.Writer
	width int

	prompt      string
	promptStyle string // SGR parameters, "" for none
	status      string
	statusStyle string

	// Editor holds the line being typed; the program may configure it
	// (Limit, Complete, Secret) but should change its text only through
	// Terminal, so that the screen follows.
	Editor *Editor
	dec    Decoder

	// Size, when set, returns the terminal's current width. It is asked
	// before every drawing: the terminal may have been resized (and have
	// re-wrapped what is on screen) before SIGWINCH reaches the program,
	// and drawing for the old width then would leave stale rows behind.
	Size func() int
	// Height, when set, returns the terminal's height in rows: the input
	// area never grows taller than the screen, and Ctrl-L knows how much
	// of the conversation to draw again. Unset, 24 is assumed.
	Height func() int

	// What is on screen: the layout of the last drawing, so the next one
	// knows how far up the area starts.
	drawn   bool
	lo      layout
	top     int // first input row shown (a draft taller than the screen)
	lastEd  *Editor
	lastRev uint64
	lastPos int
	// up, when reflowed is set, is how far up the area starts after a
	// change of width (see layout.rowsAbove); otherwise it is lo.curRow.
	up       int
	reflowed bool

	kept []Line // the last lines printed, at most keepLines, for Ctrl-L

	out []byte // reused output buffer
}

// NewTerminal returns a terminal writing to w, width columns wide.
func NewTerminal(w io.Writer, width int, ed *Editor) *Terminal {
	if ed == nil {
		ed = NewEditor(nil)
	}
	if width < 2 {
		width = 80
	}
	return &Terminal{w: w, width: width, Editor: ed}
}

// Width is the current width in columns.
func (t *Terminal) Width() int { return t.width }

func (t *Terminal) height() int {
	if t.Height != nil {
		if h := t.Height(); h > 0 {
			return h
		}
	}
	return 24
}

// SetPrompt changes the prompt and redraws; style is SGR parameters such as
// "1;32", or "" for plain text. Control characters in the prompt are
// neutralised.
func (t *Terminal) SetPrompt(prompt, style string) {
	prompt = Clean(prompt)
	if prompt == t.prompt && style == t.promptStyle && t.drawn {
		return
	}
	t.prompt, t.promptStyle = prompt, style
	t.Redraw()
}

// SetStatus changes the status row drawn above the prompt ("" for none)
// and redraws if it changed. It is cut to the width of the screen.
func (t *Terminal) SetStatus(status, style string) {
	if status == t.status && style == t.statusStyle {
		return
	}
	t.status, t.statusStyle = status, style
	if t.drawn {
		t.Redraw()
	}
}

// Feed decodes keys from b, applies them to the editor, redraws the input
// once, and returns what the program must act on, in order. Ctrl-L is
// handled here: the conversation is drawn again.
func (t *Terminal) Feed(b []byte) []Input {
	var res []Input
	redraw := false
	t.dec.Feed(b, func(k Key) {
		switch act, line := t.Editor.Handle(k); act {
		case ActNone:
		case ActRedraw:
			redraw = true
		case ActSubmit:
			in := Input{Action: act, Line: line}
			if t.Editor.Secret {
				in.Secret = t.Editor.TakeSecret()
			}
			res = append(res, in)
		default:
			res = append(res, Input{Action: act, Line: line})
		}
	})
	if t.Editor.Secret {
		clear(t.dec.scratch) // it held the keys, the password's too
	}
	if redraw {
		t.RedrawAll()
	}
	t.out = t.out[:0]
	resized := t.checkWidth()
	if t.Editor.Overflowed {
		t.Editor.Overflowed = false
		t.out = append(t.out, '\a')
		res = append(res, Input{Action: ActOverflow})
	}
	if resized || !t.drawn || t.lastEd != t.Editor || t.lastRev != t.Editor.Rev() || t.lastPos != t.Editor.Cursor() {
		t.out = t.clearInput(t.out)
		t.out = t.draw(t.out)
	}
	t.flush()
	return res
}

// Print writes plain lines above the prompt, then redraws the area below
// them. Lines should not hold line breaks; any are kept as breaks.
func (t *Terminal) Print(lines ...string) { t.PrintLines(Lines(lines...)) }

// PrintLines writes lines above the prompt, each wrapped at the screen's
// width with its hanging indent, then redraws the area below them.
func (t *Terminal) PrintLines(lines []Line) {
	if len(lines) == 0 {
		return
	}
	t.checkWidth()
	t.keep(lines)
	t.out = t.clearInput(t.out[:0])
	for _, l := range lines {
		t.out = t.appendLine(t.out, l)
	}
	t.out = t.draw(t.out)
	t.flush()
}

// appendLine appends the rows of l, each ended by CR LF.
func (t *Terminal) appendLine(dst []byte, l Line) []byte {
	if containsByte(l.Text, '\n') { // not from the Renderer: keep the breaks
		for i, part := range splitLF(l.Text) {
			if i > 0 {
				l.Cont = l.Indent > 0
			}
			l.Text = part
			dst = t.appendLine(dst, l)
		}
		return dst
	}
	for _, row := range wrapLine(l, t.width) {
		dst = append(dst, row...)
		if containsByte(row, 0x1b) {
			dst = append(dst, "\x1b[0m"...) // no colour may leak into the next row
		}
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// keep remembers lines for RedrawAll, the last keepLines of them.
func (t *Terminal) keep(lines []Line) {
	t.kept = append(t.kept, lines...)
	if len(t.kept) > 2*keepLines { // trim now and then, not at every line
		t.kept = append(t.kept[:0:0], t.kept[len(t.kept)-keepLines:]...)
	}
}

// RedrawAll clears the screen and draws the end of the conversation and
// the area again (Ctrl-L): as much as fits above the area.
func (t *Terminal) RedrawAll() {
	t.checkWidth()
	t.reflowed = false
	t.drawn = false
	areaBytes, top, lo := t.renderArea()
	room := t.height() - len(lo.rows)
	var rows []string
	for i := len(t.kept) - 1; i >= 0 && len(rows) < room; i-- {
		r := wrapLine(t.kept[i], t.width)
		rows = append(r, rows...) // few lines: the copying does not matter
	}
	if len(rows) > room {
		rows = rows[len(rows)-room:]
	}
	t.out = append(t.out[:0], "\x1b[H\x1b[2J"...)
	for _, r := range rows {
		t.out = append(t.out, r...)
		if containsByte(r, 0x1b) {
			t.out = append(t.out, "\x1b[0m"...)
		}
		t.out = append(t.out, '\r', '\n')
	}
	t.out = append(t.out, areaBytes...)
	t.commit(top, lo)
	t.flush()
}

// Clear empties the screen and forgets the conversation (/clear); the area
// is drawn again at the top.
func (t *Terminal) Clear() {
	t.kept = nil
	t.drawn, t.reflowed = false, false
	t.checkWidth()
	t.out = append(t.out[:0], "\x1b[H\x1b[2J"...)
	t.out = t.draw(t.out)
	t.flush()
}

// Resize redraws for a new width (after SIGWINCH). With Size set, the
// width is asked for there and the argument is ignored.
func (t *Terminal) Resize(width int) {
	if t.Size == nil {
		t.setWidth(width)
	}
	if t.checkWidth() || t.reflowed {
		t.Redraw()
	}
}

// checkWidth asks Size for the width and reports whether it changed.
func (t *Terminal) checkWidth() bool {
	if t.Size == nil {
		return t.reflowed
	}
	return t.setWidth(t.Size())
}

// setWidth records a new width. What was drawn for the old width may have
// been re-wrapped by the terminal; rowsAbove says where the area is now.
func (t *Terminal) setWidth(width int) bool {
	if width < 2 || width == t.width {
		return false
	}
	if t.drawn {
		if !t.reflowed {
			t.up = t.lo.rowsAbove(width)
		} else { // resized twice between drawings: estimate from the first
			t.up = max(t.up, t.lo.rowsAbove(width))
		}
		t.reflowed = true
	}
	t.width = width
	return true
}

// Redraw draws status, prompt and input again, after the program changed
// the Editor's text or replaced the Editor.
func (t *Terminal) Redraw() {
	t.checkWidth()
	t.out = t.clearInput(t.out[:0])
	t.out = t.draw(t.out)
	t.flush()
}

// Bell rings the terminal's bell (a private message, a mention).
func (t *Terminal) Bell() { t.w.Write([]byte{'\a'}) }

// Close erases the area, leaving the cursor at the start of the row where
// it began, so the shell prompt follows the last output line.
func (t *Terminal) Close() {
	t.checkWidth()
	t.out = t.clearInput(t.out[:0])
	t.drawn = false
	t.flush()
}

// clearInput appends the bytes that move to the area's first row and
// erase from there to the end of the screen.
func (t *Terminal) clearInput(dst []byte) []byte {
	if !t.drawn {
		return dst
	}
	up := t.lo.curRow
	if t.reflowed {
		up, t.reflowed = t.up, false
	}
	dst = append(dst, '\r')
	if up > 0 {
		dst = csi(dst, up, 'A')
	}
	t.drawn = false
	return append(dst, "\x1b[J"...)
}

// renderArea lays out status, prompt and input for the current width and
// height without touching the screen.
func (t *Terminal) renderArea() ([]byte, int, layout) {
	rows, curRow, curCol := layoutInput(t.prompt, t.promptStyle, t.Editor.Runes(), t.Editor.Cursor(), t.width, t.Editor.Secret)
	a := area{
		status: t.status, statusStyle: t.statusStyle,
		rows: rows, curRow: curRow, curCol: curCol,
		width: t.width, maxRows: max(1, t.height()-1),
	}
	return drawArea(nil, a, t.top)
}

// draw appends the area, which must start on an empty row.
func (t *Terminal) draw(dst []byte) []byte {
	b, top, lo := t.renderArea()
	dst = append(dst, b...)
	t.commit(top, lo)
	return dst
}

// commit records what is on screen after a drawing.
func (t *Terminal) commit(top int, lo layout) {
	t.top, t.lo, t.drawn = top, lo, true
	t.lastEd, t.lastRev, t.lastPos = t.Editor, t.Editor.Rev(), t.Editor.Cursor()
}

func (t *Terminal) flush() {
	if len(t.out) > 0 {
		t.w.Write(t.out) // a failing terminal is noticed by the reader of stdin
	}
}

func encodeRune(b []byte, r rune) int { return utf8.EncodeRune(b, r) }

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func splitLF(s string) []string {
	var out []string
	for {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		part := s[:i]
		if n := len(part); n > 0 && part[n-1] == '\r' {
			part = part[:n-1]
		}
		out = append(out, part)
		if i == len(s) {
			return out
		}
		s = s[i+1:]
	}
}
