package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"pynet/internal/term"
	"pynet/protocol"
)

// errInterrupted: the user gave up (Ctrl-C, Ctrl-D, signal) before joining.
var errInterrupted = errors.New("interrupted")

// RunInteractive is the client on a terminal; in and out must be one (see
// term.IsTerminal). It asks for a name when opts.Name is empty, joins, and
// chats until /quit, Ctrl-C, Ctrl-D on an empty line or ctx (SIGTERM). The
// terminal is restored on every way out, a panic included. It returns the
// exit status; a failure to connect is one line on errw, status 1.
func RunInteractive(ctx context.Context, opts Options, in, out *os.File, errw io.Writer) int {
	con, err := term.OpenConsole(in, out)
	if err != nil {
		fmt.Fprintf(errw, "pynet client: cannot use the terminal: %v\n", err)
		return 1
	}
	// Deferred calls run while a panic unwinds this goroutine, so this
	// restores the terminal then too; other goroutines use OnPanic.
	defer con.Restore()
	opts.Config = opts.Config.withDefaults()
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
// (keys, link events, resize signals).
type ui struct {
	ctx  context.Context
	opts Options
	con  *term.Console
	t    *term.Terminal
	r    *term.Renderer
	keys <-chan []byte

	link    *Link
	name    string
	early   []string // lines entered while connecting, sent once joined
	roster  *roster
	seen    *seenSet
	pending map[string]request // refs sent and not yet answered
	nextRef uint64

	joinedOnce bool
	offline    bool
	lastRetry  string // the last retry problem shown, so it is not repeated
}

// request is a frame sent with a ref, remembered until its answer comes,
// so that the answer can be shown in the user's terms.
type request struct {
	req  term.Request
	text string
}

// maxPending bounds the unanswered requests remembered. A server answers
// every frame with a ref, so this is reached only if it does not.
const maxPending = 1024

func newUI(ctx context.Context, opts Options, con *term.Console, out io.Writer, keys <-chan []byte) *ui {
	ed := term.NewEditor(term.NewHistory(500))
	u := &ui{
		ctx:     ctx,
		opts:    opts,
		con:     con,
		t:       term.NewTerminal(out, con.Width(), ed),
		r:       &term.Renderer{Color: opts.Color},
		keys:    keys,
		roster:  newRoster(),
		seen:    newSeenSet(),
		pending: make(map[string]request),
	}
	u.t.Size = con.Width
	ed.Limit = protocol.MaxText + 256 // room for "/msg NAME " and spaces that trimming removes
	ed.Complete = u.roster.complete
	return u
}

// run asks for a name if needed, joins, and chats. It returns the exit
// status and a message for stderr ("" for none).
func (u *ui) run() (int, string) {
	name := u.opts.Name
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
		link, err := u.connect(name)
		var je *JoinError
		switch {
		case err == nil:
			u.link = link
			defer link.Close()
			return u.chat()
		case errors.Is(err, errInterrupted):
			return 0, ""
		case errors.As(err, &je) && je.NameProblem():
			u.t.PrintLines(u.r.Problem(strings.TrimPrefix(je.Error(), "join refused: ") + " — try another"))
			name = ""
		default:
			return 1, "pynet client: " + err.Error()
		}
	}
}

// ask reads one non-blank line at prompt, with an editor of its own so
// that the answer does not land in the chat's input history.
func (u *ui) ask(prompt string) (string, bool) {
	chatEditor := u.t.Editor
	u.t.Editor = term.NewEditor(term.NewHistory(10))
	u.t.Editor.Limit = 4 * protocol.MaxUsername
	defer func() { u.t.Editor = chatEditor }()
	u.t.SetPrompt(prompt, u.style("1"))
	u.t.Redraw()
	for {
		select {
		case b, ok := <-u.keys:
			if !ok {
				return "", false
			}
			for _, in := range u.t.Feed(b) {
				switch in.Action {
				case term.ActSubmit:
					if name := strings.TrimSpace(in.Line); name != "" {
						return name, true
					}
				case term.ActEOF, term.ActInterrupt:
					return "", false
				}
			}
		case <-u.con.Resized():
			u.t.Resize(u.con.Width())
		case <-u.ctx.Done():
			return "", false
		}
	}
}

// connect joins as name while keeping the terminal responsive: Ctrl-C
// gives up, and lines typed meanwhile are kept for later.
func (u *ui) connect(name string) (*Link, error) {
	u.t.SetPrompt("", "")
	u.t.PrintLines(u.r.Notice("connecting to " + u.opts.Addr + " as " + name + " …"))
	ctx, cancel := context.WithCancel(u.ctx)
	defer cancel()
	type result struct {
		link *Link
		err  error
	}
	res := make(chan result, 1)
	go func() {
		defer guard(u.opts.OnPanic)
		l, err := Connect(ctx, u.opts.Config, Login{Name: name})
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
		case <-u.con.Resized():
			u.t.Resize(u.con.Width())
		case <-u.ctx.Done():
			return abandon()
		}
	}
}

// style returns sgr when colour is on.
func (u *ui) style(sgr string) string {
	if !u.opts.Color {
		return ""
	}
	return sgr
}

// setPrompt shows the user's name, and whether the link is down.
func (u *ui) setPrompt() {
	if u.offline {
		u.t.SetPrompt("(offline) "+u.name+"> ", u.style("33"))
		return
	}
	u.t.SetPrompt(u.name+"> ", u.style(u.r.NameColor(u.name)+";1"))
}
