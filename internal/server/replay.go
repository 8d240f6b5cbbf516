package server

import (
	"time"

	"pynet/internal/store"
	"pynet/protocol"
)

// Replays (PROTOCOL §5.4) are not built under the hub's lock. What a replay
// must hold is decided there (the room, the position, the highest id it may
// include, and a snapshot of the history cache when the cache has it all),
// and a replaySource carrying that decision is queued to the connection like
// a frame. The connection's writer expands it when it reaches it, one chunk
// at a time, reading the store if needed, so a replay never holds more than
// a chunk in memory and frames queued behind it wait their turn: the
// hand-over stays gapless (hub.go).

// replaySource produces frames for the writer.
type replaySource interface {
	// fill appends frames to dst until it holds at least max bytes or the
	// source is exhausted (done).
	fill(dst []byte, max int) (out []byte, done bool, err error)
}

// replayPage is how many stored messages a replay reads at a time.
const replayPage = 256

// roomReplay is one room's replay: after entered (v2 enter or join), before
// fetched (fetch), or bare (the v1 welcome's history).
type roomReplay struct {
	st    store.Store
	stats *Stats
	room  string
	kind  int    // replayEntered, replayFetched or replayBare
	head  []byte // entered: the frame up to its "replay" member
	ref   string // fetched: the ref to echo ("" for none)
	hasRf bool

	// What to replay: ents from the cache, or from the store: the last
	// limit messages ≤ upto (tail), or the oldest limit after since.
	ents      []histEntry
	fromStore bool
	tail      bool
	since     int64
	upto      int64
	limit     int
	gap       bool

	started   bool
	count     int
	msgs      []store.Message
	pos       int
	remaining int // store: messages still to read
	cursor    int64
}

const (
	replayEntered = iota
	replayFetched
	replayBare
)

// prepare reads what the replay's first frame must say: how many messages
// follow and whether some are missing.
func (r *roomReplay) prepare() error {
	r.started = true
	switch {
	case !r.fromStore:
		r.count = len(r.ents)
	case r.tail:
		msgs, err := r.st.RoomTail(r.room, r.upto, r.limit)
		if err != nil {
			return err
		}
		r.msgs, r.count = msgs, len(msgs)
	default:
		rs, err := r.st.RoomStats(r.room, r.since, r.upto)
		if err != nil {
			return err
		}
		r.count = min(rs.Count, r.limit)
		r.gap = r.gap || r.since < rs.Pruned || rs.Count > r.limit
		r.remaining, r.cursor = r.count, r.since
	}
	return nil
}

func (r *roomReplay) fill(dst []byte, max int) ([]byte, bool, error) {
	if !r.started {
		if err := r.prepare(); err != nil {
			return dst, true, err
		}
		if r.kind == replayEntered {
			dst = append(dst, r.head...)
			dst = endReplayHeader(dst, r.count, r.gap, r.ref, r.hasRf)
			r.stats.FramesOut.Add(protocol.MsgEntered, 1)
		}
	}
	for len(dst) < max {
		switch {
		case r.pos < len(r.ents):
			dst = appendReplayed(dst, r.ents[r.pos].frame)
			r.pos++
			r.stats.FramesOut.Add(protocol.MsgMessage, 1)
		case r.pos < len(r.msgs):
			dst = appendStored(dst, &r.msgs[r.pos])
			r.pos++
			r.stats.FramesOut.Add(protocol.MsgMessage, 1)
		case r.remaining > 0:
			msgs, err := r.st.RoomMessages(r.room, r.cursor, r.upto, min(r.remaining, replayPage))
			if err != nil {
				return dst, true, err
			}
			if len(msgs) == 0 {
				r.remaining = 0
				continue
			}
			r.msgs, r.pos = msgs, 0
			r.cursor = msgs[len(msgs)-1].ID
			r.remaining -= len(msgs)
		default:
			if r.kind == replayFetched {
				b := protocol.NewFrame(dst, protocol.MsgFetched).Str("room", r.room).Int("count", int64(r.count))
				if r.gap {
					b.Bool("gap", true)
				}
				if r.hasRf {
					b.Str("ref", r.ref)
				}
				dst = b.End()
				r.stats.FramesOut.Add(protocol.MsgFetched, 1)
			}
			r.msgs, r.ents = nil, nil
			return dst, true, nil
		}
	}
	return dst, false, nil
}

// endReplayHeader finishes an entered frame whose other members are in dst.
func endReplayHeader(dst []byte, count int, gap bool, ref string, hasRef bool) []byte {
	b := protocol.ContinueFrame(dst).Int("replay", int64(count))
	if gap {
		b.Bool("gap", true)
	}
	if hasRef {
		b.Str("ref", ref)
	}
	return b.End()
}

// appendStored encodes a stored message in its replay form: the same
// members, in the same order, as the live frame, plus "history": true.
func appendStored(dst []byte, m *store.Message) []byte {
	var b *protocol.Builder
	if m.Room != "" {
		b = protocol.NewFrame(dst, protocol.MsgMessage).Int("id", m.ID).Str("from", m.From).
			Str("text", m.Text).Str("room", m.Room).Time("ts", m.TS)
		if m.Action {
			b.Bool("action", true)
		}
	} else {
		b = protocol.NewFrame(dst, protocol.MsgPrivate).Int("id", m.ID).Str("from", m.From).
			Str("to", m.To).Str("text", m.Text).Time("ts", m.TS)
	}
	return b.Bool("history", true).End()
}

// privReplay is a session's private replay: from its memory-mode cache, or
// from the store by owner keys.
type privReplay struct {
	st    store.Store
	stats *Stats
	ents  []histEntry
	keys  []string // store: owner keys
	since int64
	upto  int64
	limit int
	gap   bool
	msgs  []store.Message
	pos   int
}

func (p *privReplay) prepare() error {
	if p.st == nil || p.keys == nil {
		return nil
	}
	msgs, gap, err := p.st.Privates(p.keys, p.since, p.upto, p.limit)
	if err != nil {
		return err
	}
	p.msgs, p.gap = msgs, p.gap || gap
	return nil
}

func (p *privReplay) count() int { return len(p.ents) + len(p.msgs) }

func (p *privReplay) fill(dst []byte, max int) ([]byte, bool, error) {
	for len(dst) < max {
		switch {
		case p.pos < len(p.ents):
			dst = appendReplayed(dst, p.ents[p.pos].frame)
		case p.pos-len(p.ents) < len(p.msgs):
			dst = appendStored(dst, &p.msgs[p.pos-len(p.ents)])
		default:
			p.ents, p.msgs = nil, nil
			return dst, true, nil
		}
		p.pos++
		p.stats.FramesOut.Add(protocol.MsgPrivate, 1)
	}
	return dst, false, nil
}

// joinReplay is everything a v2 join answers with: the welcome (whose
// privates count needs the private replay read first), each room's entered
// and replay, then the private replay.
type joinReplay struct {
	head    []byte // the welcome up to its "privates" member
	ref     string
	hasRef  bool
	rooms   []*roomReplay
	priv    *privReplay
	stage   int // 0: welcome not written; 1..len(rooms): rooms; then privates
	welcome bool
	stats   *Stats
	// With a store: the session save the welcome waits for.
	saved <-chan struct{}
	cm    *committer
	wait  time.Duration
}

func (j *joinReplay) fill(dst []byte, max int) ([]byte, bool, error) {
	if !j.welcome {
		if j.saved != nil {
			if err := j.cm.waitCommitted(j.saved, j.wait); err != nil {
				return dst, true, err
			}
		}
		if err := j.priv.prepare(); err != nil {
			return dst, true, err
		}
		b := protocol.ContinueFrame(append(dst, j.head...)).Int("privates", int64(j.priv.count()))
		if j.priv.gap {
			b.Bool("private_gap", true)
		}
		if j.hasRef {
			b.Str("ref", j.ref)
		}
		dst = b.End()
		j.welcome = true
		j.stats.FramesOut.Add(protocol.MsgWelcome, 1)
	}
	for len(dst) < max {
		var src replaySource = j.priv
		if j.stage < len(j.rooms) {
			src = j.rooms[j.stage]
		}
		var done bool
		var err error
		dst, done, err = src.fill(dst, max)
		if err != nil || !done {
			return dst, err != nil, err
		}
		if j.stage == len(j.rooms) {
			return dst, true, nil
		}
		j.rooms[j.stage] = nil
		j.stage++
	}
	return dst, false, nil
}
