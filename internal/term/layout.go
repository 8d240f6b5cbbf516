package term

import "strconv"

// layout is where the prompt and the input land on a screen of a given
// width, and the bytes that draw them.
//
// Rows are broken by the layout itself, with CR LF, instead of relying on
// the terminal's automatic wrap: then the cursor position after drawing is
// known exactly, whatever the terminal does with its deferred-wrap column,
// and a wide character that does not fit at the end of a row moves to the
// next one as terminals do.
type layout struct {
	rows           []int // display width of each row
	curRow, curCol int   // where the cursor belongs, rows counted from the prompt's row
}

// csi appends ESC [ n final, omitting n when it is 1.
func csi(dst []byte, n int, final byte) []byte {
	dst = append(dst, 0x1b, '[')
	if n != 1 {
		dst = strconv.AppendInt(dst, int64(n), 10)
	}
	return append(dst, final)
}

// drawInput appends to dst the bytes that draw the prompt (in the SGR style
// promptStyle, "" for none) and text, starting at column 0 of an empty row,
// then put the terminal cursor at index cursor of text. Line breaks in text
// start a new row indented under the prompt.
func drawInput(dst []byte, prompt, promptStyle string, text []rune, cursor, width int) ([]byte, layout) {
	if width < 2 {
		width = 2
	}
	var lo layout
	promptW := StringWidth(prompt)
	indent := promptW
	if indent > width/2 {
		indent = 0
	}
	row, col := 0, 0
	put := func(r rune, w int) {
		if col+w > width {
			dst = append(dst, '\r', '\n')
			lo.rows = append(lo.rows, col)
			row, col = row+1, 0
		}
		dst = appendRune(dst, r)
		col += w
	}
	if promptStyle != "" && prompt != "" {
		dst = append(dst, "\x1b["+promptStyle+"m"...)
	}
	for _, r := range prompt {
		put(r, RuneWidth(r))
	}
	if promptStyle != "" && prompt != "" {
		dst = append(dst, "\x1b[0m"...)
	}
	curRow, curCol := -1, 0
	for i, r := range text {
		if r == '\n' {
			if i == cursor {
				curRow, curCol = row, col
			}
			dst = append(dst, '\r', '\n')
			lo.rows = append(lo.rows, col)
			row, col = row+1, 0
			for col < indent {
				dst = append(dst, ' ')
				col++
			}
			continue
		}
		w := RuneWidth(r)
		if col+w > width { // wrap before the character so the cursor lands on it
			dst = append(dst, '\r', '\n')
			lo.rows = append(lo.rows, col)
			row, col = row+1, 0
		}
		if i == cursor {
			curRow, curCol = row, col
		}
		dst = appendRune(dst, r)
		col += w
	}
	if curRow < 0 { // the cursor is at the end
		curRow, curCol = row, col
	}
	if curCol >= width { // past a full last row: it belongs on a new row
		dst = append(dst, '\r', '\n')
		lo.rows = append(lo.rows, col)
		row, col = row+1, 0
		curRow, curCol = row, 0
	}
	lo.rows = append(lo.rows, col)
	// CR first: it also ends the deferred wrap of a full row.
	dst = append(dst, '\r')
	if up := row - curRow; up > 0 {
		dst = csi(dst, up, 'A')
	}
	if curCol > 0 {
		dst = csi(dst, curCol, 'C')
	}
	lo.curRow, lo.curCol = curRow, curCol
	return dst, lo
}

// rowsAbove is how many rows the cursor sits below the prompt's row after
// the terminal was resized to width. Most terminals (tmux, VTE, iTerm2,
// kitty) re-wrap rows that no longer fit, so each drawn row now takes
// ceil(w/width) rows; rows that still fit are unchanged.
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
