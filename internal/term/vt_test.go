package term

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// vt is a minimal terminal emulator for tests: enough of xterm to check
// what Terminal draws (printing with deferred wrap at the last column, wide
// characters, CR, LF with scrolling, and the CSI sequences A B C D H J K m),
// so screen contents and the cursor can be compared with what a person
// would see.
type vt struct {
	w, h        int
	cells       [][]rune // 0 marks the right half of a wide character
	row, col    int
	pendingWrap bool
	scrolled    []string // rows that scrolled off the top, oldest first
	partial     []byte   // an incomplete escape sequence or UTF-8 character
	bells       int
}

func newVT(w, h int) *vt {
	v := &vt{w: w, h: h}
	for i := 0; i < h; i++ {
		v.cells = append(v.cells, v.blankRow())
	}
	return v
}

func (v *vt) blankRow() []rune {
	r := make([]rune, v.w)
	for i := range r {
		r[i] = ' '
	}
	return r
}

func (v *vt) Write(p []byte) (int, error) {
	b := append(v.partial, p...)
	v.partial = nil
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == 0x1b:
			n := v.escape(b[i:])
			if n == 0 {
				v.partial = append([]byte(nil), b[i:]...)
				return len(p), nil
			}
			i += n
		case c == '\r':
			v.col, v.pendingWrap = 0, false
			i++
		case c == '\n':
			v.lineFeed()
			v.pendingWrap = false
			i++
		case c == '\a':
			v.bells++
			i++
		case c < 0x20:
			i++
		default:
			if !utf8.FullRune(b[i:]) {
				v.partial = append([]byte(nil), b[i:]...)
				return len(p), nil
			}
			r, size := utf8.DecodeRune(b[i:])
			v.put(r)
			i += size
		}
	}
	return len(p), nil
}

func (v *vt) lineFeed() {
	if v.row == v.h-1 {
		v.scrolled = append(v.scrolled, v.rowText(0))
		copy(v.cells, v.cells[1:])
		v.cells[v.h-1] = v.blankRow()
		return
	}
	v.row++
}

func (v *vt) put(r rune) {
	w := RuneWidth(r)
	if w == 0 {
		return
	}
	if v.pendingWrap || v.col+w > v.w {
		v.col, v.pendingWrap = 0, false
		v.lineFeed()
	}
	v.cells[v.row][v.col] = r
	if w == 2 {
		v.cells[v.row][v.col+1] = 0
	}
	v.col += w
	if v.col >= v.w {
		v.col, v.pendingWrap = v.w-1, true
	}
}

// escape handles the sequence at b[0] == ESC; 0 means incomplete.
func (v *vt) escape(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	if b[1] != '[' {
		return 2
	}
	i := 2
	for i < len(b) && b[i] >= 0x20 && b[i] <= 0x3f {
		i++
	}
	if i == len(b) {
		return 0
	}
	params := string(b[2:i])
	n := 1
	if p, err := strconv.Atoi(params); err == nil && p > 0 {
		n = p
	}
	switch b[i] {
	case 'A':
		v.row = max(0, v.row-n)
	case 'B':
		v.row = min(v.h-1, v.row+n)
	case 'C':
		v.col = min(v.w-1, v.col+n)
	case 'D':
		v.col = max(0, v.col-n)
	case 'H':
		v.row, v.col = 0, 0
	case 'J':
		if params == "2" {
			for r := range v.cells {
				v.cells[r] = v.blankRow()
			}
			break
		}
		for c := v.col; c < v.w; c++ {
			v.cells[v.row][c] = ' '
		}
		for r := v.row + 1; r < v.h; r++ {
			v.cells[r] = v.blankRow()
		}
	case 'K':
		for c := v.col; c < v.w; c++ {
			v.cells[v.row][c] = ' '
		}
	}
	if b[i] != 'm' && b[i] != 'h' && b[i] != 'l' {
		v.pendingWrap = false
	}
	return i + 1
}

func (v *vt) rowText(r int) string {
	var sb strings.Builder
	for _, c := range v.cells[r] {
		if c != 0 {
			sb.WriteRune(c)
		}
	}
	return strings.TrimRight(sb.String(), " ")
}

// screen returns the visible rows, trailing blank rows removed.
func (v *vt) screen() []string {
	var rows []string
	for r := 0; r < v.h; r++ {
		rows = append(rows, v.rowText(r))
	}
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	return rows
}

// all returns what scrolled off followed by the screen.
func (v *vt) all() []string { return append(append([]string(nil), v.scrolled...), v.screen()...) }

// resize changes the width the way tmux, VTE and most terminals do: a row
// longer than the new width is re-wrapped onto several rows, and the cursor
// moves with its character. (Wide characters are assumed not to straddle
// the new edge; the tests avoid that case.)
func (v *vt) resize(w int) {
	var rows [][]rune
	curRow, curCol := 0, 0
	for r, cells := range v.cells {
		n := len(cells)
		for n > 0 && cells[n-1] == ' ' {
			n--
		}
		if r == v.row && v.col+1 > n {
			n = v.col + 1
		}
		content := cells[:n]
		for start := 0; ; start += w {
			end := min(start+w, len(content))
			row := make([]rune, w)
			for i := range row {
				row[i] = ' '
			}
			copy(row, content[start:end])
			if r == v.row && v.col >= start && (v.col < end || end == len(content)) {
				curRow, curCol = len(rows), v.col-start
			}
			rows = append(rows, row)
			if end >= len(content) {
				break
			}
		}
	}
	for len(rows) > v.h && len(rows)-1 > curRow && strings.TrimSpace(string(rows[len(rows)-1])) == "" {
		rows = rows[:len(rows)-1] // blank rows below the cursor go first
	}
	for len(rows) > v.h && curRow > 0 { // then the top scrolls off
		v.scrolled = append(v.scrolled, strings.TrimRight(string(rows[0]), " "))
		rows = rows[1:]
		curRow--
	}
	for len(rows) < v.h {
		rows = append(rows, make([]rune, w))
		for i := range rows[len(rows)-1] {
			rows[len(rows)-1][i] = ' '
		}
	}
	v.w, v.cells, v.row, v.col, v.pendingWrap = w, rows[:v.h], curRow, min(curCol, w-1), false
}
