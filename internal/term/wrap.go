package term

import (
	"strings"
	"unicode/utf8"
)

// Line is one logical line of the conversation, as the Renderer makes it:
// the Terminal breaks it into rows at the screen's width, at spaces where it
// can, and starts the rows after the first at Indent columns (a hanging
// indent), so a long message stays readable:
//
//	[15:04]   <bob> a message long enough that it needs
//	                more than one row
type Line struct {
	// Text is what to print: neutralised text and SGR sequences only.
	Text string
	// Indent is where wrapped rows start, in columns.
	Indent int
	// Cont marks the second and later lines of a multi-line message:
	// their first row is indented too.
	Cont bool
}

// Plain returns the line as one string, indentation included, for output
// that is not a terminal (pipe mode).
func (l Line) Plain() string {
	if l.Cont && l.Indent > 0 {
		return strings.Repeat(" ", l.Indent) + l.Text
	}
	return l.Text
}

// Lines makes plain lines (no indent) of strings.
func Lines(s ...string) []Line {
	out := make([]Line, len(s))
	for i, t := range s {
		out[i] = Line{Text: t}
	}
	return out
}

// wrapIndent is the hanging indent used at width: the line's own, but never
// more than half the screen, so narrow screens still show text.
func wrapIndent(indent, width int) int {
	return max(0, min(indent, width/2))
}

// wrapLine breaks l into rows of at most width columns. It breaks after a
// space when the row has one past its indent, else (a word longer than
// the row) before the character that does not fit. SGR sequences take no
// room; a style open at a break is closed at the end of the row and opened
// again after the indent of the next. Trailing spaces of a broken row are
// dropped, and so are the spaces that would start the next.
func wrapLine(l Line, width int) []string {
	if width < 2 {
		width = 2
	}
	indent := wrapIndent(l.Indent, width)
	pad := strings.Repeat(" ", indent)
	var rows []string
	var cur []byte // the row being built
	col := 0
	active := "" // the SGR sequence in force, "" for none
	// The last place the row may be broken: after a space.
	breakAt, breakActive := -1, ""
	newRow := func(style string) {
		cur, col = append(cur[:0:0], pad...), indent
		if style != "" {
			cur = append(cur, style...)
		}
		breakAt = -1
	}
	endRow := func(b []byte, style string) {
		row := strings.TrimRight(string(b), " ")
		if style != "" {
			row += "\x1b[0m"
		}
		rows = append(rows, row)
	}
	if l.Cont {
		newRow("")
	}
	text := l.Text
	for i := 0; i < len(text); {
		if text[i] == 0x1b { // an SGR sequence: copied, takes no room
			j := i + 1
			if j < len(text) && text[j] == '[' {
				j++
				for j < len(text) && (text[j] < 0x40 || text[j] > 0x7e) {
					j++
				}
				j++
			}
			j = min(j, len(text))
			seq := text[i:j]
			if seq == "\x1b[0m" || seq == "\x1b[m" {
				active = ""
			} else {
				active = seq
			}
			cur = append(cur, seq...)
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		w := RuneWidth(r)
		if col+w > width && col > indent {
			if r == ' ' { // the space itself is the break
				endRow(cur, active)
				newRow(active)
				i += size
				continue
			}
			if breakAt >= 0 { // move the word begun after the last space
				carry := append([]byte(nil), cur[breakAt:]...)
				endRow(cur[:breakAt], breakActive)
				newRow(breakActive)
				cur = append(cur, carry...)
				col += visibleWidth(string(carry))
			} else { // one word longer than the row: cut it
				endRow(cur, active)
				newRow(active)
			}
		}
		cur = append(cur, text[i:i+size]...)
		col += w
		i += size
		if r == ' ' {
			breakAt, breakActive = len(cur), active
		}
	}
	rows = append(rows, string(cur))
	return rows
}
