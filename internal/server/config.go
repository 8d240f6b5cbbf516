package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"pynet/protocol"
)

// Config is the server's configuration; the zero value of a field is not its
// default, so start from DefaultConfig.
type Config struct {
	History      int           // public messages kept for replay to joiners
	MaxClients   int           // connections at once, joined or not
	Rate         float64       // frames per second per connection; 0 turns the limit off
	Burst        int           // bucket size; 0 turns the limit off
	PingInterval time.Duration // ping after this much silence; 0 = never
	IdleTimeout  time.Duration // close after this much silence; 0 = never
	JoinTimeout  time.Duration // close an unjoined connection after this; 0 = never
	MaxFrame     int           // longest line accepted, bytes
	MaxQueue     int           // outbound bytes pending per connection before it is a slow consumer

	// WriteTimeout bounds one write to a socket; a write that takes longer
	// makes the connection a slow consumer.
	WriteTimeout time.Duration
	// ShutdownGrace is how long shutdown waits for bye frames to be written
	// before closing connections regardless. Keep it well under 5 s.
	ShutdownGrace time.Duration

	TLS    *tls.Config  // when set, connections speak TLS
	Logger *slog.Logger // nil: slog.Default()
	// Trace, when set, receives a line per read and per write on every
	// connection (see trace.go); nil costs nothing.
	Trace func(line string)
	// Version is announced in welcome as "pynet/VERSION".
	Version string
}

// DefaultConfig returns the defaults of PROTOCOL.md.
func DefaultConfig() Config {
	return Config{
		History:       100,
		MaxClients:    10000,
		Rate:          20,
		Burst:         40,
		PingInterval:  30 * time.Second,
		IdleTimeout:   90 * time.Second,
		JoinTimeout:   60 * time.Second,
		MaxFrame:      protocol.DefaultMaxFrame,
		MaxQueue:      1 << 20,
		WriteTimeout:  10 * time.Second,
		ShutdownGrace: 2 * time.Second,
		Version:       "1.0.0",
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.History < 0:
		return errors.New("history must be 0 or more")
	case c.MaxClients < 1:
		return errors.New("max-clients must be at least 1")
	case !(c.Rate >= 0) || math.IsInf(c.Rate, 0): // also refuses NaN
		return errors.New("rate must be a finite number, 0 (off) or more")
	case c.Burst < 0:
		return errors.New("burst must be 0 (off) or more")
	case c.PingInterval < 0 || c.IdleTimeout < 0 || c.JoinTimeout < 0:
		return errors.New("durations must be 0 (off) or more")
	case c.MaxFrame < 16:
		return fmt.Errorf("max-frame must be at least 16 bytes, got %d", c.MaxFrame)
	case c.MaxQueue < 1:
		return fmt.Errorf("max-queue must be at least 1 byte, got %d", c.MaxQueue)
	case c.WriteTimeout <= 0 || c.ShutdownGrace <= 0:
		return errors.New("write timeout and shutdown grace must be positive")
	}
	return nil
}

// rateLimited reports whether the rate limit is on.
func (c *Config) rateLimited() bool { return c.Rate > 0 && c.Burst > 0 }
