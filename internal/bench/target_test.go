package bench

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestPeerFrames checks the bytes of a PUBLISH and a PUB.
func TestPeerFrames(t *testing.T) {
	text := []byte("~abcdm000000000000010000000000ff~xy")
	if got, want := string(peerFrame(targetRedis, "bench", text)),
		"*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$35\r\n"+string(text)+"\r\n"; got != want {
		t.Errorf("redis frame %q, want %q", got, want)
	}
	if got, want := string(peerFrame(targetNATS, "bench", text)), "PUB bench 35\r\n"+string(text)+"\r\n"; got != want {
		t.Errorf("nats frame %q, want %q", got, want)
	}
	if got, want := string(redisSubscribe("bench")), "*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n"; got != want {
		t.Errorf("subscribe %q, want %q", got, want)
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct{ target, addr, kind, addrs string }{
		{"", "127.0.0.1:5050", targetPyNet, "127.0.0.1:5050"},
		{"", "127.0.0.1:1,127.0.0.1:2", targetPyNet, "127.0.0.1:1 127.0.0.1:2"},
		{"", " 127.0.0.1:1 , [::1]:2 ", targetPyNet, "127.0.0.1:1 [::1]:2"},
		{"pynet://127.0.0.1:1", "127.0.0.1:5050", targetPyNet, "127.0.0.1:1"},
		{"pynet://127.0.0.1:1,127.0.0.1:2/", "127.0.0.1:5050", targetPyNet, "127.0.0.1:1 127.0.0.1:2"},
		{"redis://127.0.0.1:6379", "127.0.0.1:5050", targetRedis, "127.0.0.1:6379"},
		{"nats://127.0.0.1:4222/", "127.0.0.1:5050", targetNATS, "127.0.0.1:4222"},
	} {
		kind, addrs, err := parseTarget(tc.target, tc.addr)
		if err != nil || kind != tc.kind || strings.Join(addrs, " ") != tc.addrs {
			t.Errorf("parseTarget(%q, %q) = %q, %q, %v; want %q, %q", tc.target, tc.addr, kind, addrs, err, tc.kind, tc.addrs)
		}
	}
	for _, tc := range [][2]string{
		{"", "127.0.0.1"},                       // no port
		{"", "127.0.0.1:1,"},                    // an empty address
		{"", "127.0.0.1:1,,127.0.0.1:2"},        // an empty address
		{"", "127.0.0.1:1,127.0.0.1:1"},         // twice
		{"", ""},                                // nothing
		{"pynet://127.0.0.1:1,127.0.0.1", "x"},  // no port in the second
		{"nats://127.0.0.1:1,127.0.0.1:2", "x"}, // peers take one address
		{"redis://127.0.0.1:1,127.0.0.1:2", "x"},
	} {
		if kind, addrs, err := parseTarget(tc[0], tc[1]); err == nil {
			t.Errorf("parseTarget(%q, %q) = %q, %q; want an error", tc[0], tc[1], kind, addrs)
		}
	}
}

// script plays a server over net.Pipe: it reads what the client writes
// (want, exactly) and answers with reply, in turn.
func script(t *testing.T, srv net.Conn, steps [][2]string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer srv.Close()
		srv.SetDeadline(time.Now().Add(5 * time.Second))
		for _, st := range steps {
			want, reply := st[0], st[1]
			if want != "" {
				b := make([]byte, len(want))
				n := 0
				for n < len(b) {
					m, err := srv.Read(b[n:])
					if err != nil {
						t.Errorf("server: read %q: %v", want, err)
						return
					}
					n += m
				}
				if string(b) != want {
					t.Errorf("server got %q, want %q", b, want)
					return
				}
			}
			if reply != "" {
				if _, err := srv.Write([]byte(reply)); err != nil {
					t.Errorf("server: write: %v", err)
					return
				}
			}
		}
	}()
	return done
}

func pipeConn(t *testing.T, kind string) (*conn, net.Conn) {
	cli, srv := net.Pipe()
	r := &run{cfg: DefaultConfig(), kind: kind, tally: newTally()}
	c := newConn(r, 0)
	c.nc, c.name = cli, "bench-0001"
	cli.SetDeadline(time.Now().Add(5 * time.Second))
	return c, srv
}

func TestRedisHandshake(t *testing.T) {
	c, srv := pipeConn(t, targetRedis)
	done := script(t, srv, [][2]string{
		{"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n", "*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n"},
	})
	if err := c.peerHandshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.nc.Close()
	<-done

	c, srv = pipeConn(t, targetRedis)
	done = script(t, srv, [][2]string{{"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n", "-NOAUTH Authentication required.\r\n"}})
	if err := c.peerHandshake(); err == nil {
		t.Errorf("handshake refused by the server: no error")
	}
	c.nc.Close()
	<-done
}

func TestNATSHandshake(t *testing.T) {
	c, srv := pipeConn(t, targetNATS)
	done := script(t, srv, [][2]string{
		{"", "INFO {\"server_id\":\"x\"}\r\n"},
		{string(natsHello("bench-0001", "bench")), "PING\r\n"},
		{"PONG\r\n", "PONG\r\n"},
	})
	if err := c.peerHandshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.nc.Close()
	<-done

	c, srv = pipeConn(t, targetNATS)
	done = script(t, srv, [][2]string{
		{"", "INFO {}\r\n"},
		{string(natsHello("bench-0001", "bench")), "-ERR 'Authorization Violation'\r\n"},
	})
	if err := c.peerHandshake(); err == nil {
		t.Errorf("handshake refused by the server: no error")
	}
	c.nc.Close()
	<-done
}

// TestPeerLines checks what a receiver makes of the lines of a peer.
func TestPeerLines(t *testing.T) {
	c, srv := pipeConn(t, targetNATS)
	defer srv.Close()
	c.r.prefix = runPrefix(0xabcd)
	c.r.orderCheck = true
	c.lastSeq = make([]uint32, 4)
	m := makeText(0xabcd, 3, 40)
	putMarker(m, phaseMeasured, 0, 1)
	c.pings = make(chan int, 2)
	c.pings <- 5
	for _, l := range []string{"MSG bench 1 40", string(m), "+OK", "INFO {}", "PONG"} {
		c.handlePeer([]byte(l), 100, true)
	}
	if c.nMeasured != 1 || c.nAcks != 5 || len(c.r.tally.errors) != 0 {
		t.Errorf("measured %d, acks %d, errors %v; want 1, 5, none", c.nMeasured, c.nAcks, c.r.tally.errors)
	}
	c.handlePeer([]byte("PONG"), 100, true) // none asked for
	c.handlePeer([]byte("-ERR 'Slow Consumer'"), 100, true)
	if c.r.tally.errors[errBadLine] != 1 || c.r.tally.errors[errPeer] != 1 {
		t.Errorf("errors %v, want one bad_line and one peer_error", c.r.tally.errors)
	}

	r := &run{cfg: DefaultConfig(), kind: targetRedis, tally: newTally(), prefix: runPrefix(0xabcd)}
	p := &conn{r: r, pub: true}
	for _, l := range []string{":7", ":0", "-ERR x"} {
		p.handlePeer([]byte(l), 100, true)
	}
	if p.nAcks != 3 || r.tally.errors[errPeer] != 1 {
		t.Errorf("publisher: acks %d, errors %v; want 3 and one peer_error", p.nAcks, r.tally.errors)
	}
	s := &conn{r: r, idx: 3}
	for _, l := range []string{"*3", "$7", "message", "$5", "bench", "$40", string(m)} {
		s.handlePeer([]byte(l), 100, true)
	}
	if s.nMeasured != 0 || s.nAll != 0 || len(r.tally.errors) != 1 {
		t.Errorf("own message: counted %d, errors %v; want not counted, no error", s.nAll, r.tally.errors)
	}
}
