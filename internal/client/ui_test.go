package client

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pynet/internal/server"
	"pynet/internal/servertest"
	"pynet/protocol"
)

func uiOpts(addr, name string) Options {
	return Options{Config: testConfig(addr), Name: name}
}

// TestUIRooms: -rooms enters two rooms; the prompt shows the current one,
// the status row the others with unread counts and mentions; lines of the
// other room are marked with it; Alt-2, Ctrl-N/Ctrl-P and /room switch;
// /join enters (and switches), /part leaves, /rooms lists.
func TestUIRooms(t *testing.T) {
	ts := startServer(t, "", nil)
	bob := join(t, ts.addr, "bob")
	bob.Send(enterFrame("e", "go"))
	expect(t, bob, "bob in go", isType(protocol.MsgEntered))
	opts := uiOpts(ts.addr, "alice")
	opts.Rooms = []string{"lobby", "go"}
	ui := startUI(t, opts, 70, 20)
	ui.waitFor("joined as alice — #lobby: 2; #go: 2 online")
	ui.waitPrompt("[#lobby] alice>")

	bob.Send(roomMessageFrame("", "go", "over here", false))
	ui.waitFor("#go <bob> over here")
	ui.waitFor("[1:#lobby] 2:#go(1)")
	bob.Send(roomMessageFrame("", "go", "alice, look", false))
	ui.waitFor("[1:#lobby] 2:#go(2, 1 mention)")
	if ui.vt.Bells() == 0 {
		t.Error("a mention did not ring the bell")
	}
	bob.Send(roomMessageFrame("", "lobby", "in the lobby", false))
	rows := ui.waitFor("<bob> in the lobby")
	if strings.Contains(strings.Join(rows, "\n"), "#lobby <bob>") {
		t.Error("a line of the current room is marked with it")
	}

	ui.typ(keyAlt2)
	ui.waitPrompt("[#go] alice>")
	ui.waitFor("1:#lobby [2:#go]")
	ui.line("hello go")
	m := expect(t, bob, "alice's message", isMessage("alice", "hello go"))
	if m.Room != "go" {
		t.Fatalf("sent to %q, want go", m.Room)
	}
	ui.typ(keyCtrlN)
	ui.waitPrompt("[#lobby] alice>")
	ui.typ(keyCtrlP)
	ui.waitPrompt("[#go] alice>")
	ui.line("/room lobby")
	ui.waitPrompt("[#lobby] alice>")

	ui.line("/join #Rust")
	ui.waitFor("now in #rust — 1 online: alice")
	ui.waitPrompt("[#rust] alice>")
	ui.waitFor("1:#lobby 2:#go [3:#rust]")
	ui.line("/rooms")
	ui.waitFor("rooms: #go* (2), #lobby* (2), #rust* (1) — * you are in")
	ui.line("/part")
	ui.waitFor("you left #rust")
	ui.waitPrompt("[#go] alice>")
	ui.line("/part lobby")
	ui.waitFor("you left #lobby")
	ui.line("/part")
	ui.waitFor("you are in no room now — /join ROOM")
	ui.line("anyone?")
	ui.waitFor("you are in no room: /join ROOM first")
}

// TestUIResume: the connection dies (the server keeps a stale one); the
// client resumes and tells the missed messages in one line, then shows
// each of them once.
func TestUIResume(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 0 })
	px := startProxy(t, ts.addr)
	bob := join(t, ts.addr, "bob")
	ui := startUI(t, uiOpts(px.addr, "alice"), 70, 40)
	ui.waitFor("joined #lobby as alice")
	bob.Send(messageFrame("", "before the cut"))
	ui.waitFor("<bob> before the cut")
	px.hold()
	px.cutClient()
	ui.waitFor("reconnecting")
	for i := 1; i <= 12; i++ {
		bob.Send(messageFrame(fmt.Sprint("m", i), fmt.Sprintf("missed %d", i)))
		expect(t, bob, "ack", isType(protocol.MsgAck))
	}
	ui.typ("typed while away\r")
	ui.waitFor("offline: what you send waits")
	px.release()
	ui.waitFor("reconnected — 12 missed messages")
	ui.waitFor("<bob> missed 12")
	expect(t, bob, "what alice typed while away", isMessage("alice", "typed while away"))
	ui.waitFor("> <alice> typed while away")
	for i := 1; i <= 12; i++ {
		if n := ui.countEnd(fmt.Sprintf("<bob> missed %d", i)); n != 1 {
			t.Errorf("missed %d shown %d times", i, n)
		}
	}
	if n := ui.count("before the cut"); n != 1 {
		t.Errorf("the message before the cut shown %d times", n)
	}
	if n := ui.count("joined"); n != 1 {
		t.Errorf("%d join lines, want 1 (no wall of joins)", n)
	}
}

// TestUIAccounts: /register asks for the password twice with echo off;
// the next run, the name needs the password, asked the same way; the
// password never shows, and never reaches the history file.
func TestUIAccounts(t *testing.T) {
	ts := startServer(t, "", withAccounts)
	dir := t.TempDir()
	opts := uiOpts(ts.addr, "alice")
	opts.HistoryFile = filepath.Join(dir, "history")
	ui := startUI(t, opts, 70, 20)
	ui.waitFor("joined #lobby as alice")
	ui.line("/register")
	ui.waitPrompt("new password for alice:")
	ui.secretLine("sekrit-one")
	ui.waitPrompt("the same password again:")
	ui.secretLine("sekrit-two")
	ui.waitFor("the two passwords differ: nothing changed")
	ui.line("/register")
	ui.waitPrompt("new password for alice:")
	ui.secretLine("sekrit-one")
	ui.waitPrompt("the same password again:")
	ui.secretLine("sekrit-one")
	ui.waitFor("alice is now a registered account")
	ui.line("/quit")
	ui.end()

	guest := startUI(t, uiOpts(ts.addr, "alice"), 70, 20)
	guest.waitFor("alice is a registered account: log in with its password")
	guest.waitPrompt("password for alice:")
	guest.secretLine("wrong-password")
	guest.waitFor("wrong password — try again")
	guest.secretLine("sekrit-one")
	guest.waitFor("joined #lobby as alice (logged in)")

	for _, run := range []*uiRun{ui, guest} {
		if out := run.raw.String(); strings.Contains(out, "sekrit") || strings.Contains(out, "wrong-password") {
			t.Errorf("a password was written to the terminal:\n%q", out)
		}
	}
	b, err := os.ReadFile(opts.HistoryFile)
	if err != nil || !strings.Contains(string(b), `"/register"`) || strings.Contains(string(b), "sekrit") {
		t.Errorf("history file (%v):\n%s", err, b)
	}
}

// TestUIReplaySummary (bug 9): a long history replay is summarised — how
// many, since when, the last few — and the join's own line stays on
// screen below it.
func TestUIReplaySummary(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 0 })
	bob := join(t, ts.addr, "bob")
	for i := 1; i <= 100; i++ {
		bob.Send(messageFrame(fmt.Sprint("h", i), fmt.Sprintf("old %d", i)))
		expect(t, bob, "ack", isType(protocol.MsgAck))
	}
	ui := startUI(t, uiOpts(ts.addr, "alice"), 70, 24)
	screen := ui.waitFor("joined #lobby as alice — 2 online: alice, bob")
	all := strings.Join(screen, "\n")
	if !strings.Contains(all, "— 100 earlier messages in #lobby; the last 18: —") {
		t.Errorf("no summary on screen:\n%s", all)
	}
	if !strings.Contains(all, "~ <bob> old 100") || ui.count("old 82") != 0 {
		t.Errorf("not the last 18 messages:\n%s", all)
	}
}

// TestUIBugs covers the papercuts that need a session: each subtest is one
// numbered item of the issue.
func TestUIBugs(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 20; c.Burst = 10 })
	bob := join(t, ts.addr, "bob")
	bobby := join(t, ts.addr, "bobby")
	ui := startUI(t, uiOpts(ts.addr, "alice"), 80, 30)
	ui.waitFor("joined #lobby as alice")
	_ = bobby

	t.Run("2 pasted lines are paced, not lost", func(t *testing.T) {
		var paste strings.Builder
		for i := 1; i <= 80; i++ {
			fmt.Fprintf(&paste, "pasted %d\r", i) // no bracketed paste: 80 Enters
		}
		ui.typ(paste.String())
		for i := 1; i <= 80; i++ {
			expect(t, bob, fmt.Sprint("pasted ", i), func(f Frame) bool {
				if f.Type == protocol.MsgMessage && f.From == "alice" {
					if f.Text != fmt.Sprintf("pasted %d", i) {
						t.Fatalf("got %q, want pasted %d", f.Text, i)
					}
					return true
				}
				return false
			})
		}
		ui.waitFor("> <alice> pasted 80")
		if n := ui.count("rate limited"); n != 0 {
			t.Errorf("%d rate-limited lines on screen", n)
		}
	})

	t.Run("3 a long paste is split, and Ctrl-G drops a draft", func(t *testing.T) {
		long := strings.TrimSpace(strings.Repeat("lorem ipsum dolor ", 340)) // 6,100 bytes
		ui.typ(pasteOpen + long + pasteShut + "\r")
		ui.waitFor("a long message: sent as 2 messages")
		var got string
		for range 2 {
			f := expect(t, bob, "a part", isType(protocol.MsgMessage))
			got += f.Text + " "
		}
		if strings.TrimSpace(got) != long {
			t.Fatalf("the parts do not make the paste: %d bytes of %d", len(got), len(long))
		}
		ui.typ(pasteOpen + "line one\nline two\nline three" + pasteShut)
		ui.waitFor("line three")
		ui.typ(keyCtrlG)
		ui.waitFor("draft thrown away — ↑ brings it back")
		ui.waitPrompt("[#lobby] alice>")
	})

	t.Run("5 a private to oneself is shown once", func(t *testing.T) {
		ui.line("/msg Alice note to self")
		ui.waitFor("you → you: note to self")
		ui.line("/msg bob after the note")
		ui.waitFor("you → bob: after the note")
		if n := ui.count("note to self"); n != 1 {
			t.Fatalf("shown %d times", n)
		}
	})

	t.Run("6 help and errors fit 80 columns and wrap at words", func(t *testing.T) {
		ui.line("/help")
		ui.waitFor("Alt-Enter new line")
		ui.line("/nosuchcommand")
		rows := ui.waitFor("unknown command /nosuchcommand")
		for _, r := range rows {
			if len([]rune(r)) > 80 {
				t.Errorf("row wider than 80: %q", r)
			}
		}
		if ui.count("unknown command /nosuchcommand — see /help (//text sends /text)") != 1 {
			t.Errorf("the error is not on one row:\n%s", strings.Join(rows, "\n"))
		}
		bob.Send(messageFrame("", strings.Repeat("wrapping words ", 12)))
		rows = ui.waitFor("<bob> wrapping words")
		wrap := regexp.MustCompile(`^\[\d\d:\d\d\]   <bob> (wrapping words ?)+$`)
		cont := regexp.MustCompile(`^ {16}(wrapping words ?)+$`)
		for i, r := range rows {
			if wrap.MatchString(r) {
				if !cont.MatchString(rows[i+1]) {
					t.Fatalf("not wrapped at a word under the text:\n%s\n%s", r, rows[i+1])
				}
			}
		}
	})

	t.Run("7 Tab cycles names, also after /msg", func(t *testing.T) {
		ui.typ("/msg bo" + keyTab)
		ui.waitPrompt("[#lobby] alice> /msg bob")
		ui.typ(keyTab)
		ui.waitPrompt("[#lobby] alice> /msg bobby")
		ui.typ(keyTab)
		ui.waitPrompt("[#lobby] alice> /msg bob")
		ui.typ(keyCtrlG)
		ui.typ("/msg " + keyTab)
		ui.waitPrompt("[#lobby] alice> /msg bob")
		ui.typ(keyCtrlG)
		ui.typ("bobb" + keyTab)
		ui.waitPrompt("[#lobby] alice> bobby:")
		ui.typ(keyCtrlG)
	})

	t.Run("8 Ctrl-L draws the conversation again", func(t *testing.T) {
		bob.Send(messageFrame("", "still here after Ctrl-L"))
		ui.waitFor("still here after Ctrl-L")
		ui.vt.Write([]byte("\x1b[H\x1b[2J")) // something else wiped the screen
		ui.typ(keyCtrlL)
		ui.wait("the conversation drawn again", func(_, screen []string) bool {
			return strings.Contains(strings.Join(screen, "\n"), "<bob> still here after Ctrl-L") && lastRow(screen) == "[#lobby] alice>"
		})
	})

	t.Run("10 a mention rings the bell and stays in the status row", func(t *testing.T) {
		before := ui.vt.Bells()
		bob.Send(messageFrame("", "hey Alice!"))
		ui.waitFor("<bob> hey Alice!")
		if ui.vt.Bells() == before {
			t.Error("no bell")
		}
		ui.wait("the mention in the status row", func(_, screen []string) bool {
			return len(screen) > 1 && strings.HasPrefix(screen[len(screen)-2], "@ bob #lobby ")
		})
		ui.line("yes?")
		ui.wait("the status row gone once answered", func(_, screen []string) bool {
			return len(screen) > 1 && !strings.Contains(screen[len(screen)-2], "@ bob")
		})
	})

	t.Run("11 the connection says whether it is encrypted", func(t *testing.T) {
		ui.waitFor("connected to " + ts.addr + " (plain TCP, not encrypted)")
	})
}

// TestUIKeepsHistoryAndIgnores: the input history and the /ignore list
// are there again in the next run; an ignored user's lines are hidden.
func TestUIKeepsHistoryAndIgnores(t *testing.T) {
	ts := startServer(t, "", nil)
	mallory := join(t, ts.addr, "mallory")
	dir := t.TempDir()
	opts := uiOpts(ts.addr, "alice")
	opts.HistoryFile, opts.IgnoreFile = filepath.Join(dir, "history"), filepath.Join(dir, "ignore")
	ui := startUI(t, opts, 70, 20)
	ui.waitFor("joined #lobby as alice")
	ui.line("/ignore mallory")
	ui.waitFor("ignoring mallory")
	mallory.Send(messageFrame("", "spam spam"))
	mallory.Send(roomMessageFrame("", "lobby", "waves", true))
	ui.line("/me checks the list")
	ui.waitFor("> * alice checks the list")
	ui.line("a line\x1b\rwith two rows") // Alt-Enter: one message of two lines
	ui.waitFor("with two rows")
	ui.line("/quit")
	ui.end()
	if ui.count("spam") != 0 || ui.count("mallory waves") != 0 {
		t.Errorf("an ignored user's lines are shown:\n%s", strings.Join(ui.vt.All(), "\n"))
	}

	again := startUI(t, opts, 70, 20)
	again.waitFor("joined #lobby as alice")
	again.typ("\x1b[A")
	again.waitPrompt("[#lobby] alice> /quit")
	again.typ("\x1b[A\x1b[A")
	again.wait("the two-row line from the last run", func(_, screen []string) bool {
		return len(screen) > 1 && screen[len(screen)-2] == "[#lobby] alice> a line" && strings.TrimSpace(lastRow(screen)) == "with two rows"
	})
	again.typ(keyCtrlG)
	again.line("/ignore")
	again.waitFor("ignored: mallory")
	mallory.Send(messageFrame("", "more spam"))
	bob := join(t, ts.addr, "bob") // its join is announced after mallory's message
	again.waitFor("bob joined")
	bob.Close()
	again.line("/unignore mallory")
	again.waitFor("no longer ignoring mallory")
	mallory.Send(messageFrame("", "heard now"))
	again.waitFor("<mallory> heard now")
	if again.count("more spam") != 0 {
		t.Error("an ignored user's message is shown")
	}
	again.line("/clear")
	again.wait("a clear screen", func(_, screen []string) bool { return len(screen) == 1 })
}

// TestUIGapInWords: more was missed than the server kept; the client says
// so in words.
func TestUIGapInWords(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 0; c.History = 5 })
	px := startProxy(t, ts.addr)
	bob := join(t, ts.addr, "bob")
	ui := startUI(t, uiOpts(px.addr, "alice"), 80, 30)
	ui.waitFor("joined #lobby as alice")
	bob.Send(messageFrame("", "seen"))
	ui.waitFor("<bob> seen")
	px.hold()
	px.cutClient()
	ui.waitFor("reconnecting")
	for i := 1; i <= 10; i++ {
		bob.Send(messageFrame(fmt.Sprint("m", i), fmt.Sprintf("missed %d", i)))
		expect(t, bob, "ack", isType(protocol.MsgAck))
	}
	px.release()
	ui.waitFor("reconnected — 5 missed messages")
	ui.waitFor("! #lobby: some missed messages are no longer kept by the server")
}

// TestUIProtocol1: speaking protocol 1 (as with an old server), there are
// no rooms: the prompt has none, /join says why.
func TestUIProtocol1(t *testing.T) {
	ts := startServer(t, "", nil)
	bob := join(t, ts.addr, "bob")
	opts := uiOpts(ts.addr, "alice")
	opts.V1 = true
	ui := startUI(t, opts, 70, 20)
	ui.waitFor("joined as alice — 2 online: alice, bob")
	ui.waitPrompt("alice>")
	ui.line("/join go")
	ui.waitFor("this server has no rooms (it speaks protocol 1)")
	ui.line("hi from v1")
	m := expect(t, bob, "alice's message", isMessage("alice", "hi from v1"))
	if m.Room != protocol.Lobby {
		t.Fatalf("room %q", m.Room)
	}
	bob.Send(messageFrame("", "hi back"))
	ui.waitFor("<bob> hi back")
}

// TestUIConnectedOverTLS (bug 11): the first line says how the connection
// is protected.
func TestUIConnectedOverTLS(t *testing.T) {
	pair, serverTLS := servertest.LoopbackTLS(t)
	ts := startServer(t, "", func(c *server.Config) {
		c.TLS = serverTLS
	})
	opts := uiOpts(ts.addr, "alice")
	opts.TLS = &tls.Config{RootCAs: pair.CertPool()}
	ui := startUI(t, opts, 100, 10)
	ui.waitFor("connected to " + ts.addr + " (TLS 1.3, certificate verified)")
}

// TestUIJoinBacklog: /join shows the room's last messages summarised, then
// who is there, and switches to it; an ignored user's messages are left
// out of it without holding it up.
func TestUIJoinBacklog(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { c.Rate = 0 })
	bob := join(t, ts.addr, "bob")
	mallory := join(t, ts.addr, "mallory")
	for _, s := range []*Session{bob, mallory} {
		s.Send(enterFrame("e", "den"))
		expect(t, s, "entered", isType(protocol.MsgEntered))
	}
	for i := 1; i <= 4; i++ {
		bob.Send(roomMessageFrame(fmt.Sprint("b", i), "den", fmt.Sprintf("bob says %d", i), false))
		expect(t, bob, "ack", isType(protocol.MsgAck))
		mallory.Send(roomMessageFrame(fmt.Sprint("m", i), "den", fmt.Sprintf("mallory says %d", i), false))
		expect(t, mallory, "ack", isType(protocol.MsgAck))
	}
	ui := startUI(t, uiOpts(ts.addr, "alice"), 80, 30)
	ui.waitFor("joined #lobby as alice")
	ui.line("/ignore mallory")
	ui.line("/join den")
	ui.waitFor("now in #den — 3 online: alice, bob, mallory")
	ui.waitPrompt("[#den] alice>")
	ui.waitFor("— 4 earlier messages in #den —") // mallory's are left out
	if ui.countEnd("~ <bob> bob says 4") != 1 || ui.count("mallory says") != 0 {
		t.Fatalf("backlog:\n%s", strings.Join(ui.vt.All(), "\n"))
	}
}

// TestUILogsInAgain: with -login the password is asked before joining;
// when the session cannot be resumed after a cut, the client asks for it
// again, with echo off, and logs in.
func TestUILogsInAgain(t *testing.T) {
	ts := startServer(t, "", func(c *server.Config) { withAccounts(c); c.ResumeGrace = 0 })
	reg := connectLogin(t, ts.addr, Login{Name: "alice"}, nil)
	expectEvent(t, reg, "synced", isKind(EventSynced))
	reg.SendSecret(registerFrame("r", []byte("correct horse")))
	expectEvent(t, reg, "registered", func(ev Event) bool { return ev.Frame.Type == protocol.MsgRegistered })
	reg.Quit()
	expectEvent(t, reg, "closed", isKind(EventClosed))

	px := startProxy(t, ts.addr)
	opts := uiOpts(px.addr, "alice")
	opts.Login = true
	ui := startUI(t, opts, 80, 20)
	ui.waitPrompt("password for alice:")
	ui.secretLine("correct horse")
	ui.waitFor("joined #lobby as alice (logged in)")
	px.cut()
	ui.waitFor("the session of alice could not be resumed: log in again")
	ui.waitPrompt("password for alice:")
	ui.secretLine("correct horse")
	ui.waitFor("reconnected (a new session) — nothing missed")
	ui.waitPrompt("[#lobby] alice>")
	if strings.Contains(ui.raw.String(), "correct horse") {
		t.Fatalf("the password was written to the terminal:\n%q", ui.raw.String())
	}
}
