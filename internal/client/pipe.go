package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"pynet/internal/term"
	"pynet/protocol"
)

// RunPipe is the client without a terminal. Each line of in is one public
// message to the current room, sent in order and all of them; lines that
// start with "/" are commands (/msg NAME TEXT, /me, /join, /part, /room,
// /nick, /users, /quit; "//" sends a line starting with "/"). What arrives
// is printed on out (text lines, or the raw frames with opts.JSON);
// problems go to errw.
//
// Delivery goes through an outbox (outbox.go): refs on every frame,
// pacing under the rate limit, and when the server goes away, the link
// reconnects (resuming the session) and what was not acknowledged is sent
// again, exactly once. After opts.GiveUp without a connection it stops.
//
// At the end of in it leaves, waits for the server's bye and returns 0, or
// 1 if some lines could not be sent. Failing to join returns 1 (2 without
// a name or with a bad room).
func RunPipe(ctx context.Context, opts Options, in io.Reader, out, errw io.Writer) int {
	if opts.Name == "" {
		fmt.Fprintln(errw, "pynet client: -name is required when stdin is not a terminal")
		return 2
	}
	room, rooms, err := pipeRooms(opts)
	if err != nil {
		fmt.Fprintln(errw, "pynet client: "+err.Error())
		return 2
	}
	if opts.GiveUp <= 0 {
		opts.GiveUp = DefaultGiveUp
	}
	cfg := opts.Config
	var password []byte
	if opts.Login || opts.PasswordFile != "" {
		if password, err = readPassword(opts.PasswordFile); err != nil {
			fmt.Fprintln(errw, "pynet client: "+err.Error())
			return 2
		}
		cfg.Password = func(context.Context, string, error) ([]byte, error) { return readPassword(opts.PasswordFile) }
	}
	link, err := Connect(ctx, cfg, Login{Name: opts.Name, Rooms: rooms, Password: password})
	if err != nil {
		if ctx.Err() != nil {
			return 1
		}
		msg := err.Error()
		if je := joinError(err); je != nil && je.Code == protocol.CodeAuthRequired {
			msg += " (in pipe mode: -password-file FILE)"
		}
		fmt.Fprintln(errw, "pynet client: "+msg)
		return 1
	}
	defer link.Close()
	lines := make(chan inputLine, 64)
	go readLines(in, lines, opts.OnPanic)
	p := &pipe{
		link:   link,
		out:    out,
		errw:   errw,
		json:   opts.JSON,
		r:      &term.Renderer{Color: opts.Color, Colors256: opts.Colors256, Self: opts.Name},
		lines:  lines,
		room:   room,
		giveUp: opts.GiveUp,
	}
	p.ob = newOutbox(link.Send)
	if len(rooms) > 1 {
		p.r.Room = room // mark the other rooms' lines
	}
	return p.run(ctx)
}

// pipeRooms works out the rooms to enter and the room plain lines go to.
func pipeRooms(opts Options) (room string, rooms []string, err error) {
	for _, r := range opts.Rooms {
		f, perr := protocol.FoldRoom(strings.TrimPrefix(r, "#"))
		if perr != nil {
			return "", nil, errors.New(term.RoomRules(r))
		}
		rooms = append(rooms, f)
	}
	room = opts.Room
	if room == "" {
		if len(rooms) == 0 {
			return protocol.Lobby, nil, nil
		}
		return rooms[0], rooms, nil
	}
	f, perr := protocol.FoldRoom(strings.TrimPrefix(room, "#"))
	if perr != nil {
		return "", nil, errors.New(term.RoomRules(room))
	}
	for _, r := range rooms {
		if r == f {
			return f, rooms, nil
		}
	}
	return f, append(rooms, f), nil
}

// readPassword reads a password from file: its first line. Nothing else
// of it is kept.
func readPassword(file string) ([]byte, error) {
	if file == "" {
		return nil, errors.New("-login needs -password-file FILE when stdin is not a terminal (the password is never taken from the command line)")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("-password-file: %w", err)
	}
	pw := b
	if i := bytes.IndexByte(pw, '\n'); i >= 0 {
		clear(pw[i:])
		pw = pw[:i]
	}
	pw = bytes.TrimSuffix(pw, []byte{'\r'})
	if perr := checkSecret(pw); perr != nil {
		clear(b)
		return nil, errors.New("-password-file: " + term.Cause(protocol.ServerFrame{Code: perr.Code}, term.Request{}))
	}
	return pw, nil
}

// leaveWait bounds the wait for bye after leave.
const leaveWait = 5 * time.Second

// pipe is pipe mode's state; it belongs to RunPipe's goroutine.
type pipe struct {
	link   *Link
	ob     *outbox
	out    io.Writer
	errw   io.Writer
	json   bool
	r      *term.Renderer
	lines  <-chan inputLine
	room   string // where plain lines go
	giveUp time.Duration

	numbered  int // non-blank lines read so far
	failed    int
	eof       bool
	leaving   bool
	ups       int       // welcomes seen
	syncing   bool      // between a welcome and the end of its replays
	downSince time.Time // when the connection was lost; zero while up
	lastRetry string
	// releaveAt is when to resend a leave the rate limit refused; zero
	// when none is due.
	releaveAt time.Time
}

func (p *pipe) run(ctx context.Context) int {
	var leaveTimer <-chan time.Time
	resume := time.NewTimer(time.Hour)
	resume.Stop()
	defer resume.Stop()
	events := p.link.Events()
	for {
		wait := p.ob.pump(time.Now())
		if !p.releaveAt.IsZero() {
			if w := time.Until(p.releaveAt); w > 0 {
				wait = minPositive(wait, w)
			} else {
				p.releaveAt = time.Time{}
				p.link.Send(leaveFrame())
			}
		}
		if !p.downSince.IsZero() {
			wait = minPositive(wait, max(time.Millisecond, time.Until(p.downSince.Add(p.giveUp))))
		}
		if wait > 0 {
			resume.Reset(wait)
		}
		if p.eof && p.ob.waiting() == 0 && !p.leaving && p.ob.online {
			p.leaving = true
			p.link.Quit()
			leaveTimer = time.After(leaveWait)
		}
		lines := p.lines
		if p.eof || p.ob.full() {
			lines = nil // read no further ahead: stdin waits
		}
		select {
		case l, ok := <-lines:
			if !ok {
				p.eof = true
				continue
			}
			p.take(l)
		case ev, ok := <-events:
			if !ok {
				events = nil
				return p.closed(nil)
			}
			if done, code := p.event(ev); done {
				return code
			}
		case <-resume.C:
			if !p.downSince.IsZero() && time.Since(p.downSince) >= p.giveUp {
				return p.closed(fmt.Errorf("no connection for %v; giving up", p.giveUp))
			}
		case <-leaveTimer:
			return p.exitCode()
		case <-ctx.Done():
			p.link.Quit()
			drainEvents(events, time.Second)
			fmt.Fprintln(p.errw, "pynet client: interrupted")
			return 1
		}
	}
}

// take handles one line of stdin: a message or a command, or a report of
// why it cannot be sent.
func (p *pipe) take(l inputLine) {
	switch {
	case l.err != nil:
		fmt.Fprintf(p.errw, "pynet client: reading stdin: %v\n", l.err)
		p.eof = true
		return
	case l.tooLong:
		p.numbered++
		p.refuse(p.numbered, fmt.Sprintf("longer than %d bytes, skipped", maxInputLine))
		return
	case strings.TrimSpace(l.text) == "":
		return // a blank line is not a message
	}
	p.numbered++
	n := p.numbered
	c, err := parseInput(l.text)
	if err != nil {
		p.refuse(n, strings.TrimPrefix(err.Error(), "not sent: "))
		return
	}
	it := &outItem{n: n}
	switch c.kind {
	case cmdNothing:
		p.numbered--
		return
	case cmdSay, cmdMe, cmdMsg:
		if len(c.text) > protocol.MaxText {
			p.refuse(n, term.Cause(protocol.ServerFrame{Code: protocol.CodeTextTooLong}, term.Request{}))
			return
		}
		it.kind, it.text, it.room, it.action = protocol.MsgMessage, c.text, p.room, c.kind == cmdMe
		if c.kind == cmdMsg {
			it.kind, it.to, it.room = protocol.MsgPrivate, c.to, ""
		}
	case cmdNick:
		it.kind, it.name = protocol.MsgNick, c.name
	case cmdUsers:
		it.kind, it.room = protocol.MsgUsers, c.room
	case cmdJoin: // and plain lines go there from now on (sent after the enter)
		it.kind, it.room = protocol.MsgEnter, c.room
		p.room, p.r.Room = c.room, c.room
	case cmdPart:
		it.kind, it.room = protocol.MsgExit, c.room
		if it.room == "" {
			it.room = p.room
		}
	case cmdRooms:
		it.kind = protocol.MsgRooms
	case cmdRoom:
		if c.room == "" {
			p.refuse(n, "in pipe mode /room takes a name")
			return
		}
		p.room = c.room // from here on, plain lines go there
		p.r.Room = c.room
		p.numbered--
		return
	case cmdQuit:
		p.eof = true
		p.numbered--
		return
	default:
		p.refuse(n, c.word+" is for the interactive client, not pipe mode")
		return
	}
	p.ob.add(it)
}

// event handles one link event; done says pipe mode is over, with code.
func (p *pipe) event(ev Event) (done bool, code int) {
	switch ev.Kind {
	case EventUp:
		w := ev.Frame
		p.ob.welcome(w.ServerFrame)
		p.r.Self = w.Username
		p.syncing = true
		p.ups++
		if p.ups > 1 {
			how := "reconnected as a new session"
			if w.Resumed {
				how = "reconnected, session resumed"
			}
			fmt.Fprintln(p.errw, "pynet client: "+how)
		}
		p.downSince, p.lastRetry = time.Time{}, ""
		p.show(ev.Frame)
	case EventSynced:
		p.syncing = false
		p.ob.up()
	case EventFrame:
		p.frame(ev.Frame)
	case EventDown:
		if p.leaving {
			return false, 0
		}
		p.ob.down()
		p.downSince = time.Now()
		fmt.Fprintln(p.errw, "pynet client: "+downText(ev.Err)+" — reconnecting")
	case EventRetry:
		if ev.Err != nil {
			if msg := retryText(ev.Err, p.link.Name()); msg != p.lastRetry {
				p.lastRetry = msg
				fmt.Fprintln(p.errw, "pynet client: still offline ("+msg+")")
			}
		}
	case EventClosed:
		return true, p.closed(ev.Err)
	}
	return false, 0
}

// frame handles one frame from the server.
func (p *pipe) frame(f Frame) {
	if p.json {
		p.out.Write(append(f.Raw, '\n'))
	}
	switch f.Type {
	case protocol.MsgAck:
		p.ob.answered(f.Ref)
		return
	case protocol.MsgError:
		if it, retry := p.ob.refused(f.ServerFrame, time.Now()); it != nil {
			if !retry {
				p.refuse(it.n, term.Cause(f.ServerFrame, it.request()))
			}
		} else if wait, ok := isLeaveRefused(f.ServerFrame); ok {
			p.releaveAt = time.Now().Add(wait)
		} else {
			fmt.Fprintln(p.errw, "pynet client: "+term.Explain(f.ServerFrame, term.Request{}))
		}
		return
	case protocol.MsgUsers, protocol.MsgEntered, protocol.MsgExited, protocol.MsgRooms:
		p.ob.answered(f.Ref)
	case protocol.MsgRenamed:
		p.ob.answered(f.Ref)
		if protocol.FoldName(p.r.Self) == protocol.FoldName(f.From) {
			defer func() { p.r.Self = f.To }()
		}
	case protocol.MsgMessage, protocol.MsgPrivate:
		// After a reconnect, our own unacknowledged messages may be in
		// the replay: they arrived, and are not sent again.
		if f.History && p.syncing && p.ups > 1 && protocol.FoldName(f.From) == protocol.FoldName(p.r.Self) {
			p.ob.arrived(f.ServerFrame)
		}
	case protocol.MsgBye:
		return // reported by the link's events
	}
	if !p.json {
		p.print(f)
	}
}

// show prints the welcome: raw, or as text lines.
func (p *pipe) show(f Frame) {
	if p.json {
		p.out.Write(append(f.Raw, '\n'))
		return
	}
	p.print(f)
}

func (p *pipe) print(f Frame) {
	for _, l := range p.r.Frame(f.ServerFrame) {
		io.WriteString(p.out, l.Plain()+"\n")
	}
}

func (p *pipe) refuse(n int, why string) {
	p.failed++
	fmt.Fprintf(p.errw, "pynet client: message %d not sent: %s\n", n, why)
}

// closed reports how the link ended and returns the exit status.
func (p *pipe) closed(err error) int {
	if p.leaving && err == nil { // everything was accepted before we left
		return p.exitCode()
	}
	if err == nil {
		err = p.link.Err()
	}
	msg := "the connection ended"
	if err != nil {
		msg = err.Error()
		var be *ByeError
		if errors.As(err, &be) {
			msg = downText(err) + "; not reconnecting"
		}
	}
	fmt.Fprintf(p.errw, "pynet client: %s", msg)
	if n := p.ob.waiting(); n > 0 {
		fmt.Fprintf(p.errw, " (%d messages not delivered)", n)
	}
	fmt.Fprintln(p.errw)
	return 1
}

// drainEvents discards a link's events until it closes or timeout passes,
// so a leave can be answered before the connection is closed.
func drainEvents(events <-chan Event, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok || ev.Kind == EventClosed {
				return
			}
		case <-t.C:
			return
		}
	}
}

func (p *pipe) exitCode() int {
	if p.failed > 0 {
		fmt.Fprintf(p.errw, "pynet client: %d of %d messages were not sent\n", p.failed, p.numbered)
		return 1
	}
	return 0
}

// minPositive is the smaller of a and b, ignoring a zero a.
func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || b < a {
		return b
	}
	return a
}
