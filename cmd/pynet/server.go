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
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"pynet/internal/metrics"
	"pynet/internal/server"
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
}

func parseServerFlags(args []string, stderr io.Writer) (*serverFlags, error) {
	sf := &serverFlags{cfg: server.DefaultConfig()}
	fs := flag.NewFlagSet("pynet server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pynet server [flags]\n\nRuns the PyNet chat server (PROTOCOL.md v1). Durations take Go syntax (30s, 1m30s)\nor a number of seconds; 0 turns a timer off.\n\nflags:\n")
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
	fs.StringVar(&sf.metrics, "metrics", "", "serve /metrics (Prometheus), /debug/vars and /debug/pprof/ over HTTP on `host:port` (off by default; keep it private)")
	if err := fs.Parse(args); err != nil {
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
		fmt.Fprintf(os.Stderr, "pynet server: %v\n", err)
		return 2
	}
	level, _ := parseLevel(sf.logLevel)
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	if sf.logFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})
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
	srv, err := server.New(sf.cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pynet server: %v\n", err)
		return 2
	}
	if sf.metrics != "" {
		ms, err := metrics.Start(sf.metrics, srv, log)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pynet server: %v\n", err)
			return 1
		}
		defer ms.Close() // after Serve: shut down with the server
	}
	ln, err := net.Listen("tcp", sf.addr)
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
