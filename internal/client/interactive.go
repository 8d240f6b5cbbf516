package client

import (
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

// errInterrupted: the user gave up (Ctrl-C, Ctrl-D, signal) before joining.
var errInterrupted = errors.New("interrupted")

// screen is what the UI needs of its terminal besides writing to it: its
// size, and word when it changes. *term.Console is one; tests use a fake.
type screen interface {
	Width() int
	Height() int
	Resized() <-chan os.Signal
}

// RunInteractive is the client on a terminal; in and out must be one (see
// term.IsTerminal). It asks for a name when opts.Name is empty (and for a
// password when the name is an account), joins, and chats until /quit,
// Ctrl-C, Ctrl-D on an empty line or ctx (SIGTERM). The terminal is
// restored on every way out, a panic included. It returns the exit status;
// a failure to connect is one line on errw, status 1.
func RunInteractive(ctx context.Context, opts Options, in, out *os.File, errw io.Writer) int {
	con, err := term.OpenConsole(in, out)
	if err != nil {
		fmt.Fprintf(errw, "pynet client: cannot use the terminal: %v\n", err)
		return 1
	}
	// Deferred calls run while a panic unwinds this goroutine, so this
	// restores the terminal then too; other goroutines use OnPanic.
	defer con.Restore()
	opts.OnPanic = term.RestoreAll

	keys := make(chan []byte, 16)
	go readKeys(in, keys, opts.OnPanic)
	u := newUI(ctx, opts, con, out, keys)
	code, msg := u.run()
	u.t.Close()
	con.Restore()
	if msg != "" {
		fmt.Fprintln(errw, msg)
	}
	return code
}

// ui is the interactive client. Everything in it belongs to the goroutine
// running RunInteractive; other goroutines reach it through channels only
// (keys, link events, resize signals, password requests).
type ui struct {
	ctx  context.Context
	opts Options
	scr  screen
	t    *term.Terminal
	r    *term.Renderer
	keys <-chan []byte
	hist *term.History

	link    *Link
	ob      *outbox
	pumpAt  *time.Timer // when the outbox may send again
	authReq chan authRequest

	name    string
	v2      bool
	limits  *protocol.Limits
	rooms   []string              // the rooms we are in, in the order entered (Alt-1…)
	room    map[string]*roomState // by folded name
	current string                // where plain lines go ("" in no room, or with a v1 server)
	known   map[string]bool       // rooms seen in /rooms, for completion
	names   *roster               // everyone met, for completion
	ignored map[string]bool       // folded names (/ignore)
	early   []string              // lines entered while connecting, sent once joined

	ups        int    // welcomes seen
	offline    bool   // the link is down
	lastRetry  string // the last retry problem shown, so it is not repeated
	queuedNote bool   // "queued while offline" said for this outage
	attention  string // the last mention or private, in the status row until the user sends something
	closed     error  // the link gave up (EventClosed)
	secretRef  map[string]term.Request
	secrets    int    // refs given to register and password frames
	lastSaved  string // the last line written to the history file
	histFailed bool   // saving the history failed (said once)

	sync syncState // between a welcome and the end of its replays
}

// authRequest is the link asking for a password to rejoin.
type authRequest struct {
	name  string
	why   error
	reply chan []byte // nil: given up
}

// roomState is what the UI knows of one room.
type roomState struct {
	members  *roster
	count    int // members, when the server gave only a count
	unread   int // messages since the user last looked at the room
	mentions int // of which name the user
	// A live entered (after /join) is followed by Replay history frames:
	// they are gathered and shown summarised once all are in.
	pending []Frame
	got     int // backlog frames in, ignored ones included
	want    int
	entered *Frame
}

// maxDraft bounds the line being typed: a paste of several messages fits
// (it is split when sent), an endless one does not grow without bound.
const maxDraft = 16 * protocol.MaxText

func newUI(ctx context.Context, opts Options, scr screen, out io.Writer, keys <-chan []byte) *ui {
	opts.Config = opts.Config.withDefaults()
	hist := term.NewHistory(histMax)
	loadHistory(opts.HistoryFile, hist) // before the editor, which starts after the last entry
	ed := term.NewEditor(hist)
	u := &ui{
		ctx:       ctx,
		opts:      opts,
		scr:       scr,
		t:         term.NewTerminal(out, scr.Width(), ed),
		keys:      keys,
		hist:      hist,
		room:      make(map[string]*roomState),
		known:     make(map[string]bool),
		names:     newRoster(),
		ignored:   make(map[string]bool),
		authReq:   make(chan authRequest),
		secretRef: make(map[string]term.Request),
	}
	u.r = &term.Renderer{Color: opts.Color, Colors256: opts.Colors256, DateLines: true}
	u.t.Size = scr.Width
	u.t.Height = scr.Height
	ed.Limit = maxDraft
	ed.Complete = u.complete
	if n := hist.Len(); n > 0 {
		u.lastSaved = hist.At(n - 1)
	}
	for _, n := range loadIgnores(opts.IgnoreFile) {
		u.ignored[protocol.FoldName(n)] = true
	}
	u.current = protocol.Lobby
	if len(opts.Rooms) > 0 {
		u.current = opts.Rooms[0]
	}
	if opts.Room != "" {
		u.current = opts.Room
	}
	return u
}

// run asks for a name (and a password) if needed, joins, and chats. It
// returns the exit status and a message for stderr ("" for none).
func (u *ui) run() (int, string) {
	name := u.opts.Name
	var password []byte
	defer func() { clear(password) }()
	tries := 0
	for {
		if name == "" {
			var ok bool
			if name, ok = u.ask("your name: "); !ok {
				return 0, ""
			}
		}
		if protocol.CheckUsername(name) != nil {
			u.t.PrintLines(u.r.Problem(term.NameRules(name)))
			name = ""
			continue
		}
		if password == nil && (u.opts.Login || u.opts.PasswordFile != "") {
			var err error
			if password, err = u.password(name, "password for "+name+": "); err != nil {
				return u.given(err)
			}
		}
		link, err := u.connect(Login{Name: name, Rooms: u.opts.Rooms, Password: password})
		password = nil // wiped by Connect
		je := joinError(err)
		switch {
		case err == nil:
			u.link = link
			defer link.Close()
			return u.chat()
		case errors.Is(err, errInterrupted):
			return 0, ""
		case je != nil && je.NameProblem():
			u.t.PrintLines(u.r.Problem(strings.TrimPrefix(je.Error(), "join refused: ") + " — try another"))
			name = ""
		case je != nil && (je.Code == protocol.CodeAuthRequired || je.Code == protocol.CodeAuthFailed) && tries < maxPasswordTries:
			tries++
			msg := name + " is a registered account: log in with its password, or press Enter for another name"
			if je.Code == protocol.CodeAuthFailed {
				msg = "wrong password — try again, or press Enter for another name"
			}
			u.t.PrintLines(u.r.Notice(msg))
			if password, err = u.password(name, "password for "+name+": "); err != nil {
				if errors.Is(err, errNoPassword) {
					name, tries = "", 0
					continue
				}
				return u.given(err)
			}
		default:
			return 1, "pynet client: " + err.Error()
		}
	}
}

func (u *ui) given(err error) (int, string) {
	if errors.Is(err, errInterrupted) {
		return 0, ""
	}
	return 1, "pynet client: " + err.Error()
}

// errNoPassword: the user entered an empty password (to pick another name).
var errNoPassword = errors.New("no password given")

// password gets a password: from the password file, or asked with echo off.
func (u *ui) password(name, prompt string) ([]byte, error) {
	if u.opts.PasswordFile != "" {
		return readPassword(u.opts.PasswordFile)
	}
	for {
		pw, ok := u.askSecret(prompt)
		if !ok {
			return nil, errInterrupted
		}
		if len(pw) == 0 {
			return nil, errNoPassword
		}
		if perr := checkSecret(pw); perr != nil {
			clear(pw)
			u.t.PrintLines(u.r.Problem(term.Cause(protocol.ServerFrame{Code: perr.Code}, term.Request{})))
			continue
		}
		return pw, nil
	}
}

// ask reads one non-blank line at prompt, with an editor of its own so
// that the answer does not land in the chat's input history.
func (u *ui) ask(prompt string) (string, bool) {
	line, _, ok := u.prompt(prompt, false)
	return line, ok
}

// askSecret reads a password with echo off: nothing of it is drawn, kept
// in a history, or turned into a string. The caller wipes it.
func (u *ui) askSecret(prompt string) ([]byte, bool) {
	_, secret, ok := u.prompt(prompt, true)
	return secret, ok
}

// prompt runs a question at the prompt until it is answered (a non-blank
// line, or any line when secret) or given up (Ctrl-C, Ctrl-D, ctx). Link
// events that arrive meanwhile are shown as usual.
func (u *ui) prompt(prompt string, secret bool) (string, []byte, bool) {
	chatEditor := u.t.Editor
	ed := term.NewEditor(term.NewHistory(1))
	ed.Limit = 4 * protocol.MaxUsername
	if secret {
		ed.Secret, ed.Limit = true, protocol.MaxPassword
	}
	u.t.Editor = ed
	defer func() {
		u.t.Editor = chatEditor
		u.setPrompt()
	}()
	u.t.SetPrompt(prompt, u.style("1"))
	u.t.Redraw()
	var events <-chan Event
	if u.link != nil {
		events = u.link.Events()
	}
	for {
		select {
		case b, ok := <-u.keys:
			if !ok {
				return "", nil, false
			}
			inputs := u.t.Feed(b)
			if secret {
				clear(b) // the raw keys held the password too
			}
			for _, in := range inputs {
				switch in.Action {
				case term.ActSubmit:
					if secret {
						return "", in.Secret, true
					}
					if line := strings.TrimSpace(in.Line); line != "" {
						return line, nil, true
					}
				case term.ActEOF, term.ActInterrupt:
					clear(in.Secret)
					return "", nil, false
				}
			}
		case ev, ok := <-events:
			if u.handleEvents(ev, ok, events) {
				return "", nil, false
			}
		case <-u.scr.Resized():
			u.t.Resize(u.scr.Width())
		case <-u.ctx.Done():
			return "", nil, false
		}
	}
}

// connect joins while keeping the terminal responsive: Ctrl-C gives up,
// and lines typed meanwhile are kept for later.
func (u *ui) connect(login Login) (*Link, error) {
	u.t.SetPrompt("", "")
	u.t.PrintLines(u.r.Notice("connecting to " + u.opts.Addr + " as " + login.Name + " …"))
	ctx, cancel := context.WithCancel(u.ctx)
	defer cancel()
	type result struct {
		link *Link
		err  error
	}
	res := make(chan result, 1)
	cfg := u.opts.Config
	cfg.Password = u.askForLink
	go func() {
		defer guard(u.opts.OnPanic)
		l, err := Connect(ctx, cfg, login)
		res <- result{l, err}
	}()
	abandon := func() (*Link, error) {
		cancel()
		if r := <-res; r.link != nil {
			r.link.Close()
		}
		return nil, errInterrupted
	}
	for {
		select {
		case r := <-res:
			return r.link, r.err
		case b, ok := <-u.keys:
			if !ok {
				return abandon()
			}
			for _, in := range u.t.Feed(b) {
				switch in.Action {
				case term.ActSubmit:
					u.early = append(u.early, in.Line)
				case term.ActEOF, term.ActInterrupt:
					return abandon()
				}
			}
		case <-u.scr.Resized():
			u.t.Resize(u.scr.Width())
		case <-u.ctx.Done():
			return abandon()
		}
	}
}

// askForLink is the link's Config.Password: it runs on the link's
// goroutine and asks the UI loop, which prompts.
func (u *ui) askForLink(ctx context.Context, name string, why error) ([]byte, error) {
	if u.opts.PasswordFile != "" {
		return readPassword(u.opts.PasswordFile)
	}
	req := authRequest{name: name, why: why, reply: make(chan []byte, 1)}
	select {
	case u.authReq <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case pw := <-req.reply:
		if pw == nil {
			return nil, errors.New("no password given: not logged in again")
		}
		return pw, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// style returns sgr when colour is on.
func (u *ui) style(sgr string) string {
	if !u.opts.Color {
		return ""
	}
	return sgr
}

// setPrompt shows the room and the user's name, and whether the link is
// down: "[#go] alice> ".
func (u *ui) setPrompt() {
	p := u.name + "> "
	if u.v2 {
		room := "no room"
		if u.current != "" {
			room = term.RoomName(u.current)
		}
		p = "[" + room + "] " + p
	}
	if u.offline {
		u.t.SetPrompt("(offline) "+p, u.style("33"))
		return
	}
	u.t.SetPrompt(p, u.style(u.r.NameColor(u.name)+";1"))
}
