package term

import (
	"strconv"
	"strings"
)

// layout is where the status row, the prompt and the input landed on the
// screen at the last drawing: the display width of each row drawn, and
// where the cursor is, rows counted from the first row of the area.
//
// Rows are broken by the layout itself, with CR LF, instead of relying on
// the terminal's automatic wrap: then the cursor position after drawing is
// known exactly, whatever the terminal does with its deferred-wrap column,
// and a wide character that does not fit at the end of a row moves to the
// next one as terminals do.
type layout struct {
	rows           []int // display width of each row
	curRow, curCol int   // where the cursor belongs, rows counted from the area's first row
}

// csi appends ESC [ n final, omitting n when it is 1.
func csi(dst []byte, n int, final byte) []byte {
	dst = append(dst, 0x1b, '[')
	if n != 1 {
		dst = strconv.AppendInt(dst, int64(n), 10)
	}
	return append(dst, final)
}

// inputRow is one row of the prompt and input: the bytes that draw it and
// its display width.
type inputRow struct {
	b []byte
	w int
}

// layoutInput breaks the prompt (in the SGR style promptStyle, "" for
// none) and text into rows of at most width columns, and says where the
// cursor (an index into text) belongs. Line breaks in text start a new row
// indented under the prompt. With secret set the text is not shown at all
// and the cursor stays after the prompt.
func layoutInput(prompt, promptStyle string, text []rune, cursor, width int, secret bool) (rows []inputRow, curRow, curCol int) {
	if width < 2 {
		width = 2
	}
	var cur []byte
	col := 0
	newRow := func() {
		rows = append(rows, inputRow{b: cur, w: col})
		cur, col = nil, 0
	}
	put := func(r rune, w int) {
		if col+w > width { // wrap before the character so the cursor lands on it
			newRow()
		}
		cur = appendRune(cur, r)
		col += w
	}
	promptW := StringWidth(prompt)
	indent := promptW
	if indent > width/2 {
		indent = 0
	}
	if promptStyle != "" && prompt != "" {
		cur = append(cur, "\x1b["+promptStyle+"m"...)
	}
	for _, r := range prompt {
		put(r, RuneWidth(r))
	}
	if promptStyle != "" && prompt != "" {
		cur = append(cur, "\x1b[0m"...)
	}
	if secret {
		text, cursor = nil, 0
	}
	curRow = -1
	for i, r := range text {
		if r == '\n' {
			if i == cursor {
				curRow, curCol = len(rows), col
			}
			newRow()
			for col < indent {
				cur = append(cur, ' ')
				col++
			}
			continue
		}
		w := RuneWidth(r)
		if col+w > width {
			newRow()
		}
		if i == cursor {
			curRow, curCol = len(rows), col
		}
		cur = appendRune(cur, r)
		col += w
	}
	if curRow < 0 { // the cursor is at the end
		curRow, curCol = len(rows), col
	}
	if curCol >= width { // past a full last row: it belongs on a new row
		newRow()
		curRow, curCol = len(rows), 0
	}
	newRow()
	return rows, curRow, curCol
}

// area is what drawArea needs: the status row and the input rows.
type area struct {
	status, statusStyle string
	rows                []inputRow
	curRow, curCol      int
	width               int
	// maxRows bounds the rows drawn, the status row included (0: no
	// bound). An input taller than that is shown through a window that
	// follows the cursor, and the status row says so: a draft must never
	// be taller than the screen, or every redraw would push copies of its
	// top into the scrollback and the cursor could not reach it.
	maxRows int
}

// drawArea appends the bytes that draw a (starting at column 0 of an empty
// row) and leave the cursor where it belongs. top is the first input row
// shown at the last drawing; the window moves only as far as the cursor
// needs. It returns the new top and the layout.
func drawArea(dst []byte, a area, top int) ([]byte, int, layout) {
	var lo layout
	status := a.status
	fit := len(a.rows)
	if a.maxRows > 0 {
		room := a.maxRows
		if status != "" {
			room--
		}
		if len(a.rows) > room {
			room = max(1, a.maxRows-1) // a clipped draft always has its status row
			fit = room
		}
	}
	if fit < len(a.rows) {
		top = min(top, a.curRow)
		top = max(top, a.curRow-fit+1)
		top = min(max(top, 0), len(a.rows)-fit)
		status = "draft of " + strconv.Itoa(len(a.rows)) + " rows, " + strconv.Itoa(top+1) + "–" +
			strconv.Itoa(top+fit) + " shown — Ctrl-G discards it"
	} else {
		top = 0
	}
	if status != "" {
		s, w := truncateWidth(status, a.width)
		if a.statusStyle != "" {
			dst = append(dst, "\x1b["+a.statusStyle+"m"...)
			dst = append(dst, s...)
			dst = append(dst, "\x1b[0m"...)
		} else {
			dst = append(dst, s...)
		}
		dst = append(dst, '\r', '\n')
		lo.rows = append(lo.rows, w)
	}
	for i, r := range a.rows[top : top+fit] {
		if i > 0 {
			dst = append(dst, '\r', '\n')
		}
		dst = append(dst, r.b...)
		lo.rows = append(lo.rows, r.w)
	}
	last := len(lo.rows) - 1
	lo.curRow = len(lo.rows) - fit + a.curRow - top
	lo.curCol = a.curCol
	// CR first: it also ends the deferred wrap of a full row.
	dst = append(dst, '\r')
	if up := last - lo.curRow; up > 0 {
		dst = csi(dst, up, 'A')
	}
	if lo.curCol > 0 {
		dst = csi(dst, lo.curCol, 'C')
	}
	return dst, top, lo
}

// truncateWidth cuts s (plain text) to at most width columns, ending in
// "…" when something was cut, and returns it with its width.
func truncateWidth(s string, width int) (string, int) {
	s = Clean(s)
	w := StringWidth(s)
	if w <= width {
		return s, w
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		rw := RuneWidth(r)
		if col+rw > width-1 {
			break
		}
		b.WriteRune(r)
		col += rw
	}
	b.WriteString("…")
	return b.String(), col + 1
}

// rowsAbove is how many rows the cursor sits below the area's first row
// after the terminal was resized to width. Most terminals (tmux, VTE,
// iTerm2, kitty) re-wrap rows that no longer fit, so each drawn row now
// takes ceil(w/width) rows; rows that still fit are unchanged.
func (lo layout) rowsAbove(width int) int {
	if width < 1 {
		width = 1
	}
	n := 0
	for i := 0; i < lo.curRow && i < len(lo.rows); i++ {
		n += rowsFor(lo.rows[i], width)
	}
	return n + lo.curCol/width
}

func rowsFor(w, width int) int {
	if w <= width {
		return 1
	}
	return (w + width - 1) / width
}

func appendRune(dst []byte, r rune) []byte {
	var b [4]byte
	n := encodeRune(b[:], r)
	return append(dst, b[:n]...)
}
