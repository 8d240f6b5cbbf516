package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

func init() {
	register(&command{name: "health", summary: "exit 0 when a server answers a ping in time (for probes)", run: runHealth})
}

func runHealth(ctx context.Context, args []string) int {
	return healthMain(args, os.Stdout, os.Stderr)
}

// healthMain is `pynet health`: it connects, sends a ping before any join
// (PROTOCOL §3 allows it), waits for the pong and leaves. A container's
// HEALTHCHECK or a load balancer's probe runs it; it needs no shell.
func healthMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pynet health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:5050", "the server's `host:port`")
	timeout := fs.Duration("timeout", 3*time.Second, "how long the server has to answer")
	useTLS := fs.Bool("tls", false, "speak TLS (the certificate is not verified: this only checks liveness)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pynet health [-addr HOST:PORT] [-timeout D] [-tls]\n\n"+
			"Exits 0 when the server answers a ping within the timeout, 1 otherwise.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pynet health: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := healthCheck(*addr, *timeout, *useTLS); err != nil {
		fmt.Fprintf(stderr, "pynet health: %s: %v\n", *addr, err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

func healthCheck(addr string, timeout time.Duration, useTLS bool) error {
	deadline := time.Now().Add(timeout)
	d := net.Dialer{Deadline: deadline}
	var nc net.Conn
	var err error
	if useTLS {
		nc, err = tls.DialWithDialer(&d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) // liveness only
	} else {
		nc, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(deadline)
	if _, err := io.WriteString(nc, `{"type":"ping","ref":"health"}`+"\n"); err != nil {
		return err
	}
	rd := bufio.NewReaderSize(nc, 4096)
	for {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("no pong: %w", err)
		}
		switch s := string(line); {
		case strings.Contains(s, `"type":"pong"`) && strings.Contains(s, `"ref":"health"`):
			io.WriteString(nc, `{"type":"leave"}`+"\n")
			return nil
		case strings.Contains(s, `"type":"bye"`):
			return fmt.Errorf("refused: %s", strings.TrimSpace(s))
		}
	}
}
