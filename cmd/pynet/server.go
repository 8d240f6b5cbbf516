package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"pynet/internal/auth/argon2id"
	"pynet/internal/metrics"
	"pynet/internal/server"
	"pynet/internal/store/sqlitestore"
)

func init() {
	register(&command{name: "server", summary: "run the chat server", run: runServer})
}

// serverFlags is what `pynet server` is told on its command line.
type serverFlags struct {
	addr       string
	cfg        server.Config
	tlsCert    string
	tlsKey     string
	logFormat  string
	logLevel   string
	trace      bool
	cpuProfile string
	metrics    string
	metricsPub bool
	pprof      bool
	data       string
	retain     int
	fsync      string
	exempt     string
	cluster    clusterFlags
}

func parseServerFlags(args []string, stderr io.Writer) (*serverFlags, error) {
	sf := &serverFlags{cfg: server.DefaultConfig()}
	fs := flag.NewFlagSet("pynet server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pynet server [flags]\n\nRuns the PyNet chat server (protocol version 2: docs/protocol.md). Durations take Go syntax (30s, 1m30s)\nor a number of seconds; 0 turns a timer off.\n\nflags:\n")
		fs.PrintDefaults()
	}
	c := &sf.cfg
	fs.StringVar(&sf.addr, "addr", "127.0.0.1:5050", "`host:port` to listen on (port 0 picks a free port)")
	fs.IntVar(&c.History, "history", c.History, "public messages kept and replayed to joiners")
	fs.IntVar(&c.MaxClients, "max-clients", c.MaxClients, "most connections at once, joined or not")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "frames per second each connection may send on average (0 = no limit)")
	fs.IntVar(&c.Burst, "burst", c.Burst, "frames a connection may send in a burst (0 = no limit)")
	fs.Var(durationFlag{&c.PingInterval}, "ping-interval", "ping a connection after this much silence")
	fs.Var(durationFlag{&c.IdleTimeout}, "idle-timeout", "close a connection silent for this long")
	fs.Var(durationFlag{&c.JoinTimeout}, "join-timeout", "close a connection that has not joined within this time")
	fs.IntVar(&c.MaxFrame, "max-frame", c.MaxFrame, "longest line accepted, in `bytes`")
	fs.IntVar(&c.MaxQueue, "max-queue", c.MaxQueue, "outbound `bytes` pending per connection before it is cut off as a slow consumer")
	fs.StringVar(&sf.tlsCert, "tls-cert", "", "PEM certificate `file`: serve TLS (with -tls-key)")
	fs.StringVar(&sf.tlsKey, "tls-key", "", "PEM private key `file` for -tls-cert")
	fs.StringVar(&sf.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&sf.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&sf.trace, "trace", false, "print every read and write with its bytes and frames to stderr (for learning)")
	fs.StringVar(&sf.cpuProfile, "cpuprofile", "", "write a CPU profile to `file` until shutdown")
	fs.StringVar(&sf.data, "data", "", "`dir`ectory of the message store (SQLite): history, ids, accounts and sessions survive restarts; none = memory only")
	fs.IntVar(&sf.retain, "retain", 100000, "with -data or -cluster: messages kept per room and per pair of users (0 = keep everything)")
	fs.StringVar(&sf.fsync, "fsync", "batch", "with -data: batch (sync at least once a second) or always (sync before any message is delivered)")
	fs.IntVar(&c.ReplayMax, "replay-max", c.ReplayMax, "most messages in one replay from a position (1 to 100000)")
	fs.Var(durationFlag{&c.ResumeGrace}, "resume-grace", "how long a dropped v2 session is held for its resume (0 = no holds)")
	fs.Var(durationFlag{&c.LineTimeout}, "line-timeout", "close a connection whose current line has been pending this long")
	fs.IntVar(&c.MaxRooms, "max-rooms", c.MaxRooms, "rooms per user, lobby included")
	fs.IntVar(&c.PresenceLimit, "presence-limit", c.PresenceLimit, "over this many members a room sends no joined/left/renamed and no member lists (0 = none anywhere, at most 1500)")
	fs.IntVar(&c.MaxPerIP, "max-per-ip", c.MaxPerIP, "connections and held sessions per address, IPv6 per /64 (0 = no limit)")
	fs.StringVar(&sf.exempt, "ip-limit-exempt", "127.0.0.1,::1", "comma-separated addresses or CIDRs that -max-per-ip does not apply to")
	fs.BoolVar(&c.InsecureAuth, "insecure-auth", false, "allow passwords and account tokens over plain TCP from other addresses than 127.0.0.1 and ::1")
	fs.BoolVar(&sf.metricsPub, "metrics-public", false, "allow -metrics on an address other hosts can reach")
	fs.BoolVar(&sf.pprof, "pprof", false, "also serve /debug/pprof/ on the -metrics address")
	fs.StringVar(&sf.metrics, "metrics", "", "serve /metrics (Prometheus) and /debug/vars over HTTP on `host:port` (off by default; a loopback address unless -metrics-public)")
	sf.cluster.register(fs)
	fs.SetOutput(io.Discard) // a bad flag is said in one line by the caller, not with the whole usage
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if _, _, err := net.SplitHostPort(sf.addr); err != nil {
		return nil, fmt.Errorf("-addr %q: %v", sf.addr, err)
	}
	if _, _, err := net.SplitHostPort(sf.metrics); sf.metrics != "" && err != nil {
		return nil, fmt.Errorf("-metrics %q: %v", sf.metrics, err)
	}
	if (sf.tlsCert == "") != (sf.tlsKey == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	if sf.logFormat != "text" && sf.logFormat != "json" {
		return nil, fmt.Errorf("-log-format must be text or json, not %q", sf.logFormat)
	}
	if _, err := parseLevel(sf.logLevel); err != nil {
		return nil, err
	}
	if sf.fsync != "batch" && sf.fsync != "always" {
		return nil, fmt.Errorf("-fsync must be batch or always, not %q", sf.fsync)
	}
	if sf.retain < 0 {
		return nil, fmt.Errorf("-retain must be 0 (keep everything) or more, not %d", sf.retain)
	}
	if err := sf.cluster.check(sf.data, sf.retain); err != nil {
		return nil, err
	}
	exempt, err := parsePrefixes(sf.exempt)
	if err != nil {
		return nil, fmt.Errorf("-ip-limit-exempt: %v", err)
	}
	c.IPLimitExempt = exempt
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return sf, nil
}

func runServer(ctx context.Context, args []string) int {
	sf, err := parseServerFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pynet server: %v\nrun 'pynet server -h' for the flags\n", err)
		return 2
	}
	level, _ := parseLevel(sf.logLevel)
	// Logs go through a sink with its own goroutine: a slow stderr must not
	// slow the accept loop or the connections down.
	sink := newLogSink(os.Stderr, 4096)
	defer sink.Close()
	var h slog.Handler = slog.NewTextHandler(sink, &slog.HandlerOptions{Level: level})
	if sf.logFormat == "json" {
		h = slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(h)
	sf.cfg.Logger = log
	if sf.trace {
		var mu sync.Mutex
		sf.cfg.Trace = func(line string) {
			mu.Lock()
			fmt.Fprintln(os.Stderr, line)
			mu.Unlock()
		}
	}
	if sf.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(sf.tlsCert, sf.tlsKey)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pynet server: loading TLS certificate: %v\n", err)
			return 1
		}
		sf.cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if sf.cpuProfile != "" {
		stop, err := startCPUProfile(sf.cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pynet server: %v\n", err)
			return 1
		}
		defer stop()
	}
	sf.cfg.Hasher = argon2id.New()
	if sf.data != "" {
		st, err := sqlitestore.Open(sf.data, sqlitestore.Options{Fsync: sf.fsync, Retain: sf.retain, Exclusive: true})
		if err != nil {
			fmt.Fprintf(os.Stderr, "pynet server: opening the store: %v\n", err)
			return 1
		}
		defer func() {
			if err := st.Close(); err != nil {
				log.Error("closing the store failed", "err", err)
			}
		}()
		sf.cfg.Store = st
		log.Info("store open", "dir", sf.data, "epoch", st.Epoch(), "next_id", st.NextID(), "fsync", sf.fsync, "retain", sf.retain)
	}
	if sf.cluster.urls != "" {
		l, err := sf.cluster.open(ctx, sf.retain, log)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pynet server: joining the cluster: %v\n", err)
			return 1
		}
		defer l.Close() // after Serve: the node's last entries are out
		sf.cfg.Cluster = l
		// Control entries share one subject, kept like a room: -retain of
		// them. Two snapshots' worth must fit (one is trimmed only after the
		// next is written), with room for a burst between two snapshots.
		if sf.retain > 0 && sf.cluster.snapshot > sf.retain/10 {
			sf.cluster.snapshot = max(1, sf.retain/10)
			log.Warn("cluster: -cluster-snapshot-every lowered to a tenth of -retain", "every", sf.cluster.snapshot)
		}
		sf.cfg.ClusterSnapshotEvery = sf.cluster.snapshot
		log.Info("cluster joined", "node", l.Node(), "epoch", l.Epoch(), "nats", sf.cluster.urls, "replicas", sf.cluster.replicas, "retain", sf.retain)
	}
	srv, err := server.New(sf.cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pynet server: %v\n", err)
		return 2
	}
	if sf.metrics != "" {
		ms, err := metrics.Start(sf.metrics, srv, log, metrics.Options{Pprof: sf.pprof, Public: sf.metricsPub})
		if err != nil {
			fmt.Fprintf(os.Stderr, "pynet server: %v\n", err)
			return 1
		}
		defer ms.Close() // after Serve: shut down with the server
	}
	ln, err := srv.Listen(ctx, sf.addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pynet server: %v\n", err)
		return 1
	}
	if err := srv.Serve(ctx, ln); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

// parsePrefixes reads a comma-separated list of addresses and CIDRs.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("-log-level must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

// durationFlag accepts a Go duration ("30s", "1m") or a plain number of
// seconds ("30", "0.5"); negative values are refused.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, perr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if perr != nil || secs != secs || secs > 1e9 {
			return fmt.Errorf("%q is not a duration (examples: 30s, 1m30s, 45)", s)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*f.d = d
	return nil
}
