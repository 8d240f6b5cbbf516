// Package client is the PyNet Chat client: the network session and the two
// ways of using it, interactive (a terminal) and pipe mode (scripts, bots).
//
// Layers, from the wire up:
//   - dial (dial.go) is the one place a connection is made: TCP, then TLS.
//   - Session (session.go) is one joined connection: Join sends join and
//     waits for welcome, then one reader goroutine decodes frames onto a
//     channel and answers pings; Send is the serialised send path.
//   - Link (link.go) keeps a session up: when the connection is lost (not
//     after Quit) it rejoins with the same name, with exponential backoff
//     and jitter, and reports all of it as Events.
//   - RunInteractive (interactive.go, chat.go) drives a terminal through
//     package term; RunPipe (pipe.go) sends stdin line by line.
//
// # Concurrency
//
//   - A Session's reader goroutine is the only reader of its socket. It ends
//     when the connection ends or Close is called, closing Frames.
//   - Writes go through Session.Send, serialised by a mutex, each with a
//     write deadline; the reader uses it too, to answer pings.
//   - A Link's run goroutine owns reconnection. It forwards a session's
//     frames as Events and is the only writer of Link.sess (under Link.mu),
//     which Send and Quit read.
//   - The UI loop (RunInteractive or RunPipe) is one goroutine that owns the
//     terminal, the renderer and its bookkeeping; other goroutines only feed
//     it through channels (keys or stdin lines, events, signals).
//   - Every goroutine the package starts defers guard, so a panic restores
//     the terminal (Config.OnPanic) before the program dies.
package client
