package term

import (
	"strings"
	"unicode/utf8"
)

// Action is what a key asks of the program, beyond editing the line.
type Action uint8

// Actions returned by Editor.Handle.
const (
	ActNone      Action = iota
	ActSubmit           // a line was entered (Editor.Handle returns it)
	ActEOF              // Ctrl-D on an empty line
	ActInterrupt        // Ctrl-C
	ActRedraw           // Ctrl-L: clear the screen and draw the prompt again
)

// tabWidth is how many spaces a pasted TAB becomes: the editor keeps one
// column per character so the cursor arithmetic stays simple.
const tabWidth = 4

// Editor is a line buffer with a cursor and input history. It is a pure
// state machine: Handle applies one key; nothing here does I/O.
//
// The buffer is a slice of runes and the cursor an index into it, so
// multi-byte characters move as one. Zero-width characters (combining marks)
// stay attached to the character before them when the cursor moves or
// deletes.
type Editor struct {
	buf []rune
	pos int
	// size is len(string(buf)) in bytes, kept up to date so that the limit
	// costs nothing per key.
	size int

	// Limit caps the line in bytes of UTF-8 (0: none). Characters that
	// would exceed it are dropped and Overflowed is set, so a huge paste
	// cannot grow the buffer without bound.
	Limit      int
	Overflowed bool

	// Complete, when set, is asked to complete the word before the cursor
	// on Tab; it returns the candidates.
	Complete func(word string) []string

	hist    *History
	histPos int    // index into hist while browsing; hist.Len() means the draft
	draft   []rune // the line being typed before browsing started
}

// NewEditor returns an empty editor using hist (which may be shared).
func NewEditor(hist *History) *Editor {
	if hist == nil {
		hist = NewHistory(500)
	}
	return &Editor{hist: hist, histPos: hist.Len()}
}

// Line returns the text being edited.
func (e *Editor) Line() string { return string(e.buf) }

// Runes returns the buffer; callers must not modify it.
func (e *Editor) Runes() []rune { return e.buf }

// Cursor returns the cursor as an index into Runes.
func (e *Editor) Cursor() int { return e.pos }

// SetLine replaces the text and puts the cursor at its end.
func (e *Editor) SetLine(s string) {
	e.buf = e.buf[:0]
	e.size = 0
	e.pos = 0
	e.insertString(s)
}

// Handle applies k. For ActSubmit it returns the line and starts a new one.
func (e *Editor) Handle(k Key) (Action, string) {
	switch k.Code {
	case KeyRune:
		if k.Rune == '\t' {
			e.insertString(strings.Repeat(" ", tabWidth))
		} else {
			e.insert(k.Rune)
		}
	case KeyNewline:
		e.insert('\n')
	case KeyEnter:
		line := string(e.buf)
		e.hist.Add(line)
		e.reset()
		return ActSubmit, line
	case KeyInterrupt:
		return ActInterrupt, ""
	case KeyEOF:
		if len(e.buf) == 0 {
			return ActEOF, ""
		}
		e.deleteForward()
	case KeyRedraw:
		return ActRedraw, ""
	case KeyBackspace:
		if e.pos > 0 {
			e.delete(e.clusterStart(e.pos-1), e.pos)
		}
	case KeyDelete:
		e.deleteForward()
	case KeyLeft:
		if e.pos > 0 {
			e.pos = e.clusterStart(e.pos - 1)
		}
	case KeyRight:
		if e.pos < len(e.buf) {
			e.pos = e.clusterEnd(e.pos)
		}
	case KeyHome:
		e.pos = e.lineStart(e.pos)
	case KeyEnd:
		e.pos = e.lineEnd(e.pos)
	case KeyWordLeft:
		e.pos = e.wordStart(e.pos)
	case KeyWordRight:
		e.pos = e.wordEnd(e.pos)
	case KeyKillStart:
		e.delete(e.lineStart(e.pos), e.pos)
	case KeyKillEnd:
		e.delete(e.pos, e.lineEnd(e.pos))
	case KeyKillWord:
		e.delete(e.wordStart(e.pos), e.pos)
	case KeyDeleteWord:
		e.delete(e.pos, e.wordEnd(e.pos))
	case KeyUp:
		if e.lineStart(e.pos) > 0 {
			e.verticalMove(-1)
		} else {
			e.browse(-1)
		}
	case KeyDown:
		if e.lineEnd(e.pos) < len(e.buf) {
			e.verticalMove(+1)
		} else {
			e.browse(+1)
		}
	case KeyTab:
		e.complete()
	}
	return ActNone, ""
}

func (e *Editor) reset() {
	e.buf = nil
	e.pos = 0
	e.size = 0
	e.histPos = e.hist.Len()
	e.draft = nil
}

func (e *Editor) insert(r rune) {
	if r != '\n' && isControl(r) {
		return // control characters never enter the buffer
	}
	n := utf8.RuneLen(r)
	if n < 0 {
		return
	}
	if e.Limit > 0 && e.size+n > e.Limit {
		e.Overflowed = true
		return
	}
	e.buf = append(e.buf, 0)
	copy(e.buf[e.pos+1:], e.buf[e.pos:])
	e.buf[e.pos] = r
	e.pos++
	e.size += n
}

func (e *Editor) insertString(s string) {
	for _, r := range s {
		e.insert(r)
	}
}

// delete removes buf[from:to] and leaves the cursor at from.
func (e *Editor) delete(from, to int) {
	if from >= to {
		return
	}
	for _, r := range e.buf[from:to] {
		e.size -= utf8.RuneLen(r)
	}
	e.buf = append(e.buf[:from], e.buf[to:]...)
	e.pos = from
}

func (e *Editor) deleteForward() {
	if e.pos < len(e.buf) {
		e.delete(e.pos, e.clusterEnd(e.pos))
	}
}

// attached reports whether buf[i] joins the character before it.
func (e *Editor) attached(i int) bool {
	r := e.buf[i]
	return r != '\n' && RuneWidth(r) == 0
}

// clusterStart moves i back to the base character of the cluster holding it.
func (e *Editor) clusterStart(i int) int {
	for i > 0 && e.attached(i) {
		i--
	}
	return i
}

// clusterEnd returns the index just past the cluster starting at i.
func (e *Editor) clusterEnd(i int) int {
	i++
	for i < len(e.buf) && e.attached(i) {
		i++
	}
	return i
}

// lineStart and lineEnd bound the logical line (between line breaks) that
// holds index i, so Home, End, Ctrl-U and Ctrl-K act on the line the cursor
// is on in a multi-line message.
func (e *Editor) lineStart(i int) int {
	for i > 0 && e.buf[i-1] != '\n' {
		i--
	}
	return i
}

func (e *Editor) lineEnd(i int) int {
	for i < len(e.buf) && e.buf[i] != '\n' {
		i++
	}
	return i
}

func isSpace(r rune) bool { return r == ' ' || r == '\n' || r == '\t' }

// wordStart skips spaces backwards, then the word before them (Ctrl-W).
func (e *Editor) wordStart(i int) int {
	for i > 0 && isSpace(e.buf[i-1]) {
		i--
	}
	for i > 0 && !isSpace(e.buf[i-1]) {
		i--
	}
	return i
}

// wordEnd skips spaces forwards, then the word after them.
func (e *Editor) wordEnd(i int) int {
	for i < len(e.buf) && isSpace(e.buf[i]) {
		i++
	}
	for i < len(e.buf) && !isSpace(e.buf[i]) {
		i++
	}
	return i
}

// verticalMove moves the cursor to the previous (dir < 0) or next logical
// line of a multi-line buffer, keeping its column in characters.
func (e *Editor) verticalMove(dir int) {
	start := e.lineStart(e.pos)
	col := e.pos - start
	var target int
	if dir < 0 {
		target = e.lineStart(start - 1)
	} else {
		target = e.lineEnd(e.pos) + 1
	}
	end := e.lineEnd(target)
	if target+col > end {
		e.pos = end
	} else {
		e.pos = e.clusterStart(target + col)
	}
}

// browse steps through history: dir -1 is older, +1 newer. The draft (what
// was typed before browsing) comes back after the newest entry.
func (e *Editor) browse(dir int) {
	next := e.histPos + dir
	if next < 0 || next > e.hist.Len() {
		return
	}
	if e.histPos == e.hist.Len() {
		e.draft = append(e.draft[:0], e.buf...)
	}
	e.histPos = next
	if next == e.hist.Len() {
		e.SetLine(string(e.draft))
	} else {
		e.SetLine(e.hist.At(next))
	}
}

// complete replaces the word before the cursor by the only candidate, or
// extends it by the candidates' common prefix.
func (e *Editor) complete() {
	if e.Complete == nil {
		return
	}
	start := e.pos
	for start > 0 && !isSpace(e.buf[start-1]) {
		start--
	}
	word := string(e.buf[start:e.pos])
	cands := e.Complete(word)
	if len(cands) == 0 {
		return
	}
	repl := cands[0]
	for _, c := range cands[1:] {
		repl = commonPrefix(repl, c)
	}
	if len(repl) < len(word) {
		return
	}
	e.delete(start, e.pos)
	e.insertString(repl)
	if len(cands) == 1 && (e.pos == len(e.buf) || e.buf[e.pos] != ' ') {
		e.insert(' ')
	}
}

func commonPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && lowerASCII(a[n]) == lowerASCII(b[n]) {
		n++
	}
	return a[:n]
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
