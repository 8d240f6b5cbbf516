package protocol

import (
	"bytes"
	"errors"
	"io"
)

// ErrBudget is returned by ReadLine when a line needs a larger buffer and
// the reader's Budget refuses it: the server is holding as many bytes of
// partial lines as it allows. The connection should be closed.
var ErrBudget = errors.New("line buffer budget exhausted")

// Budget is shared by many LineReaders to bound the bytes they hold beyond
// their small initial buffers (PROTOCOL §1 lets every connection hold a
// line of up to max bytes; thousands of connections each holding one must
// not exhaust memory). It must be safe for concurrent use.
type Budget interface {
	Reserve(n int) bool
	Release(n int)
}

// ErrLineTooLong is returned by ReadLine, once per offending line, when a line
// exceeds the reader's limit. The rest of that line is discarded without being
// buffered; the next ReadLine returns the line after it.
var ErrLineTooLong = errors.New("line too long")

// initialBuf is where a LineReader's buffer starts and what it shrinks back to:
// an idle connection should cost little, so the buffer grows only while a
// large frame is being read.
const initialBuf = 512

// LineReader cuts a byte stream into LF-terminated lines (PROTOCOL §1).
//
// TCP delivers a stream, not messages: one Read may hold half a line or three
// lines. LineReader keeps the unread bytes and hands out one line at a time.
// It never buffers more than max+2 bytes (a full line, its CR and its LF), so
// a peer cannot make it grow without bound.
//
// A LineReader is not safe for concurrent use; it belongs to the goroutine
// that reads the connection.
type LineReader struct {
	rd        io.Reader
	max       int    // longest line accepted, CR/LF excluded
	buf       []byte // buf[r:w] holds bytes read but not yet returned
	r, w      int
	scanned   int   // buf[r:r+scanned] is known to hold no LF
	discard   bool  // inside an over-long line: drop bytes through the next LF
	err       error // read error, returned once the buffered lines are used up
	zeroReads int   // consecutive (0, nil) reads, bounded like bufio does
	total     int64 // bytes read from rd so far
	budget    Budget
	free      int // buffer bytes that need no reservation
	reserved  int // bytes reserved from budget for the buffer beyond free
}

// SetBudget makes the reader reserve, from b, every byte its buffer grows
// beyond free bytes (at least its initial size), and give them back when it
// shrinks. A refused reservation makes ReadLine return ErrBudget. The free
// allowance lets every connection send ordinary frames whatever others do
// to the budget: only lines longer than it compete for it.
func (lr *LineReader) SetBudget(b Budget, free int) {
	lr.budget, lr.free = b, max(free, initialBuf)
}

// ReleaseBudget gives back what the reader holds from its budget; call it
// when the connection is done.
func (lr *LineReader) ReleaseBudget() {
	if lr.budget != nil && lr.reserved > 0 {
		lr.budget.Release(lr.reserved)
		lr.reserved = 0
	}
}

// NewLineReader returns a reader of lines of at most max bytes (CR/LF excluded).
func NewLineReader(rd io.Reader, max int) *LineReader {
	if max < 1 {
		max = 1
	}
	return &LineReader{rd: rd, max: max}
}

// ReadLine returns the next line that is not blank, without its LF and
// without one CR before the LF. Blank lines (empty, or only spaces, TABs and
// CRs) are skipped, as PROTOCOL §1 requires. The returned slice is only valid
// until the next call.
//
// When the underlying reader fails, ReadLine first returns the complete lines
// already buffered, then the error (io.EOF for a clean end), once; an
// incomplete last line is not returned. Reading again after an error (say, a
// read deadline) reads on. An over-long line yields
// ErrLineTooLong as soon as it passes the limit.
func (lr *LineReader) ReadLine() ([]byte, error) {
	lr.maybeShrink()
	for {
		if lr.discard {
			if i := bytes.IndexByte(lr.buf[lr.r:lr.w], '\n'); i >= 0 {
				lr.r += i + 1
				lr.discard = false
			} else {
				lr.r, lr.w = 0, 0 // drop it all: never buffer an over-long line
			}
		}
		if !lr.discard {
			line, err, ok := lr.cutLine()
			if ok {
				if err == nil && isBlank(line) {
					continue
				}
				return line, err
			}
		}
		if lr.err != nil {
			// Report the error once. The partial line stays buffered, so a
			// caller may read on after a deadline (a timeout is not the end of
			// the stream); after EOF the partial line is simply never returned.
			err := lr.err
			lr.err = nil
			return nil, err
		}
		lr.fill()
	}
}

// cutLine returns the next complete line in the buffer, or ok == false when
// more bytes are needed. It reports ErrLineTooLong as early as it can know.
func (lr *LineReader) cutLine() (line []byte, err error, ok bool) {
	pending := lr.buf[lr.r:lr.w]
	if i := bytes.IndexByte(pending[lr.scanned:], '\n'); i >= 0 {
		end := lr.scanned + i
		line = pending[:end]
		lr.r += end + 1
		lr.scanned = 0
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > lr.max {
			return nil, ErrLineTooLong, true
		}
		return line, nil, true
	}
	lr.scanned = len(pending)
	// No LF yet. max bytes plus a CR may still be a legal line; anything
	// longer is not, so stop buffering it now.
	n := len(pending)
	if n > lr.max+1 || (n == lr.max+1 && pending[n-1] != '\r') {
		lr.r, lr.w, lr.scanned = 0, 0, 0
		lr.discard = true
		return nil, ErrLineTooLong, true
	}
	return nil, nil, false
}

// fill reads more bytes, growing the buffer (up to max+2) when it is full.
func (lr *LineReader) fill() {
	if lr.r > 0 { // slide unread bytes to the front
		copy(lr.buf, lr.buf[lr.r:lr.w])
		lr.w -= lr.r
		lr.r = 0
	}
	if lr.w == len(lr.buf) {
		size := 2 * len(lr.buf)
		if size < initialBuf {
			size = initialBuf
		}
		if limit := lr.max + 2; size > limit {
			size = limit
		}
		if size <= lr.w { // cannot happen: cutLine stops at max+1 bytes
			size = lr.w + 1
		}
		if lr.budget != nil {
			if extra := size - lr.free - lr.reserved; extra > 0 {
				if !lr.budget.Reserve(extra) {
					lr.err = ErrBudget
					return
				}
				lr.reserved += extra
			}
		}
		nb := make([]byte, size)
		copy(nb, lr.buf[:lr.w])
		lr.buf = nb
	}
	n, err := lr.rd.Read(lr.buf[lr.w:])
	if n < 0 || n > len(lr.buf)-lr.w {
		n, err = 0, errors.New("protocol: reader returned an invalid count")
	}
	lr.w += n
	lr.total += int64(n)
	if err != nil {
		lr.err = err
	} else if n == 0 {
		lr.zeroReads++
		if lr.zeroReads > 100 {
			lr.err = io.ErrNoProgress
		}
		return
	}
	lr.zeroReads = 0
}

// maybeShrink gives back a buffer that grew for a large frame once it is no
// longer needed, so a connection that sent one big frame stays cheap.
func (lr *LineReader) maybeShrink() {
	if cap(lr.buf) > 8*initialBuf && lr.w-lr.r <= initialBuf {
		nb := make([]byte, initialBuf)
		lr.w = copy(nb, lr.buf[lr.r:lr.w])
		lr.r = 0
		lr.buf = nb
		lr.ReleaseBudget()
	}
}

// BytesRead reports how many bytes have been read from the underlying reader.
func (lr *LineReader) BytesRead() int64 { return lr.total }

// Buffered reports how many bytes are held but not yet returned as lines.
func (lr *LineReader) Buffered() int { return lr.w - lr.r }

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
