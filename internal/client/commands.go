package client

import (
	"errors"
	"fmt"
	"strings"

	"pynet/internal/term"
	"pynet/protocol"
)

// commandKind is what a line typed at the prompt asks for.
type commandKind uint8

const (
	cmdNothing commandKind = iota // a blank line
	cmdSay                        // public message: text
	cmdMsg                        // private message: to, text
	cmdNick                       // rename: name
	cmdUsers
	cmdHelp
	cmdQuit
)

// command is a parsed input line.
type command struct {
	kind commandKind
	to   string // cmdMsg
	name string // cmdNick
	text string // cmdSay, cmdMsg: trimmed and checked
}

// commandNames are the commands, for /help and Tab completion.
var commandNames = []string{"/help", "/msg", "/nick", "/quit", "/users", "/who"}

// parseInput turns a line typed at the prompt into a command. Anything
// starting with one "/" is a command, and an unknown one is an error for
// the user, never sent as chat; "//text" sends "/text". Text is checked
// here (PROTOCOL §5) so that a mistake is explained at once, in the
// user's terms.
func parseInput(line string) (command, error) {
	if strings.TrimSpace(line) == "" {
		return command{kind: cmdNothing}, nil
	}
	if strings.HasPrefix(line, "//") {
		return say(line[1:])
	}
	if !strings.HasPrefix(line, "/") {
		return say(line)
	}
	word, rest := cutWord(line)
	switch strings.ToLower(word) {
	case "/help", "/?":
		return command{kind: cmdHelp}, nil
	case "/users", "/who":
		return command{kind: cmdUsers}, nil
	case "/quit", "/exit":
		return command{kind: cmdQuit}, nil
	case "/nick":
		name, extra := cutWord(rest)
		if name == "" || extra != "" {
			return command{}, errors.New("usage: /nick NAME")
		}
		if protocol.CheckUsername(name) != nil {
			return command{}, errors.New(term.NameRules(name))
		}
		return command{kind: cmdNick, name: name}, nil
	case "/msg":
		to, text := cutWord(rest)
		if to == "" || strings.TrimSpace(text) == "" {
			return command{}, errors.New("usage: /msg NAME TEXT")
		}
		c, err := say(text)
		c.kind, c.to = cmdMsg, to
		return c, err
	}
	return command{}, fmt.Errorf("unknown command %s — /help lists the commands; start a line with // to send it as a message beginning with /", term.Clean(word))
}

// say checks a message text and returns it trimmed.
func say(text string) (command, error) {
	t, perr := protocol.CheckText(text)
	if perr != nil {
		if perr.Code == protocol.CodeEmptyMessage {
			return command{kind: cmdNothing}, nil
		}
		if perr.Code == protocol.CodeTextTooLong {
			return command{}, fmt.Errorf("message not sent: %d bytes, the limit is %d — ↑ brings it back to shorten it",
				len(strings.TrimSpace(text)), protocol.MaxText)
		}
		return command{}, errors.New(term.Explain(protocol.ServerFrame{Code: perr.Code}, term.Request{}))
	}
	return command{kind: cmdSay, text: t}, nil
}

// cutWord splits s after leading white space into its first word and the
// rest, with the white space between them removed.
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t\n")
	i := strings.IndexAny(s, " \t\n")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t\n")
}

// helpLines is what /help prints.
var helpLines = []string{
	"  Type a message and press Enter to send it to everyone.",
	"  /msg NAME TEXT   private message (Tab completes names)",
	"  /nick NAME       change your name",
	"  /users, /who     who is online",
	"  /quit            leave (also Ctrl-C, or Ctrl-D on an empty line)",
	"  //text           send a message that starts with /",
	"  keys: ←/→ Home/End (Ctrl-A/E)  ↑/↓ history  Ctrl-W word  Ctrl-U/Ctrl-K to start/end",
	"        Alt-Enter new line  Ctrl-L redraw; a multi-line paste is sent as one message",
}
