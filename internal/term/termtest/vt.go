// Package termtest is a terminal emulator for tests: enough of xterm to
// check what package term draws (and what the interactive client shows)
// the way a person would see it.
package termtest

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// VT is a minimal terminal emulator for tests: enough of xterm to check
// what Terminal draws (printing with deferred wrap at the last column, wide
// characters, CR, LF with scrolling, and the CSI sequences A B C D H J K m),
// so screen contents and the cursor can be compared with what a person
// would see.
type VT struct {
	mu      sync.Mutex
	changed chan struct{}
	width   func(rune) int

	w, h        int
	cells       [][]rune // 0 marks the right half of a wide character
	row, col    int
	pendingWrap bool
	scrolled    []string // rows that scrolled off the top, oldest first
	partial     []byte   // an incomplete escape sequence or UTF-8 character
	bells       int
}

// New returns a w×h screen; width is the width of a character in
// columns (term.RuneWidth).
func New(w, h int, width func(rune) int) *VT {
	v := &VT{w: w, h: h, width: width, changed: make(chan struct{}, 1)}
	for i := 0; i < h; i++ {
		v.cells = append(v.cells, v.blankRow())
	}
	return v
}

func (v *VT) blankRow() []rune {
	r := make([]rune, v.w)
	for i := range r {
		r[i] = ' '
	}
	return r
}

// Write interprets p. It is safe to call while other goroutines read the
// screen.
func (v *VT) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	defer func() {
		select {
		case v.changed <- struct{}{}:
		default:
		}
	}()
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

func (v *VT) lineFeed() {
	if v.row == v.h-1 {
		v.scrolled = append(v.scrolled, v.rowText(0))
		copy(v.cells, v.cells[1:])
		v.cells[v.h-1] = v.blankRow()
		return
	}
	v.row++
}

func (v *VT) put(r rune) {
	w := v.width(r)
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
func (v *VT) escape(b []byte) int {
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

func (v *VT) rowText(r int) string {
	var sb strings.Builder
	for _, c := range v.cells[r] {
		if c != 0 {
			sb.WriteRune(c)
		}
	}
	return strings.TrimRight(sb.String(), " ")
}

// Changed delivers a value after writes (at least one per burst), so a
// test can wait for the screen to change instead of polling.
func (v *VT) Changed() <-chan struct{} { return v.changed }

// Screen returns the visible rows, trailing blank rows removed.
func (v *VT) Screen() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.screen()
}

// All returns what scrolled off followed by the screen.
func (v *VT) All() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append(append([]string(nil), v.scrolled...), v.screen()...)
}

// Scrolled returns the rows that scrolled off the top, oldest first.
func (v *VT) Scrolled() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.scrolled...)
}

// Cursor returns the cursor's row and column.
func (v *VT) Cursor() (row, col int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.row, v.col
}

// Bells counts the BEL characters written.
func (v *VT) Bells() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.bells
}

// Size returns the width and height.
func (v *VT) Size() (w, h int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.w, v.h
}

func (v *VT) screen() []string {
	var rows []string
	for r := 0; r < v.h; r++ {
		rows = append(rows, v.rowText(r))
	}
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	return rows
}

// Resize changes the width the way tmux, VTE and most terminals do: a row
// longer than the new width is re-wrapped onto several rows, and the cursor
// moves with its character. (Wide characters are assumed not to straddle
// the new edge; the tests avoid that case.)
func (v *VT) Resize(w int) {
	v.mu.Lock()
	defer v.mu.Unlock()
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

// Widen makes the screen w columns wide the way a terminal that does not
// re-wrap does: rows keep their content, padded with blanks.
func (v *VT) Widen(w int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for r := range v.cells {
		for len(v.cells[r]) < w {
			v.cells[r] = append(v.cells[r], ' ')
		}
	}
	v.w = w
}
