// Package client is the PyNet Chat client: the network session and the two
// ways of using it, interactive (a terminal) and pipe mode (scripts, bots).
// It speaks protocol version 2 (rooms, sessions, resume, accounts) and falls
// back to version 1 behaviour when the server welcomes it as such.
//
// Layers, from the wire up:
//   - dial (dial.go) is the one place a connection is made: TCP, then TLS.
//   - Session (session.go) is one joined connection: it sends join (with
//     a password or a session token when it has one, only where secrets
//     may travel: TLS, this machine, or Config.InsecureAuth) and waits for
//     welcome, then one reader goroutine decodes frames onto a channel and
//     answers pings; Send is the serialised send path.
//   - Link (link.go) keeps a session up: when the connection is lost (not
//     after Quit, nor after bye replaced) it resumes the session with its
//     token, epoch and position (the highest id known delivered in full),
//     joins afresh when the session is gone, logs in again through
//     Config.Password, and reports all of it as Events. It never delivers
//     a message or private twice, and marks the end of a join's replays
//     (EventSynced) with a ping whose pong comes after them.
//   - outbox (outbox.go) holds what the user sends until the server
//     answers: refs on every frame, paced under the rate limit, sent again
//     with the same refs after a reconnect.
//   - RunInteractive (interactive.go, chat.go, replay.go, rooms.go,
//     submit.go) drives a terminal through package term; RunPipe (pipe.go)
//     sends stdin line by line. Both use a Link and an outbox.
//
// # Concurrency
//
//   - A Session's reader goroutine is the only reader of its socket. It ends
//     when the connection ends or Close is called, closing Frames.
//   - Writes go through Session.Send, serialised by a mutex, each with a
//     write deadline; the reader uses it too, to answer pings.
//   - A Link's run goroutine owns reconnection and what the link knows to
//     come back (linkState, under Link.mu; seen and the sync ref are its
//     own). It forwards a session's frames as Events and is the only writer
//     of Link.sess, which Send and Quit read. Config.Password runs on it.
//   - The UI loop (RunInteractive or RunPipe) is one goroutine that owns the
//     terminal, the renderer, the outbox and the room state; other
//     goroutines only feed it through channels (keys or stdin lines,
//     events, signals, the link's password requests).
//   - Every goroutine the package starts defers guard, so a panic restores
//     the terminal (Config.OnPanic) before the program dies.
//
// # Secrets
//
// Passwords are []byte, never strings: asked with echo off (term.Editor's
// Secret mode, outside the input history), written into a frame that is
// wiped once sent, and wiped themselves after the join, register or
// password frame. Traces (-trace) mask them.
package client
