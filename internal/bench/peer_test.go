package bench_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"pynet/internal/bench"
)

// fakePeer is a scripted stand-in for a Redis or NATS server on a loopback
// listener: enough pub/sub to check the drivers' framing end to end.
type fakePeer struct {
	ln    net.Listener
	mu    sync.Mutex
	subs  []*peerConn
	bad   atomic.Value // string: the first protocol violation seen
	conns sync.WaitGroup
}

type peerConn struct {
	nc  net.Conn
	wmu sync.Mutex
	sid string // NATS subscription id
}

func (p *peerConn) send(b []byte) {
	p.wmu.Lock()
	p.nc.Write(b)
	p.wmu.Unlock()
}

func (f *fakePeer) fail(format string, args ...any) {
	f.bad.CompareAndSwap(nil, fmt.Sprintf(format, args...))
}

func startFake(t *testing.T, serve func(*fakePeer, *peerConn, *bufio.Reader)) *fakePeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePeer{ln: ln}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			go func() {
				defer f.conns.Done()
				defer nc.Close()
				serve(f, &peerConn{nc: nc}, bufio.NewReader(nc))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, s := range f.subs {
			s.nc.Close()
		}
		f.mu.Unlock()
		f.conns.Wait()
		if v := f.bad.Load(); v != nil {
			t.Errorf("fake server: %s", v)
		}
	})
	return f
}

func (f *fakePeer) subscribe(c *peerConn) {
	f.mu.Lock()
	f.subs = append(f.subs, c)
	f.mu.Unlock()
}

func (f *fakePeer) subscribers() []*peerConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*peerConn(nil), f.subs...)
}

func readLine(r *bufio.Reader) (string, error) {
	s, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(s, "\r\n") {
		return "", fmt.Errorf("line %q not ended by CRLF", s)
	}
	return strings.TrimSuffix(s, "\r\n"), nil
}

// serveRedis speaks RESP: arrays of bulk strings in, SUBSCRIBE and PUBLISH.
func serveRedis(f *fakePeer, c *peerConn, r *bufio.Reader) {
	for {
		line, err := readLine(r)
		if err != nil {
			if err != io.EOF && !strings.Contains(err.Error(), "closed") && !strings.Contains(err.Error(), "reset") {
				f.fail("redis: %v", err)
			}
			return
		}
		n, err := strconv.Atoi(strings.TrimPrefix(line, "*"))
		if !strings.HasPrefix(line, "*") || err != nil || n < 1 || n > 8 {
			f.fail("redis: not an array header: %q", line)
			return
		}
		args := make([]string, n)
		for i := range args {
			h, err := readLine(r)
			l, err2 := strconv.Atoi(strings.TrimPrefix(h, "$"))
			if err != nil || err2 != nil || !strings.HasPrefix(h, "$") || l < 0 || l > 1<<20 {
				f.fail("redis: not a bulk header: %q", h)
				return
			}
			b := make([]byte, l+2)
			if _, err := io.ReadFull(r, b); err != nil || string(b[l:]) != "\r\n" {
				f.fail("redis: bulk of %d bytes not ended by CRLF", l)
				return
			}
			args[i] = string(b[:l])
		}
		switch {
		case args[0] == "SUBSCRIBE" && n == 2:
			f.subscribe(c)
			c.send(fmt.Appendf(nil, "*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n", len(args[1]), args[1]))
		case args[0] == "PUBLISH" && n == 3:
			subs := f.subscribers()
			msg := fmt.Appendf(nil, "*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(args[1]), args[1], len(args[2]), args[2])
			for _, s := range subs {
				if s == c {
					f.fail("redis: PUBLISH on a subscribed connection")
				}
				s.send(msg)
			}
			c.send(fmt.Appendf(nil, ":%d\r\n", len(subs)))
		default:
			f.fail("redis: unexpected command %q", args)
			c.send([]byte("-ERR unknown command\r\n"))
		}
	}
}

// serveNATS speaks the NATS client protocol: INFO, CONNECT, SUB, PUB,
// PING/PONG. It pings every client once after its SUB (the client must
// answer PONG) and honours echo false.
func serveNATS(f *fakePeer, c *peerConn, r *bufio.Reader) {
	c.send([]byte(`INFO {"server_id":"fake","version":"0.0.0","max_payload":1048576}` + "\r\n"))
	connected := false
	for {
		line, err := readLine(r)
		if err != nil {
			if err != io.EOF && !strings.Contains(err.Error(), "closed") && !strings.Contains(err.Error(), "reset") {
				f.fail("nats: %v", err)
			}
			return
		}
		verb, rest, _ := strings.Cut(line, " ")
		switch verb {
		case "CONNECT":
			var opts struct {
				Verbose *bool `json:"verbose"`
				Echo    *bool `json:"echo"`
			}
			if err := json.Unmarshal([]byte(rest), &opts); err != nil || opts.Verbose == nil || *opts.Verbose || opts.Echo == nil || *opts.Echo {
				f.fail("nats: CONNECT %s: want verbose and echo false", rest)
			}
			connected = true
		case "SUB":
			fields := strings.Fields(rest)
			if !connected || len(fields) != 2 {
				f.fail("nats: SUB %q before CONNECT or malformed", rest)
				return
			}
			c.sid = fields[1]
			f.subscribe(c)
			c.send([]byte("PING\r\n"))
		case "PUB":
			fields := strings.Fields(rest)
			l, err := strconv.Atoi(fields[len(fields)-1])
			if len(fields) != 2 || err != nil || l < 0 || l > 1<<20 {
				f.fail("nats: malformed PUB %q", rest)
				return
			}
			b := make([]byte, l+2)
			if _, err := io.ReadFull(r, b); err != nil || string(b[l:]) != "\r\n" {
				f.fail("nats: payload of %d bytes not ended by CRLF", l)
				return
			}
			for _, s := range f.subscribers() {
				if s != c { // echo false
					s.send(fmt.Appendf(nil, "MSG %s %s %d\r\n%s", fields[0], s.sid, l, b))
				}
			}
		case "PING":
			c.send([]byte("PONG\r\n"))
		case "PONG":
		default:
			f.fail("nats: unexpected %q", line)
			c.send([]byte("-ERR 'Unknown Protocol Operation'\r\n"))
		}
	}
}

func peerConfig(target string) bench.Config {
	cfg := shortConfig("")
	cfg.Target = target
	cfg.Clients = 6
	return cfg
}

func TestRunRedisFlatOut(t *testing.T) {
	f := startFake(t, serveRedis)
	res, err := bench.Run(context.Background(), peerConfig("redis://"+f.ln.Addr().String()))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
}

func TestRunRedisOpenLoop(t *testing.T) {
	f := startFake(t, serveRedis)
	cfg := peerConfig("redis://" + f.ln.Addr().String())
	cfg.Rate = 500
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
}

func TestRunNATSFlatOut(t *testing.T) {
	f := startFake(t, serveNATS)
	cfg := peerConfig("nats://" + f.ln.Addr().String())
	cfg.Window = 4 // many PING round trips
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
}

func TestRunNATSOpenLoop(t *testing.T) {
	f := startFake(t, serveNATS)
	cfg := peerConfig("nats://" + f.ln.Addr().String())
	cfg.Rate = 500
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, res)
}

func TestPeerTargetRefused(t *testing.T) {
	for _, target := range []string{"redis:/127.0.0.1:1", "memcached://127.0.0.1:1", "nats://127.0.0.1", "redis://"} {
		cfg := peerConfig(target)
		if err := cfg.Validate(); err == nil {
			t.Errorf("target %q accepted", target)
		}
	}
	cfg := peerConfig("nats://127.0.0.1:1")
	cfg.Name = "a b"
	if err := cfg.Validate(); err == nil {
		t.Errorf("a subject with a space accepted")
	}
}
