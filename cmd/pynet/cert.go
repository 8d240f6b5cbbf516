package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"pynet/internal/certgen"
)

func init() {
	register(&command{name: "cert", summary: "write a self-signed TLS certificate and key for trying TLS", run: runCert})
}

func runCert(ctx context.Context, args []string) int {
	return certMain(args, os.Stdout, os.Stderr)
}

// certMain is `pynet cert`, with its output streams passed in.
func certMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pynet cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hostList := fs.String("host", strings.Join(certgen.DefaultHosts, ","), "comma-separated host `names` and IP addresses the certificate is for")
	out := fs.String("out", ".", "`directory` to write cert.pem and key.pem to (created if missing)")
	days := fs.Int("days", int(certgen.DefaultValidity/(24*time.Hour)), "days the certificate is valid")
	force := fs.Bool("force", false, "replace cert.pem and key.pem if they exist")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pynet cert [-host NAME,...] [-out DIR] [-days N] [-force]\n\n"+
			"Writes a self-signed ECDSA P-256 certificate (DIR/cert.pem) and its private key\n"+
			"(DIR/key.pem, mode 0600) for trying PyNet over TLS. Clients trust it only when given\n"+
			"cert.pem as their CA file; use a certificate from a real CA for anything else.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pynet cert: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	hosts, err := certgen.ParseHosts(*hostList)
	if err != nil {
		fmt.Fprintf(stderr, "pynet cert: -host: %v\n", err)
		return 2
	}
	if *days < 1 || *days > 100*365 {
		fmt.Fprintf(stderr, "pynet cert: -days must be between 1 and 36500, not %d\n", *days)
		return 2
	}
	pair, err := certgen.Generate(hosts, time.Duration(*days)*24*time.Hour, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "pynet cert: %v\n", err)
		return 1
	}
	certPath, keyPath, err := pair.WriteFiles(*out, *force)
	if err != nil {
		fmt.Fprintf(stderr, "pynet cert: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s and %s (key mode 0600)\n", certPath, keyPath)
	fmt.Fprintf(stdout, "  for:         %s\n", strings.Join(hosts, ", "))
	fmt.Fprintf(stdout, "  valid until: %s\n", pair.Cert.NotAfter.UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "try it:\n")
	fmt.Fprintf(stdout, "  pynet server -tls-cert %s -tls-key %s\n", certPath, keyPath)
	fmt.Fprintf(stdout, "  pynet client -tls -tls-ca %s -name alice\n", certPath)
	return 0
}
