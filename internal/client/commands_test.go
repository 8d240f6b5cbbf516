package client

import (
	"strings"
	"testing"

	"pynet/protocol"
)

func TestParseInput(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		line string
		want command
		err  string
	}{
		{"hello", command{kind: cmdSay, text: "hello"}, ""},
		{"  padded \n", command{kind: cmdSay, text: "padded"}, ""},
		{"", command{kind: cmdNothing}, ""},
		{"   ", command{kind: cmdNothing}, ""},
		{"two\nlines", command{kind: cmdSay, text: "two\nlines"}, ""},
		{"//etc/passwd", command{kind: cmdSay, text: "/etc/passwd"}, ""},
		{"// ", command{kind: cmdSay, text: "/"}, ""},
		{"/help", command{kind: cmdHelp, word: "/help"}, ""},
		{"/users", command{kind: cmdUsers, word: "/users"}, ""},
		{"/WHO #Go", command{kind: cmdUsers, word: "/who", room: "go"}, ""},
		{"/quit", command{kind: cmdQuit, word: "/quit"}, ""},
		{"/exit", command{kind: cmdQuit, word: "/exit"}, ""},
		{"/nick bob", command{kind: cmdNick, word: "/nick", name: "bob"}, ""},
		{"/nick", command{}, "usage: /nick NAME"},
		{"/nick two words", command{}, "usage: /nick NAME"},
		{"/nick -bad", command{}, `"-bad" is not a valid name`},
		{"/msg bob hi there", command{kind: cmdMsg, to: "bob", text: "hi there"}, ""},
		{"/msg bob line one\nline two", command{kind: cmdMsg, to: "bob", text: "line one\nline two"}, ""},
		{"/msg bob", command{}, "usage: /msg NAME TEXT"},
		{"/msg", command{}, "usage: /msg NAME TEXT"},
		{"/me waves", command{kind: cmdMe, text: "waves"}, ""},
		{"/me", command{}, "usage: /me ACTION"},
		{"/join #Go", command{kind: cmdJoin, word: "/join", room: "go"}, ""},
		{"/j rust", command{kind: cmdJoin, word: "/j", room: "rust"}, ""},
		{"/join", command{}, "usage: /join ROOM"},
		{"/join a.b", command{}, `"a.b" is not a valid room name`},
		{"/part", command{kind: cmdPart, word: "/part"}, ""},
		{"/part go", command{kind: cmdPart, word: "/part", room: "go"}, ""},
		{"/rooms", command{kind: cmdRooms, word: "/rooms"}, ""},
		{"/room 2", command{kind: cmdRoom, word: "/room", n: 2}, ""},
		{"/room #go", command{kind: cmdRoom, word: "/room", room: "go"}, ""},
		{"/room", command{}, "usage: /room NAME"},
		{"/ignore", command{kind: cmdIgnore, word: "/ignore"}, ""},
		{"/ignore mallory", command{kind: cmdIgnore, word: "/ignore", name: "mallory"}, ""},
		{"/unignore mallory", command{kind: cmdUnignore, word: "/unignore", name: "mallory"}, ""},
		{"/unignore", command{}, "usage: /ignore"},
		{"/register", command{kind: cmdRegister, word: "/register"}, ""},
		{"/register hunter22", command{}, "/register takes no argument: the password is asked for"},
		{"/password", command{kind: cmdPassword, word: "/password"}, ""},
		{"/clear", command{kind: cmdClear, word: "/clear"}, ""},
		{"/dance", command{}, "unknown command /dance — see /help (//text sends /text)"},
		{"/", command{}, "unknown command / —"},
		{"/\x1b[2J", command{}, "unknown command /^[[2J"},
		{"bell\a", command{}, "not sent: it holds a control character"},
		{long, command{kind: cmdSay, text: long}, ""}, // split by the caller
		{long + "\a", command{}, "not sent: it holds a control character"},
	} {
		got, err := parseInput(tc.line)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseInput(%.40q) error %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseInput(%.40q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

// TestSplitText (bug 3): long input becomes several messages, cut at line
// breaks, else at spaces, else between characters; nothing is lost but
// the white space at the cuts.
func TestSplitText(t *testing.T) {
	words := strings.Repeat("word ", 1300)           // 6,500 bytes of words
	lines := strings.Repeat("a line of text\n", 400) // 6,000 bytes of lines
	blob := strings.Repeat("é", 3000)                // 6,000 bytes, no spaces
	for _, tc := range []struct {
		name string
		text string
		max  int
		n    int
	}{
		{"short", "hello", protocol.MaxText, 1},
		{"words", words, protocol.MaxText, 2},
		{"lines", lines, protocol.MaxText, 2},
		{"no spaces", blob, protocol.MaxText, 2},
		{"small limit", "aaa bbb ccc", 7, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := splitText(tc.text, tc.max)
			if len(parts) != tc.n {
				t.Fatalf("%d parts, want %d", len(parts), tc.n)
			}
			var joined []string
			for _, p := range parts {
				if len(p) > tc.max {
					t.Fatalf("part of %d bytes", len(p))
				}
				if _, perr := protocol.CheckText(p); perr != nil && tc.max == protocol.MaxText {
					t.Fatalf("part refused: %v", perr)
				}
				joined = append(joined, p)
			}
			if strings.Join(strings.Fields(strings.Join(joined, " ")), "") != strings.Join(strings.Fields(tc.text), "") {
				t.Fatal("the parts do not add up to the text")
			}
			if tc.name == "lines" && strings.HasSuffix(parts[0], "tex") {
				t.Fatal("cut inside a line while a line break was near")
			}
		})
	}
}
