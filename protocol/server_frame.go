package protocol

import (
	"encoding/json"
	"errors"
)

// ServerFrame is any frame a server sends, decoded for clients. Members a
// frame type does not carry stay zero.
type ServerFrame struct {
	Type string `json:"type"`
	Ref  string `json:"ref,omitempty"`

	ID      int64  `json:"id,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Text    string `json:"text,omitempty"`
	TS      string `json:"ts,omitempty"`
	History bool   `json:"history,omitempty"`
	Action  bool   `json:"action,omitempty"` // message: an emote
	Room    string `json:"room,omitempty"`   // message, joined, left, entered, exited, fetched, users

	Username string   `json:"username,omitempty"`
	Users    []string `json:"users,omitempty"`
	// Count is the count member (welcome over the presence limit, users,
	// entered, fetched); HasCount says it was present, since 0 is a count.
	Count    int     `json:"count,omitempty"`
	HasCount bool    `json:"-"`
	Protocol int     `json:"protocol,omitempty"`
	Server   string  `json:"server,omitempty"`
	Limits   *Limits `json:"limits,omitempty"`
	Account  bool    `json:"account,omitempty"` // welcome: logged in to an account

	// v2 welcome (and registered, password_changed: Session).
	Session    string `json:"session,omitempty"`
	Epoch      string `json:"epoch,omitempty"`
	LastID     int64  `json:"last_id,omitempty"`
	Resumed    bool   `json:"resumed,omitempty"`
	Privates   int    `json:"privates,omitempty"`
	PrivateGap bool   `json:"private_gap,omitempty"`

	// v2 entered and fetched.
	Replay int  `json:"replay,omitempty"` // entered: how many replayed messages follow
	Gap    bool `json:"gap,omitempty"`    // entered, fetched: some messages after since are missing

	// v2 rooms.
	Rooms []RoomCount `json:"rooms,omitempty"`
	More  bool        `json:"more,omitempty"`

	Reason       string `json:"reason,omitempty"`
	Code         string `json:"code,omitempty"`
	Message      string `json:"message,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
}

// RoomCount is one entry of a rooms frame: a room and how many members it has.
type RoomCount struct {
	Room  string `json:"room"`
	Count int    `json:"count"`
}

// Limits is the effective server configuration announced in welcome. The
// members from MaxRooms on are announced to version 2 clients.
type Limits struct {
	MaxFrame int     `json:"max_frame"`
	MaxText  int     `json:"max_text"`
	Rate     float64 `json:"rate"`
	Burst    int     `json:"burst"`

	MaxRooms      int   `json:"max_rooms,omitempty"`
	PresenceLimit int   `json:"presence_limit,omitempty"`
	History       int   `json:"history,omitempty"`
	ReplayMax     int   `json:"replay_max,omitempty"`
	ResumeGraceMS int64 `json:"resume_grace_ms,omitempty"`
}

// ErrNoType is returned by DecodeServer for a frame without a string "type".
var ErrNoType = errors.New("protocol: frame has no type")

// serverFrameJSON decodes a ServerFrame in one pass while telling an absent
// count from 0: the outer Count, shallower, takes the "count" member.
type serverFrameJSON struct {
	*plainServerFrame
	Count *int `json:"count"`
}

type plainServerFrame ServerFrame // without methods, should ServerFrame get any

// DecodeServer decodes one line received from a server. Unknown members are
// ignored. It is for clients, where speed matters less than on the server.
func DecodeServer(line []byte) (ServerFrame, error) {
	var f ServerFrame
	aux := serverFrameJSON{plainServerFrame: (*plainServerFrame)(&f)}
	if err := json.Unmarshal(line, &aux); err != nil {
		return ServerFrame{}, err
	}
	if f.Type == "" {
		return ServerFrame{}, ErrNoType
	}
	if aux.Count != nil {
		f.Count, f.HasCount = *aux.Count, true
	}
	return f, nil
}
