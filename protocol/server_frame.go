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

	Username string   `json:"username,omitempty"`
	Users    []string `json:"users,omitempty"`
	Protocol int      `json:"protocol,omitempty"`
	Server   string   `json:"server,omitempty"`
	Limits   *Limits  `json:"limits,omitempty"`

	Reason       string `json:"reason,omitempty"`
	Code         string `json:"code,omitempty"`
	Message      string `json:"message,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
}

// Limits is the effective server configuration announced in welcome.
type Limits struct {
	MaxFrame int     `json:"max_frame"`
	MaxText  int     `json:"max_text"`
	Rate     float64 `json:"rate"`
	Burst    int     `json:"burst"`
}

// ErrNoType is returned by DecodeServer for a frame without a string "type".
var ErrNoType = errors.New("protocol: frame has no type")

// DecodeServer decodes one line received from a server. Unknown members are
// ignored. It is for clients, where speed matters less than on the server.
func DecodeServer(line []byte) (ServerFrame, error) {
	var f ServerFrame
	if err := json.Unmarshal(line, &f); err != nil {
		return ServerFrame{}, err
	}
	if f.Type == "" {
		return ServerFrame{}, ErrNoType
	}
	return f, nil
}
