package server

import (
	"sort"
	"time"
)

// room is one chat room: its members (sessions, held ones included) sorted
// by folded name, and its history cache. The hub's mutex guards it.
type room struct {
	name      string // folded
	members   []*session
	nameBytes int // sum of the members' name lengths, for sizing lists
	hist      *history
	emptyAt   time.Time // when it last became empty
	// prev and next link the room into the hub's list of empty rooms.
	prev, next *room
	inEmpty    bool
}

// search returns where key is, or would be, in the sorted member list.
func (r *room) search(key string) int {
	return sort.Search(len(r.members), func(i int) bool { return r.members[i].key >= key })
}

func (r *room) insert(s *session) {
	r.nameBytes += len(s.name)
	i := r.search(s.key)
	r.members = append(r.members, nil)
	copy(r.members[i+1:], r.members[i:])
	r.members[i] = s
}

// remove takes s out and reports whether it was a member.
func (r *room) remove(s *session) bool {
	i := r.search(s.key)
	if i >= len(r.members) || r.members[i] != s {
		return false
	}
	r.nameBytes -= len(s.name)
	copy(r.members[i:], r.members[i+1:])
	r.members[len(r.members)-1] = nil
	r.members = r.members[:len(r.members)-1]
	return true
}

// memberName is the i-th member's name, in list order.
func (r *room) memberName(i int) string { return r.members[i].name }

// namesSize is about how many bytes the encoded list of names takes.
func (r *room) namesSize() int { return r.nameBytes + 3*len(r.members) }

// roomLRU lists the rooms without members, least recently emptied first.
type roomLRU struct {
	head, tail *room
	n          int
}

func (l *roomLRU) push(r *room) {
	if r.inEmpty {
		return
	}
	r.inEmpty, r.prev, r.next = true, l.tail, nil
	if l.tail != nil {
		l.tail.next = r
	} else {
		l.head = r
	}
	l.tail = r
	l.n++
}

func (l *roomLRU) remove(r *room) {
	if !r.inEmpty {
		return
	}
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		l.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		l.tail = r.prev
	}
	r.prev, r.next, r.inEmpty = nil, nil, false
	l.n--
}

func (l *roomLRU) oldest() *room { return l.head }
