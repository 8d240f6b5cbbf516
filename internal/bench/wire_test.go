package bench

import (
	"bytes"
	"errors"
	"io"
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

// TestHandleMessageDoesNotAllocate checks the per-delivery fast path.
func TestHandleMessageDoesNotAllocate(t *testing.T) {
	r := &run{cfg: Config{Senders: 4}, id: 7, prefix: runPrefix(7), orderCheck: true, tally: newTally()}
	c := newConn(r, 3)
	text := makeText(7, 1, 100)
	putMarker(text, phaseMeasured, 0, 1000)
	line := protocol.NewFrame(nil, protocol.MsgMessage).Int("id", 9).Str("from", "bench-0002").
		Str("text", string(text)).Str("ts", "2026-11-26T00:32:33.123Z").End()
	line = line[:len(line)-1]
	seq := uint32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		putHex(line[bytes.Index(line, r.prefix)+mkSeq:][:8], uint64(seq))
		seq++
		c.handle(line, 5000, true)
	})
	if allocs != 0 {
		t.Errorf("handle allocates %v times per message", allocs)
	}
	ack := []byte(`{"type":"ack","ref":"b","id":10,"ts":"2026-11-26T00:32:33.123Z"}`)
	if n := testing.AllocsPerRun(1000, func() { c.handle(ack, 5000, true) }); n != 0 {
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

func TestHandleCountsAnomalies(t *testing.T) {
	r := &run{cfg: Config{Senders: 2}, id: 7, prefix: runPrefix(7), orderCheck: true, tally: newTally()}
	c := newConn(r, 1)
	msg := func(sender int, seq uint32) []byte {
		text := makeText(7, sender, 40)
		putMarker(text, phaseWarmup, seq, 1)
		return protocol.NewFrame(nil, protocol.MsgMessage).Str("text", string(text)).End()
	}
	c.handle(msg(0, 5), 10, false)
	c.handle(msg(0, 5), 10, false) // twice
	c.handle(msg(0, 4), 10, false) // backwards
	c.handle(msg(1, 0), 10, false) // its own
	c.handle([]byte(`{"type":"error","code":"rate_limited","message":"slow down","retry_after_ms":40,"ref":"b"}`), 10, false)
	c.handle([]byte(`{"type":"bye","reason":"slow_consumer"}`), 10, false)
	c.handle([]byte(`not json`), 10, false)
	errs, byes, notes := r.tally.snapshot()
	want := map[string]int64{errOutOfOrder: 2, errEcho: 1, protocol.CodeRateLimited: 1, errBadLine: 1}
	for k, v := range want {
		if errs[k] != v {
			t.Errorf("errors[%s] = %d, want %d (all: %v)", k, errs[k], v, errs)
		}
	}
	if byes[protocol.ReasonSlowConsumer] != 1 || !c.gotBye {
		t.Errorf("byes = %v, gotBye %v; want slow_consumer 1", byes, c.gotBye)
	}
	if c.nAcks != 1 {
		t.Errorf("an error answering a message must free its window slot: acks = %d", c.nAcks)
	}
	if c.nAll != 1 || c.nMeasured != 0 || c.hist.Count() != 0 {
		t.Errorf("counted %d deliveries, %d measured, %d latencies; want 1, 0, 0 (warmup)", c.nAll, c.nMeasured, c.hist.Count())
	}
	if !strings.Contains(strings.Join(notes, "\n"), "-rate 0") {
		t.Errorf("notes %q do not tell to run the server with -rate 0", notes)
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
