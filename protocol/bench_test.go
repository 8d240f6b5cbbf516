package protocol_test

import (
	"bytes"
	"testing"
	"time"

	"pynet/protocol"
)

var (
	benchMessage = []byte(`{"type":"message","text":"hello everyone, how is the weather today?","ref":"a17"}`)
	benchTS      = time.Date(2026, 11, 26, 0, 32, 33, 123_000_000, time.UTC)
	sink         []byte
)

func encodeMessage(dst []byte) []byte {
	return protocol.NewFrame(dst, protocol.MsgMessage).Int("id", 123456).Str("from", "alice").
		Str("text", "hello everyone, how is the weather today?").Time("ts", benchTS).End()
}

// decodeAllocs is the measured budget (go1.26) for DecodeClient of a message
// frame with three members, a ref and no escapes: one string for each value
// kept that is not a constant (Text, Ref). Keys are compared in place and
// Type maps to its constant. Never raise it without a reason.
const decodeAllocs = 2

// skipAllocsUnderRace skips a decoder allocation budget under the race
// detector, which drops sync.Pool items at random: json.Valid then
// allocates a new scanner now and then, and the count is noise.
func skipAllocsUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation budgets of the decoder are measured without -race (sync.Pool drops items at random under it)")
	}
}

func TestDecodeClientAllocs(t *testing.T) {
	skipAllocsUnderRace(t)
	var f protocol.Frame
	allocs := testing.AllocsPerRun(100, func() {
		var perr *protocol.Error
		f, perr = protocol.DecodeClient(benchMessage)
		if perr != nil {
			t.Fatal(perr)
		}
	})
	if f.Text == "" || f.Ref != "a17" {
		t.Fatalf("DecodeClient(%s) = %+v", benchMessage, f)
	}
	if allocs > decodeAllocs {
		t.Errorf("DecodeClient(%s): %v allocations, want at most %d", benchMessage, allocs, decodeAllocs)
	}
}

// decodeV2Cases are the allocation budgets (go1.26) of v2 frames: one
// allocation for each string kept that is not a constant, plus the rooms
// slice. Members a type does not take cost nothing, however many there are.
var decodeV2Cases = []struct {
	name   string
	line   string
	allocs float64
}{
	{"members not taken", `{"type":"ping","username":"alice","text":"hello","to":"bob","room":"go","rooms":["lobby","go"],` +
		`"since":12,"epoch":"7fK2","session":"q0Vd3","password":"hunter2hunter2","old":"o1","new":"n1","action":true,` +
		`"after":"a1","protocol":2}`, 0},
	{"message to a room", `{"type":"message","text":"hello everyone","room":"golang","action":true,"ref":"a17"}`, 3}, // text, room, ref
	{"fetch", `{"type":"fetch","room":"golang","since":12345678}`, 1},                                                // room
	{"v2 join", `{"type":"join","username":"carol","protocol":2,"rooms":["lobby","golang"],` +
		`"since":43,"epoch":"7fK2","session":"q0Vd3","ref":"j1"}`, 7}, // username, rooms slice and two names, epoch, session, ref
	{"v1 join with v2 members", `{"type":"join","username":"carol","rooms":["lobby","golang"],` +
		`"since":43,"epoch":"7fK2","session":"q0Vd3"}`, 1}, // username: the v2 members of a v1 join are not read
}

func TestDecodeClientV2Allocs(t *testing.T) {
	skipAllocsUnderRace(t)
	for _, tt := range decodeV2Cases {
		t.Run(tt.name, func(t *testing.T) {
			line := []byte(tt.line)
			allocs := testing.AllocsPerRun(100, func() {
				if _, perr := protocol.DecodeClient(line); perr != nil {
					t.Fatal(perr)
				}
			})
			if allocs > tt.allocs {
				t.Errorf("DecodeClient(%s): %v allocations, want at most %v", line, allocs, tt.allocs)
			}
		})
	}
}

func TestBuilderAllocs(t *testing.T) {
	buf := make([]byte, 0, 512)
	var line []byte
	allocs := testing.AllocsPerRun(100, func() {
		line = encodeMessage(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("Builder into a buffer with room: %v allocations, want 0", allocs)
	}
	checkLine(t, line)
	users := []string{"alice", "bob", "carol"}
	allocs = testing.AllocsPerRun(100, func() {
		line = protocol.NewFrame(buf[:0], protocol.MsgUsers).Strs("users", users).Str("ref", "r").
			Num("rate", 20).Bool("history", true).Raw("limits", []byte("{}")).End()
	})
	if allocs != 0 {
		t.Errorf("Builder (all member kinds) into a buffer with room: %v allocations, want 0", allocs)
	}
}

func TestFoldNameAllocs(t *testing.T) {
	var folded string
	if allocs := testing.AllocsPerRun(100, func() { folded = protocol.FoldName("alice") }); allocs != 0 || folded != "alice" {
		t.Errorf("FoldName of a lower-case name: %v allocations, want 0", allocs)
	}
}

func BenchmarkDecodeClient(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchMessage)))
	for b.Loop() {
		if _, perr := protocol.DecodeClient(benchMessage); perr != nil {
			b.Fatal(perr)
		}
	}
}

func BenchmarkDecodeClientEscaped(b *testing.B) {
	line := []byte(`{"type":"message","text":"caf\u00e9 \"quoted\"\nsecond line","ref":"a17"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, perr := protocol.DecodeClient(line); perr != nil {
			b.Fatal(perr)
		}
	}
}

func BenchmarkDecodeClientV2(b *testing.B) {
	for _, tt := range decodeV2Cases {
		b.Run(tt.name, func(b *testing.B) {
			line := []byte(tt.line)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if _, perr := protocol.DecodeClient(line); perr != nil {
					b.Fatal(perr)
				}
			}
		})
	}
}

func BenchmarkEncodeMessage(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		sink = encodeMessage(buf[:0])
	}
	b.SetBytes(int64(len(sink)))
}

// repeatReader serves the same bytes over and over.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func BenchmarkLineReader(b *testing.B) {
	line := append(bytes.Clone(benchMessage), '\n')
	lr := protocol.NewLineReader(&repeatReader{data: line}, protocol.DefaultMaxFrame)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		l, err := lr.ReadLine()
		if err != nil || len(l) != len(line)-1 {
			b.Fatalf("ReadLine = %q, %v", l, err)
		}
	}
}
