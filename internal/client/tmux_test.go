package client

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/store/sqlitestore"
	"pynet/protocol"
)

// tmux drives terminal sessions on a private tmux server, so the client
// runs in a real terminal: keys go in with send-keys, the screen comes
// out with capture-pane.
type tmux struct {
	t    *testing.T
	sock string
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the terminal end-to-end tests need it (apt-get install tmux)")
	}
	m := &tmux{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() { exec.Command("tmux", "-S", m.sock, "kill-server").Run() })
	return m
}

func (m *tmux) run(args ...string) string {
	m.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", m.sock}, args...)...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start opens a session named name, w×h, running the shell command cmd.
func (m *tmux) start(name string, w, h int, cmd string) {
	m.t.Helper()
	m.run("-f", "/dev/null", "new-session", "-d", "-s", name,
		"-x", strconv.Itoa(w), "-y", strconv.Itoa(h), cmd)
	m.run("set-option", "-t", name, "remain-on-exit", "on")
}

// screen is the visible text of a session's pane, trailing blank rows cut.
func (m *tmux) screen(name string) []string {
	m.t.Helper()
	rows := strings.Split(strings.TrimRight(m.run("capture-pane", "-p", "-t", name), "\n"), "\n")
	for i := range rows {
		rows[i] = strings.TrimRight(rows[i], " ")
	}
	return rows
}

// waitScreen polls the pane until cond holds, and returns the screen.
func (m *tmux) waitScreen(name, what string, cond func(rows []string) bool) []string {
	m.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	for {
		rows := m.screen(name)
		if cond(rows) {
			return rows
		}
		select {
		case <-tick.C:
		case <-deadline:
			m.t.Fatalf("%s: no %s within %v; screen:\n%s", name, what, waitLimit, strings.Join(rows, "\n"))
		}
	}
}

func (m *tmux) waitFor(name, text string) []string {
	m.t.Helper()
	return m.waitScreen(name, strconv.Quote(text), func(rows []string) bool {
		return strings.Contains(strings.Join(rows, "\n"), text)
	})
}

// typeText types text literally; press sends named keys (Enter, C-c, Left).
func (m *tmux) typeText(name, text string) { m.run("send-keys", "-t", name, "-l", text) }
func (m *tmux) press(name string, keys ...string) {
	m.run(append([]string{"send-keys", "-t", name}, keys...)...)
}

// lastRow is the last non-blank row: where the prompt is.
func lastRow(rows []string) string {
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i] != "" {
			return rows[i]
		}
	}
	return ""
}

// clientCmd is the shell command that runs the client in a pane. Around
// it, the terminal settings are saved before and after (stty -g), the
// exit status and the pid are written down, and the pane stays open.
func clientCmd(bin, dir, args string) string {
	return fmt.Sprintf("cd %s && stty -g > before && exec 3<&0 && (%s client %s <&3 & echo $! > pid; wait $!; echo $? > status) ; stty -g > after; touch done; sleep 600",
		dir, bin, args)
}

// TestTmuxTypingWhileMessagesArrive: alice types half a line while bob
// sends a burst; every message lands on its own line above alice's prompt
// and her line stays intact below them. Also: the name prompt, a name
// refused and asked again, a multi-line paste, and private messages.
func TestTmuxTypingWhileMessagesArrive(t *testing.T) {
	m := newTmux(t)
	bin := pynetBinary(t)
	ts := startServer(t, "", nil)
	dir := t.TempDir()
	m.start("bob", 70, 20, fmt.Sprintf("%s client -addr %s -name bob", bin, ts.addr))
	m.waitFor("bob", "bob>")
	m.start("alice", 70, 20, clientCmd(bin, dir, "-addr "+ts.addr))

	m.waitFor("alice", "your name:")
	m.typeText("alice", "BOB")
	m.press("alice", "Enter")
	m.waitFor("alice", "the name BOB is taken — try another")
	m.waitFor("alice", "your name:")
	m.typeText("alice", "alice")
	m.press("alice", "Enter")
	m.waitFor("alice", "alice>")
	m.waitFor("bob", "alice joined")

	const prompt = "[#lobby] alice> "
	typed := "half a sentence with 日本語 and"
	m.typeText("alice", typed)
	m.waitScreen("alice", "the typed text", func(rows []string) bool { return lastRow(rows) == prompt+typed })
	const burst = 15
	for i := 1; i <= burst; i++ {
		m.typeText("bob", fmt.Sprintf("burst message %d", i))
		m.press("bob", "Enter")
	}
	rows := m.waitFor("alice", fmt.Sprintf("<bob> burst message %d", burst))
	line := regexp.MustCompile(`^\[\d\d:\d\d\]   <bob> burst message (\d+)$`)
	next := 1
	for _, r := range rows {
		if strings.Contains(r, "burst message") {
			sm := line.FindStringSubmatch(r)
			if sm == nil || sm[1] != strconv.Itoa(next) {
				t.Fatalf("row %q: want message %d whole on its own row; screen:\n%s", r, next, strings.Join(rows, "\n"))
			}
			next++
		}
	}
	if next != burst+1 {
		t.Fatalf("saw %d messages; screen:\n%s", next-1, strings.Join(rows, "\n"))
	}
	if got := lastRow(rows); got != prompt+typed {
		t.Fatalf("prompt row %q, want %q; screen:\n%s", got, prompt+typed, strings.Join(rows, "\n"))
	}
	m.typeText("alice", " a finished line")
	m.press("alice", "Enter")
	m.waitFor("bob", "<alice> "+typed+" a finished line")
	m.waitScreen("alice", "an empty prompt", func(rows []string) bool { return lastRow(rows) == strings.TrimSpace(prompt) })

	// A bracketed paste of two lines is one message of two lines.
	m.run("set-buffer", "first pasted line\nsecond pasted line")
	m.run("paste-buffer", "-p", "-t", "alice")
	m.waitScreen("alice", "the paste in the input", func(rows []string) bool {
		return len(rows) > 1 && rows[len(rows)-2] == prompt+"first pasted line" && lastRow(rows) == strings.Repeat(" ", len(prompt))+"second pasted line"
	})
	m.press("alice", "Enter")
	rows = m.waitFor("bob", "<alice> first pasted line")
	indent := strings.Repeat(" ", len("[15:04]   <alice> "))
	if !strings.Contains(strings.Join(rows, "\n"), "<alice> first pasted line\n"+indent+"second pasted line") {
		t.Fatalf("multi-line message not indented under its sender:\n%s", strings.Join(rows, "\n"))
	}

	m.typeText("bob", "/msg alice just for you")
	m.press("bob", "Enter")
	m.waitFor("alice", "@ bob → you: just for you")
	m.waitFor("bob", "@ you → alice: just for you")
}

// TestTmuxResize: a long input wraps; after the terminal shrinks and
// grows, it is drawn again whole below the messages, with no leftovers.
func TestTmuxResize(t *testing.T) {
	m := newTmux(t)
	bin := pynetBinary(t)
	ts := startServer(t, "", nil)
	bob := join(t, ts.addr, "bob")
	m.start("alice", 60, 16, fmt.Sprintf("%s client -addr %s -name alice", bin, ts.addr))
	m.waitFor("alice", "alice>")
	const prompt = "[#lobby] alice> "
	typed := "a long line of typing that needs more than one row, with 日本語 in it, to wrap"
	m.typeText("alice", typed)
	check := func(width int, after string) {
		t.Helper()
		m.run("resize-window", "-t", "alice", "-x", strconv.Itoa(width))
		bob.Send(messageFrame("", after))
		rows := m.waitFor("alice", "<bob> "+after)
		var input string
		for i, r := range rows {
			if strings.HasPrefix(r, prompt) {
				input = strings.Join(rows[i:], "")
				if i == 0 || !strings.Contains(rows[i-1], after) {
					t.Fatalf("the input is not right below the last message; screen:\n%s", strings.Join(rows, "\n"))
				}
			}
		}
		// Rows are captured without trailing spaces: a space at the end
		// of a row is lost when they are joined.
		if nospace := func(s string) string { return strings.ReplaceAll(s, " ", "") }; nospace(input) != nospace(prompt+typed) {
			t.Fatalf("width %d: input drawn as %q; screen:\n%s", width, input, strings.Join(rows, "\n"))
		}
	}
	check(30, "shrunk")
	check(90, "grown")
	check(45, "shrunk again")
	m.press("alice", "Enter")
	expect(t, bob, "alice's long line", isMessage("alice", typed))
}

// TestTmuxExitRestoresTerminal leaves the client in every way a user can
// and checks that the terminal settings are back as they were.
func TestTmuxExitRestoresTerminal(t *testing.T) {
	m := newTmux(t)
	bin := pynetBinary(t)
	ts := startServer(t, "", nil)
	for _, tc := range []struct {
		name string
		exit func(name, dir string)
	}{
		{"quit", func(name, _ string) { m.typeText(name, "/quit"); m.press(name, "Enter") }},
		{"ctrl-c", func(name, _ string) { m.typeText(name, "unsent"); m.press(name, "C-c") }},
		{"ctrl-d", func(name, _ string) { m.press(name, "C-d") }},
		{"sigterm", func(_, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, "pid"))
			if err != nil {
				t.Fatal(err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			p, err := os.FindProcess(pid)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}},
		{"lost connection then ctrl-c", func(name, _ string) { m.press(name, "C-c") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			addr := ts.addr
			var px *proxy
			if strings.HasPrefix(tc.name, "lost") {
				px = startProxy(t, ts.addr)
				addr = px.addr
			}
			name := strings.ReplaceAll(tc.name, " ", "-")
			m.start(name, 60, 12, clientCmd(bin, dir, "-addr "+addr+" -name u"+strconv.Itoa(len(name))+"x"))
			m.waitFor(name, ">")
			if px != nil {
				px.cut()
				m.waitFor(name, "(offline)")
			}
			tc.exit(name, dir)
			m.waitScreen(name, "the client to end", func([]string) bool {
				_, err := os.Stat(filepath.Join(dir, "done"))
				return err == nil
			})
			before, _ := os.ReadFile(filepath.Join(dir, "before"))
			after, _ := os.ReadFile(filepath.Join(dir, "after"))
			status, _ := os.ReadFile(filepath.Join(dir, "status"))
			if len(before) == 0 || string(before) != string(after) {
				t.Fatalf("terminal settings not restored:\nbefore %s\nafter  %s", before, after)
			}
			if s := strings.TrimSpace(string(status)); s != "0" {
				t.Fatalf("exit status %s, want 0", s)
			}
			if rows := m.screen(name); strings.Contains(lastRow(rows), "> ") {
				t.Fatalf("prompt left on screen:\n%s", strings.Join(rows, "\n"))
			}
		})
	}
}

// history is everything the pane scrolled off, then its screen.
func (m *tmux) history(name string) []string {
	m.t.Helper()
	return strings.Split(strings.TrimRight(m.run("capture-pane", "-p", "-S", "-", "-t", name), "\n"), "\n")
}

// cursor is where the terminal's cursor is: row, column.
func (m *tmux) cursor(name string) (int, int) {
	m.t.Helper()
	var row, col int
	fmt.Sscan(m.run("display-message", "-p", "-t", name, "#{cursor_y} #{cursor_x}"), &row, &col)
	return row, col
}

// TestTmuxRoomsAndAccount: in a real terminal, Alt-2 switches rooms (the
// prompt and the status row follow), and /register asks for the password
// with echo off: it never appears in the pane.
func TestTmuxRoomsAndAccount(t *testing.T) {
	m := newTmux(t)
	bin := pynetBinary(t)
	ts := startServer(t, "", withAccounts)
	bob := join(t, ts.addr, "bob")
	bob.Send(enterFrame("e", "go"))
	expect(t, bob, "entered", isType(protocol.MsgEntered))
	m.start("alice", 70, 16, fmt.Sprintf("%s client -addr %s -name alice -rooms lobby,go -state-dir ''", bin, ts.addr))
	m.waitScreen("alice", "the prompt", func(rows []string) bool { return lastRow(rows) == "[#lobby] alice>" })
	bob.Send(roomMessageFrame("", "go", "psst, in go", false))
	m.waitFor("alice", "#go <bob> psst, in go")
	m.waitFor("alice", "[1:#lobby] 2:#go(1)")
	m.press("alice", "M-2")
	m.waitScreen("alice", "room 2", func(rows []string) bool {
		return lastRow(rows) == "[#go] alice>" && len(rows) > 1 && rows[len(rows)-2] == "1:#lobby [2:#go]"
	})
	m.typeText("alice", "/register")
	m.press("alice", "Enter")
	m.waitFor("alice", "new password for alice:")
	m.typeText("alice", "hunter2hunter2")
	m.waitScreen("alice", "the typed password not shown", func(rows []string) bool {
		return lastRow(rows) == "new password for alice:"
	})
	m.press("alice", "Enter")
	m.waitFor("alice", "the same password again:")
	m.typeText("alice", "hunter2hunter2")
	m.press("alice", "Enter")
	m.waitFor("alice", "alice is now a registered account")
	m.waitScreen("alice", "the chat prompt back", func(rows []string) bool { return lastRow(rows) == "[#go] alice>" })
	if strings.Contains(strings.Join(m.history("alice"), "\n"), "hunter2") {
		t.Fatalf("the password is in the pane:\n%s", strings.Join(m.history("alice"), "\n"))
	}
}

// TestTmuxResumeAfterRestart: the server restarts on its store while
// messages are sent; the client says "reconnected — 3 missed messages" and
// shows each once.
func TestTmuxResumeAfterRestart(t *testing.T) {
	m := newTmux(t)
	bin := pynetBinary(t)
	dir := t.TempDir()
	open := func() *sqlitestore.Store {
		st, err := sqlitestore.Open(dir, sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st := open()
	ts := startServer(t, "", func(c *server.Config) { c.Store = st })
	px := startProxy(t, ts.addr)
	m.start("alice", 70, 16, fmt.Sprintf("%s client -addr %s -name alice -state-dir ''", bin, px.addr))
	m.waitFor("alice", "joined #lobby as alice")
	px.hold()
	ts.stop()
	m.waitFor("alice", "the server shut down — reconnecting")
	st.Close()
	st = open()
	ts2 := startServer(t, ts.addr, func(c *server.Config) { c.Store = st })
	bob := join(t, ts2.addr, "bob")
	for i := 1; i <= 3; i++ {
		bob.Send(messageFrame(fmt.Sprint("r", i), fmt.Sprintf("while you were away %d", i)))
		expect(t, bob, "ack", isType(protocol.MsgAck))
	}
	px.release()
	m.waitFor("alice", "reconnected — 3 missed messages")
	rows := m.waitFor("alice", "<bob> while you were away 3")
	all := strings.Join(rows, "\n")
	for i := 1; i <= 3; i++ {
		if n := strings.Count(all, fmt.Sprintf("while you were away %d", i)); n != 1 {
			t.Errorf("message %d shown %d times:\n%s", i, n, all)
		}
	}
}

// TestTmuxTallDraft (bug 1): a 30-line paste in a 12-row pane, with
// messages arriving meanwhile, is never copied into the scrollback, and
// Home with the cursor keys reaches its first line.
func TestTmuxTallDraft(t *testing.T) {
	m := newTmux(t)
	bin := pynetBinary(t)
	ts := startServer(t, "", nil)
	bob := join(t, ts.addr, "bob")
	m.start("alice", 50, 12, fmt.Sprintf("%s client -addr %s -name alice -state-dir ''", bin, ts.addr))
	m.waitScreen("alice", "the prompt", func(rows []string) bool { return lastRow(rows) == "[#lobby] alice>" })
	var paste []string
	for i := 1; i <= 30; i++ {
		paste = append(paste, fmt.Sprintf("pasted row %02d", i))
	}
	m.run("set-buffer", strings.Join(paste, "\n"))
	m.run("paste-buffer", "-p", "-t", "alice")
	m.waitFor("alice", "pasted row 30")
	for i := 1; i <= 20; i++ {
		bob.Send(messageFrame("", fmt.Sprintf("news %d", i)))
	}
	m.waitFor("alice", "news 20")
	hist := m.history("alice")
	for _, r := range hist[:len(hist)-12] {
		if strings.Contains(r, "pasted row") {
			t.Fatalf("the draft was copied into the scrollback:\n%s", strings.Join(hist, "\n"))
		}
	}
	m.press("alice", "Up")
	for range 6 { // up to row 01, a few rows at a time
		m.press("alice", "Up", "Up", "Up", "Up", "Up")
	}
	m.press("alice", "Home")
	m.waitScreen("alice", "the cursor at the start of the draft", func(rows []string) bool {
		row, col := m.cursor("alice") // the keys may still be on their way: wait for it
		return row < len(rows) && strings.HasPrefix(rows[row], "[#lobby] alice> pasted row 01") && col == len("[#lobby] alice> ")
	})
	m.press("alice", "C-g")
	m.waitScreen("alice", "the draft dropped", func(rows []string) bool { return lastRow(rows) == "[#lobby] alice>" })
}
