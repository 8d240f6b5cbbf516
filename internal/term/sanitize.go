package term

import (
	"strings"
	"unicode/utf8"

	"pynet/protocol"
)

// isControl reports the characters a terminal acts on (C0, DEL, C1).
var isControl = protocol.IsControl

// Clean neutralises a received string for display on one line (PROTOCOL §5:
// one user must not be able to drive another user's terminal):
//
//  1. C0 controls and DEL become visible caret notation (ESC is "^[", LF
//     "^J"), TAB becomes a space;
//  2. C1 controls, invalid UTF-8, the bidirectional overrides and the
//     Unicode line and paragraph separators become U+FFFD, since they can
//     reorder or break the lines around them.
//
// The server already refuses such text, but the client does not have to
// trust the server.
func Clean(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + 0x40)
		case r == 0x7f:
			b.WriteString("^?")
		case isControl(r) || isReordering(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CleanLines splits a received multi-line text at LF (CR LF counts as one
// break) and cleans each line; TABs become four spaces so columns line up.
func CleanLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.IndexByte(l, '\t') >= 0 {
			l = strings.ReplaceAll(l, "\t", "    ")
		}
		lines[i] = Clean(l)
	}
	return lines
}

// isPlain reports whether s is printable ASCII, which needs no work.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// isReordering reports the characters that change the order or flow of the
// text around them: bidirectional embeddings, overrides and isolates, and
// the line and paragraph separators.
func isReordering(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x2028 || r == 0x2029
}
