package term

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecoder checks that splitting the input anywhere gives the same keys
// (the decoder keeps partial sequences whole), and that editing with those
// keys keeps the editor's invariants.
func FuzzDecoder(f *testing.F) {
	for _, seed := range []string{
		"hello\r", "\x1b[A\x1b[1;5C\x1bOH", "日本🙂\x7f\x17", "\x1b[200~a\r\nb\x1b[201~\r",
		"\x1b[", "\x1b[200~\x1b[20", "\xe6\x97", "\x1b\x1b\x1bb", "a\x1b[3~\x0b\x15",
	} {
		f.Add(seed, uint8(1))
	}
	f.Fuzz(func(t *testing.T, input string, at uint8) {
		var whole, split Decoder
		var a, b []Key
		whole.Feed([]byte(input), func(k Key) { a = append(a, k) })
		cut := int(at) % (len(input) + 1)
		split.Feed([]byte(input[:cut]), func(k Key) { b = append(b, k) })
		split.Feed([]byte(input[cut:]), func(k Key) { b = append(b, k) })
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("input %q split at %d:\nwhole %v\nsplit %v", input, cut, a, b)
		}
		e := NewEditor(nil)
		e.Limit = 64
		for _, k := range a {
			e.Handle(k)
			if e.Cursor() < 0 || e.Cursor() > len(e.Runes()) {
				t.Fatalf("cursor %d outside 0..%d", e.Cursor(), len(e.Runes()))
			}
			line := e.Line()
			if len(line) > e.Limit || !utf8.ValidString(line) {
				t.Fatalf("line %q breaks the limit or UTF-8", line)
			}
			for _, r := range line {
				if r != '\n' && isControl(r) {
					t.Fatalf("control character %U in the line", r)
				}
			}
		}
	})
}
