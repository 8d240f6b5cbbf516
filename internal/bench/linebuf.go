package bench

import (
	"bytes"
	"io"
)

// Read buffer sizes. A message frame of 100 bytes of text is about 190 bytes,
// so one read of readBufSize takes some 80 of them in one syscall.
const (
	readBufSize = 16 << 10
	// maxLine bounds the longest server line kept whole. welcome lists every
	// user (about 14 bytes each), so it is far above the protocol's 64 KiB
	// input limit; anything longer is dropped and counted.
	maxLine = 8 << 20
)

// lineBuf cuts what a connection receives into lines. Unlike
// protocol.LineReader it reads readBufSize bytes at a time (the benchmark
// receives far more than it sends) and hands out every complete line of a
// read before reading again, so a receiver takes one clock reading per read.
//
// It is owned by the goroutine reading the connection.
type lineBuf struct {
	buf        []byte
	r, w       int  // buf[r:w] is received but not yet returned
	discarding bool // inside a line longer than maxLine: drop through its LF
}

// next returns the next complete line without its LF (and CR), or ok ==
// false when the buffer holds no complete line. The line is valid until fill.
func (b *lineBuf) next() (line []byte, ok bool) {
	for {
		i := bytes.IndexByte(b.buf[b.r:b.w], '\n')
		if i < 0 {
			return nil, false
		}
		line = b.buf[b.r : b.r+i]
		b.r += i + 1
		if b.discarding {
			b.discarding = false
			continue
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, true
	}
}

// fill makes room and reads once from rd. tooLong reports that a line longer
// than maxLine began to be dropped.
func (b *lineBuf) fill(rd io.Reader) (n int, tooLong bool, err error) {
	switch {
	case b.r == b.w:
		b.r, b.w = 0, 0
		if len(b.buf) != readBufSize { // first use, or shrink after a large line
			b.buf = make([]byte, readBufSize)
		}
	case len(b.buf)-b.w < readBufSize/4 && b.r > 0:
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	}
	if b.w == len(b.buf) { // one partial line fills the buffer
		if len(b.buf) < maxLine {
			nb := make([]byte, min(2*len(b.buf), maxLine))
			b.w = copy(nb, b.buf[:b.w])
			b.buf = nb
		} else {
			tooLong = !b.discarding
			b.discarding = true
			b.r, b.w = 0, 0
		}
	}
	n, err = rd.Read(b.buf[b.w:])
	b.w += n
	return n, tooLong, err
}
