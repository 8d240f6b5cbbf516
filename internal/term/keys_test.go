package term

import (
	"fmt"
	"reflect"
	"testing"
)

// feedChunks feeds input to a fresh decoder chunk bytes at a time.
func decodeChunks(input string, chunk int) []Key {
	var d Decoder
	var keys []Key
	b := []byte(input)
	for i := 0; i < len(b); i += chunk {
		end := min(i+chunk, len(b))
		d.Feed(b[i:end], func(k Key) { keys = append(keys, k) })
	}
	return keys
}

func runes(s string) []Key {
	var ks []Key
	for _, r := range s {
		ks = append(ks, Key{Code: KeyRune, Rune: r})
	}
	return ks
}

func pasted(s string) []Key {
	ks := runes(s)
	for i := range ks {
		ks[i].Paste = true
	}
	return ks
}

func keys(codes ...KeyCode) []Key {
	var ks []Key
	for _, c := range codes {
		ks = append(ks, Key{Code: c})
	}
	return ks
}

func cat(parts ...[]Key) []Key {
	var ks []Key
	for _, p := range parts {
		ks = append(ks, p...)
	}
	return ks
}

func TestDecoder(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Key
	}{
		{"ascii", "hi!", runes("hi!")},
		{"utf8", "héllo wörld €", runes("héllo wörld €")},
		{"wide and emoji", "日本🙂", runes("日本🙂")},
		{"enter CR", "a\r", cat(runes("a"), keys(KeyEnter))},
		{"enter LF", "a\n", cat(runes("a"), keys(KeyEnter))},
		{"CR LF is one enter", "a\r\nb\r\r", cat(runes("a"), keys(KeyEnter), runes("b"), keys(KeyEnter, KeyEnter))},
		{"arrows CSI", "\x1b[A\x1b[B\x1b[C\x1b[D", keys(KeyUp, KeyDown, KeyRight, KeyLeft)},
		{"arrows SS3", "\x1bOA\x1bOB\x1bOC\x1bOD\x1bOH\x1bOF", keys(KeyUp, KeyDown, KeyRight, KeyLeft, KeyHome, KeyEnd)},
		{"home end variants", "\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[7~\x1b[8~", keys(KeyHome, KeyEnd, KeyHome, KeyEnd, KeyHome, KeyEnd)},
		{"delete", "\x1b[3~", keys(KeyDelete)},
		{"ctrl arrows", "\x1b[1;5C\x1b[1;5D\x1b[1;3C", keys(KeyWordRight, KeyWordLeft, KeyWordRight)},
		{"alt keys", "\x1bb\x1bf\x1bd\x1b\x7f\x1b\r", keys(KeyWordLeft, KeyWordRight, KeyDeleteWord, KeyKillWord, KeyNewline)},
		{"controls", "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0b\x0c\x0e\x10\x15\x17\x7f",
			keys(KeyHome, KeyLeft, KeyInterrupt, KeyEOF, KeyEnd, KeyRight, KeyDiscard, KeyBackspace, KeyTab,
				KeyKillEnd, KeyRedraw, KeyNextRoom, KeyPrevRoom, KeyKillStart, KeyKillWord, KeyBackspace)},
		{"ignored controls", "a\x00\x1a\x1cb", runes("ab")},
		{"alt digits pick rooms", "\x1b1\x1b9\x1b0", []Key{{Code: KeyRoom, Rune: '1'}, {Code: KeyRoom, Rune: '9'}, {Code: KeyRoom, Rune: '0'}}},
		{"unknown CSI ignored", "a\x1b[99;99Zb\x1b[?1049hc\x1b[15~d", runes("abcd")},
		{"ESC then letter types the letter", "\x1bx", runes("x")},
		{"double ESC", "\x1b\x1b[A", keys(KeyUp)},
		{"invalid utf8 dropped", "a\xffb\xc3(c", runes("ab(c")},
		{"C1 dropped", "a\u0085b\u009bc", runes("abc")},
		{"paste is text", "x\x1b[200~line 1\r\nline 2\nline 3\rend\x1b[201~\r",
			cat(runes("x"), pasted("line 1\nline 2\nline 3\nend"), keys(KeyEnter))},
		{"paste keeps tab, drops controls and escapes", "\x1b[200~a\tb\x03c\x1b[Ad\x1b[201~", pasted("a\tbc[Ad")},
		{"paste utf8", "\x1b[200~日本\r\n🙂\x1b[201~", pasted("日本\n🙂")},
		{"stray paste end ignored", "a\x1b[201~b", runes("ab")},
	}
	for _, tc := range tests {
		for chunk := 1; chunk <= len(tc.input); chunk++ {
			t.Run(fmt.Sprintf("%s/chunk%d", tc.name, chunk), func(t *testing.T) {
				got := decodeChunks(tc.input, chunk)
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("input %q:\ngot  %v\nwant %v", tc.input, got, tc.want)
				}
			})
		}
	}
}

// TestDecoderBoundedPending checks that an endless escape sequence is not
// buffered whole.
func TestDecoderBoundedPending(t *testing.T) {
	var d Decoder
	d.Feed([]byte("\x1b["), func(Key) {})
	for i := 0; i < 1000; i++ {
		d.Feed([]byte("1;"), func(Key) {})
		if len(d.pending) > maxSeq {
			t.Fatalf("pending grew to %d bytes", len(d.pending))
		}
	}
}
