package protocol_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

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

func TestFoldRoom(t *testing.T) {
	tests := []struct {
		in, want string // want is the folded name when msg is ""
		msg      string // a part of the invalid_room message
	}{
		{in: "lobby", want: "lobby"},
		{in: "go", want: "go"},
		{in: "a", want: "a"},
		{in: "0", want: "0"},
		{in: "9lives", want: "9lives"},
		{in: "a_b-c", want: "a_b-c"},
		{in: "a_", want: "a_"},
		{in: "a-", want: "a-"},
		{in: "x__--", want: "x__--"},
		{in: "Go", want: "go"},
		{in: "LOBBY", want: "lobby"},
		{in: "Rust-Lang_2", want: "rust-lang_2"},
		{in: "Z", want: "z"},
		{in: strings.Repeat("a", 32), want: strings.Repeat("a", 32)},
		{in: strings.Repeat("A", 32), want: strings.Repeat("a", 32)},
		{in: "0" + strings.Repeat("-", 31), want: "0" + strings.Repeat("-", 31)},

		{in: "", msg: "a room name is required"},
		{in: strings.Repeat("a", 33), msg: "at most 32 characters"},
		{in: strings.Repeat("a", 1000), msg: "at most 32 characters"},
		{in: "_a", msg: "start with a letter or a digit"},
		{in: "-a", msg: "start with a letter or a digit"},
		{in: "_", msg: "start with a letter or a digit"},
		{in: ".a", msg: "start with a letter or a digit"},
		{in: " a", msg: "start with a letter or a digit"},
		{in: "a.b", msg: "may only hold"}, // valid in a username, not in a room name
		{in: "a b", msg: "may only hold"},
		{in: "a ", msg: "may only hold"},
		{in: "a\t", msg: "may only hold"},
		{in: "a\n", msg: "may only hold"},
		{in: "a\x00", msg: "may only hold"},
		{in: "a#b", msg: "may only hold"},
		{in: "#go", msg: "start with a letter or a digit"},
		{in: "a/b", msg: "may only hold"},
		{in: "a@b", msg: "may only hold"},
		{in: "a[b", msg: "may only hold"}, // the bytes around A-Z and a-z
		{in: "a`b", msg: "may only hold"},
		{in: "a{b", msg: "may only hold"},
		{in: "@b", msg: "start with a letter or a digit"},
		{in: "é", msg: "start with a letter or a digit"},
		{in: "café", msg: "may only hold"},
		{in: "ｇo", msg: "start with a letter or a digit"}, // fullwidth g
		{in: "KELVIN\u212a", msg: "may only hold"},        // K that folds to k under Unicode rules
		{in: strings.Repeat("a", 31) + "é", msg: "may only hold"},
		{in: "a\xff", msg: "may only hold"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := protocol.FoldRoom(tt.in)
			if tt.msg == "" {
				if err != nil || got != tt.want {
					t.Errorf("FoldRoom(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				if again, err := protocol.FoldRoom(got); err != nil || again != got {
					t.Errorf("FoldRoom(%q) = %q, %v: folding is not idempotent", got, again, err)
				}
				return
			}
			if err == nil || err.Code != protocol.CodeInvalidRoom || !strings.Contains(err.Message, tt.msg) || got != "" {
				t.Errorf("FoldRoom(%q) = %q, %v; want invalid_room saying %q", tt.in, got, err, tt.msg)
			}
			if err != nil && (len(err.Message) > 120 || !utf8.ValidString(err.Message)) {
				t.Errorf("FoldRoom(%.40q): message %q is too long or not UTF-8", tt.in, err.Message)
			}
		})
	}
}

func TestFoldRoomAllocs(t *testing.T) {
	var folded string
	if allocs := testing.AllocsPerRun(100, func() { folded, _ = protocol.FoldRoom("lobby") }); allocs != 0 || folded != "lobby" {
		t.Errorf("FoldRoom of a folded name: %v allocations, want 0", allocs)
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		has  bool
		msg  string // a part of the weak_password message; "" when accepted
	}{
		{name: "8 bytes", pw: "12345678", has: true},
		{name: "1024 bytes", pw: strings.Repeat("p", 1024), has: true},
		{name: "passphrase", pw: "correct horse battery staple", has: true},
		{name: "4 two-byte characters", pw: "éééé", has: true}, // 8 bytes
		{name: "2 four-byte characters", pw: "😀😀", has: true},  // 8 bytes
		{name: "1024 bytes multibyte", pw: strings.Repeat("é", 512), has: true},
		{name: "spaces count", pw: "        ", has: true},
		{name: "control characters", pw: "\x00\x01\x02\x03\x04\x05\x06\x07", has: true},

		{name: "missing", pw: "", has: false, msg: "required"},
		{name: "missing ignores value", pw: "12345678", has: false, msg: "required"},
		{name: "empty", pw: "", has: true, msg: "at least 8"},
		{name: "7 bytes", pw: "1234567", has: true, msg: "at least 8"},
		{name: "3 characters, 7 bytes", pw: "éé1é"[:7], has: true, msg: "at least 8"},
		{name: "1025 bytes", pw: strings.Repeat("p", 1025), has: true, msg: "at most 1024"},
		{name: "1025 bytes multibyte", pw: strings.Repeat("é", 512) + "x", has: true, msg: "at most 1024"},
		{name: "invalid UTF-8", pw: "12345678\xff", has: true, msg: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := protocol.CheckPassword(tt.pw, tt.has)
			if tt.msg == "" {
				if err != nil {
					t.Errorf("CheckPassword(%.20q, %v) = %v, want nil", tt.pw, tt.has, err)
				}
				return
			}
			if err == nil || err.Code != protocol.CodeWeakPassword || !strings.Contains(err.Message, tt.msg) {
				t.Errorf("CheckPassword(%.20q, %v) = %v, want weak_password saying %q", tt.pw, tt.has, err, tt.msg)
			}
			if err != nil && strings.Contains(err.Message, tt.pw) && tt.pw != "" {
				t.Errorf("CheckPassword: message %q repeats the password", err.Message)
			}
		})
	}
}
