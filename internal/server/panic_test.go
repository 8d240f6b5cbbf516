package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/protocol"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A panic while handling one connection closes that connection only; the
// stack is logged and everyone else carries on.
func TestPanicClosesOnlyThatConnection(t *testing.T) {
	orig := handlers[protocol.MsgUsers]
	handlers[protocol.MsgUsers] = handler{false, func(c *conn, f protocol.Frame, now time.Time) string {
		if f.Ref == "boom" {
			panic("test panic")
		}
		return orig.run(c, f, now)
	}}
	t.Cleanup(func() { handlers[protocol.MsgUsers] = orig })

	logs := &lockedBuffer{}
	cfg := DefaultConfig()
	cfg.Rate = 0
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	dial := func(name string) (net.Conn, *protocol.LineReader) {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(nc, `{"type":"join","username":"`+name+`"}`+"\n")
		lr := protocol.NewLineReader(nc, 1<<20)
		if line, err := lr.ReadLine(); err != nil || !strings.Contains(string(line), "welcome") {
			t.Fatalf("join %s: %s %v", name, line, err)
		}
		return nc, lr
	}
	good, goodR := dial("good")
	bad, badR := dial("bad")
	if line, _ := goodR.ReadLine(); !strings.Contains(string(line), `"joined"`) {
		t.Fatalf("good got %s", line)
	}
	io.WriteString(bad, `{"type":"users","ref":"boom"}`+"\n")
	for {
		if _, err := badR.ReadLine(); err != nil {
			break // closed
		}
	}
	line, err := goodR.ReadLine()
	if err != nil || !strings.Contains(string(line), `"username":"bad","room":"lobby","reason":"disconnect"`) {
		t.Fatalf("good got %s, %v; want left disconnect", line, err)
	}
	io.WriteString(good, `{"type":"users","ref":"fine"}`+"\n")
	if line, err := goodR.ReadLine(); err != nil || !strings.Contains(string(line), `"users":["good"]`) {
		t.Fatalf("after the panic: %s %v", line, err)
	}
	if l := logs.String(); !strings.Contains(l, "test panic") || !strings.Contains(l, "panic_test.go") {
		t.Fatalf("the panic and its stack were not logged:\n%s", l)
	}
}
