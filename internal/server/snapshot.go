package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"pynet/protocol"
)

// Snapshots let a cluster node start without the whole log: the shared
// state (sessions with their rooms, holds and de-duplication windows) as it
// was after one entry, written now and then by one node (the live node
// with the smallest name) and read by a node that starts, which then
// follows the log from the entry after it. Control entries older than the
// snapshot before the newest are trimmed from the log. Every node's copy is
// the same at a given entry, so any node's snapshot serves all.

// snapshot is the encoded shared state.
type snapshot struct {
	Version  int           `json:"version"`
	Seq      uint64        `json:"seq"`
	Sessions []snapSession `json:"sessions"`
}

type snapSession struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	V2         bool      `json:"v2,omitempty"`
	Account    string    `json:"account,omitempty"`
	TokenHash  string    `json:"token,omitempty"`
	Rooms      []string  `json:"rooms,omitempty"`
	Node       string    `json:"node"`
	Att        uint64    `json:"att"`
	Held       bool      `json:"held,omitempty"`
	HoldGen    uint64    `json:"hold_gen,omitempty"`
	HoldReason string    `json:"hold_reason,omitempty"`
	HeldSince  int64     `json:"held_since,omitempty"`
	Addr       string    `json:"addr,omitempty"`
	Refs       []snapRef `json:"refs,omitempty"`
}

type snapRef struct {
	Ref string `json:"r"`
	ID  int64  `json:"i"`
	TS  int64  `json:"t"` // Unix milliseconds
}

const snapshotVersion = 1

// snapshotLocked encodes the shared state after the last applied entry.
func (h *hub) snapshotLocked() ([]byte, uint64) {
	snap := snapshot{Version: snapshotVersion, Seq: uint64(h.lastID)}
	ids := make([]string, 0, len(h.byID))
	for id, s := range h.byID {
		if !s.ended {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	now := time.Now()
	for _, id := range ids {
		s := h.byID[id]
		ss := snapSession{ID: s.id, Name: s.name, V2: s.v2, Account: s.account, TokenHash: s.tokenHash,
			Node: s.node, Att: s.att, Held: s.held, HoldGen: s.holdGen, HoldReason: s.holdReason,
			HeldSince: s.heldSince, Addr: s.addr.String()}
		for _, r := range s.rooms {
			ss.Rooms = append(ss.Rooms, r.name)
		}
		s.refs.expire(now)
		for _, e := range s.refs.order {
			if e.stored {
				ss.Refs = append(ss.Refs, snapRef{e.ref, e.id, e.ts.UnixMilli()})
			}
		}
		snap.Sessions = append(snap.Sessions, ss)
	}
	data, err := json.Marshal(&snap)
	if err != nil {
		panic(err) // plain data always encodes
	}
	return data, snap.Seq
}

// loadSnapshotLocked makes the shared state the snapshot's. The hub must be
// empty (a node that starts).
func (h *hub) loadSnapshotLocked(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("cluster snapshot: %v", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("cluster snapshot: version %d, this build reads %d", snap.Version, snapshotVersion)
	}
	h.lastID, h.nextID = int64(snap.Seq), int64(snap.Seq)+1
	now := time.Now()
	for _, ss := range snap.Sessions {
		key := protocol.FoldName(ss.Name)
		if h.names[key] != nil || h.byID[ss.ID] != nil {
			return fmt.Errorf("cluster snapshot: %q twice", ss.Name)
		}
		s := newSession(h, ss.Name, ss.V2, ipKeyFromString(ss.Addr), now)
		s.id, s.account, s.tokenHash, s.node, s.att = ss.ID, ss.Account, ss.TokenHash, ss.Node, ss.Att
		s.holdGen, s.holdReason, s.heldSince = ss.HoldGen, ss.HoldReason, ss.HeldSince
		h.names[key], h.byID[s.id] = s, s
		if s.tokenHash != "" {
			h.tokens[s.tokenHash] = s
		}
		h.seatLocked(s, ss.Rooms)
		for _, r := range ss.Refs {
			s.refs.add(r.Ref, r.ID, time.UnixMilli(r.TS), true)
		}
		h.stats.Joined.Add(1)
		if ss.Held {
			// Held again where it was held, with a fresh timer: the grace
			// starts over at this node's start, as after a restart.
			s.holdGen = ss.HoldGen - 1 // holdLocked bumps it back
			h.holdLocked(s, ss.HoldReason)
			s.heldSince = ss.HeldSince
		}
	}
	return nil
}
