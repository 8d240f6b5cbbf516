package term

import (
	"strings"
	"unicode/utf8"
)

// Action is what a key asks of the program, beyond editing the line.
type Action uint8

// Actions returned by Editor.Handle (and ActOverflow by Terminal.Feed).
const (
	ActNone      Action = iota
	ActSubmit           // a line was entered (Editor.Handle returns it)
	ActEOF              // Ctrl-D on an empty line
	ActInterrupt        // Ctrl-C
	ActRedraw           // Ctrl-L: draw the conversation and the prompt again
	ActDiscard          // Ctrl-G threw a draft away (it went to the history)
	ActRoom             // Alt-digit: the line returned is the digit, "0" meaning 10
	ActNextRoom         // Ctrl-N
	ActPrevRoom         // Ctrl-P
	ActOverflow         // characters were dropped at Editor.Limit (Terminal.Feed)
)

// tabWidth is how many spaces a pasted TAB becomes: the editor keeps one
// column per character so the cursor arithmetic stays simple.
const tabWidth = 4

// Editor is a line buffer with a cursor and input history. It is a pure
// state machine: Handle applies one key; nothing here does I/O.
//
// The buffer is a slice of runes and the cursor an index into it, always
// at the edge of a grapheme cluster (grapheme.go): the cursor keys,
// Backspace and Delete move over and remove whole clusters, so an emoji
// with a skin tone, a ZWJ family or a flag is one character to the user.
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
	// on Tab; before is the text before that word (so "/msg " can complete
	// names). It returns the candidates, each as it should be inserted. One
	// candidate replaces the word; with several, each Tab shows the next.
	Complete func(before, word string) []string

	// Secret hides the text (Terminal draws nothing of it) and keeps it
	// out of the history; Enter makes it available once through
	// TakeSecret, as bytes the caller can wipe.
	Secret bool
	secret []byte

	hist    *History
	histPos int    // index into hist while browsing; hist.Len() means the draft
	draft   []rune // the line being typed before browsing started

	comp completion // Tab cycling state
	rev  uint64     // counts changes of the text, so a drawing knows it is stale
}

// completion remembers the last Tab so the next one can cycle.
type completion struct {
	active bool
	start  int // where the inserted candidate starts in buf
	cands  []string
	idx    int
	suffix string
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

// Rev changes whenever the text does.
func (e *Editor) Rev() uint64 { return e.rev }

// Cursor returns the cursor as an index into Runes.
func (e *Editor) Cursor() int { return e.pos }

// SetLine replaces the text and puts the cursor at its end.
func (e *Editor) SetLine(s string) {
	e.rev++
	clear(e.buf)
	e.buf = e.buf[:0]
	e.size = 0
	e.pos = 0
	e.insertString(s)
}

// Handle applies k. For ActSubmit it returns the line and starts a new one.
func (e *Editor) Handle(k Key) (Action, string) {
	if k.Code != KeyTab {
		e.comp.active = false
	}
	if e.Secret {
		switch k.Code {
		case KeyUp, KeyDown, KeyTab:
			return ActNone, "" // no history, no completion: nothing may leak
		}
	}
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
		if e.Secret {
			e.secret = e.secret[:0]
			for _, r := range e.buf {
				e.secret = utf8.AppendRune(e.secret, r)
			}
			e.reset()
			return ActSubmit, ""
		}
		line := string(e.buf)
		e.hist.Add(line)
		e.reset()
		return ActSubmit, line
	case KeyDiscard:
		if len(e.buf) == 0 {
			return ActNone, ""
		}
		if !e.Secret {
			e.hist.Add(string(e.buf))
		}
		e.reset()
		return ActDiscard, ""
	case KeyRoom:
		return ActRoom, string(k.Rune)
	case KeyNextRoom:
		return ActNextRoom, ""
	case KeyPrevRoom:
		return ActPrevRoom, ""
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
			e.delete(clusterStartAt(e.buf, e.pos-1), e.pos)
		}
	case KeyDelete:
		e.deleteForward()
	case KeyLeft:
		if e.pos > 0 {
			e.pos = clusterStartAt(e.buf, e.pos-1)
		}
	case KeyRight:
		if e.pos < len(e.buf) {
			e.pos = clusterEndAt(e.buf, e.pos)
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

// TakeSecret returns what was entered in Secret mode, once; the caller
// should clear the bytes when done with them.
func (e *Editor) TakeSecret() []byte {
	b := e.secret
	e.secret = nil
	return b
}

// reset empties the line, wiping the old buffer first (it may have held a
// password).
func (e *Editor) reset() {
	e.rev++
	clear(e.buf)
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
	e.rev++
	if len(e.buf) == cap(e.buf) { // grow by hand, wiping the old array
		nb := make([]rune, len(e.buf), 2*cap(e.buf)+16)
		copy(nb, e.buf)
		clear(e.buf)
		e.buf = nb
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
	e.rev++
	for _, r := range e.buf[from:to] {
		e.size -= utf8.RuneLen(r)
	}
	n := copy(e.buf[from:], e.buf[to:])
	clear(e.buf[from+n:]) // wipe what was deleted (it may be a password)
	e.buf = e.buf[:from+n]
	e.pos = from
}

func (e *Editor) deleteForward() {
	if e.pos < len(e.buf) {
		e.delete(e.pos, clusterEndAt(e.buf, e.pos))
	}
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
		e.pos = clusterStartAt(e.buf, target+col)
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

// complete replaces the word before the cursor by a candidate. With one
// candidate it is inserted followed by a space; with several, the first is
// inserted and each further Tab replaces it by the next, round and round
// (as irssi and weechat do).
func (e *Editor) complete() {
	if e.Complete == nil {
		return
	}
	if c := &e.comp; c.active && len(c.cands) > 1 {
		c.idx = (c.idx + 1) % len(c.cands)
		e.delete(c.start, e.pos)
		e.insertString(c.cands[c.idx] + c.suffix)
		return
	}
	start := e.pos
	for start > 0 && !isSpace(e.buf[start-1]) {
		start--
	}
	cands := e.Complete(string(e.buf[:start]), string(e.buf[start:e.pos]))
	if len(cands) == 0 {
		return
	}
	suffix := " "
	if e.pos < len(e.buf) && e.buf[e.pos] == ' ' {
		suffix = ""
	}
	e.delete(start, e.pos)
	e.insertString(cands[0] + suffix)
	e.comp = completion{active: true, start: start, cands: cands, suffix: suffix}
}
