package server_test

// Tests of the wire trace (Config.Trace). The helpers prefixed ops are shared
// with tls_test.go.

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/servertest"
)

// opsWait bounds every wait in the ops tests.
const opsWait = 5 * time.Second

// opsLines collects lines (trace lines here) from any goroutine and lets a
// test wait for one that matches.
type opsLines struct {
	mu    sync.Mutex
	lines []string
	note  chan struct{} // a line arrived; capacity 1
}

func newOpsLines() *opsLines { return &opsLines{note: make(chan struct{}, 1)} }

func (l *opsLines) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	select {
	case l.note <- struct{}{}:
	default:
	}
}

func (l *opsLines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// waitFor waits until a line from index from on matches re and returns its
// index and submatches.
func (l *opsLines) waitFor(t *testing.T, from int, re *regexp.Regexp) (int, []string) {
	t.Helper()
	timeout := time.NewTimer(opsWait)
	defer timeout.Stop()
	for {
		lines := l.snapshot()
		for i := from; i < len(lines); i++ {
			if m := re.FindStringSubmatch(lines[i]); m != nil {
				return i, m
			}
		}
		select {
		case <-l.note:
		case <-timeout.C:
			t.Fatalf("no line matching %s within %v; lines:\n%s", re, opsWait, strings.Join(lines, "\n"))
		}
	}
}

// opsServer is a real server on 127.0.0.1:0 whose trace is recorded.
type opsServer struct {
	srv   *server.Server
	addr  string
	trace *opsLines
	stop  func()
}

func startOpsServer(t *testing.T, mutate func(*server.Config)) *opsServer {
	t.Helper()
	trace := newOpsLines()
	ts := servertest.Start(t, func(c *server.Config) {
		c.Trace = trace.add
		if mutate != nil {
			mutate(c)
		}
	})
	return &opsServer{srv: ts.Server, addr: ts.Addr, trace: trace, stop: func() { ts.Stop(t) }}
}

// opsPeer is a protocol client on a connection (TCP or TLS).
type opsPeer struct {
	t    *testing.T
	name string
	nc   net.Conn
	rd   *bufio.Reader
}

func newOpsPeer(t *testing.T, name string, nc net.Conn) *opsPeer {
	t.Cleanup(func() { nc.Close() })
	return &opsPeer{t: t, name: name, nc: nc, rd: bufio.NewReader(nc)}
}

func dialOpsPeer(t *testing.T, addr, name string) *opsPeer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, opsWait)
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	return newOpsPeer(t, name, nc)
}

// write sends raw bytes.
func (p *opsPeer) write(s string) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(opsWait))
	if _, err := io.WriteString(p.nc, s); err != nil {
		p.t.Fatalf("%s: write %q: %v", p.name, s, err)
	}
}

// next reads one frame; raw is the line with its LF.
func (p *opsPeer) next() (f map[string]any, raw string) {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(opsWait))
	line, err := p.rd.ReadString('\n')
	if err != nil {
		p.t.Fatalf("%s: reading a frame: %v (got %q)", p.name, err, line)
	}
	if err := json.Unmarshal([]byte(line), &f); err != nil {
		p.t.Fatalf("%s: bad frame %q: %v", p.name, line, err)
	}
	return f, line
}

// expect reads the next frame and checks its type and string members.
func (p *opsPeer) expect(typ string, members ...string) (map[string]any, string) {
	p.t.Helper()
	f, raw := p.next()
	if f["type"] != typ {
		p.t.Fatalf("%s: got %s, want a %s frame", p.name, strings.TrimSpace(raw), typ)
	}
	for i := 0; i+1 < len(members); i += 2 {
		if f[members[i]] != members[i+1] {
			p.t.Fatalf("%s: got %s, want %s %q", p.name, strings.TrimSpace(raw), members[i], members[i+1])
		}
	}
	return f, raw
}

// join joins as the peer's name and reads the welcome.
func (p *opsPeer) join() map[string]any {
	p.t.Helper()
	p.write(`{"type":"join","username":"` + p.name + `"}` + "\n")
	f, _ := p.expect("welcome", "username", p.name)
	return f
}

var (
	traceRead  = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (conn \d+) read\s+(\d+) bytes  "`)
	traceFrame = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (conn \d+)\s+frame\s+(\d+) bytes  "`)
	traceWrite = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (conn \d+) write\s+(\d+) bytes  (\d+) frame\(s\)$`)
	traceEOF   = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (conn \d+) read  EOF$`)
)

// traceOf returns the trace lines of one connection (tag "conn N") from
// index from on, each reduced to a word and numbers: "read 17",
// "frame 34", "write 120 1", "EOF". Lines of any other shape fail the test.
func traceOf(t *testing.T, lines []string, from int, tag string) []string {
	t.Helper()
	var got []string
	for _, line := range lines[from:] {
		if !strings.Contains(line, " "+tag+" ") {
			continue
		}
		switch {
		case traceRead.MatchString(line):
			got = append(got, "read "+traceRead.FindStringSubmatch(line)[2])
		case traceFrame.MatchString(line):
			got = append(got, "frame "+traceFrame.FindStringSubmatch(line)[2])
		case traceWrite.MatchString(line):
			m := traceWrite.FindStringSubmatch(line)
			got = append(got, "write "+m[2]+" "+m[3])
		case traceEOF.MatchString(line):
			got = append(got, "EOF")
		default:
			t.Errorf("trace line of an unknown shape: %q", line)
		}
	}
	return got
}

func TestTraceFrameSplitOverTwoReads(t *testing.T) {
	s := startOpsServer(t, nil)
	p := dialOpsPeer(t, s.addr, "alice")
	join := `{"type":"join","username":"alice"}` + "\n"
	first, rest := join[:17], join[17:]

	// The first half must arrive as a read of its own: wait until the
	// trace shows it before sending the rest.
	p.write(first)
	start, m := s.trace.waitFor(t, 0, traceRead)
	tag := m[1]
	if m[2] != strconv.Itoa(len(first)) {
		t.Fatalf("first read: %q, want %d bytes", s.trace.snapshot()[start], len(first))
	}
	p.write(rest)
	_, welcome := p.expect("welcome", "username", "alice")
	s.trace.waitFor(t, start, traceWrite) // the write is traced once it returns

	got := traceOf(t, s.trace.snapshot(), start, tag)
	want := []string{
		"read " + strconv.Itoa(len(first)),
		"read " + strconv.Itoa(len(rest)),
		"frame " + strconv.Itoa(len(join)-1), // without its LF
		"write " + strconv.Itoa(len(welcome)) + " 1",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("trace of %s:\n got %q\nwant %q\nfull trace:\n%s", tag, got, want, strings.Join(s.trace.snapshot(), "\n"))
	}

	// The read line shows the bytes as they came, quoted.
	if line := s.trace.snapshot()[start]; !strings.HasSuffix(line, strconv.Quote(first)) {
		t.Errorf("first read line %q does not end with the bytes read, %s", line, strconv.Quote(first))
	}

	// Two frames in one write arrive in one read and are cut into two.
	mark := len(s.trace.snapshot())
	two := `{"type":"ping","ref":"a"}` + "\n" + `{"type":"ping","ref":"b"}` + "\n"
	p.write(two)
	_, pongA := p.expect("pong", "ref", "a")
	_, pongB := p.expect("pong", "ref", "b")
	// The pongs may leave in one write or two; wait until both are traced.
	var frames, bytes int
	for i := mark; frames < 2; i++ {
		var m []string
		i, m = s.trace.waitFor(t, i, traceWrite)
		n, _ := strconv.Atoi(m[2])
		f, _ := strconv.Atoi(m[3])
		bytes, frames = bytes+n, frames+f
	}
	if frames != 2 || bytes != len(pongA)+len(pongB) {
		t.Errorf("writes carried %d frames, %d bytes; want 2 frames, %d bytes", frames, bytes, len(pongA)+len(pongB))
	}
	got = traceOf(t, s.trace.snapshot(), mark, tag)
	var reads []string
	for _, g := range got {
		if !strings.HasPrefix(g, "write ") {
			reads = append(reads, g)
		}
	}
	want = []string{"read " + strconv.Itoa(len(two)), "frame 25", "frame 25"}
	if strings.Join(reads, "; ") != strings.Join(want, "; ") {
		t.Errorf("trace of two frames in one write:\n got %q\nwant %q (writes aside)", reads, want)
	}

	// The end of the stream is traced too.
	mark = len(s.trace.snapshot())
	p.nc.(*net.TCPConn).CloseWrite()
	s.trace.waitFor(t, mark, traceEOF)
}

func TestTraceOffByDefault(t *testing.T) {
	if server.DefaultConfig().Trace != nil {
		t.Fatal("DefaultConfig has a Trace function; tracing must be off by default")
	}
}

// TestConnectionLogLines: every connection logs connected, joined and
// closed, each naming the connection and its remote address first (an
// operator greps for conn=N), then what the line is about.
func TestConnectionLogLines(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.join(t, "alice")
	remote := regexp.QuoteMeta(c.nc.LocalAddr().String())
	c.send(`{"type":"leave"}`)
	c.expectClosed()
	want := []string{
		`msg=connected conn=1 remote=` + remote + `\n`,
		`msg=joined conn=1 remote=` + remote + ` user=alice protocol=1\n`,
		`msg=closed conn=1 remote=` + remote + ` reason=quit\n`,
	}
	for _, w := range want {
		re := regexp.MustCompile(w)
		eventually(t, wait, "a log line like "+w, func() bool { return re.MatchString(ts.logs.String()) })
	}
}
