package client

import (
	"bytes"
	"strconv"
	"strings"

	"pynet/internal/term"
	"pynet/protocol"
)

// submit acts on a line typed at the prompt; it reports whether to quit.
func (u *ui) submit(line string) bool {
	u.remember(line)
	u.attention = "" // seen: the user is answering
	c, err := parseInput(line)
	if err != nil {
		u.t.PrintLines(u.r.Problem(err.Error()))
		return false
	}
	switch c.kind {
	case cmdSay, cmdMe:
		if u.v2 && u.current == "" {
			u.t.PrintLines(u.r.Problem("you are in no room: /join ROOM first (↑ brings the message back)"))
			return false
		}
		u.sendText(protocol.MsgMessage, u.current, "", c.text, c.kind == cmdMe)
	case cmdMsg:
		u.sendText(protocol.MsgPrivate, "", c.to, c.text, false)
	case cmdNick:
		u.ob.add(&outItem{kind: protocol.MsgNick, name: c.name})
	case cmdUsers:
		room := c.room
		if room == "" {
			room = u.current
		}
		u.ob.add(&outItem{kind: protocol.MsgUsers, room: room})
	case cmdJoin:
		switch {
		case !u.v2 && u.ups > 0:
			u.t.PrintLines(u.r.Problem("this server has no rooms (it speaks protocol 1)"))
		case u.room[c.room] != nil && u.ups > 0:
			u.switchTo(0, c.room)
		default:
			u.ob.add(&outItem{kind: protocol.MsgEnter, room: c.room})
		}
	case cmdPart:
		room := c.room
		if room == "" {
			room = u.current
		}
		if room == "" || u.room[room] == nil {
			u.t.PrintLines(u.r.Problem("you are not in " + term.RoomName(room)))
			return false
		}
		u.ob.add(&outItem{kind: protocol.MsgExit, room: room})
	case cmdRooms:
		u.ob.add(&outItem{kind: protocol.MsgRooms})
	case cmdRoom:
		u.switchTo(c.n, c.room)
	case cmdIgnore, cmdUnignore:
		u.ignore(c)
	case cmdRegister:
		u.register()
	case cmdPassword:
		u.changePassword()
	case cmdClear:
		u.t.Clear()
	case cmdHelp:
		lines := make([]term.Line, len(helpLines))
		for i, l := range helpLines {
			lines[i] = term.Line{Text: "  " + l, Indent: 4}
		}
		u.t.PrintLines(lines)
	case cmdQuit:
		return true
	}
	return false
}

// remember writes a line typed to the history file, as the editor's
// history keeps it: not blank, not a repeat of the last.
func (u *ui) remember(line string) {
	if u.opts.HistoryFile == "" || strings.TrimSpace(line) == "" || line == u.lastSaved {
		return
	}
	u.lastSaved = line
	if err := appendHistory(u.opts.HistoryFile, line); err != nil && !u.histFailed {
		u.histFailed = true
		u.t.PrintLines(u.r.Problem("the input history is not saved: " + err.Error()))
	}
}

// sendText queues a message, or several when it is longer than the server
// takes (cut at line breaks or spaces), saying so.
func (u *ui) sendText(kind, room, to, text string, action bool) {
	parts := splitText(text, protocol.MaxText)
	if len(parts) > 1 {
		u.t.PrintLines(u.r.Notice("a long message: sent as " + strconv.Itoa(len(parts)) +
			" messages of at most " + strconv.Itoa(protocol.MaxText) + " bytes"))
	}
	for i, p := range parts {
		it := &outItem{kind: kind, room: room, to: to, text: p, action: action}
		if len(parts) > 1 {
			it.part = strconv.Itoa(i+1) + "/" + strconv.Itoa(len(parts))
		}
		u.ob.add(it)
	}
	if u.offline && !u.queuedNote {
		u.queuedNote = true
		u.t.PrintLines(u.r.Notice("offline: what you send waits, and goes out when the connection is back"))
	}
}

// ignore handles /ignore and /unignore: the client hides the user's
// messages, privates and comings and goings. The list is kept between runs.
func (u *ui) ignore(c command) {
	switch {
	case c.kind == cmdIgnore && c.name == "":
		if len(u.ignored) == 0 {
			u.t.PrintLines(u.r.Notice("you ignore nobody; /ignore NAME hides someone"))
			return
		}
		u.t.PrintLines(u.r.Notice("ignored: " + joinNames(u.ignoredNames())))
		return
	case c.kind == cmdIgnore:
		if u.isSelf(c.name) {
			u.t.PrintLines(u.r.Problem("you cannot ignore yourself"))
			return
		}
		u.ignored[protocol.FoldName(c.name)] = true
		u.t.PrintLines(u.r.Notice("ignoring " + term.Clean(c.name) + " (here only; /unignore " + term.Clean(c.name) + " to undo)"))
	default:
		if !u.ignored[protocol.FoldName(c.name)] {
			u.t.PrintLines(u.r.Problem("you do not ignore " + term.Clean(c.name)))
			return
		}
		delete(u.ignored, protocol.FoldName(c.name))
		u.t.PrintLines(u.r.Notice("no longer ignoring " + term.Clean(c.name)))
	}
	if err := saveIgnores(u.opts.IgnoreFile, u.ignoredNames()); err != nil {
		u.t.PrintLines(u.r.Problem("the ignore list is not saved: " + err.Error()))
	}
}

func (u *ui) ignoredNames() []string {
	var out []string
	for n := range u.ignored {
		out = append(out, n)
	}
	return out
}

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(term.Clean(n))
	}
	return b.String()
}

// canSendSecret reports whether a password may be sent now, and says why
// not.
func (u *ui) canSendSecret() bool {
	switch {
	case u.offline:
		u.t.PrintLines(u.r.Problem("not connected: try again once the connection is back"))
		return false
	case !u.opts.Config.secretsSafe():
		u.t.PrintLines(u.r.Problem(ErrInsecureAuth.Error()))
		return false
	}
	return true
}

// newPassword asks for a new password twice; nil if not given, too weak
// or not the same twice (said on screen).
func (u *ui) newPassword(prompt string) []byte {
	pw, ok := u.askSecret(prompt)
	if !ok || len(pw) == 0 {
		clear(pw)
		u.t.PrintLines(u.r.Notice("no password given: nothing changed"))
		return nil
	}
	if perr := checkSecret(pw); perr != nil {
		clear(pw)
		u.t.PrintLines(u.r.Problem(term.Cause(protocol.ServerFrame{Code: perr.Code}, term.Request{})))
		return nil
	}
	again, ok := u.askSecret("the same password again: ")
	defer clear(again)
	if !ok || !bytes.Equal(pw, again) {
		clear(pw)
		u.t.PrintLines(u.r.Problem("the two passwords differ: nothing changed"))
		return nil
	}
	return pw
}

// register claims the name as an account (/register): the password is
// asked twice with echo off, sent, and wiped.
func (u *ui) register() {
	if !u.canSendSecret() {
		return
	}
	pw := u.newPassword("new password for " + u.name + ": ")
	if pw == nil {
		return
	}
	defer clear(pw)
	u.sendSecret(registerFrame(u.secretRefFor(protocol.MsgRegister), pw))
}

// changePassword changes the account's password (/password).
func (u *ui) changePassword() {
	if !u.canSendSecret() {
		return
	}
	old, ok := u.askSecret("current password: ")
	defer clear(old)
	if !ok || len(old) == 0 {
		return
	}
	pw := u.newPassword("new password: ")
	if pw == nil {
		return
	}
	defer clear(pw)
	u.sendSecret(passwordFrame(u.secretRefFor(protocol.MsgPassword), old, pw))
}

func (u *ui) secretRefFor(kind string) string {
	u.secrets++
	ref := kind + strconv.Itoa(u.secrets)
	u.secretRef[ref] = term.Request{Type: kind}
	return ref
}

func (u *ui) sendSecret(frame []byte) {
	if err := u.link.SendSecret(frame); err != nil {
		u.t.PrintLines(u.r.Problem("not sent: " + err.Error()))
	}
}
