package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"pynet/internal/term"
	"pynet/protocol"
)

// commandKind is what a line typed at the prompt (or piped in) asks for.
type commandKind uint8

const (
	cmdNothing  commandKind = iota // a blank line
	cmdSay                         // public message to the current room: text
	cmdMe                          // action (/me): text
	cmdMsg                         // private message: to, text
	cmdNick                        // rename: name
	cmdUsers                       // who is in a room: room ("" current)
	cmdJoin                        // enter a room: room
	cmdPart                        // leave a room: room ("" current)
	cmdRooms                       // list the rooms
	cmdRoom                        // switch to a room: room (or a number: n)
	cmdIgnore                      // hide a user: name ("" lists)
	cmdUnignore                    // show a user again: name
	cmdRegister                    // claim the name as an account (password asked)
	cmdPassword                    // change the account's password (asked)
	cmdClear                       // clear the screen
	cmdHelp
	cmdQuit
)

// command is a parsed input line.
type command struct {
	kind commandKind
	word string // the command as typed ("/join"), for messages
	to   string // cmdMsg
	name string // cmdNick, cmdIgnore, cmdUnignore
	room string // cmdUsers, cmdJoin, cmdPart, cmdRoom: folded, without "#"
	n    int    // cmdRoom by number (1-based); 0 when by name
	text string // cmdSay, cmdMe, cmdMsg: trimmed; may be longer than one message
}

// commandNames are the commands, for /help and Tab completion.
var commandNames = []string{
	"/clear", "/exit", "/help", "/ignore", "/join", "/me", "/msg", "/names", "/nick", "/part",
	"/password", "/quit", "/register", "/room", "/rooms", "/unignore", "/users", "/who",
}

// parseInput turns a line typed at the prompt into a command. Anything
// starting with one "/" is a command, and an unknown one is an error for
// the user, never sent as chat; "//text" sends "/text". Text is checked
// here (PROTOCOL §5) so that a mistake is explained at once, in the
// user's terms; text longer than one message is left to the caller, which
// splits it (splitText).
func parseInput(line string) (command, error) {
	if strings.TrimSpace(line) == "" {
		return command{kind: cmdNothing}, nil
	}
	if strings.HasPrefix(line, "//") {
		return say(cmdSay, line[1:])
	}
	if !strings.HasPrefix(line, "/") {
		return say(cmdSay, line)
	}
	word, rest := cutWord(line)
	c := command{word: strings.ToLower(word)}
	switch c.word {
	case "/help", "/?":
		c.kind = cmdHelp
	case "/users", "/who", "/names":
		c.kind = cmdUsers
		return roomArg(c, rest, false)
	case "/quit", "/exit":
		c.kind = cmdQuit
	case "/clear":
		c.kind = cmdClear
	case "/rooms", "/list":
		c.kind = cmdRooms
	case "/join", "/j":
		c.kind = cmdJoin
		return roomArg(c, rest, true)
	case "/part":
		c.kind = cmdPart
		return roomArg(c, rest, false)
	case "/room", "/window", "/buffer":
		c.kind = cmdRoom
		arg, extra := cutWord(rest)
		if arg == "" || extra != "" {
			return command{}, errors.New("usage: /room NAME or /room NUMBER (Alt-1…9, Ctrl-N/Ctrl-P switch too)")
		}
		if n, err := strconv.Atoi(arg); err == nil && n > 0 {
			c.n = n
			return c, nil
		}
		return roomArg(c, arg, true)
	case "/nick":
		c.kind = cmdNick
		name, extra := cutWord(rest)
		if name == "" || extra != "" {
			return command{}, errors.New("usage: /nick NAME")
		}
		if protocol.CheckUsername(name) != nil {
			return command{}, errors.New(term.NameRules(name))
		}
		c.name = name
	case "/ignore", "/unignore":
		c.kind = cmdIgnore
		if c.word == "/unignore" {
			c.kind = cmdUnignore
		}
		name, extra := cutWord(rest)
		if extra != "" || name == "" && c.kind == cmdUnignore {
			return command{}, errors.New("usage: /ignore [NAME], /unignore NAME")
		}
		if name != "" && protocol.CheckUsername(name) != nil {
			return command{}, errors.New(term.NameRules(name))
		}
		c.name = name
	case "/register", "/password":
		c.kind = cmdRegister
		if c.word == "/password" {
			c.kind = cmdPassword
		}
		if strings.TrimSpace(rest) != "" {
			return command{}, fmt.Errorf("%s takes no argument: the password is asked for with echo off, never typed in the line", c.word)
		}
	case "/me":
		if strings.TrimSpace(rest) == "" {
			return command{}, errors.New("usage: /me ACTION (e.g. /me waves)")
		}
		return say(cmdMe, rest)
	case "/msg", "/query":
		to, text := cutWord(rest)
		if to == "" || strings.TrimSpace(text) == "" {
			return command{}, errors.New("usage: /msg NAME TEXT")
		}
		c, err := say(cmdMsg, text)
		c.to = to
		return c, err
	default:
		return command{}, fmt.Errorf("unknown command %s — see /help (//text sends /text)", clip(term.Clean(word), 24))
	}
	return c, nil
}

// roomArg takes the room named in rest (optional unless required); "#go"
// is accepted for "go", as IRC users type it.
func roomArg(c command, rest string, required bool) (command, error) {
	arg, extra := cutWord(rest)
	if extra != "" || required && arg == "" {
		usage := map[commandKind]string{cmdJoin: "/join ROOM", cmdPart: "/part [ROOM]", cmdUsers: "/users [ROOM]", cmdRoom: "/room ROOM"}[c.kind]
		return command{}, errors.New("usage: " + usage)
	}
	if arg == "" {
		return c, nil
	}
	room, perr := protocol.FoldRoom(strings.TrimPrefix(arg, "#"))
	if perr != nil {
		return command{}, errors.New(term.RoomRules(strings.TrimPrefix(arg, "#")))
	}
	c.room = room
	return c, nil
}

// say checks a message text and returns it trimmed. Text over the limit
// is returned whole (the interactive client splits it; pipe mode refuses
// it), as long as it holds nothing else the server would refuse.
func say(kind commandKind, text string) (command, error) {
	t, perr := protocol.CheckText(text)
	if perr != nil {
		switch perr.Code {
		case protocol.CodeEmptyMessage:
			return command{kind: cmdNothing}, nil
		case protocol.CodeTextTooLong:
			if t = strings.TrimSpace(text); !validText(t) {
				return command{}, errors.New("not sent: " + term.Cause(protocol.ServerFrame{Code: protocol.CodeInvalidText}, term.Request{}))
			}
		default:
			return command{}, errors.New("not sent: " + term.Cause(protocol.ServerFrame{Code: perr.Code}, term.Request{}))
		}
	}
	return command{kind: kind, text: t}, nil
}

// validText reports text the server takes apart from its length: valid
// UTF-8 without control characters but LF and TAB.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && protocol.IsControl(r) {
			return false
		}
	}
	return true
}

// splitText cuts text into messages of at most max bytes, at a line break
// where it can, else after a space, else between characters (never inside
// one). Each part is trimmed; blank parts are dropped.
func splitText(text string, max int) []string {
	var parts []string
	for len(text) > 0 {
		text = strings.TrimSpace(text)
		if len(text) <= max {
			if text != "" {
				parts = append(parts, text)
			}
			break
		}
		cut := strings.LastIndexByte(text[:max+1], '\n')
		if cut <= 0 {
			cut = strings.LastIndexAny(text[:max+1], " \t")
		}
		if cut <= 0 {
			cut = max
			for cut > 0 && !utf8.RuneStart(text[cut]) {
				cut--
			}
		}
		if p := strings.TrimSpace(text[:cut]); p != "" {
			parts = append(parts, p)
		}
		text = text[cut:]
	}
	return parts
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

// clip shortens s to n characters.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// helpLines is what /help prints: each line fits in 80 columns with the
// time stamp in front, and wraps at words on narrower screens.
var helpLines = []string{
	"Type a message and press Enter: it goes to the current room.",
	"/join ROOM, /part [ROOM]  enter, leave a room (#go or go)",
	"/room ROOM|N  switch rooms; also Alt-1…9, Ctrl-N, Ctrl-P",
	"/rooms  list the rooms;  /users [ROOM]  who is in a room",
	"/msg NAME TEXT  private message (Tab completes names)",
	"/me ACTION  an action, shown as: * you waves",
	"/nick NAME  change your name",
	"/register, /password  make your name an account, change its password",
	"/ignore [NAME], /unignore NAME  hide someone (here only)",
	"/clear  clear the screen;  //text  a message starting with /",
	"/quit or /exit  leave (also Ctrl-C, or Ctrl-D on an empty line)",
	"keys: ←/→ Home/End  ↑/↓ history  Tab complete  Ctrl-W word",
	"Ctrl-U/Ctrl-K cut to start/end  Ctrl-G drop the draft",
	"Alt-Enter new line  Ctrl-L redraw",
}
