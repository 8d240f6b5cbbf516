package server_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/servertest"
)

// startTLSServer starts a server with a fresh self-signed certificate for
// 127.0.0.1 and returns it with a client configuration that trusts it.
func startTLSServer(t *testing.T, mutate ...func(*server.Config)) (*opsServer, *tls.Config) {
	t.Helper()
	pair, serverTLS := servertest.LoopbackTLS(t)
	s := startOpsServer(t, func(c *server.Config) {
		c.TLS = serverTLS
		c.Trace = nil
		for _, m := range mutate {
			m(c)
		}
	})
	return s, &tls.Config{RootCAs: pair.CertPool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

func dialTLSPeer(t *testing.T, addr, name string, cfg *tls.Config) *opsPeer {
	t.Helper()
	d := &net.Dialer{Timeout: opsWait}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	tc := tls.Client(nc, cfg.Clone())
	tc.SetDeadline(time.Now().Add(opsWait))
	if err := tc.Handshake(); err != nil {
		nc.Close()
		t.Fatalf("%s: TLS handshake: %v", name, err)
	}
	if v := tc.ConnectionState().Version; v < tls.VersionTLS12 {
		t.Errorf("%s: negotiated TLS version %x, want 1.2 or later", name, v)
	}
	return newOpsPeer(t, name, tc)
}

func TestTLSChat(t *testing.T) {
	s, clientCfg := startTLSServer(t)

	alice := dialTLSPeer(t, s.addr, "alice", clientCfg)
	alice.join()
	bob := dialTLSPeer(t, s.addr, "bob", clientCfg)
	bob.join()
	alice.expect("joined", "username", "bob")

	alice.write(`{"type":"message","text":"hello over TLS","ref":"m1"}` + "\n")
	alice.expect("ack", "ref", "m1")
	bob.expect("message", "from", "alice", "text", "hello over TLS")
	bob.write(`{"type":"private","to":"alice","text":"psst"}` + "\n")
	alice.expect("private", "from", "bob", "to", "alice", "text", "psst")

	// A plain-text client on the TLS port gets nowhere: the server sees a
	// failed handshake and closes the connection, and nothing it sent was
	// taken as a frame.
	plain := dialOpsPeer(t, s.addr, "plain")
	plain.write(`{"type":"join","username":"mallory"}` + "\n" + `{"type":"message","text":"plain text!"}` + "\n")
	plain.nc.SetReadDeadline(time.Now().Add(opsWait))
	got, err := io.ReadAll(plain.rd)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("plain-text client: the server kept the connection open for %v", opsWait)
	}
	if strings.Contains(string(got), "welcome") || strings.Contains(string(got), `"type"`) {
		t.Errorf("plain-text client got frames: %q", got)
	}

	// One that sends nothing blocks nobody: its handshake waits on its own
	// goroutine while others join and chat.
	silent := dialOpsPeer(t, s.addr, "silent")
	carol := dialTLSPeer(t, s.addr, "carol", clientCfg)
	w := carol.join()
	if users, _ := w["users"].([]any); len(users) != 3 {
		t.Errorf("carol's welcome lists %v, want alice, bob and carol", w["users"])
	}
	carol.expect("message", "from", "alice", "text", "hello over TLS") // history
	alice.expect("joined", "username", "carol")
	bob.expect("joined", "username", "carol")
	alice.write(`{"type":"message","text":"still here"}` + "\n")
	bob.expect("message", "from", "alice", "text", "still here")
	carol.expect("message", "from", "alice", "text", "still here")

	if st := s.srv.Stats(); st.Joined.Load() != 3 || st.Broadcasts.Load() != 2 {
		t.Errorf("stats: %d joined, %d broadcasts; want 3 and 2", st.Joined.Load(), st.Broadcasts.Load())
	}

	// Shutdown reaches TLS clients too.
	s.stop()
	for _, p := range []*opsPeer{alice, bob, carol} {
		p.expect("bye", "reason", "shutdown")
		p.nc.Close() // so the server need not linger
	}
	silent.nc.SetReadDeadline(time.Now().Add(opsWait))
	if b, err := io.ReadAll(silent.rd); errors.Is(err, os.ErrDeadlineExceeded) || len(b) > 0 {
		t.Errorf("silent plain-text client after shutdown: read %q, %v; want the connection closed", b, err)
	}
}

func TestTLSRefusesOldVersionsAndUntrustedClients(t *testing.T) {
	s, clientCfg := startTLSServer(t)
	handshake := func(cfg *tls.Config) error {
		t.Helper()
		nc, err := net.DialTimeout("tcp", s.addr, opsWait)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		tc := tls.Client(nc, cfg)
		tc.SetDeadline(time.Now().Add(opsWait))
		return tc.Handshake()
	}

	old := clientCfg.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if err := handshake(old); err == nil {
		t.Errorf("a TLS 1.1 handshake succeeded; the server must require 1.2 or later")
	}
	var unknown *tls.CertificateVerificationError
	if err := handshake(&tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}); !errors.As(err, &unknown) {
		t.Errorf("a client that does not trust the self-signed certificate: handshake error %v, want a verification error", err)
	}
	// The server is none the worse.
	p := dialTLSPeer(t, s.addr, "dave", clientCfg)
	p.join()
}

// The server's timers are read deadlines; over TLS a read that times out
// must leave the connection usable (crypto/tls keeps a timed-out read
// retryable), so pings go out and chat goes on.
func TestTLSSurvivesReadDeadlines(t *testing.T) {
	s, clientCfg := startTLSServer(t, func(c *server.Config) { c.PingInterval = 50 * time.Millisecond })
	alice := dialTLSPeer(t, s.addr, "alice", clientCfg)
	alice.join()
	for i := 0; i < 3; i++ { // three silences, three deadlines, three pings
		alice.expect("ping")
		alice.write(`{"type":"pong"}` + "\n")
	}
	alice.write(`{"type":"message","text":"still here","ref":"m"}` + "\n")
	for {
		f, raw := alice.next()
		if f["type"] == "ping" {
			continue
		}
		if f["type"] != "ack" || f["ref"] != "m" {
			t.Fatalf("got %s, want the ack", raw)
		}
		break
	}
}

// A TLS member that stops reading is cut off as a slow consumer while the
// others get every message: over TLS too, the writer pool hands a full
// socket to the connection's own writer (the encrypted rest waits in the
// sink's stash), and the queue limit applies.
func TestTLSFrozenReaderIsCutOff(t *testing.T) {
	s, clientCfg := startTLSServer(t, func(c *server.Config) { c.MaxQueue = 256 << 10 })
	raw, err := net.DialTimeout("tcp", s.addr, opsWait)
	if err != nil {
		t.Fatal(err)
	}
	raw.(*net.TCPConn).SetReadBuffer(16 << 10) // so that the kernel holds little for it
	ftc := tls.Client(raw, clientCfg.Clone())
	ftc.SetDeadline(time.Now().Add(opsWait))
	if err := ftc.Handshake(); err != nil {
		t.Fatal(err)
	}
	frozen := newOpsPeer(t, "frozen", ftc)
	frozen.join() // and never reads again

	reader := dialTLSPeer(t, s.addr, "reader", clientCfg)
	reader.join()
	sender := dialTLSPeer(t, s.addr, "sender", clientCfg)
	sender.join()
	reader.expect("joined", "username", "sender")
	text := strings.Repeat("z", 4000)
	const messages = 600 // 2.4 MB: the queue limit plus both sockets' buffers many times over
	left := false
	for i := range messages {
		want := strconv.Itoa(i) + " " + text
		sender.write(`{"type":"message","text":"` + want + `"}` + "\n")
		f, raw := reader.next()
		if f["type"] == "left" && !left {
			if f["username"] != "frozen" || f["reason"] != "slow_consumer" {
				t.Fatalf("reader: got %s, want frozen's left slow_consumer", raw)
			}
			left = true
			f, raw = reader.next()
		}
		if f["type"] != "message" || f["text"] != want {
			t.Fatalf("reader: got %.80s..., want message %d", raw, i)
		}
	}
	if got := s.srv.Stats().Closed.Get("slow_consumer"); got != 1 || !left {
		t.Fatalf("slow_consumer closes = %d, left seen %v; want the frozen TLS reader cut off", got, left)
	}
}
