package client

import (
	"sort"
	"strconv"
	"strings"

	"pynet/protocol"
)

// roster is who is online as far as the client knows (welcome, users,
// joined, left, renamed), for Tab completion. Owned by the UI loop.
type roster struct {
	names map[string]string // folded name → name as registered
}

func newRoster() *roster { return &roster{names: make(map[string]string)} }

func (r *roster) reset(names []string) {
	clear(r.names)
	for _, n := range names {
		r.add(n)
	}
}

func (r *roster) add(name string)    { r.names[protocol.FoldName(name)] = name }
func (r *roster) remove(name string) { delete(r.names, protocol.FoldName(name)) }

func (r *roster) rename(from, to string) {
	r.remove(from)
	r.add(to)
}

// complete returns the names (or, for a word starting with "/", the
// commands) that start with word, case-insensitively, sorted.
func (r *roster) complete(before, word string) []string {
	if word == "" && before == "" {
		return nil
	}
	var out []string
	if strings.HasPrefix(word, "/") {
		for _, c := range commandNames {
			if strings.HasPrefix(c, strings.ToLower(word)) {
				out = append(out, c)
			}
		}
		return out
	}
	prefix := protocol.FoldName(word)
	for folded, name := range r.names {
		if strings.HasPrefix(folded, prefix) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// seenSet remembers the last seenMax messages shown, by id and time stamp,
// so that the history replayed after a reconnect does not show them again.
// The time stamp is part of the key because a restarted server counts ids
// from 1 again.
type seenSet struct {
	keys map[string]bool
	ring []string
	next int
}

const seenMax = 512

func newSeenSet() *seenSet {
	return &seenSet{keys: make(map[string]bool), ring: make([]string, seenMax)}
}

func seenKey(id int64, ts string) string { return strconv.FormatInt(id, 10) + "@" + ts }

func (s *seenSet) has(id int64, ts string) bool { return s.keys[seenKey(id, ts)] }

func (s *seenSet) add(id int64, ts string) {
	k := seenKey(id, ts)
	if s.keys[k] {
		return
	}
	delete(s.keys, s.ring[s.next])
	s.ring[s.next] = k
	s.keys[k] = true
	s.next = (s.next + 1) % seenMax
}
