package client

import (
	"sort"
	"strconv"
	"strings"

	"pynet/protocol"
)

// roster is a set of users as the client knows them (entered, users,
// joined, left, renamed), for Tab completion and counts. Owned by the UI
// loop.
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

func (r *roster) add(name string)      { r.names[protocol.FoldName(name)] = name }
func (r *roster) remove(name string)   { delete(r.names, protocol.FoldName(name)) }
func (r *roster) has(name string) bool { _, ok := r.names[protocol.FoldName(name)]; return ok }
func (r *roster) len() int             { return len(r.names) }

func (r *roster) rename(from, to string) {
	if r.has(from) {
		r.remove(from)
		r.add(to)
	}
}

// list returns the names sorted as the server sorts them (PROTOCOL §5.2).
func (r *roster) list() []string {
	keys := make([]string, 0, len(r.names))
	for k := range r.names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = r.names[k]
	}
	return out
}

// matching returns the names that start with prefix, case-insensitively,
// sorted, leaving out skip.
func (r *roster) matching(prefix, skip string) []string {
	p := protocol.FoldName(prefix)
	var out []string
	for _, n := range r.list() {
		f := protocol.FoldName(n)
		if strings.HasPrefix(f, p) && f != protocol.FoldName(skip) {
			out = append(out, n)
		}
	}
	return out
}

// seenSet remembers the last seenMax messages delivered, by id and time
// stamp, so that one delivered before is not delivered again. The time
// stamp is part of the key because a server without a store starts a new
// id sequence at every start.
type seenSet struct {
	keys map[string]bool
	ring []string
	next int
}

const seenMax = 4096

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
