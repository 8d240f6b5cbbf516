package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"time"

	"pynet/internal/auth"
	"pynet/internal/replog"
	"pynet/internal/store"
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

	// Version 2 (PROTOCOL §5).
	ReplayMax     int           // most messages in one replay from a position (1 to 100,000)
	ResumeGrace   time.Duration // how long a dropped v2 session is held; 0 = no holds
	MaxRooms      int           // rooms per user, lobby included
	MaxRoomsTotal int           // rooms with members on the server
	PresenceLimit int           // over this many members a room has no announcements or lists; 0 = none anywhere
	MaxPerIP      int           // connections and held sessions per address (IPv6: per /64); 0 = no limit
	// IPLimitExempt are the addresses MaxPerIP does not apply to; nil
	// means the default, 127.0.0.1 and ::1.
	IPLimitExempt []netip.Prefix
	// InsecureAuth allows passwords and account tokens over plain TCP
	// from addresses other than 127.0.0.1 and ::1.
	InsecureAuth bool
	// LineTimeout closes a connection whose current line has been pending
	// this long since its first byte; 0 = never.
	LineTimeout time.Duration
	// LineBudget bounds the bytes all connections together hold for
	// partial lines beyond a small per-connection buffer; a connection
	// whose line needs more when it is spent gets bye server_full. 0 = no
	// budget.
	LineBudget int64
	// JoinBurst and JoinEvery throttle successful joins per address (IPv6:
	// per /64; the IPLimitExempt addresses are not throttled): a burst,
	// then one more per JoinEvery, so that a few addresses cannot churn
	// joins and leaves around a big room. Reconnecting does not reset it.
	// JoinBurst 0 turns it off.
	JoinBurst int
	JoinEvery time.Duration
	// RenameBurst and RenameEvery are the rename limit: a burst, then one
	// more per RenameEvery.
	RenameBurst int
	RenameEvery time.Duration

	// Store, when set, is the durable backend (-data): every message is
	// committed to it before anyone sees it, and accounts and sessions
	// live in it. nil: memory only.
	Store store.Store
	// Cluster, when set, makes this server one node of several that share
	// one replicated log (package replog; -cluster): ids, rooms, names,
	// sessions and history are the cluster's, and Store is not used.
	Cluster replog.Log
	// ClusterSnapshotEvery is how many control entries (joins, enters,
	// exits, holds...) may pass before a snapshot of the shared state is
	// written (0: 1000). Keep it well under the log's per-subject retention.
	ClusterSnapshotEvery int
	// Hasher hashes and checks account passwords. nil: accounts are off
	// (register and password logins are refused with auth_failed).
	Hasher auth.Hasher
	// HashConcurrency bounds password hashes running at once (0: 2).
	HashConcurrency int

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
		ReplayMax:     1000,
		ResumeGrace:   60 * time.Second,
		MaxRooms:      100,
		MaxRoomsTotal: 10000,
		PresenceLimit: 1000,
		MaxPerIP:      64,
		LineTimeout:   30 * time.Second,
		LineBudget:    64 << 20,
		JoinBurst:     64,
		JoinEvery:     250 * time.Millisecond,
		RenameBurst:   5,
		RenameEvery:   10 * time.Second,
		Version:       "2.0.0",
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
	case c.ReplayMax < 1 || c.ReplayMax > 100000:
		return fmt.Errorf("replay-max must be from 1 to 100000, got %d", c.ReplayMax)
	case c.ResumeGrace < 0 || c.LineTimeout < 0:
		return errors.New("durations must be 0 (off) or more")
	case c.MaxRooms < 1:
		return fmt.Errorf("max-rooms must be at least 1, got %d", c.MaxRooms)
	case c.MaxRoomsTotal < 1:
		return errors.New("the server's room limit must be at least 1")
	case c.PresenceLimit < 0 || c.PresenceLimit > 1500:
		return fmt.Errorf("presence-limit must be from 0 (off) to 1500, got %d", c.PresenceLimit)
	case c.MaxPerIP < 0:
		return errors.New("max-per-ip must be 0 (no limit) or more")
	case c.JoinBurst < 0 || c.JoinEvery < 0 || c.JoinBurst > 0 && c.JoinEvery == 0:
		return errors.New("the join throttle needs a burst of 0 (off) or more and a positive interval")
	case c.LineBudget < 0:
		return errors.New("the line budget must be 0 (none) or more")
	case c.RenameBurst < 0 || c.RenameEvery < 0:
		return errors.New("the rename limit must be 0 (off) or more")
	case c.Cluster != nil && c.Store != nil:
		return errors.New("a cluster node keeps its history in the cluster: -data and -cluster do not go together")
	}
	return nil
}

// rateLimited reports whether the rate limit is on.
func (c *Config) rateLimited() bool { return c.Rate > 0 && c.Burst > 0 }

// ipExempt reports whether addr is exempt from MaxPerIP.
func (c *Config) ipExempt(addr netip.Addr) bool {
	if c.IPLimitExempt == nil {
		return addr == netip.IPv6Loopback() || addr == netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	for _, p := range c.IPLimitExempt {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
