package attack

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// Scenarios are the attacks Run knows, in the order of docs/security.md.
var Scenarios = []string{"joinstorm", "rename", "churn", "slowloris", "history-bomb", "one-address"}

// MaxSources is the most attacker addresses: 127.0.0.2 to 127.0.0.200. The
// well-behaved users are at 127.0.0.201 and 127.0.0.202.
const MaxSources = 199

// Config is one run of one scenario. Start from DefaultConfig: zero sizes
// are refused, and a zero Duration means the scenario's default.
type Config struct {
	Addr     string        // the server, host:port; the host must be an IPv4 loopback address
	Scenario string        // one of Scenarios
	Sources  int           // attacker source addresses, 127.0.0.2 and up (1 to MaxSources)
	Duration time.Duration // attack phase (joinstorm, one-address: its cap); 0 = the scenario's default
	InFlight int           // connections being set up at once (every scenario)

	Joins    int     // joinstorm: connections that join
	Renamers int     // rename: joined connections that rename
	NickRate float64 // rename: nick frames per second per connection
	Workers  int     // churn: connections looping join → leave
	RoomSize int     // churn: idle members of the lobby around them
	Conns    int     // slowloris, one-address: connections
	Partial  int     // slowloris: bytes of the partial line sent at once (no LF)
	Drip     time.Duration
	Bombs    int // history-bomb: messages of 4,096 '"'
	// NonReaders are history-bomb's joiners that never read.
	NonReaders int

	UserRate float64 // messages per second each well-behaved user sends
	// UserSize pads the pair's message text to this many bytes (0: the
	// bare marker, about 30 bytes).
	UserSize   int
	FreshEvery time.Duration // a fresh join every this often
	// Drain is how long, after the attack phase, the pair waits for
	// messages still in flight before counting the rest as lost.
	Drain time.Duration
	// ExpectPerIP is the server's max_per_ip, for the one-address target.
	ExpectPerIP int
	// ServerPID, when set, is the server process on this machine: its peak
	// RSS and CPU seconds are reported.
	ServerPID int
	// Progress, when set, gets a line per phase and one every few seconds.
	Progress io.Writer
}

// DefaultConfig returns the sizes of issue 9 against 127.0.0.1:5050.
func DefaultConfig() Config {
	return Config{
		Addr:        "127.0.0.1:5050",
		Scenario:    "joinstorm",
		Sources:     100,
		InFlight:    500,
		Joins:       5000,
		Renamers:    1000,
		NickRate:    19,
		Workers:     200,
		RoomSize:    2000,
		Conns:       10000,
		Partial:     65536 - 32,
		Drip:        10 * time.Second,
		Bombs:       100,
		NonReaders:  2000,
		UserRate:    10,
		FreshEvery:  time.Second,
		Drain:       5 * time.Second,
		ExpectPerIP: 64,
	}
}

// defaultDuration is each scenario's attack phase (for joinstorm and
// one-address, its cap: they end when their attempts are done).
func defaultDuration(scenario string) time.Duration {
	switch scenario {
	case "joinstorm", "one-address":
		return 60 * time.Second
	case "slowloris":
		return 40 * time.Second // past the 30 s line_timeout
	}
	return 20 * time.Second
}

// phase returns the attack phase's length (or cap).
func (c *Config) phase() time.Duration {
	if c.Duration > 0 {
		return c.Duration
	}
	return defaultDuration(c.Scenario)
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	known := false
	for _, s := range Scenarios {
		known = known || s == c.Scenario
	}
	switch {
	case !known:
		return fmt.Errorf("unknown scenario %q (want one of %v)", c.Scenario, Scenarios)
	case c.Sources < 1 || c.Sources > MaxSources:
		return fmt.Errorf("sources must be from 1 to %d (127.0.0.2 to 127.0.0.%d), got %d", MaxSources, MaxSources+1, c.Sources)
	case c.Duration < 0 || c.Drip <= 0 || c.FreshEvery <= 0 || c.Drain < 0:
		return errors.New("durations must be positive (duration and drain: 0 or more)")
	case c.InFlight < 1 || c.Joins < 1 || c.Renamers < 1 || c.Workers < 1 || c.RoomSize < 0 ||
		c.Conns < 1 || c.Bombs < 1 || c.NonReaders < 0:
		return errors.New("scenario sizes must be at least 1 (room and non-readers: 0 or more)")
	case !(c.NickRate > 0) || c.NickRate > 1000:
		return errors.New("nick-rate must be above 0 and at most 1000 per second")
	case !(c.UserRate > 0) || c.UserRate > 1000:
		return errors.New("user-rate must be above 0 and at most 1000 per second")
	case c.UserSize < 0 || c.UserSize > 4096:
		return errors.New("user-size must be from 0 to 4096 bytes")
	case c.Partial < 1:
		return errors.New("partial must be at least 1 byte")
	case c.ServerPID < 0:
		return errors.New("server-pid must be a process id")
	}
	_, err := c.target()
	return err
}

// target resolves Addr and refuses anything but an IPv4 loopback address:
// the harness attacks this machine only.
func (c *Config) target() (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("addr %q: %v", c.Addr, err)
	}
	if host == "localhost" || host == "" {
		host = "127.0.0.1"
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("addr %q: want a numeric loopback address and a port", c.Addr)
	}
	a := ap.Addr().Unmap()
	if !a.Is4() || !a.IsLoopback() || ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("addr %q: the harness attacks only this machine: an address in 127.0.0.0/8 with a port", c.Addr)
	}
	return netip.AddrPortFrom(a, ap.Port()), nil
}

// source returns attacker address i (mod Sources): 127.0.0.2 and up.
func (c *Config) source(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%c.Sources)})
}

// userAddrs are the well-behaved users' addresses.
var userAddrs = [2]netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 201}), netip.AddrFrom4([4]byte{127, 0, 0, 202})}

// connsNeeded estimates the file descriptors a run needs.
func (c *Config) connsNeeded() int {
	n := 0
	switch c.Scenario {
	case "joinstorm":
		n = c.Joins
	case "rename":
		n = c.Renamers
	case "churn":
		n = c.RoomSize + c.Workers
	case "slowloris", "one-address":
		n = c.Conns
	case "history-bomb":
		n = c.NonReaders + (c.Bombs+bombsPerConn-1)/bombsPerConn
	}
	return n + 64
}
