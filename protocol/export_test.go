package protocol

// Test-only hooks (STYLE §8): they read LineReader internals without adding
// anything to the package API.

// BufCap reports the capacity of the reader's buffer.
func (lr *LineReader) BufCap() int { return cap(lr.buf) }

// InitialBuf is the size a LineReader's buffer starts at and shrinks back to.
const InitialBuf = initialBuf

// ParseInt is the decoder's exact reader of whole JSON numbers.
var ParseInt = parseInt
