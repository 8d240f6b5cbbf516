// Package natstest starts real NATS servers with JetStream inside the test
// process, for the tests of package cluster and of whatever runs on it.
// Nothing in the pynet binary imports it (it links the whole nats-server).
//
// Every server listens on 127.0.0.1 only, on a port the kernel picks, and
// keeps its JetStream store in a directory of t.TempDir(). Shutdown and
// Restart (same ports, same store) simulate a NATS server going away and
// coming back. Cleanups are registered with t.Cleanup.
//
// # Durability
//
// The servers use nats-server's default file-store policy: writes reach the
// operating system before a publish is acknowledged, and are fsynced every
// sync_interval (2 minutes). A Shutdown is clean (the store is flushed and
// closed), so Restart finds every acknowledged message; what these servers
// cannot simulate is a power loss, where the default would lose up to two
// minutes of acknowledged writes on a single server. See package cluster's
// documentation for what to run in production.
package natstest

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds every wait for a server to accept connections or for
// a cluster to elect its JetStream meta leader.
const readyTimeout = 30 * time.Second

// Server is one nats-server with JetStream, running in this process.
type Server struct {
	t    testing.TB
	name string
	dir  string // JetStream store directory, kept across Restart

	tls *tls.Config // nil: plain TCP

	mu          sync.Mutex
	srv         *server.Server
	port        int      // client port, fixed after the first start
	clusterName string   // "" for a standalone server
	clusterPort int      // route port, fixed
	routes      []string // the other members' route URLs
}

// Start starts a standalone JetStream server. It fails the test if the
// server is not ready within 30 s.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, name: "natstest", dir: filepath.Join(t.TempDir(), "jetstream"), port: -1}
	if err := s.start(); err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// StartTLS starts a standalone JetStream server that accepts clients only
// over TLS with cfg (which holds its certificate).
func StartTLS(t testing.TB, cfg *tls.Config) *Server {
	t.Helper()
	s := &Server{t: t, name: "natstest-tls", dir: filepath.Join(t.TempDir(), "jetstream"), port: -1, tls: cfg}
	if err := s.start(); err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// StartCluster starts n JetStream servers (n >= 1) routed to each other as
// one cluster, and returns once every one accepts connections and the
// JetStream meta group has a leader that knows all n of them.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	if n < 1 {
		t.Fatalf("natstest: a cluster of %d servers", n)
	}
	var lastErr error
	// Route ports are chosen before the servers start (each needs the
	// others' addresses); another process may take one in between, so a
	// failed start is retried with new ports.
	for attempt := 0; attempt < 3; attempt++ {
		servers, err := startCluster(t, n, attempt)
		if err == nil {
			return servers
		}
		lastErr = err
	}
	t.Fatalf("natstest: cluster of %d: %v", n, lastErr)
	return nil
}

func startCluster(t testing.TB, n, attempt int) ([]*Server, error) {
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("natstest-%d", attempt)
	servers := make([]*Server, n)
	for i := range servers {
		s := &Server{t: t, name: fmt.Sprintf("n%d", i+1), dir: filepath.Join(t.TempDir(), "jetstream"),
			port: -1, clusterName: name, clusterPort: ports[i]}
		for j, p := range ports {
			if j != i {
				s.routes = append(s.routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		servers[i] = s
	}
	stopAll := func() {
		for _, s := range servers {
			s.Shutdown()
		}
	}
	// Start them all before waiting: a clustered server is not ready
	// until it has found the others.
	for _, s := range servers {
		if err := s.launch(); err != nil {
			stopAll()
			return nil, err
		}
	}
	for _, s := range servers {
		if err := s.waitReady(); err != nil {
			stopAll()
			return nil, err
		}
	}
	if err := WaitMetaLeader(servers, readyTimeout); err != nil {
		stopAll()
		return nil, err
	}
	for _, s := range servers {
		t.Cleanup(s.Shutdown)
	}
	return servers, nil
}

// WaitMetaLeader waits until one of the running servers is the JetStream
// meta leader, sees every server of the cluster as a peer, and every
// running server is current with the meta group.
func WaitMetaLeader(servers []*Server, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		leader, current, running := false, true, 0
		for _, s := range servers {
			srv := s.server()
			if srv == nil {
				continue
			}
			running++
			if srv.JetStreamIsLeader() && len(srv.JetStreamClusterPeers()) >= len(servers) {
				leader = true
			}
			if !srv.JetStreamIsCurrent() {
				current = false
			}
		}
		if running > 0 && leader && current {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no JetStream meta leader with %d peers within %v", len(servers), timeout)
		}
		<-tick.C
	}
}

// freePorts reserves n distinct loopback ports by listening on them, then
// releases them for the servers to take.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

func (s *Server) options() *server.Options {
	o := &server.Options{
		ServerName: s.name,
		Host:       "127.0.0.1",
		Port:       s.port,
		JetStream:  true,
		StoreDir:   s.dir,
		NoLog:      true,
		NoSigs:     true,
		// No HTTP monitoring, no leaf nodes, no gateways: only clients
		// and, in a cluster, routes.
		HTTPPort: 0,
	}
	if s.tls != nil {
		o.TLS, o.TLSConfig, o.TLSTimeout = true, s.tls, 2
	}
	if s.clusterName != "" {
		o.Cluster = server.ClusterOpts{Name: s.clusterName, Host: "127.0.0.1", Port: s.clusterPort}
		for _, r := range s.routes {
			u, err := url.Parse(r)
			if err == nil {
				o.Routes = append(o.Routes, u)
			}
		}
	}
	return o
}

// launch creates and starts the server without waiting for it.
func (s *Server) launch() error {
	srv, err := server.NewServer(s.options())
	if err != nil {
		return err
	}
	go srv.Start()
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	return nil
}

func (s *Server) waitReady() error {
	srv := s.server()
	if srv == nil || !srv.ReadyForConnections(readyTimeout) {
		return fmt.Errorf("server %s not ready within %v", s.name, readyTimeout)
	}
	s.mu.Lock()
	if s.port <= 0 {
		s.port = srv.Addr().(*net.TCPAddr).Port
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) start() error {
	if err := s.launch(); err != nil {
		return err
	}
	return s.waitReady()
}

func (s *Server) server() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// URL is the server's client URL, nats://127.0.0.1:PORT; it stays the
// same across Restart.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("nats://127.0.0.1:%d", s.port)
}

// Name is the server's name (n1, n2, … in a cluster).
func (s *Server) Name() string { return s.name }

// Running reports whether the server is up (between Start or Restart and
// Shutdown).
func (s *Server) Running() bool { return s.server() != nil }

// NATS returns the running nats-server (nil after Shutdown), for tests
// that need to look inside, e.g. to find a stream's leader.
func (s *Server) NATS() *server.Server { return s.server() }

// Shutdown stops the server and waits until it has stopped; its store is
// kept for Restart. Shutting down a stopped server does nothing.
func (s *Server) Shutdown() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart shuts the server down if it is running and starts it again on
// the same ports with the same store. It fails the test if the server is
// not ready within 30 s. In a cluster, it does not wait for the restarted
// server to catch up with the others.
func (s *Server) Restart() {
	s.t.Helper()
	s.Shutdown()
	if err := s.start(); err != nil {
		s.t.Fatalf("natstest: restart %s: %v", s.name, err)
	}
}

// URLs lists the servers' client URLs.
func URLs(servers []*Server) []string {
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = s.URL()
	}
	return urls
}
