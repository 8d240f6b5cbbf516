package client

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"pynet/internal/term"
	"pynet/internal/term/termtest"
)

// The interactive client runs here without a terminal: keys go in on a
// channel, the screen comes out of a terminal emulator, and the server is
// real. Everything tmux would show, faster; tmux_test.go keeps a few
// checks that need a real terminal.

// fakeScreen is a terminal's size for the UI.
type fakeScreen struct {
	vt      *termtest.VT
	resized chan os.Signal
}

func (s *fakeScreen) Width() int                { w, _ := s.vt.Size(); return w }
func (s *fakeScreen) Height() int               { _, h := s.vt.Size(); return h }
func (s *fakeScreen) Resized() <-chan os.Signal { return s.resized }

// uiRun is an interactive client running in a test.
type uiRun struct {
	t    *testing.T
	vt   *termtest.VT
	raw  *syncBuffer // every byte written to the terminal
	keys chan []byte
	done chan uiResult
}

type uiResult struct {
	code int
	msg  string
}

// startUI runs the interactive client on a w×h screen until the test ends.
func startUI(t *testing.T, opts Options, w, h int) *uiRun {
	t.Helper()
	vt := termtest.New(w, h, term.RuneWidth)
	r := &uiRun{t: t, vt: vt, raw: newSyncBuffer(), keys: make(chan []byte, 256), done: make(chan uiResult, 1)}
	if opts.Backoff.Min == 0 {
		opts.Backoff = testConfig("").Backoff
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := newUI(ctx, opts, &fakeScreen{vt: vt, resized: make(chan os.Signal)}, io.MultiWriter(r.raw, vt), r.keys)
	go func() {
		code, msg := u.run()
		u.t.Close()
		r.done <- uiResult{code, msg}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(waitLimit):
			t.Errorf("the client did not stop")
		}
	})
	return r
}

// typ sends keys as typed (or pasted) bytes.
func (r *uiRun) typ(s string) { r.keys <- []byte(s) }

// line types s and Enter.
func (r *uiRun) line(s string) { r.typ(s + "\r") }

// secretLine types s one key at a time (each drawn, were it shown), then
// Enter.
func (r *uiRun) secretLine(s string) {
	for _, c := range s {
		r.typ(string(c))
	}
	r.typ("\r")
}

// wait waits until cond holds for the screen (and the rows scrolled off
// above it), and returns them; every change of the screen is looked at.
func (r *uiRun) wait(what string, cond func(all, screen []string) bool) []string {
	r.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		all, screen := r.vt.All(), r.vt.Screen()
		if cond(all, screen) {
			return screen
		}
		select {
		case <-r.vt.Changed():
		case <-deadline.C:
			r.t.Fatalf("no %s within %v; screen and above:\n%s", what, waitLimit, strings.Join(all, "\n"))
		}
	}
}

// waitFor waits until text is on screen (or scrolled above it).
func (r *uiRun) waitFor(text string) []string {
	r.t.Helper()
	return r.wait(text, func(all, _ []string) bool { return strings.Contains(strings.Join(all, "\n"), text) })
}

// waitPrompt waits until the last row (the prompt) is want.
func (r *uiRun) waitPrompt(want string) []string {
	r.t.Helper()
	return r.wait("prompt "+want, func(_, screen []string) bool { return lastRow(screen) == want })
}

// count says how many rows (on screen and above) contain text.
func (r *uiRun) count(text string) int {
	n := 0
	for _, row := range r.vt.All() {
		if strings.Contains(row, text) {
			n++
		}
	}
	return n
}

// countEnd says how many rows (on screen and above) end with text.
func (r *uiRun) countEnd(text string) int {
	n := 0
	for _, row := range r.vt.All() {
		if strings.HasSuffix(row, text) {
			n++
		}
	}
	return n
}

// end waits for the client to exit.
func (r *uiRun) end() uiResult {
	r.t.Helper()
	select {
	case res := <-r.done:
		r.done <- res // for the cleanup
		return res
	case <-time.After(waitLimit):
		r.t.Fatalf("the client did not exit; screen:\n%s", strings.Join(r.vt.All(), "\n"))
		return uiResult{}
	}
}

// Keys.
const (
	keyCtrlL  = "\x0c"
	keyCtrlG  = "\x07"
	keyCtrlN  = "\x0e"
	keyCtrlP  = "\x10"
	keyTab    = "\t"
	keyAlt2   = "\x1b2"
	pasteOpen = "\x1b[200~"
	pasteShut = "\x1b[201~"
)
