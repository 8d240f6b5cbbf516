package term

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"pynet/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// renderAll renders testdata/frames.jsonl and the client's own lines, as
// alice, in a fixed zone (UTC+1) at a fixed time.
func renderAll(t *testing.T, color bool) []string {
	var out []string
	for _, l := range renderLines(t, color) {
		out = append(out, l.Plain())
	}
	return out
}

// renderLines renders the test frames as Lines.
func renderLines(t *testing.T, color bool) []Line {
	t.Helper()
	r := &Renderer{
		Color: color,
		Self:  "alice",
		Loc:   time.FixedZone("UTC+1", 3600),
		Now:   func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) },
	}
	f, err := os.Open(filepath.Join("testdata", "frames.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fr, err := protocol.DecodeServer(sc.Bytes())
		if err != nil {
			t.Fatalf("bad test frame %s: %v", sc.Text(), err)
		}
		out = append(out, r.Frame(fr)...)
	}
	ts := "2026-11-26T00:40:00.000Z"
	out = append(out, r.Own(ts, "lobby", "my message", false)...)
	out = append(out, r.Own(ts, "lobby", "my two\nline message", false)...)
	out = append(out, r.Own(ts, "lobby", "waves", true)...)
	r.Room = "lobby"
	out = append(out, r.Own(ts, "go", "in another room", false)...)
	for _, line := range []string{
		`{"type":"message","id":30,"from":"bob","text":"in the current room","room":"lobby","ts":"2026-11-26T00:41:00.000Z"}`,
		`{"type":"message","id":31,"from":"bob","text":"in another room","room":"go","ts":"2026-11-26T00:41:01.000Z"}`,
		`{"type":"message","id":32,"from":"bob","text":"dances","room":"go","action":true,"ts":"2026-11-26T00:41:02.000Z"}`,
		`{"type":"joined","username":"carol","room":"go","ts":"2026-11-26T00:41:03.000Z"}`,
		`{"type":"left","username":"carol","room":"lobby","reason":"exit","ts":"2026-11-26T00:41:04.000Z"}`,
	} {
		fr, err := protocol.DecodeServer([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Frame(fr)...)
	}
	r.Room = ""
	out = append(out, r.OwnPrivate(ts, "bob", "private reply")...)
	out = append(out, r.Notice("connected to 127.0.0.1:5050")...)
	out = append(out, r.Problem("not connected — message not sent")...)
	errFrame := func(code string, ms int64) protocol.ServerFrame {
		return protocol.ServerFrame{Type: protocol.MsgError, Code: code, Message: "server words", RetryAfterMS: ms}
	}
	out = append(out, r.Error(errFrame(protocol.CodeNoSuchUser, 0), Request{Type: protocol.MsgPrivate, To: "bob"})...)
	out = append(out, r.Error(errFrame(protocol.CodeUsernameTaken, 0), Request{Type: protocol.MsgNick, Username: "Bob"})...)
	out = append(out, r.Error(errFrame(protocol.CodeInvalidUsername, 0), Request{Type: protocol.MsgNick, Username: "-x"})...)
	out = append(out, r.Error(errFrame(protocol.CodeRateLimited, 12345), Request{Type: protocol.MsgMessage})...)
	out = append(out, r.Error(errFrame(protocol.CodeTextTooLong, 0), Request{Type: protocol.MsgMessage})...)
	out = append(out, r.Error(errFrame(protocol.CodeInvalidText, 0), Request{Type: protocol.MsgMessage, Text: "a message whose start is quoted"})...)
	out = append(out, r.Error(errFrame(protocol.CodeNotInRoom, 0), Request{Type: protocol.MsgMessage, Room: "go", Text: "hi"})...)
	out = append(out, r.Error(errFrame(protocol.CodeInvalidRoom, 0), Request{Type: protocol.MsgEnter, Room: "a b"})...)
	out = append(out, r.Error(errFrame(protocol.CodeAuthRequired, 0), Request{Type: protocol.MsgJoin, Username: "alice"})...)
	out = append(out, r.Error(errFrame(protocol.CodeUnknownType, 0), Request{Type: protocol.MsgEnter, Room: "go"})...)
	return out
}

func checkGolden(t *testing.T, name string, lines []string) {
	t.Helper()
	// ESC is shown as ␛ so the golden file reads well in an editor and diff.
	got := strings.ReplaceAll(strings.Join(lines, "\n")+"\n", "\x1b", "␛")
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("rendering differs from %s (go test -update rewrites it):\n%s", path, diffLines(string(want), got))
	}
}

// diffLines shows the first lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
		}
	}
	return b.String()
}

func TestRenderGoldenPlain(t *testing.T) { checkGolden(t, "render_plain.golden", renderAll(t, false)) }
func TestRenderGoldenColor(t *testing.T) { checkGolden(t, "render_color.golden", renderAll(t, true)) }

// sgr matches the only escape sequences the renderer may emit: colours.
var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestRenderNeutralisesControls checks the raw output, not the golden
// file: without colour no control character at all; with colour nothing
// but SGR sequences.
func TestRenderNeutralisesControls(t *testing.T) {
	for _, color := range []bool{false, true} {
		for _, line := range renderAll(t, color) {
			rest := sgr.ReplaceAllString(line, "")
			if !color && rest != line {
				t.Errorf("colour in no-colour output: %q", line)
			}
			for _, r := range rest {
				if protocol.IsControl(r) || isReordering(r) {
					t.Errorf("control character %U in %q", r, line)
				}
			}
		}
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\x1b[31mb", "a^[[31mb"},
		{"tab\there", "tab here"},
		{"nl\ncr\r", "nl^Jcr^M"},
		{"del\x7f", "del^?"},
		{"c1\u009b", "c1\ufffd"},
		{"bad\xff", "bad\ufffd"},
		{"rlo\u202egnp.exe", "rlo\ufffdgnp.exe"},
		{"日本", "日本"},
	} {
		if got := Clean(tc.in); got != tc.want {
			t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSeconds(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want string
	}{{800, "0.8 s"}, {1000, "1 s"}, {1500, "1.5 s"}, {12345, "12 s"}, {10, "0.1 s"}, {0, "0 s"}} {
		if got := Seconds(tc.ms); got != tc.want {
			t.Errorf("Seconds(%d) = %q, want %q", tc.ms, got, tc.want)
		}
	}
}

func TestUserColorStable(t *testing.T) {
	for _, wide := range []bool{false, true} {
		if UserColor("Alice", wide) != UserColor("alice", wide) {
			t.Error("Alice and alice have different colours")
		}
		seen := map[string]bool{}
		for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"} {
			seen[UserColor(n, wide)] = true
		}
		if len(seen) < 4 {
			t.Errorf("8 names share only %d colours", len(seen))
		}
	}
}

// TestRenderDateLines: with DateLines, a line with the date comes before
// the first line of each new day, and time stamps show the time only.
func TestRenderDateLines(t *testing.T) {
	r := &Renderer{
		Self: "alice", DateLines: true, Loc: time.UTC,
		Now: func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) },
	}
	var got []string
	for _, f := range []protocol.ServerFrame{
		{Type: protocol.MsgMessage, From: "bob", Text: "old", TS: "2026-11-24T10:00:00.000Z", History: true},
		{Type: protocol.MsgMessage, From: "bob", Text: "older day", TS: "2026-11-24T23:59:00.000Z", History: true},
		{Type: protocol.MsgMessage, From: "bob", Text: "this morning", TS: "2026-11-26T09:00:00.000Z"},
	} {
		for _, l := range r.Frame(f) {
			got = append(got, l.Plain())
		}
	}
	for _, l := range r.Notice("now") {
		got = append(got, l.Plain())
	}
	want := []string{
		"—— Tuesday 24 November 2026 ——",
		"[10:00] ~ <bob> old",
		"[23:59] ~ <bob> older day",
		"—— Thursday 26 November 2026 (today) ——",
		"[09:00]   <bob> this morning",
		"[12:00] * now",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
