package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/protocol"
)

// runBinary runs `pynet client args...` with stdin and returns its exit
// status, stdout and stderr.
func runBinary(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, pynetBinary(t), append([]string{"client"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("pynet client %v did not finish; stderr: %s", args, errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// TestPipeModeEndToEnd pipes a file through the real binary into a server
// whose burst is much smaller than the file: every line arrives, in order.
func TestPipeModeEndToEnd(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 200; c.Burst = 5 })
	watcher := join(t, ts.addr, "watcher")
	var in strings.Builder
	const n = 60
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&in, "piped line %d — ünïcödé 日本\r\n", i)
	}
	code, _, stderr := runBinary(t, in.String(), "-addr", ts.addr, "-name", "piper")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	for i := 1; i <= n; i++ {
		want := fmt.Sprintf("piped line %d — ünïcödé 日本", i)
		f := expect(t, watcher, want, func(f Frame) bool { return f.Type == protocol.MsgMessage })
		if f.From != "piper" || f.Text != want {
			t.Fatalf("got %s: %q, want %q", f.From, f.Text, want)
		}
	}
	expect(t, watcher, "piper left", func(f Frame) bool {
		return f.Type == protocol.MsgLeft && f.Username == "piper" && f.Reason == protocol.ReasonQuit
	})
}

// TestPipeModeJSONEndToEnd: -json prints each frame as one JSON line.
func TestPipeModeJSONEndToEnd(t *testing.T) {
	ts := startServer(t, "", nil)
	bob := join(t, ts.addr, "bob")
	bob.Send(messageFrame("h1", "in the history"))
	expect(t, bob, "ack", isType(protocol.MsgAck))
	code, out, stderr := runBinary(t, "hello\n", "-addr", ts.addr, "-name", "bot", "-json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var f map[string]any
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		types = append(types, fmt.Sprint(f["type"]))
	}
	if got := strings.Join(types, " "); got != "welcome entered message ack bye" {
		t.Fatalf("frame types %q, want welcome entered message ack bye:\n%s", got, out)
	}
}

// TestUnreachableEndToEnd: one clear line naming the address and the
// cause, status 1, fast.
func TestUnreachableEndToEnd(t *testing.T) {
	addr := refusedAddr(t)
	start := time.Now()
	code, out, stderr := runBinary(t, "hi\n", "-addr", addr, "-name", "bot")
	want := "pynet client: cannot reach " + addr + ": connection refused — is `pynet server` running there?\n"
	if code != 1 || stderr != want || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, stderr, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestJoinRefusedEndToEnd: the server's reason, status 1.
func TestJoinRefusedEndToEnd(t *testing.T) {
	ts := startServer(t, "", nil)
	join(t, ts.addr, "taken")
	code, _, stderr := runBinary(t, "hi\n", "-addr", ts.addr, "-name", "Taken")
	if code != 1 || stderr != "pynet client: join refused: the name Taken is taken\n" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestCommandLine (bug 12): a bad flag is one line and a pointer to -h,
// not the whole usage; pynet version says the version; /help documents
// /exit.
func TestCommandLine(t *testing.T) {
	code, out, stderr := runBinary(t, "", "-bogus")
	want := "pynet client: flag provided but not defined: -bogus\nrun 'pynet client -h' for the flags\n"
	if code != 2 || out != "" || stderr != want {
		t.Errorf("bad flag: exit %d, stdout %q, stderr %q; want 2 and %q", code, out, stderr, want)
	}
	code, out, _ = runBinary(t, "", "-h")
	if code != 0 || !strings.Contains(out, "-rooms") || !strings.Contains(out, "-password-file") {
		t.Errorf("-h: exit %d, usage:\n%s", code, out)
	}
	ver, err := exec.Command(pynetBinary(t), "version").Output()
	if err != nil || !regexp.MustCompile(`^pynet \d+\.\d+\.\d+ \(protocol 2; go1\.[^)]*\)\n$`).Match(ver) {
		t.Errorf("pynet version: %q, %v", ver, err)
	}
	if !strings.Contains(strings.Join(helpLines, "\n"), "/exit") {
		t.Error("/help does not mention /exit")
	}
}
