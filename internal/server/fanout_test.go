package server

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"pynet/protocol"
)

// discardConn is a socket that takes every write at once: it lets the
// benchmarks measure the server's own fanout work, not the kernel's.
type discardConn struct{}

func (discardConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) CloseWrite() error                { return nil }
func (discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// roomWith returns a server whose room has n members on discardConns, and
// the first member, who sends.
func roomWith(tb testing.TB, n int) (*Server, *conn) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.MaxQueue = 1 << 30 // nobody is slow here
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var first *conn
	for i := 0; i < n; i++ {
		c := newConn(s, discardConn{}, uint64(i+1), time.Now())
		if res := s.hub.join(c, &joinReq{name: fmt.Sprintf("user%05d", i)}); res.err != nil || res.close != "" {
			tb.Fatal(res)
		}
		if first == nil {
			first = c
		}
	}
	tb.Cleanup(func() { s.wg.Wait() })
	return s, first
}

// BenchmarkFanout measures one public message to N recipients: id, encode
// once, history, one enqueue and at most one writer start per recipient.
func BenchmarkFanout(b *testing.B) {
	text := strings.Repeat("x", 100)
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			s, sender := roomWith(b, n)
			f := &protocol.Frame{Type: protocol.MsgMessage, Text: text}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.hub.publish(sender, protocol.Lobby, text, false, f)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n-1)), "ns/delivery")
		})
	}
}
