package client

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/protocol"
)

// runPipe runs RunPipe to completion with stdin in and returns its status,
// stdout and stderr.
func runPipe(t *testing.T, opts Options, in io.Reader) (int, string, string) {
	t.Helper()
	out, errw := newSyncBuffer(), newSyncBuffer()
	done := make(chan int, 1)
	go func() { done <- RunPipe(context.Background(), opts, in, out, errw) }()
	select {
	case code := <-done:
		return code, out.String(), errw.String()
	case <-time.After(2 * waitLimit):
		t.Fatalf("RunPipe did not finish; stderr so far: %s", errw.String())
		return 0, "", ""
	}
}

// TestPipeDeliversEverythingDespiteRateLimit pipes more lines than the
// burst allows: the client must resend what was refused, in order, and
// every line must arrive exactly once.
func TestPipeDeliversEverythingDespiteRateLimit(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 100; c.Burst = 3 })
	watcher := join(t, ts.addr, "watcher")
	const n = 40
	var in strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&in, "line %d\n", i)
	}
	in.WriteString("no newline at the end")
	code, _, stderr := runPipe(t, Options{Config: testConfig(ts.addr), Name: "bot"}, strings.NewReader(in.String()))
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	for i := 1; i <= n; i++ {
		expect(t, watcher, fmt.Sprintf("line %d", i), func(f Frame) bool {
			if f.Type == protocol.MsgMessage && f.From == "bot" {
				if f.Text != fmt.Sprintf("line %d", i) {
					t.Fatalf("got %q, want line %d (order lost or duplicate)", f.Text, i)
				}
				return true
			}
			return false
		})
	}
	expect(t, watcher, "last line", isMessage("bot", "no newline at the end"))
	left := expect(t, watcher, "bot left", isType(protocol.MsgLeft))
	if left.Reason != protocol.ReasonQuit {
		t.Fatalf("bot left with %q, want quit", left.Reason)
	}
}

// TestPipePrintsEvents: what arrives is printed as plain lines while stdin
// stays open; closing stdin leaves.
func TestPipePrintsEvents(t *testing.T) {
	ts := startServer(t, "", nil)
	pr, pw := io.Pipe()
	out, errw := newSyncBuffer(), newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		done <- RunPipe(context.Background(), Options{Config: testConfig(ts.addr), Name: "bot"}, pr, out, errw)
	}()
	alice := join(t, ts.addr, "alice") // the bot joined first? wait for it below
	waitFor(t, "bot's welcome line", func() bool { return strings.Contains(out.String(), "joined as bot") })
	alice.Send(messageFrame("", "hello bot\nsecond line"))
	waitFor(t, "alice's message printed", func() bool { return strings.Contains(out.String(), "<alice> hello bot") })
	pw.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d, stderr %s", code, errw.String())
		}
	case <-time.After(waitLimit):
		t.Fatal("RunPipe did not end after EOF")
	}
	got := out.String()
	if strings.Contains(got, "\x1b") {
		t.Fatalf("escape in plain output: %q", got)
	}
	indent := strings.Repeat(" ", len("[15:04]   <alice> "))
	if !strings.Contains(got, "]   <alice> hello bot\n"+indent+"second line\n") {
		t.Fatalf("output:\n%s", got)
	}
}

// waitFor polls cond until it holds; for output written by another
// goroutine, where there is no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no %s within %v", what, waitLimit)
		}
	}
}

func TestPipeJSON(t *testing.T) {
	ts := startServer(t, "", nil)
	code, out, stderr := runPipe(t, Options{Config: testConfig(ts.addr), Name: "bot", JSON: true}, strings.NewReader("hi\n"))
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{`{"type":"welcome"`, `{"type":"entered"`, `{"type":"ack"`, `{"type":"bye"`}
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s", out)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, want[i]) {
			t.Fatalf("line %d = %s, want it to start with %s", i, l, want[i])
		}
	}
}

func TestPipeReportsUnsendableLines(t *testing.T) {
	ts := startServer(t, "", nil)
	in := "ok\n\n   \n" + strings.Repeat("x", protocol.MaxText+1) + "\nbell\a\nfine\n"
	code, _, stderr := runPipe(t, Options{Config: testConfig(ts.addr), Name: "bot"}, strings.NewReader(in))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"message 2 not sent: longer than 4096 bytes",
		"message 3 not sent: it holds a control character",
		"2 of 4 messages were not sent",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// Bug 13: each error says "not sent" once.
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Count(line, "not sent") > 1 {
			t.Errorf("error repeats itself: %q", line)
		}
	}
}

func TestPipeJoinErrors(t *testing.T) {
	ts := startServer(t, "", nil)
	join(t, ts.addr, "alice")
	for _, tc := range []struct {
		name, addr, user, want string
		code                   int
	}{
		{"taken", ts.addr, "alice", "pynet client: join refused: the name alice is taken\n", 1},
		{"invalid", ts.addr, "a b", `pynet client: join refused: "a b" is not a valid name`, 1},
		{"no name", ts.addr, "", "-name is required", 2},
		{"unreachable", refusedAddr(t), "bob", "connection refused — is `pynet server` running there?\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runPipe(t, Options{Config: testConfig(tc.addr), Name: tc.user}, strings.NewReader("hi\n"))
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestPipeReconnectsAfterRestart: the server restarts mid-pipe; pipe mode
// reconnects like the interactive client, and what was written meanwhile
// is delivered once it is back.
func TestPipeReconnectsAfterRestart(t *testing.T) {
	ts := startServer(t, "", nil)
	pr, pw := io.Pipe()
	errw := newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		done <- RunPipe(context.Background(), Options{Config: testConfig(ts.addr), Name: "bot"}, pr, io.Discard, errw)
	}()
	watcher := join(t, ts.addr, "watcher")
	pw.Write([]byte("first\n"))
	expect(t, watcher, "first", isMessage("bot", "first"))
	ts.stop()
	waitFor(t, "the loss reported", func() bool { return strings.Contains(errw.String(), "the server shut down — reconnecting") })
	pw.Write([]byte("second\n"))
	ts2 := startServer(t, ts.addr, nil)
	watcher2 := join(t, ts2.addr, "watcher2")
	expect(t, watcher2, "second", isMessage("bot", "second"))
	pw.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errw.String())
		}
	case <-time.After(waitLimit):
		t.Fatal("RunPipe did not end")
	}
}

// TestPipeGivesUp: with the server gone for good, pipe mode stops trying
// after GiveUp and says what was not delivered.
func TestPipeGivesUp(t *testing.T) {
	ts := startServer(t, "", nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	errw := newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		opts := Options{Config: testConfig(ts.addr), Name: "bot", GiveUp: 300 * time.Millisecond}
		done <- RunPipe(context.Background(), opts, pr, io.Discard, errw)
	}()
	watcher := join(t, ts.addr, "watcher")
	pw.Write([]byte("first\n"))
	expect(t, watcher, "first", isMessage("bot", "first"))
	ts.stop()
	waitFor(t, "the loss reported", func() bool { return strings.Contains(errw.String(), "reconnecting") })
	pw.Write([]byte("never\n"))
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errw.String(), "giving up (1 messages not delivered)") {
			t.Fatalf("exit %d, stderr %q", code, errw.String())
		}
	case <-time.After(waitLimit):
		t.Fatal("RunPipe did not give up")
	}
}

// TestPipeCutMidTraffic: the network dies while a bot pipes 400 lines with
// many in flight; the link resumes and the outbox resends what was not
// acknowledged, with the same refs: every line arrives once, in order.
func TestPipeCutMidTraffic(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 0; c.History = 1000 })
	px := startProxy(t, ts.addr)
	watcher := join(t, ts.addr, "watcher")
	pr, pw := io.Pipe()
	errw := newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		done <- RunPipe(context.Background(), Options{Config: testConfig(px.addr), Name: "bot"}, pr, io.Discard, errw)
	}()
	const n = 400
	cut := make(chan struct{})
	go func() {
		for i := 1; i <= n; i++ {
			if i == n/2 {
				<-cut // the rest comes after the network died
			}
			fmt.Fprintf(pw, "line %d\n", i)
		}
		pw.Close()
	}()
	next := 1
	for next <= n {
		f := expect(t, watcher, fmt.Sprintf("line %d", next), func(f Frame) bool { return f.Type == protocol.MsgMessage })
		if f.Text != fmt.Sprintf("line %d", next) {
			t.Fatalf("got %q, want line %d (lost, twice or out of order); stderr %s", f.Text, next, errw.String())
		}
		if next == n/4 {
			px.cutClient()
			close(cut)
		}
		next++
	}
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(errw.String(), "reconnected, session resumed") {
			t.Fatalf("exit %d, stderr %q", code, errw.String())
		}
	case <-time.After(waitLimit):
		t.Fatal("RunPipe did not end")
	}
	if f := expect(t, watcher, "bot left", func(f Frame) bool { return f.Type != protocol.MsgJoined }); f.Type != protocol.MsgLeft {
		t.Fatalf("after the last line: %+v", f.ServerFrame)
	}
}

// TestPipeRoomsAndCommands: -room sends plain lines to a room; /msg and
// /me lines are commands; // escapes a leading slash once.
func TestPipeRoomsAndCommands(t *testing.T) {
	ts := startServer(t, "", nil)
	watcher := join(t, ts.addr, "watcher")
	watcher.Send(enterFrame("e", "ci"))
	expect(t, watcher, "entered", isType(protocol.MsgEntered))
	in := "build green\n/msg watcher psst\n/me deploys\n//etc/hosts\n/dance\n"
	code, _, stderr := runPipe(t, Options{Config: testConfig(ts.addr), Name: "bot", Room: "#ci"}, strings.NewReader(in))
	if code != 1 || !strings.Contains(stderr, "message 5 not sent: unknown command /dance") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	m := expect(t, watcher, "build green", isMessage("bot", "build green"))
	if m.Room != "ci" {
		t.Fatalf("sent to %q, want ci", m.Room)
	}
	p := expect(t, watcher, "private", isType(protocol.MsgPrivate))
	if p.Text != "psst" {
		t.Fatalf("private %+v", p.ServerFrame)
	}
	a := expect(t, watcher, "action", isMessage("bot", "deploys"))
	if !a.Action || a.Room != "ci" {
		t.Fatalf("action %+v", a.ServerFrame)
	}
	expect(t, watcher, "escaped slash", isMessage("bot", "/etc/hosts"))
}
