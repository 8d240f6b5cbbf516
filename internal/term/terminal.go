package term

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Input is one thing the user did that the program must act on.
type Input struct {
	Action Action // ActSubmit, ActEOF or ActInterrupt
	Line   string // for ActSubmit
}

// Terminal is the interactive screen: a prompt with the line being edited
// at the bottom, and everything else printed above it.
//
// Every change is drawn with one Write: move to the prompt's row, clear to
// the end of the screen, print the new lines, draw prompt and input again.
// So however fast lines arrive, the line being typed is never mixed into
// them and is redrawn intact below them.
//
// A Terminal is not safe for concurrent use: one goroutine (the client's UI
// loop) feeds it input and hands it output.
type Terminal struct {
	w     io.Writer
	width int

	prompt      string
	promptStyle string // SGR parameters, "" for none

	// Editor holds the line being typed; the program may configure it
	// (Limit, Complete) but should change its text only through Terminal,
	// so that the screen follows.
	Editor *Editor
	dec    Decoder

	// Size, when set, returns the terminal's current width. It is asked
	// before every drawing: the terminal may have been resized (and have
	// re-wrapped what is on screen) before SIGWINCH reaches the program,
	// and drawing for the old width then would leave stale rows behind.
	Size func() int

	// What is on screen: the layout of the last drawing, so the next one
	// knows how far up the prompt is.
	drawn    bool
	lo       layout
	lastText string
	lastPos  int
	// up, when reflowed is set, is how far up the prompt is after a
	// change of width (see layout.rowsAbove); otherwise it is lo.curRow.
	up       int
	reflowed bool

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

// SetPrompt changes the prompt and redraws; style is SGR parameters such as
// "1;32", or "" for plain text. Control characters in the prompt are
// neutralised.
func (t *Terminal) SetPrompt(prompt, style string) {
	prompt = Clean(prompt)
	if prompt == t.prompt && style == t.promptStyle && t.drawn {
		return
	}
	t.prompt, t.promptStyle = prompt, style
	t.checkWidth()
	t.out = t.clearInput(t.out[:0])
	t.out = t.draw(t.out)
	t.flush()
}

// Feed decodes keys from b, applies them to the editor, redraws the input
// once, and returns what the program must act on, in order.
func (t *Terminal) Feed(b []byte) []Input {
	var res []Input
	clear := false
	t.dec.Feed(b, func(k Key) {
		switch act, line := t.Editor.Handle(k); act {
		case ActNone:
		case ActRedraw:
			clear = true
		default:
			res = append(res, Input{Action: act, Line: line})
		}
	})
	t.out = t.out[:0]
	resized := t.checkWidth()
	if t.Editor.Overflowed {
		t.Editor.Overflowed = false
		t.out = append(t.out, '\a')
	}
	if clear {
		t.out = append(t.out, "\x1b[H\x1b[2J"...)
		t.drawn = false
	}
	if clear || resized || !t.drawn || t.lastText != string(t.Editor.Runes()) || t.lastPos != t.Editor.Cursor() {
		t.out = t.clearInput(t.out)
		t.out = t.draw(t.out)
	}
	t.flush()
	return res
}

// Print writes lines above the prompt, then redraws prompt and input below
// them. Lines should not hold line breaks; any are kept as breaks.
func (t *Terminal) Print(lines ...string) {
	if len(lines) == 0 {
		return
	}
	t.checkWidth()
	t.out = t.clearInput(t.out[:0])
	for _, l := range lines {
		if strings.IndexByte(l, '\n') >= 0 {
			l = strings.ReplaceAll(strings.ReplaceAll(l, "\r\n", "\n"), "\n", "\r\n")
		}
		t.out = append(t.out, l...)
		if strings.IndexByte(l, 0x1b) >= 0 {
			t.out = append(t.out, "\x1b[0m"...) // no colour may leak into the next line
		}
		t.out = append(t.out, '\r', '\n')
	}
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
// been re-wrapped by the terminal; rowsAbove says where the prompt is now.
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

// Redraw draws prompt and input again, after the program changed the
// Editor's text or replaced the Editor.
func (t *Terminal) Redraw() {
	t.checkWidth()
	t.out = t.clearInput(t.out[:0])
	t.out = t.draw(t.out)
	t.flush()
}

// Bell rings the terminal's bell (a private message arrived).
func (t *Terminal) Bell() { t.w.Write([]byte{'\a'}) }

// Close erases the prompt and input, leaving the cursor at the start of
// the row where they were, so the shell prompt follows the last output line.
func (t *Terminal) Close() {
	t.checkWidth()
	t.out = t.clearInput(t.out[:0])
	t.drawn = false
	t.flush()
}

// clearInput appends the bytes that move to the prompt's row and erase
// from there to the end of the screen.
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

// draw appends the prompt and input, which must start on an empty row.
func (t *Terminal) draw(dst []byte) []byte {
	text := t.Editor.Runes()
	dst, t.lo = drawInput(dst, t.prompt, t.promptStyle, text, t.Editor.Cursor(), t.width)
	t.drawn = true
	t.lastText = string(text)
	t.lastPos = t.Editor.Cursor()
	return dst
}

func (t *Terminal) flush() {
	if len(t.out) > 0 {
		t.w.Write(t.out) // a failing terminal is noticed by the reader of stdin
	}
}

func encodeRune(b []byte, r rune) int { return utf8.EncodeRune(b, r) }
