package server

import (
	"sync/atomic"

	"pynet/protocol"
)

// Stats are the server's counters, updated with atomics so that reading them
// (for /metrics) never takes a server lock. The fanout path adds to them once
// per broadcast, not once per recipient.
type Stats struct {
	ConnsAccepted  atomic.Int64 // connections accepted, refused ones included
	ConnsCurrent   atomic.Int64 // connections open now, joined or not
	Joined         atomic.Int64 // users joined now
	BytesIn        atomic.Int64
	BytesOut       atomic.Int64
	Writes         atomic.Int64 // socket writes; FramesOut / Writes is how well writes coalesce
	Broadcasts     atomic.Int64 // public messages accepted
	Deliveries     atomic.Int64 // message frames (public and private) queued to recipients
	RateLimited    atomic.Int64 // lines refused by the rate limit
	MaxQueueSeen   atomic.Int64 // largest outbound queue of one connection, bytes
	Commits        atomic.Int64 // store transactions with messages (with -data)
	BudgetRefusals atomic.Int64 // connections cut off because the partial-line budget was spent
	Committed      atomic.Int64 // messages committed to the store

	FramesIn  CounterVec // by client frame type ("invalid" for lines that did not decode)
	FramesOut CounterVec // by server frame type
	Errors    CounterVec // error frames by code
	Closed    CounterVec // connections closed, by reason
}

// CounterVec is a fixed set of named counters. The names are known up front,
// so lookups are a linear scan of a short slice and need no lock.
type CounterVec struct {
	names []string
	vals  []atomic.Int64
}

func newCounterVec(names ...string) CounterVec {
	return CounterVec{names: names, vals: make([]atomic.Int64, len(names))}
}

// Add adds n to the counter called name; an unknown name counts as "other",
// the last entry.
func (v *CounterVec) Add(name string, n int64) {
	for i, k := range v.names {
		if k == name {
			v.vals[i].Add(n)
			return
		}
	}
	v.vals[len(v.vals)-1].Add(n)
}

// Each calls fn for every counter, in a fixed order.
func (v *CounterVec) Each(fn func(name string, value int64)) {
	for i, k := range v.names {
		fn(k, v.vals[i].Load())
	}
}

// Get returns one counter's value.
func (v *CounterVec) Get(name string) int64 {
	for i, k := range v.names {
		if k == name {
			return v.vals[i].Load()
		}
	}
	return 0
}

func newStats() *Stats {
	return &Stats{
		FramesIn: newCounterVec(protocol.MsgJoin, protocol.MsgMessage, protocol.MsgPrivate,
			protocol.MsgUsers, protocol.MsgNick, protocol.MsgPing, protocol.MsgPong,
			protocol.MsgLeave, protocol.MsgEnter, protocol.MsgExit, protocol.MsgFetch,
			protocol.MsgRooms, protocol.MsgRegister, protocol.MsgPassword, "invalid"),
		FramesOut: newCounterVec(protocol.MsgWelcome, protocol.MsgJoined, protocol.MsgLeft,
			protocol.MsgMessage, protocol.MsgPrivate, protocol.MsgAck, protocol.MsgRenamed,
			protocol.MsgUsers, protocol.MsgPing, protocol.MsgPong, protocol.MsgError,
			protocol.MsgBye, protocol.MsgEntered, protocol.MsgExited, protocol.MsgFetched,
			protocol.MsgRooms, protocol.MsgRegistered, protocol.MsgPasswordChanged, "other"),
		Errors: newCounterVec(protocol.CodeBadJSON, protocol.CodeBadFrame,
			protocol.CodeUnknownType, protocol.CodeJoinRequired, protocol.CodeAlreadyJoined,
			protocol.CodeEmptyMessage, protocol.CodeTextTooLong, protocol.CodeInvalidText,
			protocol.CodeInvalidUsername, protocol.CodeUsernameTaken, protocol.CodeNoSuchUser,
			protocol.CodeRateLimited, protocol.CodeFrameTooLarge, protocol.CodeInvalidRoom,
			protocol.CodeNotInRoom, protocol.CodeAlreadyInRoom, protocol.CodeTooManyRooms,
			protocol.CodeAuthRequired, protocol.CodeAuthFailed, protocol.CodeInsecureAuth,
			protocol.CodeWeakPassword, protocol.CodeAlreadyRegistered, protocol.CodeForbidden, "other"),
		Closed: newCounterVec(protocol.ReasonQuit, protocol.ReasonDisconnect,
			protocol.ReasonTimeout, protocol.ReasonSlowConsumer, protocol.ReasonJoinTimeout,
			protocol.ReasonServerFull, protocol.ReasonShutdown, protocol.ReasonIPLimit,
			protocol.ReasonReplaced, "other"),
	}
}

// noteQueue records a connection's queue size if it is the largest seen.
func (s *Stats) noteQueue(n int) {
	for {
		cur := s.MaxQueueSeen.Load()
		if int64(n) <= cur || s.MaxQueueSeen.CompareAndSwap(cur, int64(n)) {
			return
		}
	}
}
