package server_test

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"

	"pynet/internal/server"
	"pynet/protocol"
)

func TestFramingCRLFBlankLinesAndSplits(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial(t)
	// A join split byte by byte, CRLF endings, blank lines of every kind.
	join := "\r\n  \t \r\n\n" + `{"type":"join","username":"a"}` + "\r\n"
	for i := 0; i < len(join); i++ {
		c.write(join[i : i+1])
	}
	c.expect("welcome")
	c.write(`{"type":"ping","ref":"1"}` + "\n" + `{"type":"ping","ref":"2"}` + "\r\n" + `{"type":"pi`)
	c.write(`ng","ref":"3"}` + "\n")
	for _, ref := range []string{"1", "2", "3"} {
		if f := c.expect("pong"); f.Ref != ref {
			t.Fatalf("pong ref %q, want %q", f.Ref, ref)
		}
	}
	c.sync() // the blank lines got no reply
}

func TestDecodeErrors(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial(t)
	for _, tc := range []struct{ line, code, ref string }{
		{`{"type":"ping"`, protocol.CodeBadJSON, ""},
		{`{"type":"ping"}{"type":"ping"}`, protocol.CodeBadJSON, ""},
		{"{\"type\":\"ping\",\"x\":\"\xff\"}", protocol.CodeBadJSON, ""},
		{`[1,2]`, protocol.CodeBadFrame, ""},
		{`"ping"`, protocol.CodeBadFrame, ""},
		{`{"ref":"r"}`, protocol.CodeBadFrame, "r"},
		{`{"type":5,"ref":"r"}`, protocol.CodeBadFrame, "r"},
		{`{"TYPE":"ping"}`, protocol.CodeBadFrame, ""},
		{`{"type":"ping","ref":7}`, protocol.CodeBadFrame, ""},
		{`{"type":"ping","ref":"` + strings.Repeat("r", 65) + `"}`, protocol.CodeBadFrame, ""},
		{`{"type":"dance","ref":"r"}`, protocol.CodeUnknownType, "r"},
		{`{"type":"message","text":"hi","ref":"r"}`, protocol.CodeJoinRequired, "r"},
		{`{"type":"users"}`, protocol.CodeJoinRequired, ""},
		{`{"type":"join","username":5}`, protocol.CodeBadFrame, ""},
		{`{"type":"join"}`, protocol.CodeInvalidUsername, ""},
		{`{"type":"join","username":null}`, protocol.CodeInvalidUsername, ""},
		{`{"type":"join","username":"` + strings.Repeat("a", 33) + `"}`, protocol.CodeInvalidUsername, ""},
		{`{"type":"join","username":"has space"}`, protocol.CodeInvalidUsername, ""},
	} {
		c.write(tc.line + "\n")
		e := c.expectError(tc.code)
		if e.Ref != tc.ref {
			t.Errorf("%s: ref %q, want %q", tc.line, e.Ref, tc.ref)
		}
		if e.Message == "" {
			t.Errorf("%s: empty message", tc.line)
		}
	}
	// Unknown members are ignored; member order is free; ping and pong work
	// before join; a client pong gets no answer.
	c.send(`{"ref":"x","extra":{"a":[1,"}"]},"type":"ping"}`)
	if f := c.expect("pong"); f.Ref != "x" {
		t.Fatalf("pong: %+v", f)
	}
	c.send(`{"type":"pong"}`)
	c.sync()
	// After all those refusals the connection still joins.
	c.send(`{"type":"join","username":"ok","ref":"j"}`)
	if w := c.expect("welcome"); w.Ref != "j" || w.Protocol != 1 {
		t.Fatalf("welcome: %+v", w)
	}
	c.send(`{"type":"join","username":"again"}`)
	c.expectError(protocol.CodeAlreadyJoined)
	c.send(`{"type":"dance"}`)
	c.expectError(protocol.CodeUnknownType)
}

func TestFrameTooLargeKeepsConnection(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.MaxFrame = 1024 })
	c := ts.join(t, "a")
	// Exactly max-frame bytes (CRLF not counted) is fine.
	pad := 1024 - len(`{"type":"ping","ref":"ok","p":""}`)
	c.write(`{"type":"ping","ref":"ok","p":"` + strings.Repeat("x", pad) + `"}` + "\r\n")
	c.expect("pong")
	// One byte more is not; the line after it is handled.
	c.write(`{"type":"ping","ref":"no","p":"` + strings.Repeat("x", pad+1) + `"}` + "\n" + `{"type":"ping","ref":"next"}` + "\n")
	if e := c.expectError(protocol.CodeFrameTooLarge); e.Ref != "" {
		t.Fatalf("frame_too_large carries a ref from a discarded line: %+v", e)
	}
	if f := c.expect("pong"); f.Ref != "next" {
		t.Fatalf("%+v", f)
	}
}

// A 50 MB line without LF is discarded as it streams in: the server's memory
// does not grow with it, exactly one frame_too_large comes back, and the
// connection goes on working.
func TestHugeLineIsNotBuffered(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.join(t, "a")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	chunk := bytes.Repeat([]byte("x"), 1<<20)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 50; i++ {
			if _, err := c.nc.Write(chunk); err != nil {
				done <- err
				return
			}
		}
		_, err := c.nc.Write([]byte("\n" + `{"type":"ping","ref":"after"}` + "\n"))
		done <- err
	}()
	c.expectError(protocol.CodeFrameTooLarge)
	if f := c.expect("pong"); f.Ref != "after" {
		t.Fatalf("got %+v", f)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// Allocation budget, not a timing: buffering the line would take 50 MB.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("%d MB allocated while a 50 MB line streamed through", grew>>20)
	}
}

// When the client closes its sending side, complete frames already sent are
// handled and answered, an incomplete last line is dropped, and the others
// see left disconnect.
func TestHalfCloseHandlesCompleteFrames(t *testing.T) {
	ts := startServer(t, nil)
	watcher := ts.join(t, "w")
	c := ts.dial(t)
	c.write(`{"type":"join","username":"h"}` + "\n" + `{"type":"users","ref":"u"}` + "\n" + `{"type":"message","text":"half`)
	c.nc.(*net.TCPConn).CloseWrite()
	c.expect("welcome")
	if u := c.expect("users"); u.Ref != "u" {
		t.Fatalf("%+v", u)
	}
	rest := c.expectClosed()
	if len(rest) != 0 {
		t.Fatalf("after EOF got %+v", rest)
	}
	watcher.expect("joined")
	if l := watcher.expect("left"); l.Username != "h" || l.Reason != "disconnect" {
		t.Fatalf("left: %+v", l)
	}
	watcher.sync() // the incomplete message was never broadcast
}

// An abortive close (RST) is a disconnect like any other.
func TestResetIsDisconnect(t *testing.T) {
	ts := startServer(t, nil)
	watcher := ts.join(t, "w")
	c := ts.join(t, "r")
	watcher.expect("joined")
	c.nc.(*net.TCPConn).SetLinger(0)
	c.nc.Close()
	if l := watcher.expect("left"); l.Username != "r" || l.Reason != "disconnect" {
		t.Fatalf("left: %+v", l)
	}
	// The name is free again.
	ts.join(t, "R")
}

// Every server frame is one JSON object on one line.
func TestServerFramesAreSingleLineObjects(t *testing.T) {
	ts := startServer(t, nil)
	a, b := ts.join(t, "a"), ts.join(t, "b")
	b.send(`{"type":"message","text":"x\ny\tz \"q\" \\"}`)
	for i := 0; i < 2; i++ {
		line, err := a.nextRaw()
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		m := mustJSON(t, line)
		if _, ok := m["type"].(string); !ok {
			t.Fatalf("no string type: %s", line)
		}
	}
}

// Partial lines are held within a server-wide budget: past it, the
// connection whose line needs more memory is cut off (bye server_full);
// the others, and the budget once given back, are unaffected.
func TestPartialLineBudget(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.LineBudget = 60 << 10 })
	a := ts.join(t, "a")
	w := ts.join(t, "w")
	a.expect("joined")
	part := `{"type":"message","text":"hi","pad":"` + strings.Repeat("x", 40<<10)
	// An ordinary frame needs no budget: it fits every connection's free
	// allowance even when the budget is spent (checked below).
	ordinary := `{"type":"message","text":"` + strings.Repeat("y", 4000) + `"}` + "\n"
	a.write(part)
	eventually(t, wait, "a's partial line to be held", func() bool { return ts.LineBudgetInUse() >= 40<<10 })
	w.write(ordinary) // a well-behaved user is not the one cut off
	if m := a.expect("message"); len(m.Text) != 4000 {
		t.Fatalf("%d bytes", len(m.Text))
	}
	b := ts.dial(t)
	b.write(part)
	if f := b.next(); f.Type != "bye" || f.Reason != "server_full" {
		t.Fatalf("over the budget: %+v, want bye server_full", f)
	}
	b.expectClosed()
	a.write(`"}` + "\n")
	if m := w.expect("message"); m.Text != "hi" {
		t.Fatalf("a's message: %+v", m)
	}
	eventually(t, wait, "the budget to be given back", func() bool { return ts.LineBudgetInUse() == 0 })
	c := ts.dial(t)
	c.write(part + `"}` + "\n")
	c.expectError("join_required")
	if n := ts.Stats().BudgetRefusals.Load(); n != 1 {
		t.Fatalf("budget refusals = %d", n)
	}
}
