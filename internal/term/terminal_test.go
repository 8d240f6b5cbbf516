package term

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func newTestTerminal(w, h int, prompt string) (*Terminal, *vt) {
	v := newVT(w, h)
	t := NewTerminal(v, w, nil)
	t.SetPrompt(prompt, "1")
	return t, v
}

func checkScreen(t *testing.T, v *vt, want []string, row, col int) {
	t.Helper()
	if got := v.screen(); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
		t.Fatalf("screen:\n%s\nwant:\n%s", strings.Join(got, "|\n"), strings.Join(want, "|\n"))
	}
	if v.row != row || v.col != col {
		t.Fatalf("cursor at row %d col %d, want row %d col %d", v.row, v.col, row, col)
	}
}

func TestTerminalPrintAbovePrompt(t *testing.T) {
	term, v := newTestTerminal(30, 10, "> ")
	term.Feed([]byte("hello wor"))
	term.Print("[12:00]   <bob> one")
	term.Print("[12:00]   <bob> two", "[12:00]   <bob> three")
	checkScreen(t, v, []string{
		"[12:00]   <bob> one",
		"[12:00]   <bob> two",
		"[12:00]   <bob> three",
		"> hello wor",
	}, 3, 11)
	term.Feed([]byte("ld" + enter))
	checkScreen(t, v, []string{
		"[12:00]   <bob> one",
		"[12:00]   <bob> two",
		"[12:00]   <bob> three",
		">",
	}, 3, 2)
}

// TestTerminalTypingWhileLinesArrive interleaves typing, at every chunk
// size, with lines arriving after every chunk, and checks that every
// printed line is whole and the typed line is whole below them.
func TestTerminalTypingWhileLinesArrive(t *testing.T) {
	typed := "the quick brown 狐 jumps" + left + left + "ö" + right + right
	for chunk := 1; chunk <= len(typed); chunk++ {
		t.Run(fmt.Sprint("chunk", chunk), func(t *testing.T) {
			term, v := newTestTerminal(24, 6, "alice> ")
			var want []string
			b := []byte(typed)
			for i, n := 0, 0; i < len(b); i, n = i+chunk, n+1 {
				term.Feed(b[i:min(i+chunk, len(b))])
				line := fmt.Sprintf("<bob> message %d", n)
				term.Print(line)
				want = append(want, line)
			}
			want = append(want, "alice> the quick brown", "狐 jumöps") // 狐 does not fit in column 24
			if got := v.all(); !reflect.DeepEqual(got, want) {
				t.Fatalf("screen and scrollback:\n%s\nwant:\n%s", strings.Join(got, "|\n"), strings.Join(want, "|\n"))
			}
			if last := len(v.screen()) - 1; v.row != last || v.col != 9 {
				t.Fatalf("cursor at %d,%d, want %d,9", v.row, v.col, last)
			}
		})
	}
}

func TestTerminalWrap(t *testing.T) {
	term, v := newTestTerminal(20, 10, "alice> ")
	term.Feed([]byte(strings.Repeat("x", 40)))
	rows := []string{"alice> " + strings.Repeat("x", 13), strings.Repeat("x", 20), strings.Repeat("x", 7)}
	checkScreen(t, v, rows, 2, 7)
	term.Feed([]byte(home))
	checkScreen(t, v, rows, 0, 7)
	term.Print("news")
	checkScreen(t, v, append([]string{"news"}, rows...), 1, 7)
	term.Feed([]byte(end + strings.Repeat(left, 8)))
	checkScreen(t, v, append([]string{"news"}, rows...), 2, 19)
}

func TestTerminalExactFill(t *testing.T) {
	term, v := newTestTerminal(10, 5, "> ")
	term.Feed([]byte("abcdefgh"))
	checkScreen(t, v, []string{"> abcdefgh"}, 1, 0)
	term.Print("x")
	checkScreen(t, v, []string{"x", "> abcdefgh"}, 2, 0)
	term.Feed([]byte("i"))
	checkScreen(t, v, []string{"x", "> abcdefgh", "i"}, 2, 1)
	term.Feed([]byte(bs + left))
	checkScreen(t, v, []string{"x", "> abcdefgh"}, 1, 9)
}

func TestTerminalWideAtEdge(t *testing.T) {
	term, v := newTestTerminal(10, 5, "> ")
	term.Feed([]byte("x日日日日"))
	checkScreen(t, v, []string{"> x日日日", "日"}, 1, 2)
	term.Feed([]byte(left))
	checkScreen(t, v, []string{"> x日日日", "日"}, 1, 0)
	term.Feed([]byte(left))
	checkScreen(t, v, []string{"> x日日日", "日"}, 0, 7)
}

func TestTerminalMultiLineInput(t *testing.T) {
	term, v := newTestTerminal(20, 8, "> ")
	term.Feed([]byte(pasteOpen + "first\r\nsecond" + pasteShut))
	checkScreen(t, v, []string{"> first", "  second"}, 1, 8)
	term.Print("one", "two")
	checkScreen(t, v, []string{"one", "two", "> first", "  second"}, 3, 8)
	term.Feed([]byte(up))
	checkScreen(t, v, []string{"one", "two", "> first", "  second"}, 2, 7)
}

func TestTerminalPromptChangeAndClose(t *testing.T) {
	term, v := newTestTerminal(20, 5, "> ")
	term.Feed([]byte("draft"))
	term.SetPrompt("(offline) a> ", "")
	checkScreen(t, v, []string{"(offline) a> draft"}, 0, 18)
	term.Close()
	checkScreen(t, v, nil, 0, 0)
}

func TestTerminalRedraw(t *testing.T) {
	term, v := newTestTerminal(20, 5, "> ")
	term.Print("old")
	term.Feed([]byte("ab\x0c"))
	checkScreen(t, v, []string{"> ab"}, 0, 4)
}

func TestTerminalResizeWider(t *testing.T) {
	term, v := newTestTerminal(20, 5, "> ")
	term.Feed([]byte(strings.Repeat("y", 30)))
	checkScreen(t, v, []string{"> " + strings.Repeat("y", 18), strings.Repeat("y", 12)}, 1, 12)
	v.w = 40 // a terminal that does not re-wrap: rows keep their content
	for r := range v.cells {
		v.cells[r] = append(v.cells[r], []rune(strings.Repeat(" ", 20))...)
	}
	term.Resize(40)
	checkScreen(t, v, []string{"> " + strings.Repeat("y", 30)}, 0, 32)
}

func TestTerminalOverflowRingsBell(t *testing.T) {
	term, v := newTestTerminal(20, 5, "> ")
	term.Editor.Limit = 3
	term.Feed([]byte("abcd"))
	if v.bells != 1 {
		t.Fatalf("bells = %d, want 1", v.bells)
	}
	checkScreen(t, v, []string{"> abc"}, 0, 5)
}

func TestRowsAbove(t *testing.T) {
	lo := layout{rows: []int{20, 20, 5}, curRow: 2, curCol: 5}
	for _, tc := range []struct{ width, want int }{{20, 2}, {40, 2}, {10, 4}, {3, 15}} {
		if got := lo.rowsAbove(tc.width); got != tc.want {
			t.Errorf("rowsAbove(%d) = %d, want %d", tc.width, got, tc.want)
		}
	}
}

// TestTerminalResizeBeforeSignal: the terminal shrinks and re-wraps the
// screen, and more keys arrive before the program has handled SIGWINCH.
// With Size set, the next drawing notices and leaves nothing stale.
func TestTerminalResizeBeforeSignal(t *testing.T) {
	v := newVT(40, 10)
	term := NewTerminal(v, 40, nil)
	term.Size = func() int { return v.w }
	term.SetPrompt("> ", "")
	term.Print("message one")
	term.Feed([]byte(strings.Repeat("a", 50)))
	checkScreen(t, v, []string{"message one", "> " + strings.Repeat("a", 38), strings.Repeat("a", 12)}, 2, 12)
	v.resize(20)
	term.Feed([]byte("bc"))
	term.Print("message two")
	checkScreen(t, v, []string{
		"message one", "message two",
		"> " + strings.Repeat("a", 18), strings.Repeat("a", 20), strings.Repeat("a", 12) + "bc",
	}, 4, 14)
	term.Resize(20) // the late SIGWINCH changes nothing
	checkScreen(t, v, []string{
		"message one", "message two",
		"> " + strings.Repeat("a", 18), strings.Repeat("a", 20), strings.Repeat("a", 12) + "bc",
	}, 4, 14)
}

// TestTerminalResizeNarrower: the usual case, SIGWINCH then redraw.
func TestTerminalResizeNarrower(t *testing.T) {
	term, v := newTestTerminal(40, 10, "> ")
	term.Print("one")
	term.Feed([]byte(strings.Repeat("b", 45) + home))
	v.resize(15)
	term.Resize(15)
	checkScreen(t, v, []string{"one", "> " + strings.Repeat("b", 13), strings.Repeat("b", 15), strings.Repeat("b", 15), strings.Repeat("b", 2)}, 1, 2)
}
