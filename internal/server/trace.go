package server

import (
	"fmt"
	"io"
	"time"
)

// The wire trace (Config.Trace) shows a learner what TCP really does: reads
// do not line up with frames, and writes carry several frames at once. Every
// hook is behind a nil check of Config.Trace, so it costs nothing when off.

// traceMax is how much of a payload a trace line shows.
const traceMax = 72

// tracingReader reports every read from a connection.
type tracingReader struct {
	r   io.Reader
	srv *Server
	tag string
}

func (t *tracingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 || (err != nil && err != io.EOF) {
		line := fmt.Sprintf("%s %s read  %5d bytes  %s", stamp(), t.tag, n, shorten(p[:n]))
		if err != nil {
			line += "  (" + err.Error() + ")"
		}
		t.srv.cfg.Trace(line)
	} else if err == io.EOF {
		t.srv.cfg.Trace(fmt.Sprintf("%s %s read  EOF", stamp(), t.tag))
	}
	return n, err
}

// traceFrame reports one frame cut from the stream.
func (s *Server) traceFrame(tag string, line []byte) {
	s.cfg.Trace(fmt.Sprintf("%s %s   frame %5d bytes  %s", stamp(), tag, len(line), shorten(line)))
}

// traceWrite reports one write and how many frames it carried.
func (s *Server) traceWrite(tag string, n, frames int, err error) {
	line := fmt.Sprintf("%s %s write %5d bytes  %d frame(s)", stamp(), tag, n, frames)
	if err != nil {
		line += "  (" + err.Error() + ")"
	}
	s.cfg.Trace(line)
}

func stamp() string { return time.Now().Format("15:04:05.000") }

// shorten quotes a payload for a trace line, cut to traceMax bytes.
func shorten(b []byte) string {
	if len(b) > traceMax {
		return fmt.Sprintf("%q… (+%d)", b[:traceMax], len(b)-traceMax)
	}
	return fmt.Sprintf("%q", b)
}
