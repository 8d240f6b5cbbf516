package server

// history keeps the last public message frames for replay to joiners
// (PROTOCOL §5). It stores the encoded live frames, so recording a message
// costs one slot and no copy; the replay form is made at join time.
//
// Not safe for concurrent use: the room's mutex guards it.
type history struct {
	frames [][]byte // ring of encoded frames, each ending in LF
	start  int      // index of the oldest frame
	n      int      // frames held
}

func newHistory(size int) *history { return &history{frames: make([][]byte, size)} }

// add records a frame, dropping the oldest when full.
func (h *history) add(frame []byte) {
	if len(h.frames) == 0 {
		return
	}
	if h.n < len(h.frames) {
		h.frames[(h.start+h.n)%len(h.frames)] = frame
		h.n++
		return
	}
	h.frames[h.start] = frame
	h.start = (h.start + 1) % len(h.frames)
}

// historyMark is appended to a replayed frame in place of its closing brace.
const historyMark = `,"history":true}` + "\n"

// appendReplay appends every held frame, oldest first, each marked
// "history": true, and returns the extended slice.
func (h *history) appendReplay(dst []byte) []byte {
	for i := 0; i < h.n; i++ {
		f := h.frames[(h.start+i)%len(h.frames)]
		dst = append(dst, f[:len(f)-2]...) // drop "}\n"
		dst = append(dst, historyMark...)
	}
	return dst
}

// replaySize is the number of bytes appendReplay will add.
func (h *history) replaySize() int {
	size := 0
	for i := 0; i < h.n; i++ {
		size += len(h.frames[(h.start+i)%len(h.frames)]) - 2 + len(historyMark)
	}
	return size
}
