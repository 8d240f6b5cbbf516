// Package servertest runs real PyNet servers on 127.0.0.1:0 for the tests
// of other packages: a listener on a free port, Serve in a goroutine, and a
// shutdown that the test waits for.
package servertest

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"pynet/internal/certgen"
	"pynet/internal/server"
)

// Server is a running test server.
type Server struct {
	*server.Server
	Addr string // host:port to dial

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// Start runs a server with the protocol defaults, the rate limit off and
// logs discarded, as changed by mutate, until the end of the test (or an
// earlier Stop).
func Start(tb testing.TB, mutate func(*server.Config)) *Server {
	tb.Helper()
	cfg := server.DefaultConfig()
	cfg.Rate = 0
	cfg.Logger = slog.New(slog.DiscardHandler)
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		tb.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Server: srv, Addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, ln) }()
	tb.Cleanup(func() { s.Stop(tb) })
	return s
}

// Stop shuts the server down and waits for Serve to return (at most 10 s),
// reporting its error. Calling it again does nothing.
func (s *Server) Stop(tb testing.TB) {
	s.once.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				tb.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Errorf("the server did not shut down within 10 s")
		}
	})
}

// LoopbackTLS makes a self-signed certificate for 127.0.0.1, valid for an
// hour, and returns it with a server TLS configuration that uses it (the
// pair also gives a client its CertPool, or files for a command line).
func LoopbackTLS(tb testing.TB) (*certgen.Pair, *tls.Config) {
	tb.Helper()
	pair, err := certgen.Generate([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := pair.TLSCertificate()
	if err != nil {
		tb.Fatal(err)
	}
	return pair, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
