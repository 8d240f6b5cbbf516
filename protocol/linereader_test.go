package protocol_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"pynet/protocol"
)

// chunkReader returns at most n bytes per Read, like ssh-chat's bytesPerRead,
// then err (io.EOF when nil) once data is used up.
type chunkReader struct {
	data []byte
	n    int
	err  error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := min(len(p), r.n, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// Results of ReadLine as strings, so that a failure prints the whole sequence.
const (
	tooLong = "<too long>"
	eof     = "<EOF>"
)

func L(s string) string { return fmt.Sprintf("%q", s) }

func errResult(err error) string {
	switch {
	case errors.Is(err, protocol.ErrLineTooLong):
		return tooLong
	case err == io.EOF:
		return eof
	default:
		return "<" + err.Error() + ">"
	}
}

// readAll calls ReadLine until it returns an error other than ErrLineTooLong
// and returns what each call gave. It checks the invariants that hold after
// every call: no line holds a LF or is longer than max, and the buffer never
// grows past max+2. The final error must be sticky.
func readAll(t *testing.T, lr *protocol.LineReader, max, limit int) []string {
	t.Helper()
	var got []string
	for range limit {
		line, err := lr.ReadLine()
		if c := lr.BufCap(); c > max+2 {
			t.Fatalf("buffer capacity %d > max+2 = %d", c, max+2)
		}
		if err != nil {
			if line != nil {
				t.Errorf("ReadLine returned line %q with error %v", line, err)
			}
			got = append(got, errResult(err))
			if errors.Is(err, protocol.ErrLineTooLong) {
				continue
			}
			if _, err2 := lr.ReadLine(); err2 != err {
				t.Errorf("ReadLine after %v returned %v, want the same error again", err, err2)
			}
			return got
		}
		if bytes.IndexByte(line, '\n') >= 0 || len(line) > max {
			t.Errorf("ReadLine returned %q: holds a LF or is longer than max %d", line, max)
		}
		got = append(got, L(string(line)))
	}
	t.Fatalf("no final error after %d ReadLine calls; got %q", limit, got)
	return nil
}

var errBoom = errors.New("boom")

func TestLineReaderChunks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		err  error // the reader's final error; io.EOF when nil
		want []string
	}{
		{name: "empty input", in: "", max: 16, want: []string{eof}},
		{name: "one line", in: "abc\n", max: 16, want: []string{L("abc"), eof}},
		{name: "several lines", in: "a\nbb\nccc\n{\"type\":\"ping\"}\n", max: 16,
			want: []string{L("a"), L("bb"), L("ccc"), L(`{"type":"ping"}`), eof}},
		{name: "crlf", in: "a\r\nbb\r\n", max: 16, want: []string{L("a"), L("bb"), eof}},
		{name: "only one cr stripped", in: "a\r\r\nb\r\r\r\n", max: 16,
			want: []string{L("a\r"), L("b\r\r"), eof}},
		{name: "cr inside kept", in: "a\rb\n\rc\n", max: 16, want: []string{L("a\rb"), L("\rc"), eof}},
		{name: "mixed lf and crlf", in: "a\nb\r\nc\n", max: 16, want: []string{L("a"), L("b"), L("c"), eof}},
		{name: "blank lines skipped", in: "\n\n \n\t\n\r\n \t\r \r\n\r\r\n\r\nx\n\n", max: 16,
			want: []string{L("x"), eof}},
		{name: "only blank lines", in: "\n \n\t\t\n\r\n", max: 16, want: []string{eof}},
		{name: "spaces around text kept", in: " x \n\ty\t\r\n", max: 16, want: []string{L(" x "), L("\ty\t"), eof}},
		{name: "other white space is not blank", in: "\v\n\f\n\u00a0\n", max: 16,
			want: []string{L("\v"), L("\f"), L("\u00a0"), eof}},
		{name: "incomplete last line dropped", in: "a\nbc", max: 16, want: []string{L("a"), eof}},
		{name: "only an incomplete line", in: "abc", max: 16, want: []string{eof}},
		{name: "incomplete cr line dropped", in: "a\nb\r", max: 16, want: []string{L("a"), eof}},
		{name: "bytes passed through", in: "\xff\x00\xfe\n", max: 16, want: []string{L("\xff\x00\xfe"), eof}},

		{name: "exactly max", in: "12345678\nok\n", max: 8, want: []string{L("12345678"), L("ok"), eof}},
		{name: "max plus crlf", in: "12345678\r\nok\n", max: 8, want: []string{L("12345678"), L("ok"), eof}},
		{name: "max plus one", in: "123456789\nok\n", max: 8, want: []string{tooLong, L("ok"), eof}},
		{name: "max plus one crlf", in: "123456789\r\nok\r\n", max: 8, want: []string{tooLong, L("ok"), eof}},
		{name: "max plus two crs", in: "12345678\r\r\nok\n", max: 8, want: []string{tooLong, L("ok"), eof}},
		{name: "max-1 plus two crs", in: "1234567\r\r\nok\n", max: 8, want: []string{L("1234567\r"), L("ok"), eof}},
		{name: "cr at max+1 then more", in: "12345678\rX\nok\n", max: 8, want: []string{tooLong, L("ok"), eof}},
		{name: "much longer", in: "1234567890123456789012345678901234567890\nok\n", max: 8,
			want: []string{tooLong, L("ok"), eof}},
		{name: "two long lines in a row", in: "1234567890\n12345678901234567890\r\n12345678\n", max: 8,
			want: []string{tooLong, tooLong, L("12345678"), eof}},
		{name: "long blank line", in: "          \n \t \t \t \t \r\nok\n", max: 8,
			want: []string{tooLong, tooLong, L("ok"), eof}},
		{name: "long line between good ones", in: "a\n1234567890123\nb\n", max: 8,
			want: []string{L("a"), tooLong, L("b"), eof}},
		{name: "long unterminated tail", in: "ok\n123456789012", max: 8, want: []string{L("ok"), tooLong, eof}},
		{name: "unterminated tail of max+1", in: "ok\n123456789", max: 8, want: []string{L("ok"), tooLong, eof}},
		{name: "unterminated tail of max plus cr", in: "ok\n12345678\r", max: 8, want: []string{L("ok"), eof}},
		{name: "unterminated tail of max", in: "ok\n12345678", max: 8, want: []string{L("ok"), eof}},
		{name: "max below one means one", in: "a\nab\nb\n", max: 0, want: []string{L("a"), tooLong, L("b"), eof}},

		{name: "read error after lines", in: "a\nb\n", max: 16, err: errBoom,
			want: []string{L("a"), L("b"), "<boom>"}},
		{name: "read error drops incomplete line", in: "a\nb\nc", max: 16, err: errBoom,
			want: []string{L("a"), L("b"), "<boom>"}},
		{name: "read error inside long line", in: "a\n12345678901234567890", max: 8, err: errBoom,
			want: []string{L("a"), tooLong, "<boom>"}},
		{name: "unexpected eof is not eof", in: "a\n", max: 8, err: io.ErrUnexpectedEOF,
			want: []string{L("a"), "<" + io.ErrUnexpectedEOF.Error() + ">"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := max(tt.max, 1) // NewLineReader treats max < 1 as 1
			for n := 1; n <= max(len(tt.in), 1); n++ {
				for _, mode := range []string{"plain", "data+err"} {
					var rd io.Reader = &chunkReader{data: []byte(tt.in), n: n, err: tt.err}
					if mode == "data+err" { // the last data comes with the error
						rd = iotest.DataErrReader(rd)
					}
					got := readAll(t, protocol.NewLineReader(rd, tt.max), lim, 4*len(tt.in)+4)
					if !slices.Equal(got, tt.want) {
						t.Fatalf("input %q, max %d, %d bytes per read (%s):\ngot  %v\nwant %v",
							tt.in, tt.max, n, mode, got, tt.want)
					}
				}
			}
		})
	}
}

// TestLineReaderDefaultMax checks the limit at its real size, 65,536 bytes.
func TestLineReaderDefaultMax(t *testing.T) {
	maxLen := protocol.DefaultMaxFrame
	in := strings.Repeat("a", maxLen) + "\n" +
		strings.Repeat("b", maxLen) + "\r\n" +
		strings.Repeat("c", maxLen+1) + "\n" +
		strings.Repeat("d", maxLen) + "\r\r\n" +
		"ok\n"
	want := []string{L(strings.Repeat("a", maxLen)), L(strings.Repeat("b", maxLen)), tooLong, tooLong, L("ok"), eof}
	for _, n := range []int{1, 7, 4096, maxLen + 1, maxLen + 2, len(in)} {
		t.Run(fmt.Sprint("chunk=", n), func(t *testing.T) {
			lr := protocol.NewLineReader(&chunkReader{data: []byte(in), n: n}, maxLen)
			got := readAll(t, lr, maxLen, 100)
			if !slices.Equal(got, want) {
				t.Fatalf("%d bytes per read:\ngot  %.200v\nwant %.200v", n, got, want)
			}
		})
	}
}

// hugeLineReader streams size bytes of 'x' without a LF, then tail, and
// checks on every Read that the LineReader's buffer stays bounded.
type hugeLineReader struct {
	lr       *protocol.LineReader
	left     int // 'x' bytes still to send
	tail     []byte
	served   int // bytes handed out so far
	maxCap   int
	maxSlice int
}

var xs = bytes.Repeat([]byte{'x'}, 1<<16)

func (r *hugeLineReader) Read(p []byte) (int, error) {
	if r.lr != nil {
		r.maxCap = max(r.maxCap, r.lr.BufCap())
	}
	r.maxSlice = max(r.maxSlice, len(p))
	var n int
	switch {
	case r.left > 0:
		n = copy(p, xs[:min(r.left, len(xs))])
		r.left -= n
	case len(r.tail) > 0:
		n = copy(p, r.tail)
		r.tail = r.tail[n:]
	default:
		return 0, io.EOF
	}
	r.served += n
	return n, nil
}

func TestLineReaderHugeLine(t *testing.T) {
	const size = 50 << 20 // 50 MB with no LF
	maxLen := protocol.DefaultMaxFrame
	for _, tail := range []string{"\ngood\n", "\r\ngood\r\n", "\n\n \ngood\nrest"} {
		t.Run(fmt.Sprintf("tail=%q", tail), func(t *testing.T) {
			rd := &hugeLineReader{left: size, tail: []byte(tail)}
			lr := protocol.NewLineReader(rd, maxLen)
			rd.lr = lr

			_, err := lr.ReadLine()
			if !errors.Is(err, protocol.ErrLineTooLong) {
				t.Fatalf("first ReadLine: got error %v, want ErrLineTooLong", err)
			}
			// "As soon as it passes the limit": no more than max+2 bytes read.
			if rd.served > maxLen+2 {
				t.Errorf("ErrLineTooLong after %d bytes read, want at most max+2 = %d", rd.served, maxLen+2)
			}
			line, err := lr.ReadLine()
			if err != nil || string(line) != "good" {
				t.Fatalf("second ReadLine: got %q, %v; want \"good\", nil (ErrLineTooLong only once)", line, err)
			}
			if _, err := lr.ReadLine(); err != io.EOF {
				t.Fatalf("third ReadLine: got %v, want EOF", err)
			}
			if rd.served != size+len(tail) {
				t.Errorf("reader served %d bytes, want all %d", rd.served, size+len(tail))
			}
			if rd.maxCap > maxLen+2 || rd.maxSlice > maxLen+2 {
				t.Errorf("buffer grew to cap %d (Read slice %d), want at most max+2 = %d", rd.maxCap, rd.maxSlice, maxLen+2)
			}
		})
	}
}

// piecesReader returns one piece per Read (or what fits of it).
type piecesReader struct{ pieces [][]byte }

func (r *piecesReader) Read(p []byte) (int, error) {
	if len(r.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.pieces[0])
	if r.pieces[0] = r.pieces[0][n:]; len(r.pieces[0]) == 0 {
		r.pieces = r.pieces[1:]
	}
	return n, nil
}

func TestLineReaderShrinks(t *testing.T) {
	maxLen := protocol.DefaultMaxFrame
	big := strings.Repeat("b", 60000)
	rd := &piecesReader{pieces: [][]byte{
		[]byte(big + "\n"),
		[]byte("small\n"),
		[]byte(strings.Repeat("c", 70000) + "\n"),
		[]byte("after\n"),
	}}
	lr := protocol.NewLineReader(rd, maxLen)
	steps := []struct {
		want    string
		wantCap func(int) bool
		desc    string
	}{
		{L(big), func(c int) bool { return c >= len(big) && c <= maxLen+2 }, "grown to hold the big line"},
		{L("small"), func(c int) bool { return c == protocol.InitialBuf }, "shrunk back"},
		{tooLong, func(c int) bool { return c <= maxLen+2 }, "at most max+2"},
		{L("after"), func(c int) bool { return c == protocol.InitialBuf }, "shrunk back"},
	}
	for i, s := range steps {
		line, err := lr.ReadLine()
		got := L(string(line))
		if err != nil {
			got = errResult(err)
		}
		if got != s.want {
			t.Fatalf("step %d: got %.40s, want %.40s", i, got, s.want)
		}
		if c := lr.BufCap(); !s.wantCap(c) {
			t.Errorf("step %d (%.20s): buffer capacity %d, want %s (initial %d, max+2 %d)",
				i, s.want, c, s.desc, protocol.InitialBuf, maxLen+2)
		}
	}
}

// zeroReader returns (0, nil) zeros times before each byte of data, forever
// when data is used up and forever is set.
type zeroReader struct {
	data    []byte
	zeros   int
	pending int
	forever bool
	calls   int
}

func (r *zeroReader) Read(p []byte) (int, error) {
	r.calls++
	if len(r.data) == 0 {
		if r.forever {
			return 0, nil
		}
		return 0, io.EOF
	}
	if r.pending < r.zeros {
		r.pending++
		return 0, nil
	}
	r.pending = 0
	p[0] = r.data[0]
	r.data = r.data[1:]
	return 1, nil
}

func TestLineReaderNoProgress(t *testing.T) {
	tests := []struct {
		name string
		rd   *zeroReader
		want []string
	}{
		{"zero reads forever", &zeroReader{forever: true}, []string{"<" + io.ErrNoProgress.Error() + ">"}},
		{"lines then zero reads forever", &zeroReader{data: []byte("a\nb\nc"), forever: true},
			[]string{L("a"), L("b"), "<" + io.ErrNoProgress.Error() + ">"}},
		{"some zero reads are fine", &zeroReader{data: []byte("ab\ncd\n"), zeros: 50},
			[]string{L("ab"), L("cd"), eof}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, protocol.NewLineReader(tt.rd, 16), 16, 10)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if tt.rd.calls > 10000 {
				t.Errorf("%d Read calls: the reader was polled without bound", tt.rd.calls)
			}
		})
	}
}

// badCountReader returns a count outside [0, len(p)].
type badCountReader struct{ n func(p []byte) int }

func (r badCountReader) Read(p []byte) (int, error) { return r.n(p), nil }

func TestLineReaderBadCount(t *testing.T) {
	for name, n := range map[string]func([]byte) int{
		"negative":     func([]byte) int { return -1 },
		"over len(p)":  func(p []byte) int { return len(p) + 1 },
		"way over len": func(p []byte) int { return 1 << 30 },
	} {
		t.Run(name, func(t *testing.T) {
			lr := protocol.NewLineReader(badCountReader{n}, 16)
			line, err := lr.ReadLine()
			if err == nil || errors.Is(err, protocol.ErrLineTooLong) || err == io.EOF {
				t.Fatalf("got %q, %v; want an invalid count error", line, err)
			}
		})
	}
}

func TestLineReaderOneByteReader(t *testing.T) {
	in := "{\"type\":\"join\",\"username\":\"alice\"}\r\n\n{\"type\":\"ping\"}\n"
	lr := protocol.NewLineReader(iotest.OneByteReader(strings.NewReader(in)), protocol.DefaultMaxFrame)
	got := readAll(t, lr, protocol.DefaultMaxFrame, 10)
	want := []string{L(`{"type":"join","username":"alice"}`), L(`{"type":"ping"}`), eof}
	if !slices.Equal(got, want) {
		t.Errorf("input %q:\ngot  %v\nwant %v", in, got, want)
	}
}

func TestLineReaderBuffered(t *testing.T) {
	lr := protocol.NewLineReader(strings.NewReader("a\nbc\nde"), 16)
	if n := lr.Buffered(); n != 0 {
		t.Errorf("Buffered before reading = %d, want 0", n)
	}
	if line, err := lr.ReadLine(); err != nil || string(line) != "a" {
		t.Fatalf("ReadLine = %q, %v; want \"a\"", line, err)
	}
	if n := lr.Buffered(); n != len("bc\nde") {
		t.Errorf("Buffered after first line = %d, want %d", n, len("bc\nde"))
	}
}

type testBudget struct{ used, limit int }

func (b *testBudget) Reserve(n int) bool {
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}
func (b *testBudget) Release(n int) { b.used -= n }

func TestLineReaderBudget(t *testing.T) {
	b := &testBudget{limit: 10000}
	long := strings.Repeat("x", 6000)
	lr := protocol.NewLineReader(strings.NewReader(long+"\n"+"short\n"), 1<<16)
	lr.SetBudget(b, 0)
	if line, err := lr.ReadLine(); err != nil || len(line) != 6000 {
		t.Fatalf("%d bytes, %v", len(line), err)
	}
	if b.used == 0 {
		t.Fatal("growing the buffer reserved nothing")
	}
	if line, err := lr.ReadLine(); err != nil || string(line) != "short" {
		t.Fatalf("%q %v", line, err)
	}
	if b.used != 0 {
		t.Fatalf("after shrinking, %d bytes still reserved", b.used)
	}
	tight := &testBudget{limit: 1000}
	lr = protocol.NewLineReader(strings.NewReader(long+"\n"), 1<<16)
	lr.SetBudget(tight, 0)
	if _, err := lr.ReadLine(); err != protocol.ErrBudget {
		t.Fatalf("over the budget: %v, want ErrBudget", err)
	}
	lr.ReleaseBudget()
	if tight.used != 0 {
		t.Fatalf("ReleaseBudget left %d", tight.used)
	}
	// Within the free allowance no reservation is needed, even from a
	// spent budget.
	spent := &testBudget{limit: 0}
	lr = protocol.NewLineReader(strings.NewReader(long+"\n"), 1<<16)
	lr.SetBudget(spent, 8192)
	if line, err := lr.ReadLine(); err != nil || len(line) != 6000 {
		t.Fatalf("within the free allowance: %d bytes, %v", len(line), err)
	}
}
