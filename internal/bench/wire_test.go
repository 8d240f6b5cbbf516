package bench

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"pynet/protocol"
)

func TestMarkerRoundTrip(t *testing.T) {
	for _, size := range []int{markerLen, 100, protocol.MaxText} {
		text := makeText(0xbeef, 4242, size)
		if len(text) != size {
			t.Fatalf("makeText(size %d) has %d bytes", size, len(text))
		}
		putMarker(text, phaseMeasured, 0xdeadbeef, 0xabcdef012345)
		// The server must forward it unchanged: valid, nothing trimmed, and
		// nothing escaped, so the marker appears verbatim in the frame.
		if trimmed, perr := protocol.CheckText(string(text)); perr != nil || trimmed != string(text) {
			t.Fatalf("size %d: CheckText = %q, %v", size, trimmed, perr)
		}
		frame := protocol.NewFrame(nil, protocol.MsgMessage).Str("text", string(text)).End()
		i := bytes.Index(frame, runPrefix(0xbeef))
		if i < 0 {
			t.Fatalf("size %d: run prefix not found in %s", size, frame)
		}
		phase, sender, seq, at, ok := parseMarker(frame[i:])
		if !ok || phase != phaseMeasured || sender != 4242 || seq != 0xdeadbeef || at != 0xabcdef012345 {
			t.Errorf("size %d: parseMarker = %c %d %x %x %v", size, phase, sender, seq, at, ok)
		}
	}
}

func TestParseMarkerRejects(t *testing.T) {
	good := makeText(1, 2, markerLen)
	for name, b := range map[string][]byte{
		"short":      good[:markerLen-1],
		"bad phase":  append([]byte{}, good...),
		"bad hex":    append([]byte{}, good...),
		"no end '~'": append([]byte{}, good...),
	} {
		switch name {
		case "bad phase":
			b[mkPhase] = 'x'
		case "bad hex":
			b[mkSeq] = 'G'
		case "no end '~'":
			b[mkEnd] = 'x'
		}
		if _, _, _, _, ok := parseMarker(b); ok {
			t.Errorf("%s: parseMarker accepted %q", name, b)
		}
	}
}

func TestFrameType(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"type":"ack","ref":"b","id":8,"ts":"2026-11-26T00:32:33.123Z"}`, "ack"},
		{`{"id":3,"type":"joined","username":"x"}`, "joined"},
		{`{"type": "ack"}`, ""}, // not compact: the caller decodes it properly
		{`{"type":"unterminated`, ""},
		{``, ""},
	} {
		if got := string(frameType([]byte(tc.line))); got != tc.want {
			t.Errorf("frameType(%s) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestLineBuf(t *testing.T) {
	input := "first\r\n\nsecond\n" + strings.Repeat("x", 3*readBufSize) + "\nlast\npartial"
	want := []string{"first", "", "second", strings.Repeat("x", 3*readBufSize), "last"}
	for _, tc := range []struct {
		name string
		rd   func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"byte by byte", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b lineBuf
			rd := tc.rd(strings.NewReader(input))
			var got []string
			for range 1_000_000 { // bounded: the input is far shorter
				for {
					line, ok := b.next()
					if !ok {
						break
					}
					got = append(got, string(line))
				}
				_, tooLong, err := b.fill(rd)
				if tooLong {
					t.Fatal("tooLong for a line under maxLine")
				}
				if err != nil {
					break
				}
			}
			if len(got) != len(want) {
				t.Fatalf("got %d lines, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("line %d: got %.20q (%d bytes), want %.20q (%d bytes)", i, got[i], len(got[i]), want[i], len(want[i]))
				}
			}
			if len(b.buf) > 4*readBufSize {
				t.Errorf("buffer still %d bytes after the long line", len(b.buf))
			}
		})
	}
}

func TestLineBufDropsHugeLine(t *testing.T) {
	input := "a\n" + strings.Repeat("y", maxLine+10) + "\nb\n"
	var b lineBuf
	rd := strings.NewReader(input)
	var got []string
	tooLongs := 0
	for range 100_000 {
		for {
			line, ok := b.next()
			if !ok {
				break
			}
			got = append(got, string(line))
		}
		_, tooLong, err := b.fill(rd)
		if tooLong {
			tooLongs++
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if strings.Join(got, ",") != "a,b" || tooLongs != 1 {
		t.Errorf("got lines %q and %d tooLong, want [a b] and 1", got, tooLongs)
	}
	if len(b.buf) > maxLine {
		t.Errorf("buffer grew to %d bytes, more than maxLine", len(b.buf))
	}
}

// putID overwrites the 9-digit id that idFrame wrote.
func putID(line []byte, id int) {
	i := bytes.Index(line, idKey) + len(idKey)
	for j := i + 8; j >= i; j-- {
		line[j] = byte('0' + id%10)
		id /= 10
	}
}

// TestHandleMessageDoesNotAllocate checks the per-delivery fast path.
func TestHandleMessageDoesNotAllocate(t *testing.T) {
	r := &run{cfg: Config{Senders: 4}, id: 7, prefix: runPrefix(7), orderCheck: true, tally: newTally()}
	c := newConn(r, 3)
	text := makeText(7, 1, 100)
	putMarker(text, phaseMeasured, 0, 1000)
	line := protocol.NewFrame(nil, protocol.MsgMessage).Int("id", 100000000).Str("from", "bench-0002").
		Str("text", string(text)).Str("room", "lobby").Str("ts", "2026-11-26T00:32:33.123Z").End()
	line = line[:len(line)-1]
	seq, id := uint32(0), 100000000
	allocs := testing.AllocsPerRun(1000, func() {
		putHex(line[bytes.Index(line, r.prefix)+mkSeq:][:8], uint64(seq))
		seq++
		id++
		putID(line, id)
		c.handle(line, 5000, true)
	})
	if allocs != 0 {
		t.Errorf("handle allocates %v times per message", allocs)
	}
	ack := []byte(`{"type":"ack","ref":"b","id":100000000,"ts":"2026-11-26T00:32:33.123Z"}`)
	if n := testing.AllocsPerRun(1000, func() { id++; putID(ack, id); c.handle(ack, 5000, true) }); n != 0 {
		t.Errorf("handle allocates %v times per ack", n)
	}
	errs, _, _ := r.tally.snapshot()
	if c.nMeasured != 1001 || c.nInWindow != 1001 || c.nAcks != 1001 || len(errs) != 0 {
		t.Errorf("counted %d measured, %d in window, %d acks, errors %v; want 1001, 1001, 1001, none",
			c.nMeasured, c.nInWindow, c.nAcks, errs)
	}
	if got := c.hist.Quantile(0.5); got != 4000 {
		t.Errorf("latency p50 = %d, want 4000 (received 5000, sent 1000)", got)
	}
}

// benchMsg is a live message frame of run 7 from sender with sequence
// number seq and id id.
func benchMsg(id int64, sender int, seq uint32) []byte {
	text := makeText(7, sender, 40)
	putMarker(text, phaseWarmup, seq, 1)
	return protocol.NewFrame(nil, protocol.MsgMessage).Int("id", id).Str("from", "x").Str("text", string(text)).End()
}

func TestHandleCountsAnomalies(t *testing.T) {
	r := &run{cfg: Config{Senders: 2}, id: 7, prefix: runPrefix(7), orderCheck: true, tally: newTally()}
	c := newConn(r, 1)
	c.handle(benchMsg(1, 0, 5), 10, false) // 0 to 4 never came: a gap
	c.handle(benchMsg(2, 0, 5), 10, false) // twice
	c.handle(benchMsg(3, 0, 4), 10, false) // backwards
	c.handle(benchMsg(4, 1, 0), 10, false) // its own
	c.handle(benchMsg(5, 0, 6), 10, false) // fine
	c.handle([]byte(`{"type":"error","code":"rate_limited","message":"slow down","retry_after_ms":40,"ref":"b"}`), 10, false)
	c.handle([]byte(`{"type":"bye","reason":"slow_consumer"}`), 10, false)
	c.handle([]byte(`not json`), 10, false)
	errs, byes, notes := r.tally.snapshot()
	want := map[string]int64{errOutOfOrder: 2, errEcho: 1, errGap: 1, protocol.CodeRateLimited: 1, errBadLine: 1}
	for k, v := range want {
		if errs[k] != v {
			t.Errorf("errors[%s] = %d, want %d (all: %v)", k, errs[k], v, errs)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("errors %v, want only %v", errs, want)
	}
	if byes[protocol.ReasonSlowConsumer] != 1 || !c.gotBye {
		t.Errorf("byes = %v, gotBye %v; want slow_consumer 1", byes, c.gotBye)
	}
	if c.nAcks != 1 {
		t.Errorf("an error answering a message must free its window slot: acks = %d", c.nAcks)
	}
	if c.nAll != 2 || c.nMeasured != 0 || c.hist.Count() != 0 {
		t.Errorf("counted %d deliveries, %d measured, %d latencies; want 2, 0, 0 (warmup)", c.nAll, c.nMeasured, c.hist.Count())
	}
	if !strings.Contains(strings.Join(notes, "\n"), "-rate 0") {
		t.Errorf("notes %q do not tell to run the server with -rate 0", notes)
	}
}

// TestIDOrderChecker feeds one connection live and replayed frames: every
// live message, private and ack must have an id above all before it
// (PROTOCOL §5.3); replays (history: true) are exempt.
func TestIDOrderChecker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		bad   int64 // id_order errors expected
	}{
		{"increasing", []string{
			`{"type":"message","id":5,"from":"a","text":"x","room":"lobby","ts":"t"}`,
			`{"type":"ack","ref":"b","id":6,"ts":"t"}`,
			`{"type":"private","id":9,"from":"a","to":"b","text":"x","ts":"t"}`,
			`{"type":"message","id":10,"from":"a","text":"x","room":"go","ts":"t"}`,
		}, 0},
		{"replays are exempt", []string{
			`{"type":"message","id":40,"from":"a","text":"x","room":"lobby","ts":"t"}`,
			`{"type":"message","id":3,"from":"a","text":"x","room":"go","ts":"t","history":true}`,
			`{"type":"private","id":2,"from":"a","to":"b","text":"x","ts":"t","history":true}`,
			`{"type":"joined","username":"a","room":"go","ts":"t"}`,
			`{"type":"message","id":41,"from":"a","text":"x","room":"go","ts":"t"}`,
		}, 0},
		{"a message repeats an id", []string{
			`{"type":"message","id":7,"from":"a","text":"x","room":"lobby","ts":"t"}`,
			`{"type":"message","id":7,"from":"a","text":"x","room":"go","ts":"t"}`,
		}, 1},
		{"two rooms out of order", []string{
			`{"type":"message","id":8,"from":"a","text":"x","room":"lobby","ts":"t"}`,
			`{"type":"message","id":6,"from":"a","text":"x","room":"go","ts":"t"}`,
			`{"type":"message","id":9,"from":"a","text":"x","room":"go","ts":"t"}`,
		}, 1},
		{"an ack behind a message", []string{
			`{"type":"message","id":12,"from":"a","text":"x","room":"lobby","ts":"t"}`,
			`{"type":"ack","ref":"b","id":11,"ts":"t"}`,
		}, 1},
		{"a private behind an ack", []string{
			`{"type":"ack","ref":"b","id":12,"ts":"t"}`,
			`{"type":"private","id":10,"from":"a","to":"b","text":"x","ts":"t"}`,
		}, 1},
		{"written loosely", []string{ // the slow path checks too
			`{"type":"message","id":12,"from":"a","text":"x","room":"lobby","ts":"t"}`,
			`{"id":11, "type": "message", "from":"a","text":"x","room":"lobby","ts":"t"}`,
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &run{cfg: Config{}, id: 7, prefix: runPrefix(7), tally: newTally()}
			c := newConn(r, 0)
			for _, l := range tc.lines {
				c.handle([]byte(l), 1, false)
			}
			errs, _, notes := r.tally.snapshot()
			if errs[errIDOrder] != tc.bad {
				t.Errorf("id_order errors %d, want %d (errors %v)", errs[errIDOrder], tc.bad, errs)
			}
			if tc.bad > 0 && !strings.Contains(strings.Join(notes, "\n"), "increasing id order") {
				t.Errorf("notes %q do not explain the violation", notes)
			}
		})
	}
}

func TestIDMissing(t *testing.T) {
	r := &run{cfg: Config{}, id: 7, prefix: runPrefix(7), tally: newTally()}
	c := newConn(r, 0)
	c.handle([]byte(`{"type":"message","from":"a","text":"x","ts":"t"}`), 1, false)
	if errs, _, _ := r.tally.snapshot(); errs[errBadLine] != 1 {
		t.Errorf("a live message without an id: errors %v, want bad_line 1", errs)
	}
}

// roomRun is a run with three rooms, every third message to the lobby.
func roomRun() *run {
	r := &run{cfg: Config{Senders: 6, Size: 100, Protocol: 2, Rooms: 3, LobbyEvery: 3}, id: 7, prefix: runPrefix(7),
		orderCheck: true, tally: newTally(), rooms: []string{"b-r1", "b-r2", "b-r3"}, lobbyEvery: 3}
	return r
}

// TestRoomChecks checks what a receiver expects with rooms: every message
// of its own room, and of the other rooms only those sent to the lobby.
func TestRoomChecks(t *testing.T) {
	r := roomRun()
	c := newConn(r, 4) // room 1, with senders 1 and 4
	if c.room != 1 {
		t.Fatalf("client 4 is in room %d, want 1", c.room)
	}
	for _, m := range []struct {
		sender int
		seq    uint32
	}{
		{1, 0}, {1, 1}, {1, 2}, // its room: everything
		{0, 2}, {0, 5}, // another room: the lobby messages (2, 5, 8, ...)
		{1, 4},  // 3 is missing: a gap
		{0, 3},  // a message of room 0 that did not go to the lobby
		{0, 11}, // 8 is missing: a gap
		{5, 2},  // the first lobby message of sender 5
	} {
		c.handle(benchMsg(int64(c.lastID+1), m.sender, m.seq), 1, false)
	}
	errs, _, _ := r.tally.snapshot()
	want := map[string]int64{errGap: 2, errWrongRoom: 1}
	for k, v := range want {
		if errs[k] != v {
			t.Errorf("errors[%s] = %d, want %d (all %v)", k, errs[k], v, errs)
		}
	}
	if len(errs) != len(want) || c.nAll != 8 {
		t.Errorf("errors %v and %d counted; want %v and 8", errs, c.nAll, want)
	}
}

func TestNextLobby(t *testing.T) {
	r := roomRun()
	for _, tc := range []struct{ seq, want uint32 }{{0, 2}, {2, 2}, {3, 5}, {5, 5}, {6, 8}, {math.MaxUint32 - 3, math.MaxUint32 - 1}} {
		if got := r.nextLobby(tc.seq); got != tc.want {
			t.Errorf("nextLobby(%d) = %d, want %d", tc.seq, got, tc.want)
		}
		if !r.toLobby(r.nextLobby(tc.seq)) {
			t.Errorf("nextLobby(%d) = %d does not go to the lobby", tc.seq, tc.want)
		}
	}
	r.lobbyEvery = 0
	if r.nextLobby(5) != math.MaxUint32 || r.toLobby(2) {
		t.Error("without lobby messages, none is expected")
	}
	r.rooms = nil
	if r.nextLobby(5) != 5 || !r.toLobby(1) {
		t.Error("without rooms, every message goes to the lobby")
	}
}

// TestSenderFrames checks what a v2 sender writes: its room's name, every
// third message to the lobby, and a ref unique to each message.
func TestSenderFrames(t *testing.T) {
	r := roomRun()
	r.flatOut = true
	r.gate = newGate(&r.delivered)
	c := newConn(r, 4)
	s := newSender(r, c)
	for range 6 {
		s.add(0)
	}
	refs := map[string]bool{}
	for i, line := range bytes.Split(bytes.TrimSuffix(s.buf, []byte("\n")), []byte("\n")) {
		f, err := protocol.DecodeClient(line)
		if err != nil {
			t.Fatalf("frame %d: %v: %s", i, err, line)
		}
		room := f.Room
		if !f.HasRoom {
			room = "lobby"
		}
		wantRoom := "b-r2"
		if i%3 == 2 {
			wantRoom = "lobby"
		}
		if room != wantRoom || refs[f.Ref] || len(f.Ref) != refDigits {
			t.Errorf("frame %d: room %q, ref %q; want %q and a new %d-digit ref: %s", i, room, f.Ref, wantRoom, refDigits, line)
		}
		refs[f.Ref] = true
	}
}

// pipeServer plays a server on the far end of a pipe: it reads the join,
// checks it holds want, and writes script.
func pipeServer(t *testing.T, nc net.Conn, want string, script []string) {
	t.Helper()
	go func() {
		defer nc.Close()
		buf := make([]byte, 4096)
		n, _ := nc.Read(buf)
		if !strings.Contains(string(buf[:n]), want) {
			t.Errorf("join %q lacks %q", buf[:n], want)
		}
		for _, l := range script {
			if _, err := nc.Write([]byte(l + "\n")); err != nil {
				return
			}
		}
		io.Copy(io.Discard, nc) // until the client closes
	}()
}

// TestHandshakeV2 checks that a v2 join reads welcome, each room's entered
// and replay, and the private replay, and leaves live traffic for readLoop.
func TestHandshakeV2(t *testing.T) {
	welcome := `{"type":"welcome","username":"bench-0005","protocol":2,"server":"pynet/2.0.0","limits":{"max_frame":65536,"max_text":4096,"rate":0,"burst":0},"account":false,"session":"s","epoch":"e","last_id":41,"resumed":false,"privates":1}`
	for _, tc := range []struct {
		name   string
		script []string
		err    string // "" when the join must succeed
	}{
		{"replays", []string{
			welcome,
			`{"type":"entered","room":"lobby","count":3,"users":["a","b","bench-0005"],"replay":2}`,
			`{"type":"message","id":39,"from":"a","text":"x","room":"lobby","ts":"t","history":true}`,
			`{"type":"joined","username":"z","room":"lobby","ts":"t"}`,
			`{"type":"message","id":40,"from":"a","text":"y","room":"lobby","ts":"t","history":true}`,
			`{"type":"entered","room":"b-r2","count":1,"users":["bench-0005"],"replay":0}`,
			`{"type":"private","id":41,"from":"a","to":"bench-0005","text":"x","ts":"t","history":true}`,
			`{"type":"message","id":42,"from":"a","text":"live","room":"b-r2","ts":"t"}`,
		}, ""},
		{"a room missing", []string{
			welcome,
			`{"type":"entered","room":"lobby","count":3,"replay":0}`,
			`{"type":"entered","room":"b-r3","count":1,"replay":0}`,
		}, "expected the rooms"},
		{"a replay short", []string{
			welcome,
			`{"type":"entered","room":"lobby","count":3,"replay":2}`,
			`{"type":"message","id":40,"from":"a","text":"y","room":"lobby","ts":"t","history":true}`,
			`{"type":"entered","room":"b-r2","count":1,"replay":0}`,
		}, "missing"},
		{"a v1 server", []string{
			`{"type":"welcome","username":"bench-0005","users":["bench-0005"],"protocol":1,"server":"pynet/1.0.0","limits":{"max_frame":65536,"max_text":4096,"rate":0,"burst":0}}`,
		}, "speaks protocol 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := roomRun()
			c := newConn(r, 4)
			client, server := net.Pipe()
			defer client.Close()
			c.nc = client
			client.SetDeadline(time.Now().Add(5 * time.Second))
			pipeServer(t, server, `"protocol":2,"rooms":["lobby","b-r2"]`, tc.script)
			err := c.handshake([]string{"bench-0005"})
			if tc.err == "" {
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				for range 10 { // the live message may still be on its way
					if line, ok := c.in.next(); ok {
						if !bytes.Contains(line, []byte(`"live"`)) {
							t.Errorf("left for readLoop: %s, want the live message", line)
						}
						return
					}
					if _, _, err := c.in.fill(client); err != nil {
						break
					}
				}
				t.Error("the live message was not left for readLoop")
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("handshake: %v, want an error with %q", err, tc.err)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	// comm may hold spaces and parentheses; utime and stime are fields 14, 15.
	stat := "1234 (pynet (x) y) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 8 0 100 0 0\n"
	got, err := parseProcStat([]byte(stat))
	if err != nil || got != 3800*time.Millisecond {
		t.Errorf("parseProcStat = %v, %v; want 3.8s", got, err)
	}
	if _, err := parseProcStat([]byte("1234 (x) S 1 2")); err == nil {
		t.Error("parseProcStat accepted a short line")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"defaults", func(*Config) {}, true},
		{"open loop", func(c *Config) { c.Rate = 2000; c.Window = 0 }, true},
		{"set-up only", func(c *Config) { c.Senders = 0; c.Clients = 1 }, true},
		{"no addr", func(c *Config) { c.Addr = "" }, false},
		{"no clients", func(c *Config) { c.Clients = 0 }, false},
		{"more senders than clients", func(c *Config) { c.Senders = 101 }, false},
		{"one client sending to nobody", func(c *Config) { c.Clients, c.Senders = 1, 1 }, false},
		{"size under the marker", func(c *Config) { c.Size = markerLen - 1 }, false},
		{"size over max_text", func(c *Config) { c.Size = protocol.MaxText + 1 }, false},
		{"no duration", func(c *Config) { c.Duration = 0 }, false},
		{"negative warmup", func(c *Config) { c.Warmup = -time.Second }, false},
		{"negative rate", func(c *Config) { c.Rate = -1 }, false},
		{"flat out without window", func(c *Config) { c.Window = 0 }, false},
		{"bad name", func(c *Config) { c.Name = "-x" }, false},
		{"long name", func(c *Config) { c.Name = strings.Repeat("n", 25) }, false},
		{"v2", func(c *Config) { c.Protocol = 2 }, true},
		{"protocol 3", func(c *Config) { c.Protocol = 3 }, false},
		{"rooms", func(c *Config) { c.Protocol, c.Rooms, c.LobbyEvery = 2, 10, 5 }, true},
		{"rooms without v2", func(c *Config) { c.Rooms = 10 }, false},
		{"more rooms than clients", func(c *Config) { c.Protocol, c.Rooms = 2, 101 }, false},
		{"lobby-every without rooms", func(c *Config) { c.Protocol, c.LobbyEvery = 2, 3 }, false},
		{"a name rooms cannot take", func(c *Config) { c.Protocol, c.Rooms, c.Name = 2, 3, "a.b" }, false},
		{"a name too long for rooms", func(c *Config) { c.Protocol, c.Rooms, c.Name = 2, 3, strings.Repeat("n", 28) }, false},
	} {
		cfg := DefaultConfig()
		tc.mutate(&cfg)
		err := cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: error %v does not wrap ErrConfig", tc.name, err)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tpynet\nVmPeak:\t  9000 kB\nVmRSS:\t   61234 kB\nThreads:\t7\n"
	if got, err := parseVmRSS([]byte(status)); err != nil || got != 61234 {
		t.Errorf("parseVmRSS = %d, %v; want 61234", got, err)
	}
	if _, err := parseVmRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("no VmRSS line: no error")
	}
}
