package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"sync"

	"pynet/internal/client"
	"pynet/internal/term"
)

func init() {
	register(&command{
		name:    "client",
		summary: "chat in a terminal, or send stdin line by line",
		run:     runClient,
	})
}

// runClient parses the client's flags and runs it: interactive when stdin
// and stdout are a terminal (and -json is off), line by line otherwise.
func runClient(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("pynet client", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: pynet client [flags]\n\n"+
			"On a terminal: an interactive chat (type /help). Otherwise each line of\n"+
			"stdin is sent as one message, what arrives is printed on stdout, and\n"+
			"the client leaves at the end of stdin.\n\nflags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", client.DefaultAddr, "server address `host:port`")
	name := fs.String("name", "", "your `username` (asked for when missing on a terminal)")
	useTLS := fs.Bool("tls", false, "connect with TLS")
	caFile := fs.String("tls-ca", "", "PEM `file` of CA certificates to trust instead of the system's (implies -tls)")
	insecure := fs.Bool("tls-insecure", false, "do not verify the server's certificate (implies -tls; unsafe)")
	jsonOut := fs.Bool("json", false, "print every frame received as JSON, one per line (implies line mode)")
	noColor := fs.Bool("no-color", false, "no colours (also when NO_COLOR is set)")
	trace := fs.Bool("trace", false, "print every read and write with its bytes and frames to stderr (for learning)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "pynet client: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	tlsConfig, err := clientTLS(*useTLS, *caFile, *insecure)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pynet client: %v\n", err)
		return 2
	}
	interactive := !*jsonOut && term.IsTerminal(os.Stdin) && term.IsTerminal(os.Stdout)
	cfg := client.Config{Addr: *addr, TLS: tlsConfig}
	if *trace {
		var mu sync.Mutex
		cfg.Trace = func(line string) {
			mu.Lock()
			fmt.Fprintln(os.Stderr, line)
			mu.Unlock()
		}
	}
	opts := client.Options{
		Config: cfg,
		Name:   *name,
		JSON:   *jsonOut,
		Color:  wantColor(*noColor),
	}
	if interactive {
		return client.RunInteractive(ctx, opts, os.Stdin, os.Stdout, os.Stderr)
	}
	return client.RunPipe(ctx, opts, os.Stdin, os.Stdout, os.Stderr)
}

// wantColor: colour only on a terminal, never with -no-color, NO_COLOR
// (https://no-color.org: any non-empty value) or TERM=dumb.
func wantColor(noColor bool) bool {
	return !noColor && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && term.IsTerminal(os.Stdout)
}

// clientTLS builds the TLS configuration from the flags; nil means plain
// TCP. -tls-insecure warns on stderr, since it gives up what TLS is for.
func clientTLS(on bool, caFile string, insecure bool) (*tls.Config, error) {
	if !on && caFile == "" && !insecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-tls-ca: no PEM certificate in %s", caFile)
		}
		cfg.RootCAs = pool
	}
	if insecure {
		fmt.Fprintln(os.Stderr, "pynet client: warning: -tls-insecure: the server's certificate is not checked, "+
			"so anyone on the network path could read and change the chat")
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}
