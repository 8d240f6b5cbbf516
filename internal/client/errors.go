package client

import (
	"errors"
	"fmt"

	"pynet/internal/term"
	"pynet/protocol"
)

// Errors a session or link reports. Compare with errors.Is.
var (
	// ErrOffline: Send while the link is reconnecting.
	ErrOffline = errors.New("not connected")
	// ErrClosed: the session or link was closed by this program.
	ErrClosed = errors.New("connection closed")
	// ErrLost: the server closed the connection without a bye.
	ErrLost = errors.New("the server closed the connection")
	// ErrSilent: nothing came from the server, not even an answer to our ping.
	ErrSilent = errors.New("the server stopped answering")
	// ErrInsecureAuth: a password would have gone over plain TCP to a
	// server that is not on this machine; nothing was sent.
	ErrInsecureAuth = errors.New("refusing to send a password over plain TCP to a server that is not on this machine: " +
		"anyone on the way could read it — connect with -tls (or, on a network you trust, -insecure-auth)")
)

// JoinError is a join the server refused with an error frame.
type JoinError struct {
	Name    string // the name asked for
	Code    string // protocol error code, e.g. protocol.CodeUsernameTaken
	Message string // the server's words
}

func (e *JoinError) Error() string {
	switch e.Code {
	case protocol.CodeUsernameTaken:
		return fmt.Sprintf("join refused: the name %s is taken", term.Clean(e.Name))
	case protocol.CodeInvalidUsername:
		return "join refused: " + term.NameRules(e.Name)
	case protocol.CodeAuthRequired:
		return fmt.Sprintf("join refused: the name %s is a registered account — log in with -login", term.Clean(e.Name))
	case protocol.CodeAuthFailed:
		return "join refused: wrong password"
	case protocol.CodeInsecureAuth:
		return "join refused: the server takes no passwords over plain TCP from afar — connect with -tls"
	case protocol.CodeInvalidRoom:
		return "join refused: " + term.Clean(e.Message)
	}
	return "join refused: " + term.Clean(e.Message) + " (" + term.Clean(e.Code) + ")"
}

// NameProblem reports whether another name could succeed.
func (e *JoinError) NameProblem() bool {
	return e.Code == protocol.CodeUsernameTaken || e.Code == protocol.CodeInvalidUsername
}

// ByeError is a connection the server ended with bye.
type ByeError struct{ Reason string }

func (e *ByeError) Error() string { return term.ByeText(e.Reason) }
