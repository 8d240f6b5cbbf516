package client

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"pynet/internal/term"
	"pynet/protocol"
)

// Bounds of the chat loop.
const (
	// maxBatch is how many waiting events are drawn with one redraw, so a
	// flood of messages costs one prompt redraw per batch, not per line.
	maxBatch = 256
	// quitWait bounds the wait for the server's bye after /quit.
	quitWait = 2 * time.Second
)

// chat is the main loop once joined: keys, events, resizes, signals.
func (u *ui) chat() (int, string) {
	for _, line := range u.early {
		if u.submit(line) {
			return u.quit()
		}
	}
	u.early = nil
	events := u.link.Events()
	for {
		select {
		case ev, ok := <-events:
			lines, closed := u.events(ev, ok, events)
			u.t.PrintLines(lines)
			if closed {
				return 1, "pynet client: the connection ended"
			}
		case b, ok := <-u.keys:
			if !ok {
				return u.quit()
			}
			for _, in := range u.t.Feed(b) {
				switch in.Action {
				case term.ActSubmit:
					if u.submit(in.Line) {
						return u.quit()
					}
				case term.ActEOF, term.ActInterrupt:
					return u.quit()
				}
			}
		case <-u.con.Resized():
			u.t.Resize(u.con.Width())
		case <-u.ctx.Done():
			return u.quit()
		}
	}
}

// events renders ev and whatever else is already waiting (up to maxBatch),
// and reports whether the link has closed.
func (u *ui) events(ev Event, ok bool, events <-chan Event) ([]term.Line, bool) {
	var lines []term.Line
	for n := 0; ; n++ {
		if !ok || ev.Kind == EventClosed {
			return lines, true
		}
		lines = append(lines, u.event(ev)...)
		if n == maxBatch {
			return lines, false
		}
		select {
		case ev, ok = <-events:
		default:
			return lines, false
		}
	}
}

// event turns one link event into display lines, updating the UI's state.
func (u *ui) event(ev Event) []term.Line {
	switch ev.Kind {
	case EventUp:
		return u.up(ev.Frame)
	case EventFrame:
		return u.frame(ev.Frame)
	case EventDown:
		u.offline = true
		u.setPrompt()
		return u.r.Problem(downText(ev.Err) + " — reconnecting (Ctrl-C to stop)")
	case EventRetry:
		if ev.Err == nil {
			return nil
		}
		msg := retryText(ev.Err, u.name)
		if msg == u.lastRetry {
			return nil
		}
		u.lastRetry = msg
		return u.r.Problem("still offline (" + msg + "); trying again")
	}
	return nil
}

// up handles a welcome: the first one, or one after a reconnect.
func (u *ui) up(w Frame) []term.Line {
	u.offline, u.lastRetry = false, ""
	u.name = w.Username
	u.r.Self = w.Username
	u.roster.reset(w.Users)
	u.setPrompt()
	if !u.joinedOnce {
		u.joinedOnce = true
		lines := u.r.Notice("connected to " + u.opts.Addr + " — /help lists the commands")
		return append(lines, u.r.Frame(w.ServerFrame)...)
	}
	lines := u.r.Notice("reconnected as " + term.Clean(u.name) + " — " + term.Online(w.Users))
	if n := u.unansweredMessages(); n > 0 {
		lines = append(lines, u.r.Problem(fmt.Sprintf(
			"%d message(s) sent just before the connection was lost may not have arrived (↑ recalls them)", n))...)
	}
	clear(u.pending)
	return lines
}

func (u *ui) unansweredMessages() int {
	n := 0
	for _, p := range u.pending {
		if p.req.Type == protocol.MsgMessage || p.req.Type == protocol.MsgPrivate {
			n++
		}
	}
	return n
}

// frame turns one server frame into display lines.
func (u *ui) frame(f Frame) []term.Line {
	switch f.Type {
	case protocol.MsgAck:
		p, ok := u.take(f.Ref)
		if !ok {
			return nil
		}
		u.seen.add(f.ID, f.TS)
		if p.req.Type == protocol.MsgPrivate {
			return u.r.OwnPrivate(f.TS, p.req.To, p.text)
		}
		return u.r.Own(f.TS, f.Room, p.text, false)
	case protocol.MsgError:
		p, _ := u.take(f.Ref)
		return u.r.Error(f.ServerFrame, p.req)
	case protocol.MsgMessage:
		if f.History && u.seen.has(f.ID, f.TS) {
			return nil // already shown before the reconnect
		}
		u.seen.add(f.ID, f.TS)
	case protocol.MsgPrivate:
		if protocol.FoldName(f.From) != protocol.FoldName(u.name) {
			u.t.Bell()
		}
	case protocol.MsgJoined:
		u.roster.add(f.Username)
	case protocol.MsgLeft:
		u.roster.remove(f.Username)
	case protocol.MsgUsers:
		u.take(f.Ref)
		u.roster.reset(f.Users)
	case protocol.MsgRenamed:
		u.take(f.Ref)
		u.roster.rename(f.From, f.To)
		lines := u.r.Frame(f.ServerFrame) // "you are now known as" needs the old name
		if protocol.FoldName(f.From) == protocol.FoldName(u.name) {
			u.name = f.To
			u.r.Self = f.To
			u.setPrompt()
		}
		return lines
	case protocol.MsgBye, protocol.MsgWelcome:
		return nil // told by EventDown and EventUp
	}
	return u.r.Frame(f.ServerFrame)
}

// take removes and returns the request answered by ref.
func (u *ui) take(ref string) (request, bool) {
	p, ok := u.pending[ref]
	if ok {
		delete(u.pending, ref)
	}
	return p, ok
}

// submit acts on a line typed at the prompt; it reports whether to quit.
func (u *ui) submit(line string) bool {
	c, err := parseInput(line)
	if err != nil {
		u.t.PrintLines(u.r.Problem(err.Error()))
		return false
	}
	switch c.kind {
	case cmdSay:
		u.send(term.Request{Type: protocol.MsgMessage}, c.text, func(ref string) []byte { return messageFrame(ref, c.text) })
	case cmdMsg:
		u.send(term.Request{Type: protocol.MsgPrivate, To: c.to}, c.text, func(ref string) []byte { return privateFrame(ref, c.to, c.text) })
	case cmdNick:
		u.send(term.Request{Type: protocol.MsgNick, Username: c.name}, "", func(ref string) []byte { return nickFrame(ref, c.name) })
	case cmdUsers:
		u.send(term.Request{Type: protocol.MsgUsers}, "", usersFrame)
	case cmdHelp:
		u.t.Print(helpLines...)
	case cmdQuit:
		return true
	}
	return false
}

// send encodes a frame with a fresh ref and sends it, remembering the
// request until the server answers. What the user sent is shown when the
// server accepts it (ack), in the server's order and time.
func (u *ui) send(req term.Request, text string, encode func(ref string) []byte) {
	u.nextRef++
	ref := "c" + strconv.FormatUint(u.nextRef, 10)
	if err := u.link.Send(encode(ref)); err != nil {
		msg := "not sent: " + err.Error()
		if errors.Is(err, ErrOffline) {
			msg = "not connected — not sent (↑ brings it back)"
		}
		u.t.PrintLines(u.r.Problem(msg))
		return
	}
	if len(u.pending) >= maxPending {
		clear(u.pending)
	}
	u.pending[ref] = request{req: req, text: text}
}

// quit leaves: it sends leave, shows what still arrives until the server's
// bye (at most quitWait), and returns status 0.
func (u *ui) quit() (int, string) {
	u.link.Quit()
	deadline := time.NewTimer(quitWait)
	defer deadline.Stop()
	events := u.link.Events()
	for {
		select {
		case ev, ok := <-events:
			if !ok || ev.Kind == EventClosed {
				return 0, ""
			}
			if ev.Kind == EventFrame {
				u.t.PrintLines(u.frame(ev.Frame))
			}
		case <-deadline.C:
			return 0, ""
		}
	}
}

// downText says why the connection was lost.
func downText(err error) string {
	var be *ByeError
	switch {
	case errors.As(err, &be):
		return be.Error()
	case errors.Is(err, ErrLost):
		return "connection lost: the server closed it"
	case errors.Is(err, ErrSilent):
		return "connection lost: the server stopped answering"
	}
	return "connection lost: " + err.Error()
}

// retryText says why a reconnection attempt failed.
func retryText(err error, name string) string {
	var (
		de *DialError
		je *JoinError
	)
	switch {
	case errors.As(err, &de):
		return de.cause()
	case errors.As(err, &je) && je.Code == protocol.CodeUsernameTaken:
		return "the name " + term.Clean(name) + " is still taken (the server may not have noticed yet that we were cut off)"
	}
	return err.Error()
}
