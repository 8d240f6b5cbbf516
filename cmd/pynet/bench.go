package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"pynet/internal/bench"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "load generator: throughput, latency and set-up rate of a server",
		run: func(ctx context.Context, args []string) int {
			return runBench(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("pynet bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: pynet bench [flags]\n\n"+
			"Connects -clients users to a PyNet server; -senders of them send messages of -size\n"+
			"bytes, every client counts what it receives. Run the server with -rate 0 (no rate\n"+
			"limit), e.g. pynet server -rate 0 -max-queue 8388608.\n\n"+
			"Rooms (-protocol 2 -rooms N): every client is in the lobby and in one of N rooms,\n"+
			"NAME-r001 ...: client i (from 0) in room i mod N + 1, so rooms hold clients/N members\n"+
			"(give or take one) and the first -senders clients are spread over the rooms. Senders\n"+
			"send to their room, and with -lobby-every K every K-th message to the lobby. Each\n"+
			"client expects every message of the rooms it is in, except its own, and checks that\n"+
			"ids rise strictly across everything it receives live (errors: gap, wrong_room,\n"+
			"out_of_order, id_order). 1,000 users in 100 rooms of 10 plus the lobby:\n"+
			"  pynet bench -protocol 2 -clients 1000 -senders 100 -rooms 100\n\n"+
			"Peers (-target redis://HOST:PORT or nats://HOST:PORT): every client subscribes to one\n"+
			"channel (subject) named -name, senders publish to it, with the same marker, checks and\n"+
			"histogram. Flat out, a Redis sender publishes on a second connection and PUBLISH's\n"+
			"reply is its ack; a NATS sender follows each batch with PING, whose PONG acks it.\n"+
			"Redis delivers a sender's messages to its own subscription too: those are not counted.\n\n"+
			"Cluster (-addr A,B,C or -target pynet://A,B,C): the clients are spread over the N nodes,\n"+
			"client i (from 0) on node i mod N, so the first -senders clients are spread too. With\n"+
			"rooms, when rooms and N have a common factor, the assignment moves on by one node every\n"+
			"lcm(rooms, N) clients, so that every room spans the nodes. The nodes must be one chat:\n"+
			"each client expects every message as on one server. -server-pid takes every process of\n"+
			"the cluster (each pynet node and the NATS server); the CPU, and the RSS, reported are\n"+
			"their sums. The result lists each node's clients, senders and deliveries:\n"+
			"  pynet bench -addr 127.0.0.1:5050,127.0.0.1:5051,127.0.0.1:5052 -server-pid 101,102,103,100\n\n"+
			"flags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "server `host:port`, or a cluster's nodes as host:port,host:port,... (the clients are spread over them)")
	fs.StringVar(&cfg.Target, "target", "", "what to drive, replacing -addr: pynet://HOST:PORT (pynet://A,B,... for a cluster), or for\n"+
		"comparison redis://HOST:PORT (Redis pub/sub, one channel) or nats://HOST:PORT (NATS core pub/sub, one subject)")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "connections that join")
	fs.IntVar(&cfg.Senders, "senders", cfg.Senders, "how many of the clients send (0: measure set-up only)")
	fs.IntVar(&cfg.Size, "size", cfg.Size, "`bytes` of text per message (33 to 4096)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured window")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "traffic before the window, not measured")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "total offered `messages/s`, open loop, latency from the scheduled time; 0 = flat out")
	fs.IntVar(&cfg.Window, "window", cfg.Window, "with -rate 0: unacknowledged messages per sender")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "longest wait for messages in flight after the window")
	fs.IntVar(&cfg.Parallel, "parallel", cfg.Parallel, "connections being set up at once")
	fs.DurationVar(&cfg.IdleSettle, "idle", cfg.IdleSettle, "with -senders 0 and -server-pid: how long the joined connections sit idle before the server's memory is read")
	fs.DurationVar(&cfg.SetupTimeout, "setup-timeout", cfg.SetupTimeout, "longest connection set-up; the run goes on with those joined")
	fs.StringVar(&cfg.Name, "name", cfg.Name, "username prefix: NAME-0001, NAME-0002, ...")
	fs.Func("server-pid", "server process `ids` on this machine, separated by commas: report their CPU time (summed) per\n"+
		"delivery; for a cluster list every pynet node and the NATS server", func(v string) (err error) {
		cfg.ServerPIDs, err = bench.ParsePIDs(v)
		return err
	})
	fs.IntVar(&cfg.Protocol, "protocol", cfg.Protocol, "protocol `version` the clients join with: 1 (lobby only, comparable with older servers) or 2")
	fs.IntVar(&cfg.Rooms, "rooms", 0, "with -protocol 2: `N` rooms besides the lobby, each client in one of them (0: the lobby only)")
	fs.IntVar(&cfg.LobbyEvery, "lobby-every", 0, "with -rooms: every `K`-th message of each sender goes to the lobby (0: none)")
	useTLS := fs.Bool("tls", false, "connect with TLS (PyNet targets; a server run with -tls-cert)")
	caFile := fs.String("tls-ca", "", "PEM `file` of CA certificates to trust instead of the system's, e.g. the cert.pem of\n"+
		"pynet cert (implies -tls)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object on stdout")
	f, isFile := stderr.(*os.File)
	progress := fs.Bool("progress", isFile && bench.IsTerminal(f), "progress line on stderr (default: when stderr is a terminal)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pynet bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	tlsConfig, err := clientTLS(*useTLS, *caFile, false)
	if err != nil {
		fmt.Fprintf(stderr, "pynet bench: %v\n", err)
		return 2
	}
	cfg.TLS = tlsConfig
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "pynet %v\n", err) // "pynet bench: bad configuration: ..."
		return 2
	}
	if *progress {
		cfg.Progress = stderr
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "pynet bench: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		err = enc.Encode(res)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pynet bench: %v\n", err)
		return 1
	}
	if res.Connected == 0 {
		return 1 // nothing could be measured
	}
	return 0
}
