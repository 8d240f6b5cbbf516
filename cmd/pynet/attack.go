package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"pynet/internal/attack"
)

func init() {
	register(&command{
		name:    "attack",
		summary: "attack harness: hostile crowds against a server on this machine, and what a well-behaved pair sees",
		run: func(ctx context.Context, args []string) int {
			return runAttack(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

func runAttack(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := attack.DefaultConfig()
	fs := flag.NewFlagSet("pynet attack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pynet attack -addr HOST:PORT -scenario NAME [flags]\n\n"+
			"Attacks a PyNet server on this machine (loopback only) and measures what a well-behaved\n"+
			"pair of users sees meanwhile (docs/security.md). Attackers connect from 127.0.0.2 ...\n"+
			"127.0.0.(N+1) (-sources N), so per-address limits apply as on a network; every attacker\n"+
			"stays within the default 20 frames/s. The pair joins from 127.0.0.201 and 127.0.0.202 as\n"+
			"protocol 1 clients (lobby), sends -user-rate messages/s each way during the attack and\n"+
			"opens a fresh connection that joins every -fresh-every. Every scenario is bounded and\n"+
			"ends by itself.\n\n"+
			"scenarios (the defaults are issue 9's sizes):\n"+
			"  joinstorm     -joins connections join, -in-flight at a time, and stay until the storm is over\n"+
			"  rename        -renamers joined connections each send nick -nick-rate times a second\n"+
			"  churn         -room idle members; -workers loop connect, join, leave\n"+
			"  slowloris     -conns connections each hold a -partial byte line (no LF), one more byte every -drip\n"+
			"  history-bomb  -bombs messages of 4,096 '\"' (escaped \\\" : the largest frames), then\n"+
			"                -non-readers joiners that never read\n"+
			"  one-address   -conns connections from 127.0.0.2 alone\n\n"+
			"Run the server as `pynet server -addr 127.0.0.1:0` (default limits) and give its process\n"+
			"id with -server-pid to get its peak RSS and CPU time:\n"+
			"  pynet attack -addr 127.0.0.1:5050 -scenario joinstorm -server-pid 4242\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "server `host:port` (an address in 127.0.0.0/8)")
	fs.StringVar(&cfg.Scenario, "scenario", "", "`name`: "+strings.Join(attack.Scenarios, ", "))
	fs.IntVar(&cfg.Sources, "sources", cfg.Sources, fmt.Sprintf("attacker source addresses `N`: 127.0.0.2 to 127.0.0.(N+1), at most %d", attack.MaxSources))
	fs.DurationVar(&cfg.Duration, "duration", 0, "attack phase (joinstorm, one-address: its cap); 0 = the scenario's default (60s for those two, 40s slowloris, 20s the others)")
	fs.IntVar(&cfg.InFlight, "in-flight", cfg.InFlight, "connections being set up at once")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "server process `id` on this machine: report its peak RSS and CPU seconds")
	fs.IntVar(&cfg.Joins, "joins", cfg.Joins, "joinstorm: connections that join")
	fs.IntVar(&cfg.Renamers, "renamers", cfg.Renamers, "rename: joined connections that rename")
	fs.Float64Var(&cfg.NickRate, "nick-rate", cfg.NickRate, "rename: nick frames per second per connection")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "churn: connections looping join and leave")
	fs.IntVar(&cfg.RoomSize, "room", cfg.RoomSize, "churn: idle members of the lobby")
	fs.IntVar(&cfg.Conns, "conns", cfg.Conns, "slowloris, one-address: connections")
	fs.IntVar(&cfg.Partial, "partial", cfg.Partial, "slowloris: `bytes` of the partial line sent at once")
	fs.DurationVar(&cfg.Drip, "drip", cfg.Drip, "slowloris: one more byte every this often")
	fs.IntVar(&cfg.Bombs, "bombs", cfg.Bombs, "history-bomb: max-escaped messages")
	fs.IntVar(&cfg.NonReaders, "non-readers", cfg.NonReaders, "history-bomb: joiners that never read")
	fs.Float64Var(&cfg.UserRate, "user-rate", cfg.UserRate, "messages per second each well-behaved user sends")
	fs.IntVar(&cfg.UserSize, "user-size", 0, "pad the pair's message text to this many `bytes` (0: about 30)")
	fs.DurationVar(&cfg.FreshEvery, "fresh-every", cfg.FreshEvery, "a fresh connection joins this often")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "after the attack, how long to wait for the pair's messages in flight")
	fs.IntVar(&cfg.ExpectPerIP, "expect-per-ip", cfg.ExpectPerIP, "one-address: the server's max_per_ip (the target)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object on stdout")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pynet attack: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.Scenario == "" {
		fmt.Fprintf(stderr, "pynet attack: -scenario is required (%s)\n", strings.Join(attack.Scenarios, ", "))
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "pynet attack: %v\n", err)
		return 2
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	rep, err := attack.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "pynet attack: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "pynet attack: %v\n", err)
			return 1
		}
		return 0
	}
	rep.Print(stdout)
	return 0
}
