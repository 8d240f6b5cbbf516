package client

import (
	"errors"
	"fmt"
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
	u.ob = newOutbox(u.link.Send)
	u.pumpAt = time.NewTimer(time.Hour)
	u.pumpAt.Stop()
	defer u.pumpAt.Stop()
	for _, line := range u.early {
		if u.submit(line) {
			return u.quit()
		}
	}
	u.early = nil
	events := u.link.Events()
	for {
		u.pump()
		u.updateStatus()
		if u.closed != nil {
			return 1, "pynet client: " + u.closed.Error()
		}
		select {
		case ev, ok := <-events:
			if u.handleEvents(ev, ok, events) {
				if u.closed != nil {
					continue // said above, on the way out
				}
				return 1, "pynet client: the connection ended"
			}
		case b, ok := <-u.keys:
			if !ok {
				return u.quit()
			}
			for _, in := range u.t.Feed(b) {
				if u.input(in) {
					return u.quit()
				}
			}
		case req := <-u.authReq:
			u.reauth(req)
		case <-u.pumpAt.C:
		case <-u.scr.Resized():
			u.t.Resize(u.scr.Width())
		case <-u.ctx.Done():
			return u.quit()
		}
	}
}

// input acts on one thing typed; it reports whether to quit.
func (u *ui) input(in term.Input) bool {
	switch in.Action {
	case term.ActSubmit:
		return u.submit(in.Line)
	case term.ActEOF, term.ActInterrupt:
		return true
	case term.ActDiscard:
		u.t.PrintLines(u.r.Notice("draft thrown away — ↑ brings it back"))
	case term.ActOverflow:
		u.t.PrintLines(u.r.Problem(fmt.Sprintf("the draft is full (%d KiB): the rest of the paste was dropped", maxDraft>>10)))
	case term.ActRoom:
		n := int(in.Line[0] - '0')
		if n == 0 {
			n = 10
		}
		u.switchTo(n, "")
	case term.ActNextRoom:
		u.cycle(+1)
	case term.ActPrevRoom:
		u.cycle(-1)
	}
	return false
}

// pump lets the outbox send, and arms the timer for its next turn.
func (u *ui) pump() {
	if u.ob == nil {
		return
	}
	if wait := u.ob.pump(time.Now()); wait > 0 {
		u.pumpAt.Reset(wait)
	}
}

// reauth asks for the password the link needs to log in again.
func (u *ui) reauth(req authRequest) {
	msg := "the session of " + term.Clean(req.name) + " could not be resumed: log in again (Enter gives up)"
	if req.why != nil {
		msg = "wrong password — try again (Enter gives up)"
	}
	u.t.PrintLines(u.r.Notice(msg))
	pw, ok := u.askSecret("password for " + req.name + ": ")
	if !ok || len(pw) == 0 {
		clear(pw)
		req.reply <- nil
		return
	}
	req.reply <- pw
}

// handleEvents shows ev and whatever else is already waiting (up to
// maxBatch) with one redraw, and reports whether the link has closed.
func (u *ui) handleEvents(ev Event, ok bool, events <-chan Event) bool {
	var lines []term.Line
	defer func() { u.t.PrintLines(lines) }()
	for n := 0; ; n++ {
		if !ok {
			return true
		}
		if ev.Kind == EventClosed {
			if ev.Err != nil {
				u.closed = ev.Err
				lines = append(lines, u.r.Problem(closedText(ev.Err))...)
			}
			return true
		}
		lines = append(lines, u.event(ev)...)
		if n == maxBatch {
			return false
		}
		select {
		case ev, ok = <-events:
		default:
			return false
		}
	}
}

// closedText says why the link gave up.
func closedText(err error) string {
	var be *ByeError
	if errors.As(err, &be) && be.Reason == protocol.ReasonReplaced {
		return be.Error() + " — not reconnecting"
	}
	return err.Error() + " — not reconnecting"
}

// event turns one link event into display lines, updating the UI's state.
func (u *ui) event(ev Event) []term.Line {
	switch ev.Kind {
	case EventUp:
		return u.up(ev.Frame)
	case EventSynced:
		return u.synced()
	case EventFrame:
		if u.sync.on {
			return u.replayed(ev.Frame)
		}
		return u.frame(ev.Frame)
	case EventDown:
		u.offline = true
		u.queuedNote = false
		u.sync = syncState{}
		u.ob.down() // questions (users, rooms) are dropped: the user asks again
		u.setPrompt()
		var be *ByeError
		if errors.As(ev.Err, &be) && be.Reason == protocol.ReasonReplaced {
			return nil // EventClosed says it
		}
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

// up handles a welcome: the first one, or one after a reconnect. What the
// join replays is gathered until EventSynced.
func (u *ui) up(w Frame) []term.Line {
	u.ups++
	u.offline, u.lastRetry = false, ""
	u.name = w.Username
	u.r.Self = w.Username
	u.v2 = w.Protocol >= protocol.Version
	u.limits = w.Limits
	u.ob.welcome(w.ServerFrame)
	u.sync = syncState{on: true, resumed: w.Resumed, account: w.Account, privateGap: w.PrivateGap}
	var lines []term.Line
	if u.ups == 1 {
		how := u.link.Security()
		lines = u.r.Notice("connected to " + u.opts.Addr + " (" + how + ") — /help lists the commands")
	}
	if !u.v2 {
		u.rooms, u.current, u.r.Room = nil, "", ""
		u.resetRoom("", w.Users, w.Count)
	} else if !w.Resumed {
		// A fresh session: the server enters the rooms we asked for;
		// their entered frames say which.
		u.rooms = nil
		clear(u.room)
	}
	u.setPrompt()
	return lines
}

// resetRoom replaces a room's member list.
func (u *ui) resetRoom(room string, users []string, count int) *roomState {
	rs := u.room[room]
	if rs == nil {
		rs = &roomState{members: newRoster()}
		u.room[room] = rs
	}
	rs.members.reset(users)
	rs.count = max(count, len(users))
	for _, n := range users {
		u.names.add(n)
	}
	return rs
}

// frame turns one live server frame into display lines.
func (u *ui) frame(f Frame) []term.Line {
	switch f.Type {
	case protocol.MsgAck:
		it := u.ob.answered(f.Ref)
		if it == nil {
			return nil
		}
		if it.kind == protocol.MsgPrivate {
			return u.r.OwnPrivate(f.TS, it.to, it.text)
		}
		return u.r.Own(f.TS, it.room, it.text, it.action)
	case protocol.MsgError:
		if req, ok := u.secretRef[f.Ref]; ok && f.Ref != "" {
			delete(u.secretRef, f.Ref)
			return u.r.Error(f.ServerFrame, req)
		}
		it, retry := u.ob.refused(f.ServerFrame, time.Now())
		if retry {
			return nil // paced: sent again when the server allows
		}
		if it == nil {
			return u.r.Error(f.ServerFrame, term.Request{})
		}
		req := it.request()
		req.Text = it.text
		return u.r.Error(f.ServerFrame, req)
	case protocol.MsgMessage:
		var lines []term.Line
		if rs := u.room[f.Room]; rs != nil && rs.entered != nil {
			if f.History { // the backlog of a room just entered
				return u.gathered(f.Room, rs, f)
			}
			lines = u.enteredLines(f.Room, rs) // its backlog is over (some was left out)
		}
		if u.isIgnored(f.From) {
			return lines
		}
		if !f.History && !u.isSelf(f.From) {
			mention := u.r.Mentions(f.Text)
			if rs := u.room[f.Room]; rs != nil && u.v2 && f.Room != u.current {
				rs.unread++
				if mention {
					rs.mentions++
				}
			}
			if mention {
				u.t.Bell()
				u.attention = "@ " + term.Clean(f.From) + " " + term.RoomName(f.Room) + " " + u.r.Clock(f.TS)
				if !u.v2 {
					u.attention = "@ " + term.Clean(f.From) + " " + u.r.Clock(f.TS)
				}
			}
		}
		return append(lines, u.r.Frame(f.ServerFrame)...)
	case protocol.MsgPrivate:
		if u.isIgnored(f.From) {
			return nil
		}
		u.names.add(f.From)
		if u.isSelf(f.From) && !f.History {
			return nil // our own, to ourselves: shown once, with its ack
		}
		if !u.isSelf(f.From) && !f.History {
			u.t.Bell()
			u.attention = "private from " + term.Clean(f.From) + " " + u.r.Clock(f.TS)
		}
	case protocol.MsgJoined:
		u.roomOf(f.Room).members.add(f.Username)
		u.names.add(f.Username)
		if u.isIgnored(f.Username) {
			return nil
		}
	case protocol.MsgLeft:
		u.roomOf(f.Room).members.remove(f.Username)
		if u.isIgnored(f.Username) {
			return nil
		}
	case protocol.MsgUsers:
		u.ob.answered(f.Ref)
		if f.Room != "" || !u.v2 {
			room := f.Room
			if !u.v2 {
				room = ""
			}
			if _, in := u.room[room]; in || !u.v2 {
				u.resetRoom(room, f.Users, f.Count)
			}
		}
	case protocol.MsgRenamed:
		u.ob.answered(f.Ref)
		for _, rs := range u.room {
			if rs.members.has(f.From) {
				rs.members.rename(f.From, f.To)
			}
		}
		u.names.rename(f.From, f.To)
		lines := u.r.Frame(f.ServerFrame) // "you are now known as" needs the old name
		if u.isSelf(f.From) {
			u.name = f.To
			u.r.Self = f.To
			u.setPrompt()
		} else if u.isIgnored(f.From) {
			return nil
		}
		return lines
	case protocol.MsgEntered:
		u.ob.answered(f.Ref)
		return u.entered(f)
	case protocol.MsgExited:
		u.ob.answered(f.Ref)
		return u.exited(f.Room)
	case protocol.MsgRooms:
		u.ob.answered(f.Ref)
		for _, rc := range f.Rooms {
			u.known[rc.Room] = true
		}
		return u.r.Notice(term.RoomList(f.Rooms, f.More, func(r string) bool { _, in := u.room[r]; return in }))
	case protocol.MsgRegistered, protocol.MsgPasswordChanged:
		delete(u.secretRef, f.Ref)
	case protocol.MsgBye, protocol.MsgWelcome, protocol.MsgPong, protocol.MsgPing:
		return nil // told by EventDown and EventUp
	}
	return u.r.Frame(f.ServerFrame)
}

// roomOf returns a room's state, made if new ("" with a v1 server).
func (u *ui) roomOf(room string) *roomState {
	if !u.v2 {
		room = ""
	}
	rs := u.room[room]
	if rs == nil {
		rs = &roomState{members: newRoster()}
		u.room[room] = rs
	}
	return rs
}

func (u *ui) isSelf(name string) bool {
	return u.name != "" && protocol.FoldName(name) == protocol.FoldName(u.name)
}

func (u *ui) isIgnored(name string) bool { return u.ignored[protocol.FoldName(name)] }

// quit leaves: it sends leave, shows what still arrives until the server's
// bye (at most quitWait), and returns status 0.
func (u *ui) quit() (int, string) {
	if n := u.ob.waiting(); n > 0 && u.offline {
		u.t.PrintLines(u.r.Problem(term.Count(n, "message") + " not sent: the connection is down"))
	}
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
		return "the name " + term.Clean(name) + " is taken by someone else now"
	}
	return err.Error()
}
