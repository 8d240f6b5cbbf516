package term

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"pynet/internal/term/termtest"
)

func cursorAt(v *termtest.VT, row, col int) bool {
	r, c := v.Cursor()
	return r == row && c == col
}

func newVT(w, h int) *termtest.VT { return termtest.New(w, h, RuneWidth) }

func newTestTerminal(w, h int, prompt string) (*Terminal, *termtest.VT) {
	v := newVT(w, h)
	t := NewTerminal(v, w, nil)
	t.SetPrompt(prompt, "1")
	return t, v
}

func checkScreen(t *testing.T, v *termtest.VT, want []string, row, col int) {
	t.Helper()
	if got := v.Screen(); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
		t.Fatalf("screen:\n%s\nwant:\n%s", strings.Join(got, "|\n"), strings.Join(want, "|\n"))
	}
	if r, c := v.Cursor(); r != row || c != col {
		t.Fatalf("cursor at row %d col %d, want row %d col %d", r, c, row, col)
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
			if got := v.All(); !reflect.DeepEqual(got, want) {
				t.Fatalf("screen and scrollback:\n%s\nwant:\n%s", strings.Join(got, "|\n"), strings.Join(want, "|\n"))
			}
			if last := len(v.Screen()) - 1; !cursorAt(v, last, 9) {
				t.Fatalf("cursor not at %d,9", last)
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

// TestTerminalRedraw (bug 8): Ctrl-L draws the conversation again, as much
// as fits above the prompt, instead of leaving a blank screen.
func TestTerminalRedraw(t *testing.T) {
	term, v := newTestTerminal(20, 4, "> ")
	term.Height = func() int { return 4 }
	term.Print("first", "second", "third")
	v.Write([]byte("\x1b[H\x1b[2Jgarbage from elsewhere\r\n"))
	term.Feed([]byte("ab\x0c"))
	checkScreen(t, v, []string{"first", "second", "third", "> ab"}, 3, 4)
	term.PrintLines([]Line{{Text: "a long line that wraps under its indent", Indent: 2}})
	term.Feed([]byte("\x0c"))
	checkScreen(t, v, []string{"a long line that", "  wraps under its", "  indent", "> ab"}, 3, 4)
	term.Clear()
	term.Feed([]byte("\x0c"))
	checkScreen(t, v, []string{"> ab"}, 0, 4)
}

func TestTerminalResizeWider(t *testing.T) {
	term, v := newTestTerminal(20, 5, "> ")
	term.Feed([]byte(strings.Repeat("y", 30)))
	checkScreen(t, v, []string{"> " + strings.Repeat("y", 18), strings.Repeat("y", 12)}, 1, 12)
	v.Widen(40) // a terminal that does not re-wrap: rows keep their content
	term.Resize(40)
	checkScreen(t, v, []string{"> " + strings.Repeat("y", 30)}, 0, 32)
}

func TestTerminalOverflowRingsBell(t *testing.T) {
	term, v := newTestTerminal(20, 5, "> ")
	term.Editor.Limit = 3
	term.Feed([]byte("abcd"))
	if v.Bells() != 1 {
		t.Fatalf("bells = %d, want 1", v.Bells())
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
	term.Size = func() int { w, _ := v.Size(); return w }
	term.SetPrompt("> ", "")
	term.Print("message one")
	term.Feed([]byte(strings.Repeat("a", 50)))
	checkScreen(t, v, []string{"message one", "> " + strings.Repeat("a", 38), strings.Repeat("a", 12)}, 2, 12)
	v.Resize(20)
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
	v.Resize(15)
	term.Resize(15)
	checkScreen(t, v, []string{"one", "> " + strings.Repeat("b", 13), strings.Repeat("b", 15), strings.Repeat("b", 15), strings.Repeat("b", 2)}, 1, 2)
}

// TestTerminalTallDraft (bug 1): a draft taller than the screen is shown
// through a window that follows the cursor. Nothing of it may reach the
// scrollback, however often the screen is redrawn, and Home takes the
// cursor to the real start of the text.
func TestTerminalTallDraft(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		home  string // what takes the cursor to the start of the text
	}{
		{"30-line paste", pasteOpen + strings.TrimSuffix(strings.Repeat("pasted line\n", 30), "\n") + pasteShut, strings.Repeat(up, 29) + ctrlA},
		{"1200-character line", strings.Repeat("0123456789", 120), ctrlA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVT(40, 12)
			term := NewTerminal(v, 40, nil)
			term.Height = func() int { return 12 }
			term.SetPrompt("> ", "")
			term.Print("before")
			term.Feed([]byte(tc.input))
			for i := range 20 {
				term.Print(fmt.Sprintf("message %d", i))
			}
			for _, r := range v.All() {
				if strings.Contains(r, "pasted") || strings.Contains(r, "0123") {
					if !slicesContains(v.Screen(), r) {
						t.Fatalf("draft row %q in the scrollback:\n%s", r, strings.Join(v.All(), "|\n"))
					}
				}
			}
			screen := v.Screen()
			if len(screen) != 12 || !strings.HasPrefix(screen[0], "message ") || !strings.HasPrefix(screen[1], "draft of ") {
				t.Fatalf("screen:\n%s", strings.Join(screen, "|\n"))
			}
			term.Feed([]byte(tc.home))
			screen = v.Screen()
			if !cursorAt(v, 2, 2) || !strings.HasPrefix(screen[2], "> ") {
				r, c := v.Cursor()
				t.Fatalf("after Home the cursor is at %d,%d; screen:\n%s", r, c, strings.Join(screen, "|\n"))
			}
			term.Feed([]byte(ctrlG))
			checkScreen(t, v, append(screen[:1:1], ">"), 1, 2)
		})
	}
}

func slicesContains(rows []string, r string) bool {
	for _, x := range rows {
		if x == r {
			return true
		}
	}
	return false
}

// TestTerminalStatusRow: the status row sits above the prompt, cut to the
// width, and goes when it is emptied.
func TestTerminalStatusRow(t *testing.T) {
	term, v := newTestTerminal(20, 6, "> ")
	term.Feed([]byte("hi"))
	term.SetStatus("#lobby | 2:#go(3) 3:#rust(1, @1)", "")
	checkScreen(t, v, []string{"#lobby | 2:#go(3) 3…", "> hi"}, 1, 4)
	term.Print("news")
	checkScreen(t, v, []string{"news", "#lobby | 2:#go(3) 3…", "> hi"}, 2, 4)
	term.SetStatus("", "")
	checkScreen(t, v, []string{"news", "> hi"}, 1, 4)
}

// TestTerminalWrapsAtWords (bug 6): a long incoming line breaks between
// words, and its rows after the first start under the text, not at
// column 0.
func TestTerminalWrapsAtWords(t *testing.T) {
	term, v := newTestTerminal(34, 8, "> ")
	term.PrintLines([]Line{{Text: "[12:00]   <bob> the quick brown fox jumps over the lazy dog", Indent: 16}})
	term.PrintLines([]Line{{Text: "\x1b[1mboldwordthatistoolongforthewholerow\x1b[0m end", Indent: 4}})
	checkScreen(t, v, []string{
		"[12:00]   <bob> the quick brown",
		"                fox jumps over the",
		"                lazy dog",
		"boldwordthatistoolongforthewholero",
		"    w end",
		">",
	}, 5, 2)
}

func TestWrapLine(t *testing.T) {
	for _, tc := range []struct {
		line  Line
		width int
		want  []string
	}{
		{Line{Text: "short"}, 10, []string{"short"}},
		{Line{Text: "aaa bbb ccc", Indent: 2}, 7, []string{"aaa bbb", "  ccc"}},
		{Line{Text: "aaa bbb ccc", Indent: 2}, 6, []string{"aaa", "  bbb", "  ccc"}},
		{Line{Text: "x", Indent: 40}, 10, []string{"x"}},
		{Line{Text: "second line", Indent: 4, Cont: true}, 20, []string{"    second line"}},
		{Line{Text: "日本語のテキスト", Indent: 0}, 7, []string{"日本語", "のテキ", "スト"}},
		{Line{Text: "a \x1b[31mred words here\x1b[0m", Indent: 2}, 9, []string{"a \x1b[31mred\x1b[0m", "  \x1b[31mwords\x1b[0m", "  \x1b[31mhere\x1b[0m"}},
		{Line{Text: "abcdef", Indent: 3}, 5, []string{"abcde", "  f"}},
	} {
		if got := wrapLine(tc.line, tc.width); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("wrapLine(%q, %d) = %q, want %q", tc.line.Text, tc.width, got, tc.want)
		}
	}
}
