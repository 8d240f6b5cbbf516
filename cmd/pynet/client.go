package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"pynet/internal/client"
	"pynet/internal/term"
	"pynet/protocol"
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
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: pynet client [flags]\n\n"+
			"On a terminal: an interactive chat (type /help). Otherwise each line of\n"+
			"stdin is sent as one message to the room (lines starting with / are\n"+
			"commands: /msg NAME TEXT, /me, /join, /part, /room, /nick; // sends a\n"+
			"leading /), what arrives is printed on stdout, and the client leaves at\n"+
			"the end of stdin.\n\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", client.DefaultAddr, "server address `host:port`")
	name := fs.String("name", "", "your `username` (asked for when missing on a terminal)")
	rooms := fs.String("rooms", "", "comma-separated `rooms` to enter (default lobby)")
	room := fs.String("room", "", "the `room` plain lines go to (entered if -rooms lacks it)")
	login := fs.Bool("login", false, "log in to the account of -name: the password is asked for with echo off (or read from -password-file)")
	passwordFile := fs.String("password-file", "", "read the account's password from the first line of `file` (implies -login; for scripts)")
	insecureAuth := fs.Bool("insecure-auth", false, "allow a password over plain TCP to a server not on this machine (anyone on the path could read it)")
	useTLS := fs.Bool("tls", false, "connect with TLS")
	caFile := fs.String("tls-ca", "", "PEM `file` of CA certificates to trust instead of the system's (implies -tls)")
	insecure := fs.Bool("tls-insecure", false, "do not verify the server's certificate (implies -tls; unsafe)")
	proto := fs.Int("protocol", 2, "protocol `version` to speak: 2, or 1 for no rooms and no resume")
	jsonOut := fs.Bool("json", false, "print every frame received as JSON, one per line (implies line mode)")
	noColor := fs.Bool("no-color", false, "no colours (also when NO_COLOR is set)")
	stateDir := fs.String("state-dir", defaultStateDir(), "`directory` keeping the input history and the /ignore list between runs (\"\" keeps nothing)")
	trace := fs.Bool("trace", false, "print every read and write with its bytes and frames to stderr, passwords masked (for learning)")
	fs.SetOutput(io.Discard) // errors are said in one line below, not with the whole usage
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage(os.Stdout)
			return 0
		}
		return badUsage(err.Error())
	}
	if fs.NArg() > 0 {
		return badUsage(fmt.Sprintf("unexpected argument %q (flags come as -name VALUE)", fs.Arg(0)))
	}
	if *proto != 1 && *proto != 2 {
		return badUsage(fmt.Sprintf("-protocol %d: this client speaks 1 or 2", *proto))
	}
	tlsConfig, err := clientTLS(*useTLS, *caFile, *insecure)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pynet client: %v\n", err)
		return 2
	}
	interactive := !*jsonOut && term.IsTerminal(os.Stdin) && term.IsTerminal(os.Stdout)
	cfg := client.Config{Addr: *addr, TLS: tlsConfig, InsecureAuth: *insecureAuth, V1: *proto == 1}
	if *trace {
		var mu sync.Mutex
		cfg.Trace = func(line string) {
			mu.Lock()
			fmt.Fprintln(os.Stderr, line)
			mu.Unlock()
		}
	}
	opts := client.Options{
		Config:       cfg,
		Name:         *name,
		Login:        *login,
		PasswordFile: *passwordFile,
		JSON:         *jsonOut,
		Color:        wantColor(*noColor),
		Colors256:    has256Colors(),
	}
	for _, r := range strings.Split(*rooms, ",") {
		if r = strings.TrimSpace(r); r != "" {
			f, err := foldRoom(r)
			if err != nil {
				return badUsage("-rooms: " + err.Error())
			}
			opts.Rooms = append(opts.Rooms, f)
		}
	}
	if *room != "" {
		f, err := foldRoom(*room)
		if err != nil {
			return badUsage("-room: " + err.Error())
		}
		opts.Room = f
		if !slices.Contains(opts.Rooms, f) { // -room alone: that room only
			opts.Rooms = append(opts.Rooms, f)
		}
	}
	if *stateDir != "" {
		opts.HistoryFile = filepath.Join(*stateDir, "history")
		opts.IgnoreFile = filepath.Join(*stateDir, "ignore")
	}
	if interactive {
		return client.RunInteractive(ctx, opts, os.Stdin, os.Stdout, os.Stderr)
	}
	return client.RunPipe(ctx, opts, os.Stdin, os.Stdout, os.Stderr)
}

// foldRoom checks a room name, "#go" or "go", and returns it folded.
func foldRoom(r string) (string, error) {
	f, perr := protocol.FoldRoom(strings.TrimPrefix(r, "#"))
	if perr != nil {
		return "", errors.New(term.RoomRules(r))
	}
	return f, nil
}

// badUsage says what is wrong with the command line in one line, and where
// the flags are, and returns status 2.
func badUsage(msg string) int {
	fmt.Fprintf(os.Stderr, "pynet client: %s\nrun 'pynet client -h' for the flags\n", msg)
	return 2
}

// defaultStateDir is where the client keeps its state: $XDG_STATE_HOME/pynet,
// else ~/.local/state/pynet ("" when there is no home).
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "pynet")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "pynet")
	}
	return ""
}

// wantColor: colour only on a terminal, never with -no-color, NO_COLOR
// (https://no-color.org: any non-empty value) or TERM=dumb.
func wantColor(noColor bool) bool {
	return !noColor && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && term.IsTerminal(os.Stdout)
}

// has256Colors reports a terminal that says it has 256 colours or more.
func has256Colors() bool {
	ct := os.Getenv("COLORTERM")
	return strings.Contains(os.Getenv("TERM"), "256color") || ct == "truecolor" || ct == "24bit"
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
