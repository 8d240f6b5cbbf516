package client

import (
	"strings"
	"testing"
)

func TestParseInput(t *testing.T) {
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
		{"/help", command{kind: cmdHelp}, ""},
		{"/users", command{kind: cmdUsers}, ""},
		{"/WHO", command{kind: cmdUsers}, ""},
		{"/quit", command{kind: cmdQuit}, ""},
		{"/nick bob", command{kind: cmdNick, name: "bob"}, ""},
		{"/nick", command{}, "usage: /nick NAME"},
		{"/nick two words", command{}, "usage: /nick NAME"},
		{"/nick -bad", command{}, `"-bad" is not a valid name`},
		{"/msg bob hi there", command{kind: cmdMsg, to: "bob", text: "hi there"}, ""},
		{"/msg bob line one\nline two", command{kind: cmdMsg, to: "bob", text: "line one\nline two"}, ""},
		{"/msg bob", command{}, "usage: /msg NAME TEXT"},
		{"/msg", command{}, "usage: /msg NAME TEXT"},
		{"/dance", command{}, "unknown command /dance — /help lists the commands"},
		{"/", command{}, "unknown command / —"},
		{"/\x1b[2J", command{}, "unknown command /^[[2J"},
		{strings.Repeat("x", 5000), command{}, "message not sent: 5000 bytes, the limit is 4096"},
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
