package term

import (
	"os"
	"os/signal"
	"sync"
)

// Escape sequences that turn bracketed paste on and off (xterm mode 2004):
// while on, the terminal wraps pasted text in ESC [200~ … ESC [201~, so a
// pasted line break is text, not Enter.
const (
	pasteOn  = "\x1b[?2004h"
	pasteOff = "\x1b[?2004l"
)

// IsTerminal reports whether f is a terminal on which this package can use
// raw mode (Linux only; elsewhere it reports false and callers use line mode).
func IsTerminal(f *os.File) bool { return isTerminal(int(f.Fd())) }

// Console is a terminal in raw mode: keys arrive one at a time on in, and
// out is drawn on by a Terminal. Restore puts everything back; it is
// idempotent and must run on every way out of the program (see
// RestoreOnPanic for panics in other goroutines).
type Console struct {
	in, out *os.File
	old     *termState
	resize  chan os.Signal
	once    sync.Once
}

// active holds the consoles in raw mode, so that a panic anywhere can put
// the terminal back before the program dies.
var active struct {
	sync.Mutex
	consoles map[*Console]bool
}

// OpenConsole puts in (a terminal) in raw mode and turns on bracketed paste
// on out.
func OpenConsole(in, out *os.File) (*Console, error) {
	old, err := makeRaw(int(in.Fd()))
	if err != nil {
		return nil, err
	}
	c := &Console{in: in, out: out, old: old, resize: make(chan os.Signal, 1)}
	active.Lock()
	if active.consoles == nil {
		active.consoles = make(map[*Console]bool)
	}
	active.consoles[c] = true
	active.Unlock()
	out.WriteString(pasteOn)
	notifyResize(c.resize)
	return c, nil
}

// Restore turns bracketed paste off and restores the terminal's settings.
// Safe to call more than once and from any goroutine.
func (c *Console) Restore() {
	c.once.Do(func() {
		signal.Stop(c.resize)
		c.out.WriteString(pasteOff)
		setState(int(c.in.Fd()), c.old)
		active.Lock()
		delete(active.consoles, c)
		active.Unlock()
	})
}

// Width returns the terminal's width in columns (80 when unknown).
func (c *Console) Width() int {
	w, _, err := size(int(c.out.Fd()))
	if err != nil || w < 2 {
		return 80
	}
	return w
}

// Height returns the terminal's height in rows (24 when unknown).
func (c *Console) Height() int {
	_, h, err := size(int(c.out.Fd()))
	if err != nil || h < 1 {
		return 24
	}
	return h
}

// Resized delivers a value when the terminal's size changed (SIGWINCH).
func (c *Console) Resized() <-chan os.Signal { return c.resize }

// RestoreAll restores every console still in raw mode.
func RestoreAll() {
	active.Lock()
	cs := make([]*Console, 0, len(active.consoles))
	for c := range active.consoles {
		cs = append(cs, c)
	}
	active.Unlock()
	for _, c := range cs {
		c.Restore()
	}
}

// RestoreOnPanic, deferred at the top of a goroutine, restores the terminal
// if that goroutine panics and then lets the panic go on, so the crash
// report is readable and the shell usable.
func RestoreOnPanic() {
	if r := recover(); r != nil {
		RestoreAll()
		panic(r)
	}
}
