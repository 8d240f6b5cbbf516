package client

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/servertest"
	"pynet/protocol"
)

// The Python example (examples/python) against real servers: protocol 1
// as before, rooms and resume after a cut, its own messages echoed, and a
// clear word on a TLS port without --tls (issue item 14).

// watchBuffer collects output and says when it grew.
type watchBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newWatchBuffer() *watchBuffer { return &watchBuffer{changed: make(chan struct{}, 1)} }

func (w *watchBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.b.Write(p)
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *watchBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitLine waits for a line matching re.
func (w *watchBuffer) waitLine(t *testing.T, re string) {
	t.Helper()
	rx := regexp.MustCompile("(?m)" + re)
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for !rx.MatchString(w.String()) {
		select {
		case <-w.changed:
		case <-deadline.C:
			t.Fatalf("no line matching %s within %v; output:\n%s", re, waitLimit, w.String())
		}
	}
}

// pyClient is the Python example running.
type pyClient struct {
	stdin io.WriteCloser
	out   *watchBuffer
	done  chan int
}

func startPython(t *testing.T, args ...string) *pyClient {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 not found: %v", err)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "python", "pynet_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	p := &pyClient{out: newWatchBuffer(), done: make(chan int, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		p.done <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

func (p *pyClient) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-p.done:
		p.done <- code
		return code
	case <-time.After(waitLimit):
		t.Fatalf("the python client did not exit; output:\n%s", p.out.String())
		return -1
	}
}

func hostPort(addr string) []string {
	i := strings.LastIndexByte(addr, ':')
	return []string{"--host", addr[:i], "--port", addr[i+1:]}
}

func TestPythonProtocol1(t *testing.T) {
	ts := startServer(t, "", nil)
	gopher := join(t, ts.addr, "gopher")
	py := startPython(t, append(hostPort(ts.addr), "--name", "pyuser", "--protocol", "1")...)
	py.out.waitLine(t, `^\* joined as pyuser; online: gopher, pyuser$`)
	io.WriteString(py.stdin, "hello from python\n")
	expect(t, gopher, "python's message", isMessage("pyuser", "hello from python"))
	py.out.waitLine(t, `^\[\d\d:\d\d:\d\d\] <pyuser> hello from python$`) // its own, echoed once accepted
	gopher.Send(messageFrame("", "hello from go ✓"))
	py.out.waitLine(t, `^\[\d\d:\d\d:\d\d\] <gopher> hello from go ✓$`)
	py.stdin.Close()
	expect(t, gopher, "pyuser left", func(f Frame) bool { return f.Type == protocol.MsgLeft && f.Reason == protocol.ReasonQuit })
	if code := py.wait(t); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, py.out.String())
	}
}

// TestPythonRoomsAndResume: rooms, then a cut while messages are sent; the
// example resumes its session and shows each missed message once.
func TestPythonRoomsAndResume(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 0 })
	px := startProxy(t, ts.addr)
	bob := join(t, ts.addr, "bob")
	bob.Send(enterFrame("e", "go"))
	expect(t, bob, "entered", isType(protocol.MsgEntered))
	py := startPython(t, append(hostPort(px.addr), "--name", "pyuser", "--rooms", "lobby,go")...)
	py.out.waitLine(t, `^\* joined as pyuser; online: bob, pyuser$`)
	py.out.waitLine(t, `^\* in #go; online: bob, pyuser$`)
	bob.Send(roomMessageFrame("", "go", "in go", false))
	py.out.waitLine(t, `^\[\d\d:\d\d:\d\d\] #go <bob> in go$`)

	px.hold()
	px.cutClient()
	py.out.waitLine(t, `^\* reconnecting in`)
	for i := 1; i <= 5; i++ {
		bob.Send(messageFrame(fmt.Sprint("m", i), fmt.Sprintf("missed %d", i)))
		expect(t, bob, "ack", isType(protocol.MsgAck))
	}
	px.release()
	py.out.waitLine(t, `^\* reconnected as pyuser \(session resumed\)$`)
	py.out.waitLine(t, `<bob> missed 5$`)
	out := py.out.String()
	for i := 1; i <= 5; i++ {
		if n := len(regexp.MustCompile(fmt.Sprintf(`(?m)<bob> missed %d$`, i)).FindAllString(out, -1)); n != 1 {
			t.Errorf("missed %d shown %d times:\n%s", i, n, out)
		}
	}
	io.WriteString(py.stdin, "/room go\nback in go\n/me waves\n")
	m := expect(t, bob, "a message", isType(protocol.MsgMessage))
	if m.Text != "back in go" || m.Room != "go" {
		t.Fatalf("got %+v", m.ServerFrame)
	}
	if m = expect(t, bob, "an action", isType(protocol.MsgMessage)); m.Text != "waves" || !m.Action {
		t.Fatalf("got %+v", m.ServerFrame)
	}
	py.out.waitLine(t, `^\[\d\d:\d\d:\d\d\] <pyuser> back in go$`)
	py.stdin.Close()
	if code := py.wait(t); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, py.out.String())
	}
}

// TestPythonPlainOnTLSPort: without --tls on a TLS port, the example says
// what is wrong instead of only "closed".
func TestPythonPlainOnTLSPort(t *testing.T) {
	_, serverTLS := servertest.LoopbackTLS(t)
	ts := startServer(t, "", func(c *server.Config) {
		c.TLS = serverTLS
	})
	py := startPython(t, append(hostPort(ts.addr), "--name", "pyuser")...)
	if code := py.wait(t); code != 1 {
		t.Fatalf("exit %d", code)
	}
	py.out.waitLine(t, `^! the server closed the connection before welcoming us — if it uses TLS, add --tls$`)
}

// TestTmuxPythonTyping: at a terminal, a line arriving while one types is
// printed above the half-typed line, which stays whole below it.
func TestTmuxPythonTyping(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 not found: %v", err)
	}
	m := newTmux(t)
	ts := startServer(t, "", nil)
	bob := join(t, ts.addr, "bob")
	script, _ := filepath.Abs(filepath.Join("..", "..", "examples", "python", "pynet_client.py"))
	m.start("py", 70, 12, strings.Join(append([]string{python, script, "--name", "pyuser"}, hostPort(ts.addr)...), " "))
	m.waitFor("py", "* joined as pyuser; online: bob, pyuser")
	m.typeText("py", "half a line")
	m.waitScreen("py", "the typed text", func(rows []string) bool { return lastRow(rows) == "pyuser> half a line" })
	bob.Send(messageFrame("", "interrupting"))
	rows := m.waitFor("py", "<bob> interrupting")
	if lastRow(rows) != "pyuser> half a line" || !strings.HasSuffix(rows[len(rows)-2], "<bob> interrupting") {
		t.Fatalf("the line typed is not whole below the message:\n%s", strings.Join(rows, "\n"))
	}
	m.typeText("py", " finished")
	m.press("py", "Enter")
	expect(t, bob, "the whole line", isMessage("pyuser", "half a line finished"))
	m.waitFor("py", "<pyuser> half a line finished")
}
