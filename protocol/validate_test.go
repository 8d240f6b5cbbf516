package protocol_test

import (
	"strings"
	"testing"
	"unicode"

	"pynet/protocol"
)

func TestCheckUsername(t *testing.T) {
	ok := []string{
		"a", "Z", "0", "9lives", "alice", "Alice", "ALICE", "a_b", "a.b", "a-b", "a_", "a.", "a-",
		"x__..--", "Alice_Bob.c-d9", strings.Repeat("a", 32), "0" + strings.Repeat("_", 31),
	}
	bad := []string{
		"", strings.Repeat("a", 33), strings.Repeat("a", 1000),
		"_a", ".a", "-a", "_", ".", "-", "..",
		"é", "aé", "naïve", "名前", "ａ", // fullwidth a
		strings.Repeat("a", 31) + "é", // 32 characters, 33 bytes
		"a b", " a", "a ", "\ta", "a\n", "a\x00", "a\x7f",
		"a@b", "a/b", "a+b", "a:b", "a!", "a\"", "a'b", "a,b", "a*",
	}
	for _, name := range ok {
		t.Run("ok/"+name, func(t *testing.T) {
			if err := protocol.CheckUsername(name); err != nil {
				t.Errorf("CheckUsername(%q) = %v, want nil", name, err)
			}
		})
	}
	for _, name := range bad {
		t.Run("bad/"+name, func(t *testing.T) {
			err := protocol.CheckUsername(name)
			if err == nil || err.Code != protocol.CodeInvalidUsername || err.Message == "" {
				t.Errorf("CheckUsername(%q) = %v, want invalid_username", name, err)
			}
		})
	}
}

func TestFoldName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"alice", "alice"},
		{"Alice", "alice"},
		{"ALICE", "alice"},
		{"aLiCe_.-9", "alice_.-9"},
		{"Z", "z"},
		{"@[`{", "@[`{"}, // the bytes around A-Z and a-z stay
	}
	for _, tt := range tests {
		if got := protocol.FoldName(tt.in); got != tt.want {
			t.Errorf("FoldName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Names that collide fold to the same key.
	if protocol.FoldName("Alice") != protocol.FoldName("aLICE") {
		t.Errorf("FoldName(Alice) != FoldName(aLICE)")
	}
}

func TestCheckText(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		in   string
		want string // the trimmed text when code is ""
		code string
	}{
		{name: "plain", in: "hi", want: "hi"},
		{name: "spaces trimmed", in: "  hi  ", want: "hi"},
		{name: "ascii white space trimmed", in: "\t\n\v\f\r hi \r\n\t", want: "hi"},
		{name: "ideographic space trimmed", in: "\u3000hi\u3000", want: "hi"},
		{name: "no-break space trimmed", in: "\u00a0hi\u00a0", want: "hi"},
		{name: "other unicode spaces trimmed", in: "\u2003\u205f\u1680hi\u2028\u2029\u202f", want: "hi"},
		{name: "NEL trimmed", in: "\u0085hi\u0085", want: "hi"},
		{name: "inner spaces kept", in: " a  b\u3000c ", want: "a  b\u3000c"},
		{name: "zero-width space is not white space", in: "\u200bhi", want: "\u200bhi"},
		{name: "LF inside", in: "line one\nline two", want: "line one\nline two"},
		{name: "TAB inside", in: "a\tb", want: "a\tb"},
		{name: "no-break space inside", in: "a\u00a0b", want: "a\u00a0b"},
		{name: "unicode text", in: "héllo 世界 😀", want: "héllo 世界 😀"},
		{name: "line separator inside", in: "a\u2028b", want: "a\u2028b"},

		{name: "empty", in: "", code: protocol.CodeEmptyMessage},
		{name: "spaces", in: "   ", code: protocol.CodeEmptyMessage},
		{name: "ascii white space", in: "\n\t\r \v\f", code: protocol.CodeEmptyMessage},
		{name: "ideographic space only", in: "\u3000", code: protocol.CodeEmptyMessage},
		{name: "NEL only", in: "\u0085\u00a0", code: protocol.CodeEmptyMessage},

		{name: "4096 bytes", in: a(4096), want: a(4096)},
		{name: "4096 bytes after trim", in: "  \u3000" + a(4096) + "\n\n", want: a(4096)},
		{name: "4096 bytes multibyte", in: a(4094) + "é", want: a(4094) + "é"},
		{name: "4097 bytes", in: a(4097), code: protocol.CodeTextTooLong},
		{name: "4097 bytes multibyte", in: a(4095) + "é", code: protocol.CodeTextTooLong},
		{name: "4097 bytes inner spaces", in: a(2048) + " " + a(2048), code: protocol.CodeTextTooLong},

		{name: "NUL", in: "a\x00b", code: protocol.CodeInvalidText},
		{name: "NUL alone", in: "\x00", code: protocol.CodeInvalidText},
		{name: "ESC sequence", in: "a\x1b[31mred", code: protocol.CodeInvalidText},
		{name: "bell", in: "\ahi", code: protocol.CodeInvalidText},
		{name: "CR inside", in: "a\r\nb", code: protocol.CodeInvalidText},
		{name: "VT inside", in: "a\vb", code: protocol.CodeInvalidText},
		{name: "FF inside", in: "a\fb", code: protocol.CodeInvalidText},
		{name: "unit separator", in: "a\x1f", code: protocol.CodeInvalidText},
		{name: "DEL", in: "a\x7fb", code: protocol.CodeInvalidText},
		{name: "C1 first", in: "a\u0080b", code: protocol.CodeInvalidText},
		{name: "C1 CSI", in: "a\u009b31m", code: protocol.CodeInvalidText},
		{name: "C1 last", in: "a\u009fb", code: protocol.CodeInvalidText},
		{name: "NEL inside", in: "a\u0085b", code: protocol.CodeInvalidText},

		// Precedence: empty_message, text_too_long, invalid_text.
		{name: "long white space is empty", in: strings.Repeat(" ", 5000), code: protocol.CodeEmptyMessage},
		{name: "too long beats control", in: "\x00" + a(4096), code: protocol.CodeTextTooLong},
		{name: "control at 4096 bytes", in: "\x1b" + a(4095), code: protocol.CodeInvalidText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.CheckText(tt.in)
			code := ""
			if err != nil {
				code = err.Code
				if err.Message == "" {
					t.Errorf("CheckText(%.40q): %s without a message", tt.in, err.Code)
				}
			}
			if code != tt.code {
				t.Fatalf("CheckText(%.40q): code %q, want %q", tt.in, code, tt.code)
			}
			if got != tt.want {
				t.Errorf("CheckText(%.40q) = %.40q, want %.40q", tt.in, got, tt.want)
			}
			if code == "" && got != strings.TrimSpace(tt.in) {
				t.Errorf("CheckText(%.40q) = %.40q, not what strings.TrimSpace gives", tt.in, got)
			}
		})
	}
}

func TestIsControl(t *testing.T) {
	for r := rune(0); r <= 0x3000; r++ {
		want := r < 0x20 || r >= 0x7f && r <= 0x9f
		if got := protocol.IsControl(r); got != want {
			t.Errorf("IsControl(%U) = %v, want %v", r, got, want)
		}
		if want != unicode.IsControl(r) {
			t.Errorf("IsControl(%U) disagrees with unicode.IsControl", r)
		}
	}
	for _, r := range []rune{0x10FFFF, unicode.ReplacementChar} {
		if protocol.IsControl(r) {
			t.Errorf("IsControl(%U) = true", r)
		}
	}
}
