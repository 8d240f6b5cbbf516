package bench

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"time"
)

// Targets: what the bench drives. PyNet is the product; Redis pub/sub and
// NATS core pub/sub are peers for a side-by-side comparison with the same
// generator, marker, checks and histogram (see doc.go, "Other targets").
const (
	targetPyNet = "pynet"
	targetRedis = "redis"
	targetNATS  = "nats"
)

// parseTarget splits scheme://host:port. An empty target is PyNet at addr.
// PyNet takes a comma-separated list of addresses, the nodes of a cluster,
// in either form; a peer takes one address.
func parseTarget(target, addr string) (kind string, addrs []string, err error) {
	if target == "" {
		addrs, err := splitAddrs(addr)
		if err != nil {
			return "", nil, fmt.Errorf("addr: %v", err)
		}
		return targetPyNet, addrs, nil
	}
	scheme, rest, ok := strings.Cut(target, "://")
	if !ok {
		return "", nil, fmt.Errorf("target %q: want pynet://, redis:// or nats:// and host:port", target)
	}
	switch scheme {
	case targetPyNet, targetRedis, targetNATS:
	default:
		return "", nil, fmt.Errorf("target %q: unknown scheme %q (pynet, redis, nats)", target, scheme)
	}
	addrs, err = splitAddrs(strings.TrimSuffix(rest, "/"))
	switch {
	case err != nil:
		return "", nil, fmt.Errorf("target %q: %v", target, err)
	case scheme != targetPyNet && len(addrs) > 1:
		return "", nil, fmt.Errorf("target %q: %s takes one address", target, scheme)
	}
	return scheme, addrs, nil
}

// channel is the Redis channel or NATS subject every client listens on.
func (r *run) channel() string { return r.cfg.Name }

// peerFrame is one message frame to a peer carrying text, in the peer's
// wire format: a RESP PUBLISH, or a NATS PUB.
func peerFrame(kind, channel string, text []byte) []byte {
	var b []byte
	if kind == targetRedis {
		b = fmt.Appendf(b, "*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n", len(channel), channel, len(text))
	} else {
		b = fmt.Appendf(b, "PUB %s %d\r\n", channel, len(text))
	}
	b = append(b, text...)
	return append(b, '\r', '\n')
}

var (
	natsPing = []byte("PING\r\n")
	natsPong = []byte("PONG\r\n")
)

// redisSubscribe is the SUBSCRIBE command of a Redis receiver.
func redisSubscribe(channel string) []byte {
	return fmt.Appendf(nil, "*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n", len(channel), channel)
}

// natsHello is what a NATS client sends once it has read INFO: CONNECT
// (verbose off, and echo off so that a sender does not receive its own
// messages, as with PyNet), SUB to the subject, and a PING whose PONG
// confirms all of it.
func natsHello(name, subject string) []byte {
	return fmt.Appendf(nil, "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false,\"lang\":\"go\",\"name\":%q}\r\nSUB %s 1\r\nPING\r\n",
		name, subject)
}

// peerHandshake sets up a connection to a peer (c.nc is dialled, with a
// deadline): a Redis receiver subscribes and waits for the confirmation; a
// NATS client reads INFO, connects, subscribes and waits for the PONG.
func (c *conn) peerHandshake() error {
	ch := c.r.channel()
	if c.r.kind == targetRedis {
		if _, err := c.nc.Write(redisSubscribe(ch)); err != nil {
			return &setupError{errJoin, err}
		}
		// *3 $9 subscribe $N channel :count: the count ends the reply.
		return c.awaitLine(func(line []byte) (bool, error) {
			switch {
			case len(line) > 0 && line[0] == ':':
				return true, nil
			case len(line) > 0 && line[0] == '-':
				return false, fmt.Errorf("redis: %s", clip(line))
			}
			return false, nil
		})
	}
	sawInfo := false
	return c.awaitLine(func(line []byte) (bool, error) {
		switch {
		case bytes.HasPrefix(line, []byte("INFO ")):
			if !sawInfo {
				sawInfo = true
				if _, err := c.nc.Write(natsHello(c.name, ch)); err != nil {
					return false, err
				}
			}
		case bytes.Equal(line, []byte("PING")):
			if _, err := c.nc.Write(natsPong); err != nil {
				return false, err
			}
		case bytes.Equal(line, []byte("PONG")):
			return sawInfo, nil
		case bytes.HasPrefix(line, []byte("-ERR")):
			return false, fmt.Errorf("nats: %s", clip(line))
		}
		return false, nil
	})
}

// awaitLine reads lines during set-up until done says the handshake is
// complete, or fails.
func (c *conn) awaitLine(done func(line []byte) (bool, error)) error {
	for range 1 << 20 { // bounded: a handshake is a few lines
		for {
			line, ok := c.in.next()
			if !ok {
				break
			}
			fin, err := done(line)
			if err != nil {
				return &setupError{errJoin, err}
			}
			if fin {
				return nil
			}
		}
		if err := c.fillSetup(); err != nil {
			return err
		}
	}
	return &setupError{errJoin, fmt.Errorf("no end to the handshake")}
}

// dialPublisher opens a Redis sender's second connection: a subscribed
// Redis connection may not PUBLISH, so a sender publishes on its own
// connection, whose replies (the integer count of receivers) are its acks.
func (c *conn) dialPublisher() error {
	d := net.Dialer{Timeout: joinTimeout}
	nc, err := d.Dial("tcp", c.addr)
	if err != nil {
		return &setupError{errDial, err}
	}
	p := &conn{r: c.r, idx: c.idx, node: c.node, addr: c.addr, room: -1, name: c.name + "-pub", nc: nc, pub: true,
		ackNote: make(chan struct{}, 1), done: make(chan struct{})}
	c.publisher = p
	return nil
}

// handlePeer counts one line from a Redis or NATS server. Payloads hold no
// CR or LF (the marker and the padding are letters and digits), so the
// line framing of lineBuf cuts RESP and NATS replies into their parts; a
// message's payload is the line that starts with the run's marker prefix.
func (c *conn) handlePeer(line []byte, now int64, inWin bool) {
	r := c.r
	if bytes.HasPrefix(line, r.prefix) {
		c.count(line, now, inWin)
		return
	}
	if len(line) == 0 {
		return
	}
	switch r.kind {
	case targetRedis:
		switch line[0] {
		case ':': // PUBLISH's reply: the message is handed to the subscribers
			if c.pub {
				c.nAcks++
			}
			return
		case '*', '$':
			return
		case '-':
			c.peerError(line)
			if c.pub {
				c.nAcks++ // an answer all the same: the window slot is free
			}
			return
		}
		if !c.pub {
			return // "message" and the channel name
		}
	case targetNATS:
		switch {
		case bytes.HasPrefix(line, []byte("MSG ")), bytes.HasPrefix(line, []byte("+OK")),
			bytes.HasPrefix(line, []byte("INFO ")):
			return
		case bytes.Equal(line, []byte("PING")):
			if _, err := c.write(natsPong, time.Now().Add(pongTimeout)); err != nil && !r.stopping.Load() {
				r.tally.addError(errWrite, 1)
			}
			return
		case bytes.Equal(line, []byte("PONG")):
			select {
			case n := <-c.pings:
				c.nAcks += int64(n)
			default:
				r.tally.addError(errBadLine, 1)
				r.tally.note("pong", c.name+": a PONG no PING asked for")
			}
			return
		case bytes.HasPrefix(line, []byte("-ERR")):
			c.peerError(line)
			return
		}
	}
	r.tally.addError(errBadLine, 1)
	r.tally.note("bad_line", fmt.Sprintf("%s: unexpected line %q", c.name, clip(line)))
}

// peerError counts an error reply of a peer under "peer_error".
func (c *conn) peerError(line []byte) {
	c.r.tally.addError(errPeer, 1)
	c.r.tally.note(errPeer, fmt.Sprintf("%s: %s", c.name, clip(line)))
}

// errPeer counts the error replies of Redis or NATS.
const errPeer = "peer_error"

// peer reports whether the run drives Redis or NATS rather than PyNet.
func (r *run) peer() bool { return r.kind == targetRedis || r.kind == targetNATS }
