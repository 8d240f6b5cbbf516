package client

import (
	"context"
	"crypto/tls"
	"time"
)

// Config says how to reach the server and how patient to be.
type Config struct {
	Addr string      // host:port
	TLS  *tls.Config // nil: plain TCP

	DialTimeout  time.Duration // TCP connect plus TLS handshake (default 5 s)
	JoinTimeout  time.Duration // from join to welcome (default 10 s)
	WriteTimeout time.Duration // writing one frame (default 10 s)
	// Silence is how long the server may say nothing before we ping it;
	// after twice as long the connection counts as dead. The server pings
	// every 30 s by default, so the default 45 s notices a dead link
	// within 90 s without ever pinging a healthy one.
	Silence time.Duration
	// MaxLine bounds one line from the server (default 1 MiB: a welcome
	// lists up to 10,000 names). Longer lines are skipped, never buffered.
	MaxLine int
	// Backoff spaces out reconnection attempts.
	Backoff Backoff

	// InsecureAuth allows sending a password (or an account's session
	// token) over plain TCP to a server that is not on this machine, where
	// anyone on the path could read it. Off, such a join is refused with
	// ErrInsecureAuth before anything is sent (-insecure-auth).
	InsecureAuth bool
	// V1 joins as a version 1 client (no rooms, no resume).
	V1 bool
	// Password, when set, is asked for a password when a rejoin needs one
	// (the account's session could not be resumed): why is nil, or the
	// reason the last one failed. It returns the password, which the link
	// wipes once sent, or an error to stop reconnecting.
	Password func(ctx context.Context, name string, why error) ([]byte, error)

	// Trace, when set, receives a line for every read and write on the
	// connection and every frame cut from it (pynet client -trace).
	Trace func(line string)

	// OnPanic runs before a panic in one of the package's goroutines goes
	// on; the interactive client restores the terminal with it.
	OnPanic func()
}

// Defaults of Config.
const (
	DefaultAddr         = "127.0.0.1:5050"
	DefaultDialTimeout  = 5 * time.Second
	DefaultJoinTimeout  = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultSilence      = 45 * time.Second
	DefaultMaxLine      = 1 << 20
)

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = DefaultJoinTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Silence <= 0 {
		c.Silence = DefaultSilence
	}
	if c.MaxLine <= 0 {
		c.MaxLine = DefaultMaxLine
	}
	c.Backoff = c.Backoff.withDefaults()
	return c
}

// secretsSafe reports whether a password may travel on connections made
// with c: over TLS, to this machine, or when told so.
func (c *Config) secretsSafe() bool {
	return c.TLS != nil || c.InsecureAuth || isLocalAddr(c.Addr)
}

// guard is deferred first in every goroutine the package starts: it lets
// onPanic put the terminal back before the panic goes on.
func guard(onPanic func()) {
	if r := recover(); r != nil {
		if onPanic != nil {
			onPanic()
		}
		panic(r)
	}
}
