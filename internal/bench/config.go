package bench

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"pynet/protocol"
)

// Config is one bench run. Start from DefaultConfig; Run checks it with
// Validate.
type Config struct {
	// Addr is the server's address, host:port, or for a cluster the
	// addresses of its nodes separated by commas: the clients are spread
	// over them (see nodeOf), and every node must deliver every message to
	// its own clients.
	Addr string
	// Target, when set, replaces Addr: pynet://HOST:PORT (or
	// pynet://A,B,... for a cluster), or a peer to compare with,
	// redis://HOST:PORT (pub/sub on one channel named Name) or
	// nats://HOST:PORT (core pub/sub on one subject named Name).
	Target   string
	Clients  int           // connections that join (C)
	Senders  int           // of those, how many send (S); 0 measures set-up only
	Size     int           // bytes of text per message, markerLen..protocol.MaxText
	Duration time.Duration // measured window
	Warmup   time.Duration // traffic before the window, not measured
	// Rate is the total offered rate in messages per second over all
	// senders (open loop). 0 sends flat out, each sender keeping at most
	// Window messages unacknowledged.
	Rate   float64
	Window int // unacknowledged messages per sender when Rate == 0

	// Drain bounds the wait, after sending stops, for messages in flight.
	Drain time.Duration
	// Parallel is how many connections are being set up at once.
	Parallel int
	// SetupTimeout bounds the whole connection set-up; the run goes on
	// with the connections that joined by then.
	SetupTimeout time.Duration
	// IdleSettle, with ServerPIDs and no senders, is how long the joined
	// connections sit idle (the server finishes announcing the joins, the
	// readers drain them) before the server's memory is read.
	IdleSettle time.Duration
	// Name prefixes the usernames: NAME-0001, NAME-0002, ...
	Name string
	// TLS, when set, makes every PyNet connection a TLS client with this
	// configuration (a server started with -tls-cert). An empty ServerName
	// is filled in from each address's host. Not for peer targets.
	TLS *tls.Config
	// ServerPIDs, when set, are the process ids on this machine of the
	// server, or of every process that serves a cluster (each pynet node
	// and the NATS server): their CPU time during the window is read from
	// /proc/PID/stat and summed, and so is their resident memory.
	ServerPIDs []int
	// Progress, when set, receives a progress line once a second, rewritten
	// in place with \r (meant for a terminal).
	Progress io.Writer

	// Protocol is the version the clients join with: 1 (the default, so
	// that runs stay comparable with servers before version 2) or 2.
	Protocol int
	// Rooms, with Protocol 2, puts every client in the lobby and in one of
	// Rooms more rooms, NAME-r001 ... (lower case): client i (0-based) in
	// room i mod Rooms, so rooms differ in size by one at most and the
	// first Senders clients are spread over the rooms. Senders send to
	// their own room. 0: everyone is in the lobby only, and sends there.
	Rooms int
	// LobbyEvery, with Rooms, sends every LobbyEvery-th message of each
	// sender (sequence numbers LobbyEvery-1, 2*LobbyEvery-1, ...) to the
	// lobby instead of the sender's room; 0 sends none there.
	LobbyEvery int
}

// DefaultConfig returns the defaults of the bench command's flags.
func DefaultConfig() Config {
	return Config{
		Addr:         fmt.Sprintf("127.0.0.1:%d", protocol.DefaultPort),
		Clients:      100,
		Senders:      10,
		Size:         100,
		Duration:     10 * time.Second,
		Warmup:       time.Second,
		Window:       64,
		Drain:        2 * time.Second,
		Parallel:     64,
		SetupTimeout: 60 * time.Second,
		IdleSettle:   2 * time.Second,
		Name:         "bench",
		Protocol:     protocol.VersionV1,
	}
}

// Upper bounds that keep a run bounded in time and memory.
const (
	maxClients  = 100000
	maxDuration = 24 * time.Hour
	maxWindow   = 1 << 16
	maxParallel = 4096
	maxRooms    = 10000 // the server's limit on rooms with members
)

// ErrConfig wraps every error of Validate.
var ErrConfig = errors.New("bench: bad configuration")

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.Addr == "" && c.Target == "":
		return bad("addr is empty")
	case c.Clients < 1 || c.Clients > maxClients:
		return bad("clients must be 1 to %d, got %d", maxClients, c.Clients)
	case c.Senders < 0 || c.Senders > c.Clients:
		return bad("senders must be 0 to clients (%d), got %d", c.Clients, c.Senders)
	case c.Senders > 0 && c.Clients < 2:
		return bad("messages need at least 2 clients (senders do not receive their own)")
	case c.Senders > maxSenderIndex:
		return bad("senders must be at most %d", maxSenderIndex)
	case c.Size < markerLen || c.Size > protocol.MaxText:
		return bad("size must be %d to %d bytes (the text carries a %d-byte marker), got %d",
			markerLen, protocol.MaxText, markerLen, c.Size)
	case c.Duration <= 0 || c.Duration > maxDuration:
		return bad("duration must be more than 0 and at most %v, got %v", maxDuration, c.Duration)
	case c.Warmup < 0 || c.Warmup > maxDuration:
		return bad("warmup must be 0 to %v, got %v", maxDuration, c.Warmup)
	case c.Rate < 0 || c.Rate != c.Rate || c.Rate > 1e9:
		return bad("rate must be 0 (flat out) to 1e9 messages/s, got %v", c.Rate)
	case c.Rate == 0 && (c.Window < 1 || c.Window > maxWindow):
		return bad("window must be 1 to %d, got %d", maxWindow, c.Window)
	case c.Drain < 0 || c.Drain > time.Hour:
		return bad("drain must be 0 to 1h, got %v", c.Drain)
	case c.Parallel < 1 || c.Parallel > maxParallel:
		return bad("parallel must be 1 to %d, got %d", maxParallel, c.Parallel)
	case c.IdleSettle < 0 || c.IdleSettle > time.Hour:
		return bad("idle must be 0 to 1h, got %v", c.IdleSettle)
	case c.SetupTimeout <= 0:
		return bad("setup timeout must be positive")
	case c.Protocol != protocol.VersionV1 && c.Protocol != protocol.Version:
		return bad("protocol must be %d or %d, got %d", protocol.VersionV1, protocol.Version, c.Protocol)
	case c.Rooms < 0 || c.Rooms > maxRooms:
		return bad("rooms must be 0 to %d, got %d", maxRooms, c.Rooms)
	case c.Rooms > 0 && c.Protocol < protocol.Version:
		return bad("rooms need protocol %d (-protocol %d)", protocol.Version, protocol.Version)
	case c.Rooms > c.Clients:
		return bad("rooms (%d) must not outnumber clients (%d)", c.Rooms, c.Clients)
	case c.LobbyEvery < 0:
		return bad("lobby-every must be 0 or more, got %d", c.LobbyEvery)
	case c.LobbyEvery > 0 && c.Rooms == 0:
		return bad("lobby-every needs rooms: without them every message goes to the lobby")
	}
	if err := checkPIDs(c.ServerPIDs); err != nil {
		return bad("%v", err)
	}
	kind, _, err := parseTarget(c.Target, c.Addr)
	switch {
	case err != nil:
		return bad("%v", err)
	case kind != targetPyNet && (c.Protocol != protocol.VersionV1 || c.Rooms > 0):
		return bad("target %s: one channel, no rooms and no protocol 2", kind)
	case kind != targetPyNet && c.TLS != nil:
		return bad("target %s: TLS is for PyNet targets only", kind)
	case kind != targetPyNet && strings.ContainsAny(c.Name, " \t\r\n*>"):
		return bad("name %q cannot be a channel or subject", c.Name)
	}
	// The longest name is NAME-RRRR-NNNNN (the fallback when a name is taken).
	longest := fmt.Sprintf("%s-ffff-%0*d", c.Name, digits(c.Clients), c.Clients)
	if perr := protocol.CheckUsername(longest); perr != nil {
		return bad("name %q does not make valid usernames: %s", c.Name, perr.Message)
	}
	if c.Rooms > 0 {
		if _, perr := protocol.FoldRoom(roomName(c.Name, c.Rooms-1, c.Rooms)); perr != nil {
			return bad("name %q does not make valid room names: %s", c.Name, perr.Message)
		}
	}
	return nil
}

// splitAddrs splits a comma-separated list of host:port (spaces around
// the commas allowed). Every address needs a port, and none may be listed
// twice.
func splitAddrs(list string) ([]string, error) {
	var addrs []string
	for a := range strings.SplitSeq(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, fmt.Errorf("address list %q has an empty address", list)
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("address %q: %v", a, err)
		}
		if slices.Contains(addrs, a) {
			return nil, fmt.Errorf("address %s is listed twice", a)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// ParsePIDs parses the -server-pid flag: process ids separated by commas,
// each listed once. An empty string is no process.
func ParsePIDs(list string) ([]int, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var pids []int
	for f := range strings.SplitSeq(list, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("server-pid %q: %q is not a process id", list, strings.TrimSpace(f))
		}
		pids = append(pids, pid)
	}
	if err := checkPIDs(pids); err != nil {
		return nil, err
	}
	return pids, nil
}

// checkPIDs refuses ids that cannot be processes and ids listed twice
// (their CPU time would count twice).
func checkPIDs(pids []int) error {
	for i, pid := range pids {
		if pid <= 0 {
			return fmt.Errorf("server-pid must be process ids, got %d", pid)
		}
		if slices.Contains(pids[:i], pid) {
			return fmt.Errorf("server-pid %d is listed twice", pid)
		}
	}
	return nil
}

// nodeOf is the index of the address client i (0-based) dials, of n.
// Without rooms it is i mod n, so that the clients, and the senders (the
// first Senders clients), are spread evenly over the nodes. With rooms, i
// mod n is kept when rooms and n have no common factor; when they have one,
// g, i mod n would put each room on n/g of the nodes only (2 nodes and 100
// rooms: every room on one node), so the assignment moves on by one node
// every lcm(rooms, n) clients: (i + i/lcm) mod n. Either way the clients
// of every node, the senders of every node and the members of every room
// on every node differ by one at most, and the first m members of a room
// are on min(m, n) nodes (TestNodeOf).
func nodeOf(i, n, rooms int) int {
	if rooms == 0 {
		return i % n
	}
	g := gcd(rooms, n)
	if g == 1 {
		return i % n
	}
	return (i + i/(rooms/g*n)) % n
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// lobby is the room every client is in.
const lobby = "lobby"

// roomName is the name of room j (0-based) of n: NAME-r001, ..., folded
// to lower case as the server reports it.
func roomName(name string, j, n int) string {
	return strings.ToLower(fmt.Sprintf("%s-r%0*d", name, max(3, len(fmt.Sprint(n))), j+1))
}

// digits is the width of the client numbers in usernames: at least 4.
func digits(n int) int {
	d := len(fmt.Sprint(n))
	if d < 4 {
		d = 4
	}
	return d
}
