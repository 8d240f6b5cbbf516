// Package wiretrace prints what happens on a connection's byte stream, for
// people learning how TCP behaves: every read with its byte count, the
// frames cut from the stream, and every write with its byte count and the
// frames it carried. Reads do not line up with frames, and one write often
// carries several; the trace makes both visible.
//
// The server and the client share it (pynet server -trace, pynet client
// -trace). Nothing here runs unless tracing is on.
package wiretrace

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"time"
)

// payloadMax is how much of a payload one trace line shows.
const payloadMax = 72

// Tracer writes trace lines for one connection.
type Tracer struct {
	out func(line string)
	tag string // names the connection: "conn 3", "client"
	rm  masker // hides secrets in reads; only the reading goroutine uses it
}

// New returns a tracer whose lines start with tag and go to out. out must
// be safe for concurrent use: a connection's reads and writes are traced
// from different goroutines.
func New(out func(string), tag string) *Tracer { return &Tracer{out: out, tag: tag} }

// Read reports one read of n bytes (p holds them) and its error.
func (t *Tracer) Read(p []byte, err error) {
	p = t.rm.mask(p)
	switch {
	case len(p) > 0 && err != nil:
		t.line(fmt.Sprintf("read  %5d bytes  %s  (%v)", len(p), Shorten(p), err))
	case len(p) > 0:
		t.line(fmt.Sprintf("read  %5d bytes  %s", len(p), Shorten(p)))
	case err == io.EOF:
		t.line("read  EOF")
	case err != nil:
		t.line(fmt.Sprintf("read  failed  (%v)", err))
	}
}

// Frame reports one frame (a line without its LF) cut from the stream.
func (t *Tracer) Frame(line []byte) {
	var m masker
	line = m.mask(line)
	t.line(fmt.Sprintf("  frame %5d bytes  %s", len(line), Shorten(line)))
}

// Write reports one write of the n bytes at the start of b; the frames it
// carried are counted by their LFs.
func (t *Tracer) Write(b []byte, n int, err error) {
	s := fmt.Sprintf("write %5d bytes  %d frame(s)", n, bytes.Count(b[:n], []byte{'\n'}))
	if err != nil {
		s += fmt.Sprintf("  (%v)", err)
	}
	t.line(s)
}

// Note reports anything else worth seeing, such as a discarded line.
func (t *Tracer) Note(msg string) { t.line("  " + msg) }

func (t *Tracer) line(s string) {
	t.out(time.Now().Format("15:04:05.000") + " " + t.tag + " " + s)
}

// Shorten quotes a payload for a trace line, cut to payloadMax bytes.
func Shorten(b []byte) string {
	if len(b) > payloadMax {
		return fmt.Sprintf("%q… (+%d)", b[:payloadMax], len(b)-payloadMax)
	}
	return fmt.Sprintf("%q", b)
}

// Reader reports every Read of r to t.
func Reader(r io.Reader, t *Tracer) io.Reader { return &reader{r, t} }

type reader struct {
	r io.Reader
	t *Tracer
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.t.Read(p[:n], err)
	return n, err
}

// Conn reports every Read and Write of c to t.
func Conn(c net.Conn, t *Tracer) net.Conn { return &conn{c, t} }

type conn struct {
	net.Conn
	t *Tracer
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.Read(p[:n], err)
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.t.Write(p, n, err)
	return n, err
}
