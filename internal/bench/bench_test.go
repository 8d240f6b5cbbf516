package bench_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/bench"
	"pynet/internal/replog/memlog"
	"pynet/internal/server"
	"pynet/internal/servertest"
)

// startServer runs a real server on 127.0.0.1:0 with the rate limit off
// (changed by mutate) until the end of the test, and returns its address.
func startServer(t *testing.T, mutate func(*server.Config)) string {
	t.Helper()
	return servertest.Start(t, mutate).Addr
}

// shortConfig is a small run against addr. Drain is generous: it ends as
// soon as everything arrived, so it only matters when something is lost.
func shortConfig(addr string) bench.Config {
	cfg := bench.DefaultConfig()
	cfg.Addr = addr
	cfg.Clients = 20
	cfg.Senders = 2
	cfg.Duration = 300 * time.Millisecond
	cfg.Warmup = 100 * time.Millisecond
	cfg.Drain = 30 * time.Second
	return cfg
}

// checkSane asserts what every run against a healthy server must report.
func checkSane(t *testing.T, res bench.Result) {
	t.Helper()
	if t.Failed() {
		return
	}
	defer func() {
		if t.Failed() {
			var b bytes.Buffer
			res.WriteText(&b)
			t.Logf("result:\n%s", b.String())
		}
	}()
	if res.Connected != res.Clients || res.Receivers != res.Clients-1 {
		t.Errorf("connected %d, receivers %d; want %d and %d", res.Connected, res.Receivers, res.Clients, res.Clients-1)
	}
	if res.ConnectsPerS <= 0 || res.SetupS <= 0 {
		t.Errorf("set-up %v s, %v/s; want positive", res.SetupS, res.ConnectsPerS)
	}
	if res.Sent <= 0 {
		t.Errorf("sent %d messages, want some", res.Sent)
	}
	if res.Rooms == 0 && res.Expected != res.Sent*int64(res.Receivers) {
		t.Errorf("expected %d deliveries, want sent %d × receivers %d", res.Expected, res.Sent, res.Receivers)
	}
	if res.Delivered != res.Expected || res.DeliveredFraction != 1 {
		t.Errorf("delivered %d of %d (fraction %v), want all", res.Delivered, res.Expected, res.DeliveredFraction)
	}
	if res.DeliveriesPerS <= 0 || res.SentPerS <= 0 {
		t.Errorf("deliveries %v/s, sent %v/s; want positive", res.DeliveriesPerS, res.SentPerS)
	}
	l := res.Latency
	if l.Count != uint64(res.Delivered) {
		t.Errorf("latency count %d, want one per delivery (%d)", l.Count, res.Delivered)
	}
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("latency percentiles not ordered: p50 %v p90 %v p99 %v p99.9 %v max %v", l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	if len(res.Errors) != 0 || len(res.Byes) != 0 || res.Disconnects != 0 {
		t.Errorf("errors %v, byes %v, disconnects %d; want none", res.Errors, res.Byes, res.Disconnects)
	}
	if res.Interrupted || res.WindowS != 0.3 {
		t.Errorf("interrupted %v, window %v s; want a whole 0.3 s window", res.Interrupted, res.WindowS)
	}
}

func TestRunFlatOut(t *testing.T) {
	addr := startServer(t, nil)
	res, err := bench.Run(context.Background(), shortConfig(addr))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
	if res.Window != 64 || res.Offered != 0 {
		t.Errorf("window %d, offered %d; want 64 and none (flat out has no schedule)", res.Window, res.Offered)
	}
}

func TestRunOpenLoop(t *testing.T) {
	addr := startServer(t, nil)
	cfg := shortConfig(addr)
	cfg.Rate = 500
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
	// 500/s for 0.3 s: 150 messages scheduled in the window (the float
	// arithmetic of the schedule may put one on either side of an edge).
	if res.Offered < 149 || res.Offered > 151 || res.Sent+res.Unsent != res.Offered {
		t.Errorf("offered %d, sent %d, unsent %d; want 150 offered = sent + unsent", res.Offered, res.Sent, res.Unsent)
	}
}

// TestRunSeveralTimesOnOneServer checks that a run ignores the history of an
// earlier one and that names freed by the teardown can be taken again, or
// else the fallback names are used.
func TestRunSeveralTimesOnOneServer(t *testing.T) {
	addr := startServer(t, nil)
	for i := range 2 {
		res, err := bench.Run(context.Background(), shortConfig(addr))
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		checkSane(t, res)
	}
}

func TestRunReportsRateLimit(t *testing.T) {
	addr := startServer(t, func(c *server.Config) { c.Rate, c.Burst = 20, 40 })
	cfg := shortConfig(addr)
	cfg.Drain = 0
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// A window of 64 against a burst of 40 (the join took one token).
	if res.Errors["rate_limited"] == 0 {
		t.Errorf("errors %v, want rate_limited", res.Errors)
	}
	if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "-rate 0") {
		t.Errorf("notes %q do not say to run the server with -rate 0", notes)
	}
	if res.DeliveredFraction >= 1 {
		t.Errorf("delivered fraction %v, want < 1: refused messages are not delivered", res.DeliveredFraction)
	}
}

func TestRunNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := shortConfig(addr)
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v (only a bad configuration is an error)", err)
	}
	if res.Connected != 0 || res.Errors["dial"] != int64(cfg.Clients) || res.Sent != 0 {
		t.Errorf("connected %d, errors %v, sent %d; want 0, dial %d, 0", res.Connected, res.Errors, res.Sent, cfg.Clients)
	}
}

func TestRunServerFull(t *testing.T) {
	addr := startServer(t, func(c *server.Config) { c.MaxClients = 15 })
	res, err := bench.Run(context.Background(), shortConfig(addr))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Connected != 15 || res.Byes["server_full"] != 5 || res.Errors["join"] != 5 {
		t.Errorf("connected %d, byes %v, errors %v; want 15, server_full 5, join 5", res.Connected, res.Byes, res.Errors)
	}
	if res.Receivers != 14 || res.DeliveredFraction != 1 {
		t.Errorf("receivers %d, delivered fraction %v; want 14 and 1", res.Receivers, res.DeliveredFraction)
	}
}

func TestRunSetupOnly(t *testing.T) {
	addr := startServer(t, nil)
	cfg := shortConfig(addr)
	cfg.Senders = 0
	cfg.Duration = time.Hour // not used: nothing to send
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Connected != cfg.Clients || res.ConnectsPerS <= 0 || res.Sent != 0 || len(res.Errors) != 0 {
		t.Errorf("connected %d at %v/s, sent %d, errors %v", res.Connected, res.ConnectsPerS, res.Sent, res.Errors)
	}
	if res.ServerRSSKiB != 0 {
		t.Errorf("server RSS reported without a server pid: %d", res.ServerRSSKiB)
	}
}

// With a server pid and no senders, the bench reads the server's memory
// once the clients sit idle. The server here is this very process.
func TestRunSetupOnlyReportsServerMemory(t *testing.T) {
	addr := startServer(t, nil)
	cfg := shortConfig(addr)
	cfg.Senders = 0
	cfg.ServerPIDs = []int{os.Getpid()}
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Connected != cfg.Clients || res.ServerRSSKiB <= 0 {
		t.Fatalf("connected %d, server RSS %d KiB", res.Connected, res.ServerRSSKiB)
	}
	var table strings.Builder
	res.WriteText(&table)
	if !strings.Contains(table.String(), "server RSS") {
		t.Errorf("the table lacks the server RSS row:\n%s", table.String())
	}
}

// cancelOnWrite cancels a context on the first progress line that shows
// the measured window.
type cancelOnWrite struct {
	mu     sync.Mutex
	b      bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if bytes.Contains(p, []byte("measure")) {
		w.cancel()
	}
	return len(p), nil
}

// TestRunInterrupted checks that cancelling ends an hour-long run with what
// was measured so far, and that the progress line is written.
func TestRunInterrupted(t *testing.T) {
	addr := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelOnWrite{cancel: cancel}
	cfg := shortConfig(addr)
	cfg.Warmup = 0
	cfg.Duration = time.Hour
	cfg.Progress = w
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Interrupted || res.WindowS <= 0 || res.WindowS >= 3600 || res.Sent <= 0 {
		t.Errorf("interrupted %v, window %v s, sent %d; want an interrupted window with traffic", res.Interrupted, res.WindowS, res.Sent)
	}
	if len(res.Errors) != 0 || res.Disconnects != 0 {
		t.Errorf("errors %v, disconnects %d; want none", res.Errors, res.Disconnects)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if out := w.b.String(); !strings.Contains(out, "\r") || !strings.Contains(out, "deliveries") {
		t.Errorf("progress output %q, want \\r-updated lines with deliveries", out)
	}
}

// onWrite calls fn once, on the first progress line that holds word.
type onWrite struct {
	word string
	once sync.Once
	fn   func()
}

func (w *onWrite) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.word)) {
		w.once.Do(w.fn)
	}
	return len(p), nil
}

// TestRunServerShutsDown checks that a run whose server goes away ends at
// once, however long its window, and reports why.
func TestRunServerShutsDown(t *testing.T) {
	ts := servertest.Start(t, nil)
	addr, stopServer := ts.Addr, func() { ts.Stop(t) }
	cfg := shortConfig(addr)
	cfg.Warmup = 0
	cfg.Duration = time.Hour
	cfg.Progress = &onWrite{word: "measure", fn: stopServer}
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Disconnects != int64(cfg.Clients) || res.Byes["shutdown"] != int64(cfg.Clients) {
		t.Errorf("disconnects %d, byes %v; want %d and shutdown %d", res.Disconnects, res.Byes, cfg.Clients, cfg.Clients)
	}
	if res.Interrupted || res.WindowS >= 3600 || res.Sent <= 0 {
		t.Errorf("interrupted %v, window %v s, sent %d; want a window cut short, not interrupted", res.Interrupted, res.WindowS, res.Sent)
	}
	if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "closed every connection") {
		t.Errorf("notes %q do not say the server closed every connection", notes)
	}
}

// TestRunV2Lobby is workload A's shape with version 2 joins: flat out,
// every ack's ref unique (v2 sessions de-duplicate refs).
func TestRunV2Lobby(t *testing.T) {
	addr := startServer(t, nil)
	cfg := shortConfig(addr)
	cfg.Protocol = 2
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
	if res.Protocol != 2 || res.PerMessage != float64(cfg.Clients-1) {
		t.Errorf("protocol %d, %v recipients per message; want 2 and %d", res.Protocol, res.PerMessage, cfg.Clients-1)
	}
}

// roomConfig is the room workload in small: 12 clients in the lobby and
// in 3 rooms of 4, one sender per room and one more, every third message
// to the lobby.
func roomConfig(addr string) bench.Config {
	cfg := shortConfig(addr)
	cfg.Clients, cfg.Senders = 12, 4
	cfg.Protocol, cfg.Rooms, cfg.LobbyEvery = 2, 3, 3
	return cfg
}

// checkRooms checks the deliveries a room run of roomConfig must expect:
// 3 per room message, 11 per lobby message.
func checkRooms(t *testing.T, res bench.Result) {
	t.Helper()
	checkSane(t, res)
	if res.SentLobby <= 0 || res.SentLobby >= res.Sent {
		t.Errorf("%d of %d messages to the lobby, want some but not all", res.SentLobby, res.Sent)
	}
	if want := (res.Sent-res.SentLobby)*3 + res.SentLobby*11; res.Expected != want {
		t.Errorf("expected %d deliveries, want %d: (sent %d − lobby %d) × 3 + lobby × 11",
			res.Expected, want, res.Sent, res.SentLobby)
	}
	if res.PerMessage <= 3 || res.PerMessage >= 11 {
		t.Errorf("%v recipients per message, want between 3 and 11", res.PerMessage)
	}
}

func TestRunRoomsFlatOut(t *testing.T) {
	addr := startServer(t, nil)
	res, err := bench.Run(context.Background(), roomConfig(addr))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkRooms(t, res)
	var table strings.Builder
	res.WriteText(&table)
	for _, want := range []string{"protocol 2, lobby + 3 rooms (every 3rd message to the lobby)", "each on average", "to the lobby"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestRunRoomsOpenLoop(t *testing.T) {
	addr := startServer(t, nil)
	cfg := roomConfig(addr)
	cfg.Rate = 600
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkRooms(t, res)
}

// TestRunRoomsOnly has no lobby messages: with rooms of 4, every message
// reaches 3 others.
func TestRunRoomsOnly(t *testing.T) {
	addr := startServer(t, nil)
	cfg := roomConfig(addr)
	cfg.LobbyEvery = 0
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
	if res.SentLobby != 0 || res.Expected != 3*res.Sent {
		t.Errorf("lobby %d, expected %d; want 0 and 3 × sent %d", res.SentLobby, res.Expected, res.Sent)
	}
}

// TestRunRoomsTwice runs the room workload twice on one server: the second
// run's joins get the first run's messages replayed in every room, and must
// read past them without counting them.
func TestRunRoomsTwice(t *testing.T) {
	addr := startServer(t, nil)
	for i := range 2 {
		res, err := bench.Run(context.Background(), roomConfig(addr))
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		checkRooms(t, res)
	}
}

// TestRunRoomsUneven has rooms of 3 and 2 members (5 clients
// in 2 rooms) and senders in both.
func TestRunRoomsUneven(t *testing.T) {
	addr := startServer(t, nil)
	cfg := roomConfig(addr)
	cfg.Clients, cfg.Senders, cfg.Rooms = 5, 2, 2
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
	// Sender 0 is in room 0 (clients 0, 2, 4), sender 1 in room 1 (1, 3).
	if res.Expected <= 0 || res.Delivered != res.Expected {
		t.Errorf("delivered %d of %d", res.Delivered, res.Expected)
	}
}

func TestRunBadConfig(t *testing.T) {
	cfg := bench.DefaultConfig()
	cfg.Size = 5000
	if _, err := bench.Run(context.Background(), cfg); err == nil {
		t.Error("Run accepted a size over max_text")
	}
	cfg = bench.DefaultConfig()
	cfg.Target = "redis://127.0.0.1:6379"
	cfg.TLS = &tls.Config{}
	if _, err := bench.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("Run with TLS to a Redis target: %v, want a configuration error naming TLS", err)
	}
}

// TestRunTLS drives a TLS server: every client completes the handshake
// (its ServerName taken from the address) and gets everything. A bench
// that does not trust the certificate counts each connection as a TLS
// failure, and one without TLS does not join.
func TestRunTLS(t *testing.T) {
	pair, serverTLS := servertest.LoopbackTLS(t)
	addr := startServer(t, func(c *server.Config) { c.TLS = serverTLS })
	cfg := shortConfig(addr)
	cfg.TLS = &tls.Config{RootCAs: pair.CertPool(), MinVersion: tls.VersionTLS12}
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
	var table strings.Builder
	res.WriteText(&table)
	if !res.TLS || !strings.Contains(table.String(), ", TLS,") {
		t.Errorf("result TLS %v, want true and said in the table:\n%s", res.TLS, table.String())
	}

	for _, c := range []struct {
		name string
		tls  *tls.Config
		key  string
	}{
		{"untrusted certificate", &tls.Config{RootCAs: x509.NewCertPool()}, "tls"},
		{"plain TCP", nil, "join"},
	} {
		cfg := shortConfig(addr)
		cfg.Clients, cfg.Senders = 3, 0
		cfg.TLS = c.tls
		res, err := bench.Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: Run: %v", c.name, err)
		}
		if res.Connected != 0 || res.Errors[c.key] != 3 || len(res.Errors) != 1 {
			t.Errorf("%s: connected %d, errors %v; want none joined and 3 %q errors", c.name, res.Connected, res.Errors, c.key)
		}
	}
}

// startCluster runs n servers that share one in-memory replicated log: one
// chat, as a cluster of pynet nodes is. It returns their addresses.
func startCluster(t *testing.T, n int) []string {
	t.Helper()
	log := memlog.New()
	var addrs []string
	for i := range n {
		node := log.Node(fmt.Sprintf("n%d", i+1))
		t.Cleanup(func() { node.Close() })
		addrs = append(addrs, servertest.Start(t, func(c *server.Config) { c.Cluster = node }).Addr)
	}
	return addrs
}

// checkNodes checks the per-node report of a run over addrs: clients and
// senders spread evenly, all joined, and every node's clients received
// messages (from senders on every node: a node alone has not all of them).
func checkNodes(t *testing.T, res bench.Result, addrs []string) {
	t.Helper()
	if res.Addr != strings.Join(addrs, ",") || len(res.Nodes) != len(addrs) {
		t.Fatalf("addr %q, nodes %+v; want %q and one node per address", res.Addr, res.Nodes, addrs)
	}
	var delivered int64
	for k, n := range res.Nodes {
		if n.Addr != addrs[k] || n.Connected != n.Clients || n.Delivered <= 0 {
			t.Errorf("node %d: %+v; want %s, all joined, deliveries", k, n, addrs[k])
		}
		if lo, hi := res.Clients/len(addrs), (res.Clients+len(addrs)-1)/len(addrs); n.Clients < lo || n.Clients > hi {
			t.Errorf("node %d: %d clients, want %d to %d", k, n.Clients, lo, hi)
		}
		if lo, hi := res.Senders/len(addrs), (res.Senders+len(addrs)-1)/len(addrs); n.Senders < lo || n.Senders > hi {
			t.Errorf("node %d: %d senders, want %d to %d", k, n.Senders, lo, hi)
		}
		delivered += n.Delivered
	}
	if delivered != res.Delivered {
		t.Errorf("deliveries per node add up to %d, want %d", delivered, res.Delivered)
	}
	var table strings.Builder
	res.WriteText(&table)
	for _, a := range addrs {
		if !strings.Contains(table.String(), "  "+a+"  ") {
			t.Errorf("the table lacks a row for %s:\n%s", a, table.String())
		}
	}
}

// TestRunCluster spreads the clients over two nodes of one chat: every
// message reaches every other client whichever node it is on, once and in
// order, with ids rising on every connection. The server pids are this
// process and its parent: the CPU reported is their sum.
func TestRunCluster(t *testing.T) {
	addrs := startCluster(t, 2)
	cfg := shortConfig(strings.Join(addrs, ","))
	cfg.ServerPIDs = []int{os.Getpid(), os.Getppid()}
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
	checkNodes(t, res, addrs)
	if !slices.Equal(res.ServerPIDs, cfg.ServerPIDs) || res.ServerCPUS <= 0 || res.ServerCPUPerDeliveryUS <= 0 {
		t.Errorf("server pids %v, CPU %v s, %v µs/delivery; want %v and the CPU of both", res.ServerPIDs,
			res.ServerCPUS, res.ServerCPUPerDeliveryUS, cfg.ServerPIDs)
	}
	var table strings.Builder
	res.WriteText(&table)
	for _, want := range []string{"pynet bench " + res.Addr + ":", "server pids", fmt.Sprintf(" %d,%d ", os.Getpid(), os.Getppid())} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestRunClusterRooms is the room workload over three nodes: 3 rooms and 3
// nodes share a factor, so client i mod 3 alone would put each room on one
// node; the bench spreads every room over all three.
func TestRunClusterRooms(t *testing.T) {
	addrs := startCluster(t, 3)
	cfg := roomConfig("")
	cfg.Target, cfg.Rate = "pynet://"+strings.Join(addrs, ","), 600
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkRooms(t, res)
	checkNodes(t, res, addrs)
}

// TestRunSpreadOverTwoServers runs set-up only over two independent
// servers: each holds the clients that dial it, half of them.
func TestRunSpreadOverTwoServers(t *testing.T) {
	a, b := servertest.Start(t, nil), servertest.Start(t, nil)
	cfg := shortConfig(a.Addr + ", " + b.Addr)
	cfg.Clients, cfg.Senders = 7, 0
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Connected != 7 || len(res.Errors) != 0 || res.Addr != a.Addr+","+b.Addr {
		t.Fatalf("connected %d, errors %v, addr %q", res.Connected, res.Errors, res.Addr)
	}
	want := []bench.Node{{Addr: a.Addr, Clients: 4, Connected: 4}, {Addr: b.Addr, Clients: 3, Connected: 3}}
	if !slices.Equal(res.Nodes, want) {
		t.Errorf("nodes %+v, want %+v", res.Nodes, want)
	}
	if n, m := a.Stats().ConnsAccepted.Load(), b.Stats().ConnsAccepted.Load(); n != 4 || m != 3 {
		t.Errorf("the servers accepted %d and %d connections, want 4 and 3", n, m)
	}
}
