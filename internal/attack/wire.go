package attack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"pynet/protocol"
)

const (
	dialTimeout  = 10 * time.Second
	writeTimeout = 5 * time.Second
	// answerTimeout bounds the wait for the answer to a join.
	answerTimeout = 10 * time.Second
)

// dial connects to the target from src. rcvbuf > 0 sets a small receive
// buffer before the connection is made (for joiners that never read). On
// Linux the local port is chosen at connect time (IP_BIND_ADDRESS_NO_PORT),
// so tens of thousands of connections from one address do not run out of
// ports.
func dial(ctx context.Context, src netip.Addr, target netip.AddrPort, rcvbuf int) (*net.TCPConn, error) {
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: src.AsSlice()},
		Timeout:   dialTimeout,
		Control:   sockControl(rcvbuf),
	}
	c, err := d.DialContext(ctx, "tcp4", target.String())
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// errKind names a network error for the counts: "refused", "timeout",
// "reset", "addr_in_use", … or "other".
func errKind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.EADDRINUSE), errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no_local_port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "no_file_descriptors"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "other"
}

// frameReader reads a server's lines, returning at most the first
// len(buffer) bytes of each (the type comes first in every frame), and
// counts the bytes it reads.
type frameReader struct {
	br   *bufio.Reader
	skip bool // inside a long line whose head was returned
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 && c.n != nil {
		c.n.Add(int64(n))
	}
	return n, err
}

func newFrameReader(r io.Reader, size int, count *atomic.Int64) *frameReader {
	return &frameReader{br: bufio.NewReaderSize(countingReader{r, count}, size)}
}

// next returns the next line (or the head of a long one), without copying:
// it is valid until the next call.
func (fr *frameReader) next() ([]byte, error) {
	for {
		line, err := fr.br.ReadSlice('\n')
		switch {
		case err == nil:
			if fr.skip {
				fr.skip = false
				continue
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if fr.skip {
				continue
			}
			fr.skip = true
			return line, nil
		default:
			return nil, err
		}
	}
}

var typeKey = []byte(`"type":"`)

// frameType returns the type of a server frame from its first bytes.
func frameType(line []byte) string {
	i := bytes.Index(line, typeKey)
	if i < 0 {
		return ""
	}
	rest := line[i+len(typeKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// smallFrame is what the harness reads from error and bye frames.
type smallFrame struct {
	Type         string `json:"type"`
	Code         string `json:"code"`
	Reason       string `json:"reason"`
	Ref          string `json:"ref"`
	RetryAfterMS int64  `json:"retry_after_ms"`
}

func decodeSmall(line []byte) smallFrame {
	var f smallFrame
	if json.Unmarshal(line, &f) != nil {
		f.Type = frameType(line)
	}
	return f
}

// joinFrame is a version 1 join.
func joinFrame(name string) []byte {
	b := append([]byte(`{"type":"join","username":`), protocol.AppendString(nil, name)...)
	return append(b, "}\n"...)
}

var leaveFrame = []byte("{\"type\":\"leave\"}\n")
var pongFrame = []byte("{\"type\":\"pong\"}\n")

// writeAll writes b with a deadline.
func writeAll(c net.Conn, b []byte) error {
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.Write(b)
	return err
}

// answer is what a connection got for its join.
type answer struct {
	joined bool   // welcome
	code   string // error code (e.g. rate_limited)
	retry  time.Duration
	bye    string // bye reason (server_full, ip_limit, …)
	err    error  // read error or timeout
}

// outcome names an answer for the counts.
func (a answer) outcome() string {
	switch {
	case a.joined:
		return "joined"
	case a.code != "":
		return "error " + a.code
	case a.bye != "":
		return "bye " + a.bye
	}
	return errKind(a.err)
}

// awaitJoin reads until the answer to a join: welcome, error or bye (pings
// are answered). The read deadline is answerTimeout.
func awaitJoin(c net.Conn, fr *frameReader) answer {
	c.SetReadDeadline(time.Now().Add(answerTimeout))
	defer c.SetReadDeadline(time.Time{})
	for {
		line, err := fr.next()
		if err != nil {
			return answer{err: err}
		}
		switch frameType(line) {
		case protocol.MsgWelcome:
			return answer{joined: true}
		case protocol.MsgError:
			f := decodeSmall(line)
			return answer{code: f.Code, retry: time.Duration(f.RetryAfterMS) * time.Millisecond}
		case protocol.MsgBye:
			return answer{bye: decodeSmall(line).Reason}
		case protocol.MsgPing:
			writeAll(c, pongFrame)
		}
	}
}

// tally counts named things from many goroutines.
type tally struct {
	mu sync.Mutex
	m  map[string]int64
}

func (t *tally) add(k string, n int64) {
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[string]int64)
	}
	t.m[k] += n
	t.mu.Unlock()
}

func (t *tally) snapshot() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.m))
	for k, v := range t.m {
		out[k] = v
	}
	return out
}

// formatCounts prints a map as "a 1, b 2" sorted by key.
func formatCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, k...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, m[k], 10)
	}
	return string(b)
}
