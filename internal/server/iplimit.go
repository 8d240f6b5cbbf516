package server

import (
	"net"
	"net/netip"
	"sync"
)

// ipKey is the address max_per_ip counts by: an IPv4 address, or the /64
// an IPv6 address is in (one host usually owns a whole /64). IPv4-mapped
// IPv6 addresses count as IPv4.
type ipKey struct {
	addr netip.Addr
	ok   bool // false: not an IP connection (tests with pipes); never limited
}

func ipKeyOf(a net.Addr) ipKey {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return ipKey{}
	}
	ip := ap.Addr().Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		ip = p.Addr()
	}
	return ipKey{addr: ip, ok: true}
}

func (k ipKey) String() string {
	if !k.ok {
		return ""
	}
	return k.addr.String()
}

// peerAddr is the connection's remote address without its port, for the
// insecure_auth check (which looks at the exact address, not the /64).
func peerAddr(a net.Addr) netip.Addr {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

// isLoopbackPeer reports whether a is 127.0.0.1 or ::1: the only addresses
// from which passwords may travel over plain TCP (PROTOCOL §5.5). The rest
// of 127.0.0.0/8 counts as remote, so that tests can play a remote client.
func isLoopbackPeer(a netip.Addr) bool {
	return a == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || a == netip.IPv6Loopback()
}

// ipLimiter counts connections and held sessions per address (PROTOCOL
// §5.6 max_per_ip). Its own mutex: the accept loop uses it without the hub.
type ipLimiter struct {
	cfg    *Config
	mu     sync.Mutex
	counts map[netip.Addr]int
}

func newIPLimiter(cfg *Config) *ipLimiter {
	return &ipLimiter{cfg: cfg, counts: make(map[netip.Addr]int)}
}

// limited reports whether k is subject to the limit.
func (l *ipLimiter) limited(k ipKey) bool {
	return l.cfg.MaxPerIP > 0 && k.ok && !l.cfg.ipExempt(k.addr)
}

// limitedAddr reports whether k is an address the per-address throttles
// apply to (whatever MaxPerIP says): not exempt, and an IP address.
func (l *ipLimiter) limitedAddr(k ipKey) bool { return k.ok && !l.cfg.ipExempt(k.addr) }

// count returns how many connections and held sessions k has.
func (l *ipLimiter) count(k ipKey) int {
	if !k.ok {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[k.addr]
}

func (l *ipLimiter) add(k ipKey) {
	if !k.ok {
		return
	}
	l.mu.Lock()
	l.counts[k.addr]++
	l.mu.Unlock()
}

func (l *ipLimiter) release(k ipKey) {
	if !k.ok {
		return
	}
	l.mu.Lock()
	if n := l.counts[k.addr]; n <= 1 {
		delete(l.counts, k.addr)
	} else {
		l.counts[k.addr] = n - 1
	}
	l.mu.Unlock()
}

// ipKeyFromString reverses ipKey.String (for sessions read from the store).
func ipKeyFromString(s string) ipKey {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ipKey{}
	}
	return ipKey{addr: a, ok: true}
}
