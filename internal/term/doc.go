// Package term is the terminal side of the PyNet client: raw mode, a pure key
// decoder and line editor, the screen logic that prints incoming lines above
// the prompt without disturbing what is being typed, and the renderer that
// turns server frames into display lines.
//
// It knows nothing about sockets: input arrives as bytes (Terminal.Feed),
// output leaves through an io.Writer, and frames arrive already decoded as
// protocol.ServerFrame values. That keeps every piece testable as a pure
// function of its input.
//
// Pieces, one file each:
//   - Decoder (keys.go) turns bytes into keys; escape sequences, UTF-8 and
//     bracketed paste may be split across reads at any byte.
//   - Editor (editor.go) applies keys to a line buffer with input history,
//     moving and deleting whole grapheme clusters (grapheme.go), cycling
//     Tab completions, and hiding a Secret (a password) from screen and
//     history.
//   - Terminal (terminal.go, layout.go) draws a status row, the prompt and
//     the input (through a window when the input is taller than the
//     screen), and prints the conversation above them, each line wrapped at
//     words with a hanging indent (wrap.go); it keeps the last lines to draw
//     them again (Ctrl-L).
//   - Renderer (render.go, style.go, explain.go) formats frames: time
//     stamps, date lines, rooms, colours, reasons and errors in words.
//   - Clean (sanitize.go) neutralises control characters in received text.
//   - Console (console.go) puts the terminal in raw mode and back, through
//     termios on Linux (raw_linux.go); elsewhere (raw_other.go) there is no
//     raw mode and IsTerminal reports false, so the client uses line mode.
//
// Package termtest is a terminal emulator for the tests of this package
// and of the client.
//
// Concurrency: Decoder, Editor, Terminal and Renderer are not safe for
// concurrent use; the client's UI loop owns them. Raw-mode state is
// process-wide: the consoles in raw mode are kept in a mutex-guarded set,
// so RestoreAll can put the terminal back from any goroutine that panics.
package term
