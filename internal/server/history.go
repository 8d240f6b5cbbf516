package server

// history keeps a room's last public message frames, as they went out live,
// with their ids: the cache that replays come from when it can (PROTOCOL
// §5.3, §5.4). Recording a message costs one slot and no copy; the replay
// form ("history": true) is made when a replay is written.
//
// Not safe for concurrent use: the hub's mutex guards it. Entries are
// immutable once added, so a replay may keep a snapshot of them after the
// lock is released.
type history struct {
	ents  []histEntry // ring
	start int         // index of the oldest entry
	n     int         // entries held
	// floor is the id below which this ring may be missing messages of its
	// room: it holds every message of the room with id > floor. It is the
	// last id evicted, or where the ring began when older history lives
	// elsewhere (the store) or was forgotten.
	floor int64
}

// histEntry is one recorded message: its id and its live frame (ending in
// "}\n").
type histEntry struct {
	id    int64
	frame []byte
}

func newHistory(size int, floor int64) *history {
	return &history{ents: make([]histEntry, size), floor: floor}
}

// add records a message, evicting the oldest when full.
func (h *history) add(id int64, frame []byte) {
	if len(h.ents) == 0 {
		h.floor = id
		return
	}
	if h.n < len(h.ents) {
		h.ents[(h.start+h.n)%len(h.ents)] = histEntry{id, frame}
		h.n++
		return
	}
	h.floor = h.ents[h.start].id
	h.ents[h.start] = histEntry{id, frame}
	h.start = (h.start + 1) % len(h.ents)
}

func (h *history) at(i int) histEntry { return h.ents[(h.start+i)%len(h.ents)] }

// tail returns a copy of the last n entries, oldest first.
func (h *history) tail(n int) []histEntry {
	n = min(n, h.n)
	out := make([]histEntry, n)
	for i := range n {
		out[i] = h.at(h.n - n + i)
	}
	return out
}

// after returns a copy of the oldest limit entries with id > since, and how
// many entries with id > since there are in all.
func (h *history) after(since int64, limit int) ([]histEntry, int) {
	// Ids increase along the ring: binary search for the first id > since.
	lo, hi := 0, h.n
	for lo < hi {
		mid := (lo + hi) / 2
		if h.at(mid).id > since {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	total := h.n - lo
	n := min(limit, total)
	out := make([]histEntry, n)
	for i := range n {
		out[i] = h.at(lo + i)
	}
	return out, total
}

// historyMark is appended to a replayed frame in place of its closing brace.
const historyMark = `,"history":true}` + "\n"

// appendReplayed appends a live frame in its replay form.
func appendReplayed(dst, frame []byte) []byte {
	dst = append(dst, frame[:len(frame)-2]...) // drop "}\n"
	return append(dst, historyMark...)
}
