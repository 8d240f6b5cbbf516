package client

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// maxInputLine bounds one line read from stdin in pipe mode. Chat text is
// at most protocol.MaxText bytes, so anything much longer can only be
// refused; it is skipped without being buffered whole.
const maxInputLine = 64 << 10

// inputLine is one line of stdin, or a problem with one.
type inputLine struct {
	text    string
	tooLong bool  // the line was longer than maxInputLine and was skipped
	err     error // reading stdin failed; the last value sent
}

// readLines is the stdin reader goroutine of pipe mode: it sends each line
// (without CR LF) on out, the last one even without a final LF, and closes
// out at EOF. It blocks when out is full, which keeps the pipe mode's
// read-ahead bounded.
func readLines(r io.Reader, out chan<- inputLine, onPanic func()) {
	defer guard(onPanic)
	defer close(out)
	br := bufio.NewReaderSize(r, maxInputLine)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			out <- inputLine{tooLong: true}
			line = nil
		}
		if len(line) > 0 {
			out <- inputLine{text: strings.TrimRight(string(line), "\r\n")}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				out <- inputLine{err: err}
			}
			return
		}
	}
}

// readKeys is the stdin reader goroutine of interactive mode: it sends what
// each read returns, as is, and closes out when stdin ends. The UI loop
// decodes keys.
func readKeys(r io.Reader, out chan<- []byte, onPanic func()) {
	defer guard(onPanic)
	defer close(out)
	for {
		buf := make([]byte, 4096)
		n, err := r.Read(buf)
		if n > 0 {
			out <- buf[:n]
		}
		if err != nil {
			return
		}
	}
}
