package term

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// editResult is everything the editor produced for one input.
type editResult struct {
	Inputs []Input
	Line   string
	Cursor int
}

// edit runs input through a Decoder and an Editor, chunk bytes at a time.
func edit(input string, chunk int, setup func(*Editor)) editResult {
	var d Decoder
	e := NewEditor(nil)
	if setup != nil {
		setup(e)
	}
	var res editResult
	b := []byte(input)
	for i := 0; i < len(b); i += chunk {
		d.Feed(b[i:min(i+chunk, len(b))], func(k Key) {
			if act, line := e.Handle(k); act != ActNone {
				res.Inputs = append(res.Inputs, Input{Action: act, Line: line})
			}
		})
	}
	res.Line, res.Cursor = e.Line(), e.Cursor()
	return res
}

const (
	left      = "\x1b[D"
	right     = "\x1b[C"
	up        = "\x1b[A"
	down      = "\x1b[B"
	home      = "\x1b[H"
	end       = "\x1b[F"
	del       = "\x1b[3~"
	bs        = "\x7f"
	ctrlA     = "\x01"
	ctrlE     = "\x05"
	ctrlC     = "\x03"
	ctrlD     = "\x04"
	ctrlK     = "\x0b"
	ctrlU     = "\x15"
	ctrlW     = "\x17"
	ctrlG     = "\x07"
	altB      = "\x1bb"
	altF      = "\x1bf"
	altEnter  = "\x1b\r"
	enter     = "\r"
	pasteOpen = "\x1b[200~"
	pasteShut = "\x1b[201~"
)

func submit(lines ...string) []Input {
	var in []Input
	for _, l := range lines {
		in = append(in, Input{Action: ActSubmit, Line: l})
	}
	return in
}

func TestEditor(t *testing.T) {
	tests := []struct {
		name  string
		input string
		setup func(*Editor)
		want  editResult
	}{
		{"insert in the middle", "abc" + left + left + "X", nil, editResult{nil, "aXbc", 2}},
		{"home and end", "world" + ctrlA + "hello " + ctrlE + "!", nil, editResult{nil, "hello world!", 12}},
		{"home and end keys", "bc" + home + "a" + end + "d", nil, editResult{nil, "abcd", 4}},
		{"left at start, right at end", left + "ab" + right + right + left + left + left + "x", nil, editResult{nil, "xab", 1}},
		{"backspace", "abcd" + left + bs, nil, editResult{nil, "abd", 2}},
		{"backspace at start", "ab" + home + bs, nil, editResult{nil, "ab", 0}},
		{"delete", "abcd" + home + del, nil, editResult{nil, "bcd", 0}},
		{"delete at end", "ab" + del, nil, editResult{nil, "ab", 2}},
		{"ctrl-u", "hello world" + strings.Repeat(left, 5) + ctrlU, nil, editResult{nil, "world", 0}},
		{"ctrl-w", "hello big world" + ctrlW, nil, editResult{nil, "hello big ", 10}},
		{"ctrl-w twice", "hello big world  " + ctrlW + ctrlW, nil, editResult{nil, "hello ", 6}},
		{"ctrl-k", "hello world" + home + strings.Repeat(right, 5) + ctrlK, nil, editResult{nil, "hello", 5}},
		{"words", "one two three" + altB + altB + "X" + altF + altF + "Y", nil, editResult{nil, "one Xtwo threeY", 15}},
		{"enter submits and clears", "hi" + enter, nil, editResult{submit("hi"), "", 0}},
		{"empty enter", enter, nil, editResult{submit(""), "", 0}},
		{"history", "one" + enter + "two" + enter + up, nil, editResult{submit("one", "two"), "two", 3}},
		{"history older and stop", "one" + enter + "two" + enter + up + up + up, nil, editResult{submit("one", "two"), "one", 3}},
		{"history back to draft", "one" + enter + "dr" + up + down, nil, editResult{submit("one"), "dr", 2}},
		{"history edit then resubmit", "one" + enter + up + "!" + enter + up, nil, editResult{submit("one", "one!"), "one!", 4}},
		{"history skips repeats and blanks", "a" + enter + "a" + enter + "  " + enter + up + up, nil, editResult{submit("a", "a", "  "), "a", 1}},
		{"utf8", "héé" + left + bs, nil, editResult{nil, "hé", 1}},
		{"wide", "日本語" + left + "x", nil, editResult{nil, "日本x語", 3}},
		{"combining mark moves with its base", "e\u0301x" + left + left + "a", nil, editResult{nil, "ae\u0301x", 1}},
		{"backspace removes mark and base", "ae\u0301" + bs, nil, editResult{nil, "a", 1}},
		{"ctrl-d deletes", "ab" + home + ctrlD, nil, editResult{nil, "b", 0}},
		{"ctrl-d on empty line", ctrlD, nil, editResult{[]Input{{Action: ActEOF}}, "", 0}},
		{"ctrl-c", "abc" + ctrlC, nil, editResult{[]Input{{Action: ActInterrupt}}, "abc", 3}},
		{"paste is one message", pasteOpen + "line one\r\nline two" + pasteShut + enter, nil, editResult{submit("line one\nline two"), "", 0}},
		{"paste tab becomes spaces", pasteOpen + "a\tb" + pasteShut, nil, editResult{nil, "a    b", 6}},
		{"alt-enter breaks the line", "a" + altEnter + "b" + enter, nil, editResult{submit("a\nb"), "", 0}},
		{"up and down move between lines", pasteOpen + "abc\ndef" + pasteShut + up + "X" + down + "Y", nil, editResult{nil, "abcX\ndefY", 9}},
		{"home in a multi-line buffer", pasteOpen + "abc\ndef" + pasteShut + home + "X", nil, editResult{nil, "abc\nXdef", 5}},
		{"limit", "abcdefg", func(e *Editor) { e.Limit = 5 }, editResult{nil, "abcde", 5}},
		{"limit counts bytes", "ééé", func(e *Editor) { e.Limit = 5 }, editResult{nil, "éé", 2}},
		{"tab completes", "hi al\t", func(e *Editor) {
			e.Complete = func(before, w string) []string {
				if before == "hi " && w == "al" {
					return []string{"alice"}
				}
				return nil
			}
		}, editResult{nil, "hi alice ", 9}},
		// Bug 7: Tab cycles through ambiguous names, round and round.
		{"tab cycles", "bo\t\t", func(e *Editor) { e.Complete = completeBobs }, editResult{nil, "bobby ", 6}},
		{"tab cycles round", "bo\t\t\t", func(e *Editor) { e.Complete = completeBobs }, editResult{nil, "bob ", 4}},
		{"tab then typing ends the cycle", "bo\t\tx\t", func(e *Editor) { e.Complete = completeBobs }, editResult{nil, "bobby x", 7}},
		{"tab after /msg completes names", "/msg \t", func(e *Editor) {
			e.Complete = func(before, w string) []string {
				if before == "/msg " && w == "" {
					return []string{"alice", "bob"}
				}
				return nil
			}
		}, editResult{nil, "/msg alice ", 11}},
		// Bug 4: the cursor keys and Backspace work on grapheme clusters.
		{"skin tone is one character", "a👍🏽" + bs, nil, editResult{nil, "a", 1}},
		{"zwj family is one character", "x👨\u200d👩\u200d👧y" + left + bs, nil, editResult{nil, "xy", 1}},
		{"left jumps over a zwj family", "x👨\u200d👩\u200d👧y" + left + left + "|", nil, editResult{nil, "x|👨\u200d👩\u200d👧y", 2}},
		{"flags pair up", "🇫🇷🇩🇪" + left + "|", nil, editResult{nil, "🇫🇷|🇩🇪", 3}},
		{"flag deleted whole", "🇫🇷🇩🇪" + bs, nil, editResult{nil, "🇫🇷", 2}},
		{"right skips a cluster", "👍🏽z" + home + right + "|", nil, editResult{nil, "👍🏽|z", 3}},
		{"delete removes a cluster", "e\u0301\u0302x" + home + del, nil, editResult{nil, "x", 0}},
		// Bug 3: Ctrl-G throws a whole multi-line draft away; ↑ brings it back.
		{"ctrl-g discards the draft", pasteOpen + "one\ntwo\nthree" + pasteShut + ctrlG, nil, editResult{[]Input{{Action: ActDiscard}}, "", 0}},
		{"discarded draft is in the history", "draft" + ctrlG + up, nil, editResult{[]Input{{Action: ActDiscard}}, "draft", 5}},
		{"room keys", "\x1b2\x0e\x10", nil, editResult{[]Input{{Action: ActRoom, Line: "2"}, {Action: ActNextRoom}, {Action: ActPrevRoom}}, "", 0}},
	}
	for _, tc := range tests {
		for chunk := 1; chunk <= len(tc.input); chunk++ {
			t.Run(fmt.Sprintf("%s/chunk%d", tc.name, chunk), func(t *testing.T) {
				got := edit(tc.input, chunk, tc.setup)
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("input %q:\ngot  %+v\nwant %+v", tc.input, got, tc.want)
				}
			})
		}
	}
}

func completeBobs(before, w string) []string {
	if w == "bo" {
		return []string{"bob", "bobby"}
	}
	return nil
}

// TestEditorSecret: a Secret line is not kept in the history, and it is
// handed over once as bytes.
func TestEditorSecret(t *testing.T) {
	var d Decoder
	e := NewEditor(nil)
	e.Secret = true
	var acts []Action
	d.Feed([]byte("hunter22"+up+enter+up), func(k Key) {
		if act, line := e.Handle(k); act != ActNone {
			if line != "" {
				t.Fatalf("a secret came back as a string: %q", line)
			}
			acts = append(acts, act)
		}
	})
	if !reflect.DeepEqual(acts, []Action{ActSubmit}) {
		t.Fatalf("actions %v", acts)
	}
	if got := string(e.TakeSecret()); got != "hunter22" {
		t.Fatalf("secret %q", got)
	}
	if e.TakeSecret() != nil || e.hist.Len() != 0 || e.Line() != "" {
		t.Fatalf("the secret lingers: history %d, line %q", e.hist.Len(), e.Line())
	}
}

func TestHistoryBounded(t *testing.T) {
	h := NewHistory(3)
	for i := 0; i < 10; i++ {
		h.Add(fmt.Sprint(i))
	}
	if h.Len() != 3 || h.At(0) != "7" || h.At(2) != "9" {
		t.Fatalf("history = %v, want [7 8 9]", h.entries)
	}
}

func TestRuneWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"abc", 3}, {"héllo", 5}, {"日本語", 6}, {"e\u0301", 1}, {"🙂", 2}, {"한국어", 6},
		{"ｆｕｌｌ", 8}, {"a\u200db", 2}, {"\x1b", 0}, {"\u00ad", 1},
	} {
		if got := StringWidth(tc.s); got != tc.want {
			t.Errorf("StringWidth(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}
