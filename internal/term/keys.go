package term

import "unicode/utf8"

// KeyCode names what a key does, independent of the bytes the terminal sent
// for it (Home arrives as ESC [ H, ESC [ 1 ~, ESC O H or Ctrl-A).
type KeyCode uint8

// Key codes produced by Decoder.
const (
	KeyRune      KeyCode = iota + 1 // Key.Rune holds a character to insert
	KeyEnter                        // submit the line
	KeyNewline                      // insert a line break (Alt-Enter)
	KeyBackspace                    // delete before the cursor
	KeyDelete                       // delete under the cursor
	KeyLeft
	KeyRight
	KeyUp
	KeyDown
	KeyHome
	KeyEnd
	KeyWordLeft   // Alt-b, Ctrl-←
	KeyWordRight  // Alt-f, Ctrl-→
	KeyKillStart  // Ctrl-U: delete from the start of the line to the cursor
	KeyKillWord   // Ctrl-W, Alt-Backspace: delete the word before the cursor
	KeyKillEnd    // Ctrl-K: delete from the cursor to the end of the line
	KeyDeleteWord // Alt-d: delete the word after the cursor
	KeyInterrupt  // Ctrl-C
	KeyEOF        // Ctrl-D: end of input on an empty line, else Delete
	KeyRedraw     // Ctrl-L
	KeyTab
	KeyDiscard  // Ctrl-G: throw the whole draft away (↑ brings it back)
	KeyRoom     // Alt-1 … Alt-9, Alt-0: Key.Rune holds the digit
	KeyNextRoom // Ctrl-N
	KeyPrevRoom // Ctrl-P
)

// Key is one decoded key press.
type Key struct {
	Code KeyCode
	Rune rune // for KeyRune
	// Paste marks a character that arrived inside a bracketed paste, where
	// a line break is text (a multi-line message), not Enter.
	Paste bool
}

// Escape sequences of bracketed paste (xterm mode 2004).
const (
	pasteStart = "\x1b[200~"
	pasteEnd   = "\x1b[201~"
)

// maxSeq bounds an escape sequence. A longer one is junk (or an attack on a
// naive parser) and is dropped rather than buffered.
const maxSeq = 32

// Decoder turns the bytes a terminal sends into keys. Reads can split an
// escape sequence, a UTF-8 character or a paste marker anywhere, so the
// decoder keeps an incomplete tail (at most maxSeq bytes) until the next
// Feed. The zero Decoder is ready to use.
type Decoder struct {
	pending []byte
	paste   bool // between pasteStart and pasteEnd
	lastCR  bool // the previous byte was CR: an LF right after it is the same line break
	scratch []byte
}

// Feed decodes b and calls emit for each complete key, in order.
func (d *Decoder) Feed(b []byte, emit func(Key)) {
	buf := b
	if len(d.pending) > 0 {
		d.scratch = append(append(d.scratch[:0], d.pending...), b...)
		buf = d.scratch
		d.pending = d.pending[:0]
	}
	i := 0
	for i < len(buf) {
		n := d.step(buf[i:], emit)
		if n == 0 { // incomplete: keep the tail for the next Feed
			if len(buf)-i > maxSeq {
				i++ // cannot be a sequence we know: drop a byte and resync
				continue
			}
			d.pending = append(d.pending, buf[i:]...)
			return
		}
		i += n
	}
}

// step decodes one key (or one ignored byte run) at the start of b and
// returns how many bytes it used, or 0 when b holds only part of a key.
func (d *Decoder) step(b []byte, emit func(Key)) int {
	c := b[0]
	wasCR := d.lastCR
	d.lastCR = c == '\r'
	if d.paste {
		return d.stepPaste(b, emit, wasCR)
	}
	switch {
	case c == 0x1b:
		return d.escape(b, emit)
	case c == '\r':
		emit(Key{Code: KeyEnter})
		return 1
	case c == '\n':
		if !wasCR { // CR LF is one Enter
			emit(Key{Code: KeyEnter})
		}
		return 1
	case c < 0x20 || c == 0x7f:
		if k, ok := controlKeys[c]; ok {
			emit(Key{Code: k})
		}
		return 1
	}
	return d.char(b, emit, false)
}

// controlKeys maps the C0 control bytes the editor understands; the others
// are ignored. Backspace arrives as DEL (0x7f) from most terminals and as
// BS (0x08, Ctrl-H) from a few.
var controlKeys = map[byte]KeyCode{
	0x01: KeyHome,      // Ctrl-A
	0x02: KeyLeft,      // Ctrl-B
	0x03: KeyInterrupt, // Ctrl-C
	0x04: KeyEOF,       // Ctrl-D
	0x05: KeyEnd,       // Ctrl-E
	0x06: KeyRight,     // Ctrl-F
	0x07: KeyDiscard,   // Ctrl-G
	0x08: KeyBackspace, // Ctrl-H
	0x09: KeyTab,
	0x0b: KeyKillEnd,   // Ctrl-K
	0x0c: KeyRedraw,    // Ctrl-L
	0x0e: KeyNextRoom,  // Ctrl-N, as in irssi
	0x10: KeyPrevRoom,  // Ctrl-P
	0x15: KeyKillStart, // Ctrl-U
	0x17: KeyKillWord,  // Ctrl-W
	0x7f: KeyBackspace,
}

// char decodes one UTF-8 character. Invalid bytes are dropped one at a time.
func (d *Decoder) char(b []byte, emit func(Key), paste bool) int {
	if !utf8.FullRune(b) {
		return 0
	}
	r, size := utf8.DecodeRune(b)
	if r == utf8.RuneError && size == 1 {
		return 1
	}
	if r >= 0x80 && r <= 0x9f { // C1 controls: never text
		return size
	}
	emit(Key{Code: KeyRune, Rune: r, Paste: paste})
	return size
}

// stepPaste handles bytes inside a bracketed paste: everything is text
// except the end marker. CR, LF and CR LF become one line break; TAB is
// kept; other control characters are dropped.
func (d *Decoder) stepPaste(b []byte, emit func(Key), wasCR bool) int {
	switch c := b[0]; {
	case c == 0x1b:
		if hasPrefix(b, pasteEnd) {
			d.paste = false
			return len(pasteEnd)
		}
		if hasPrefix([]byte(pasteEnd), string(b)) { // a split end marker
			return 0
		}
		return 1
	case c == '\r':
		emit(Key{Code: KeyRune, Rune: '\n', Paste: true})
		return 1
	case c == '\n':
		if !wasCR {
			emit(Key{Code: KeyRune, Rune: '\n', Paste: true})
		}
		return 1
	case c == '\t':
		emit(Key{Code: KeyRune, Rune: '\t', Paste: true})
		return 1
	case c < 0x20 || c == 0x7f:
		return 1
	}
	return d.char(b, emit, true)
}

// escape decodes a sequence starting with ESC: CSI (ESC [), SS3 (ESC O) or
// an Alt-modified key (ESC x). A lone ESC waits for the next byte; an ESC
// before a byte it does not combine with is dropped and that byte is
// decoded on its own, so typing after Escape is not lost.
func (d *Decoder) escape(b []byte, emit func(Key)) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '[':
		return d.csi(b, emit)
	case 'O':
		if len(b) < 3 {
			return 0
		}
		if k, ok := ss3Keys[b[2]]; ok {
			emit(Key{Code: k})
			return 3
		}
		return 3
	case '\r', '\n':
		emit(Key{Code: KeyNewline})
		return 2
	case 0x7f, 0x08:
		emit(Key{Code: KeyKillWord})
		return 2
	case 'b':
		emit(Key{Code: KeyWordLeft})
		return 2
	case 'f':
		emit(Key{Code: KeyWordRight})
		return 2
	case 'd':
		emit(Key{Code: KeyDeleteWord})
		return 2
	}
	if b[1] >= '0' && b[1] <= '9' { // Alt-digit: a room, as in irssi
		emit(Key{Code: KeyRoom, Rune: rune(b[1])})
		return 2
	}
	return 1
}

// ss3Keys are the keys sent as ESC O x (cursor keys in application mode).
var ss3Keys = map[byte]KeyCode{
	'A': KeyUp, 'B': KeyDown, 'C': KeyRight, 'D': KeyLeft,
	'H': KeyHome, 'F': KeyEnd,
}

// csi decodes ESC [ parameters final. Parameter bytes are 0x30–0x3F,
// intermediates 0x20–0x2F, the final byte 0x40–0x7E (ECMA-48). Sequences
// the editor has no use for are consumed whole and ignored.
func (d *Decoder) csi(b []byte, emit func(Key)) int {
	i := 2
	for i < len(b) && b[i] >= 0x20 && b[i] <= 0x3f {
		i++
	}
	if i == len(b) {
		return 0 // the final byte has not arrived yet
	}
	final := b[i]
	if final < 0x40 || final > 0x7e { // malformed: drop ESC [ and what we scanned
		return i
	}
	params := string(b[2:i])
	n := i + 1
	switch final {
	case 'A', 'B', 'C', 'D', 'H', 'F':
		k := ss3Keys[final]
		if params == "1;5" || params == "1;3" || params == "5" { // Ctrl or Alt with ← →
			switch final {
			case 'C':
				k = KeyWordRight
			case 'D':
				k = KeyWordLeft
			}
		}
		emit(Key{Code: k})
	case '~':
		switch params {
		case "1", "7":
			emit(Key{Code: KeyHome})
		case "4", "8":
			emit(Key{Code: KeyEnd})
		case "3":
			emit(Key{Code: KeyDelete})
		case "200":
			d.paste = true
		}
	}
	return n
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}
