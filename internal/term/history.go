package term

// History is the input history browsed with ↑ and ↓: the most recent
// entries, oldest first, at most max of them.
type History struct {
	entries []string
	max     int
}

// NewHistory returns a history that keeps the last max entries.
func NewHistory(max int) *History {
	if max < 1 {
		max = 1
	}
	return &History{max: max}
}

// Add appends line unless it is blank or repeats the latest entry.
func (h *History) Add(line string) {
	if isBlankText(line) {
		return
	}
	if n := len(h.entries); n > 0 && h.entries[n-1] == line {
		return
	}
	if len(h.entries) == h.max {
		copy(h.entries, h.entries[1:])
		h.entries = h.entries[:h.max-1]
	}
	h.entries = append(h.entries, line)
}

// Len is the number of entries.
func (h *History) Len() int { return len(h.entries) }

// At returns entry i, 0 being the oldest.
func (h *History) At(i int) string { return h.entries[i] }

func isBlankText(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' {
			return false
		}
	}
	return true
}
