package protocol_test

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"pynet/protocol"
)

// checkLine checks that line is one frame: valid JSON, ending in its only LF,
// with no raw control character; it returns the line without its LF.
func checkLine(t *testing.T, line []byte) []byte {
	t.Helper()
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("frame %q does not end in exactly one LF (and no other)", line)
	}
	body := line[:len(line)-1]
	if !json.Valid(body) {
		t.Fatalf("frame %q is not valid JSON", line)
	}
	for _, c := range body {
		if c < 0x20 {
			t.Fatalf("frame %q holds raw control byte %#x", line, c)
		}
	}
	return body
}

func TestBuilderStrings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // what encoding/json decodes the member to
	}{
		{"empty", "", ""},
		{"plain", "hello, world", "hello, world"},
		{"quotes", `say "hi"`, `say "hi"`},
		{"backslashes", `C:\dir\ \\ \"`, `C:\dir\ \\ \"`},
		{"short escapes", "\b\f\n\r\t", "\b\f\n\r\t"},
		{"all C0 controls", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" +
			"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f",
			"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" +
				"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"},
		{"DEL and C1", "\x7f\u0080\u009f", "\x7f\u0080\u009f"},
		{"html not escaped", "<b>&amp;</b>", "<b>&amp;</b>"},
		{"line separators", "a\u2028b\u2029c", "a\u2028b\u2029c"},
		{"multibyte", "héllo 世界 😀", "héllo 世界 😀"},
		{"replacement char", "\uFFFD", "\uFFFD"},
		{"BOM", "\uFEFF", "\uFEFF"},
		{"invalid byte", "a\xffb", "a\uFFFDb"},
		{"invalid bytes", "\xff\xfe", "\uFFFD\uFFFD"},
		{"encoded surrogate", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"truncated rune", "\xf0\x9f\x98", "\uFFFD\uFFFD\uFFFD"},
		{"truncated rune at end of text", "ok\xe4\xb8", "ok\uFFFD\uFFFD"},
		{"overlong encoding", "\xc0\xaf", "\uFFFD\uFFFD"},
		{"escapes next to runes", "é\"é\\é\né", "é\"é\\é\né"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := protocol.NewFrame(nil, protocol.MsgMessage).Str("text", tt.in).Strs("users", []string{tt.in, "x"}).End()
			body := checkLine(t, line)
			var got struct {
				Type  string
				Text  string
				Users []string
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("Str(%q): frame %q: %v", tt.in, line, err)
			}
			if got.Type != "message" || got.Text != tt.want || len(got.Users) != 2 || got.Users[0] != tt.want {
				t.Errorf("Str(%q): frame %q decodes to %+q, want text %q", tt.in, line, got, tt.want)
			}
		})
	}
}

func TestAppendStringBytes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<>&", `"<>&"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"\n\r\t", `"\n\r\t"`},
		{`"\`, `"\"\\"`},
		{"\x7f", "\"\x7f\""},
		{"a\xffb", `"a\ufffdb"`},
		{"é", `"é"`},
		{"/", `"/"`},
	}
	for _, tt := range tests {
		if got := string(protocol.AppendString([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got[1:], tt.want)
		}
	}
}

// Every single byte round-trips: ASCII as itself, other bytes alone as U+FFFD.
func TestAppendStringEveryByte(t *testing.T) {
	for c := range 256 {
		in := string([]byte{byte(c)})
		want := in
		if c >= 0x80 {
			want = "\uFFFD"
		}
		enc := protocol.AppendString(nil, in)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil || got != want {
			t.Errorf("AppendString(%q) = %s, decodes to %q, %v; want %q", in, enc, got, err, want)
		}
	}
}

func TestBuilderMembers(t *testing.T) {
	ts := time.Date(2026, 11, 26, 0, 32, 33, 123_000_000, time.UTC)
	tests := []struct {
		name string
		line []byte
		want string
	}{
		{"type only", protocol.NewFrame(nil, protocol.MsgPong).End(), `{"type":"pong"}`},
		{"ack", protocol.NewFrame(nil, protocol.MsgAck).Str("ref", "a1").Int("id", 8).Time("ts", ts).End(),
			`{"type":"ack","ref":"a1","id":8,"ts":"2026-11-26T00:32:33.123Z"}`},
		{"message", protocol.NewFrame(nil, protocol.MsgMessage).Int("id", 7).Str("from", "bob").
			Str("text", "anyone here?").Time("ts", ts).Bool("history", true).End(),
			`{"type":"message","id":7,"from":"bob","text":"anyone here?","ts":"2026-11-26T00:32:33.123Z","history":true}`},
		{"welcome", protocol.NewFrame(nil, protocol.MsgWelcome).Str("username", "alice").
			Strs("users", []string{"alice", "bob"}).Int("protocol", protocol.VersionV1).Str("server", "pynet/1.0.0").
			Raw("limits", []byte(limitsJSON)).End(),
			`{"type":"welcome","username":"alice","users":["alice","bob"],"protocol":1,"server":"pynet/1.0.0","limits":{"max_frame":65536,"max_text":4096,"rate":20,"burst":40}}`},
		{"ints", protocol.NewFrame(nil, "x").Int("a", 0).Int("b", -1).Int("c", math.MaxInt64).Int("d", math.MinInt64).End(),
			`{"type":"x","a":0,"b":-1,"c":9223372036854775807,"d":-9223372036854775808}`},
		{"nums", protocol.NewFrame(nil, "x").Num("a", 20).Num("b", 0.5).Num("c", 0).Num("d", -2.25).Num("e", 1e21).Num("f", 1e-7).End(),
			`{"type":"x","a":20,"b":0.5,"c":0,"d":-2.25,"e":1000000000000000000000,"f":0.0000001}`},
		{"bools", protocol.NewFrame(nil, "x").Bool("t", true).Bool("f", false).End(), `{"type":"x","t":true,"f":false}`},
		{"empty and nil lists", protocol.NewFrame(nil, "x").Strs("a", []string{}).Strs("b", nil).Strs("c", []string{""}).End(),
			`{"type":"x","a":[],"b":[],"c":[""]}`},
		{"escaped type", protocol.NewFrame(nil, "a\"b").End(), `{"type":"a\"b"}`},
		{"after existing bytes", protocol.NewFrame([]byte("{\"type\":\"ping\"}\n"), protocol.MsgPong).End(),
			"{\"type\":\"ping\"}\n{\"type\":\"pong\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.line); got != tt.want+"\n" {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			last := tt.line[bytes.LastIndexByte(tt.line[:len(tt.line)-1], '\n')+1:]
			body := checkLine(t, last)
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		})
	}
}

// The welcome frame of PROTOCOL §8 decodes back through DecodeServer.
func TestBuilderDecodeServer(t *testing.T) {
	line := protocol.NewFrame(nil, protocol.MsgWelcome).Str("username", "alice").
		Strs("users", []string{"alice", "bob"}).Int("protocol", protocol.VersionV1).Str("server", "pynet/1.0.0").
		Raw("limits", []byte(limitsJSON)).End()
	f, err := protocol.DecodeServer(line)
	if err != nil {
		t.Fatalf("DecodeServer(%q): %v", line, err)
	}
	want := protocol.Limits{MaxFrame: 65536, MaxText: 4096, Rate: 20, Burst: 40}
	if f.Type != "welcome" || f.Username != "alice" || len(f.Users) != 2 || f.Protocol != 1 ||
		f.Server != "pynet/1.0.0" || f.Limits == nil || *f.Limits != want {
		t.Errorf("DecodeServer(%q) = %+v (limits %+v)", line, f, f.Limits)
	}
}

const limitsJSON = `{"max_frame":65536,"max_text":4096,"rate":20,"burst":40}`

var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestAppendTime(t *testing.T) {
	const want = "2026-11-26T00:32:33.123Z"
	base := time.Date(2026, 11, 26, 0, 32, 33, 123_000_000, time.UTC)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"utc", base, want},
		{"plus 05:30", base.In(time.FixedZone("IST", 5*3600+1800)), want},
		{"minus 08:00 (day before)", base.In(time.FixedZone("PST", -8*3600)), want},
		{"plus 14:00", base.In(time.FixedZone("LINT", 14*3600)), want},
		{"local", base.Local(), want},
		{"built in a zone", time.Date(2026, 11, 25, 19, 32, 33, 123_000_000, time.FixedZone("EST", -5*3600)), want},
		{"nanoseconds truncated", base.Add(999_999), want},
		{"whole second", base.Truncate(time.Second), "2026-11-26T00:32:33.000Z"},
		{"one millisecond", time.Date(2026, 1, 2, 3, 4, 5, 1_000_000, time.UTC), "2026-01-02T03:04:05.001Z"},
		{"end of year", time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC), "2026-12-31T23:59:59.999Z"},
		{"now without monotonic reading", time.Now().Round(0), ""},
		{"now with monotonic reading", time.Now(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(protocol.AppendTime([]byte("ts="), tt.in))
			if !strings.HasPrefix(got, "ts=") {
				t.Fatalf("AppendTime(%v) = %q: the prefix was lost", tt.in, got)
			}
			got = got[3:]
			if !timeRE.MatchString(got) {
				t.Fatalf("AppendTime(%v) = %q, not YYYY-MM-DDTHH:MM:SS.mmmZ", tt.in, got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("AppendTime(%v) = %q, want %q", tt.in, got, tt.want)
			}
			parsed, err := time.Parse(time.RFC3339Nano, got)
			if err != nil || !parsed.Equal(tt.in.Truncate(time.Millisecond)) {
				t.Errorf("AppendTime(%v) = %q parses back to %v, %v; want %v",
					tt.in, got, parsed, err, tt.in.Truncate(time.Millisecond))
			}
		})
	}
	line := protocol.NewFrame(nil, protocol.MsgJoined).Time("ts", base.In(time.FixedZone("X", -3600))).End()
	if got := string(line); got != `{"type":"joined","ts":"`+want+`"}`+"\n" {
		t.Errorf("Builder.Time: got %q", got)
	}
}
