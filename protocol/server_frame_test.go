package protocol_test

import (
	"errors"
	"reflect"
	"testing"

	"pynet/protocol"
)

func TestDecodeServer(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want protocol.ServerFrame
	}{
		{name: "v1 welcome over the presence limit",
			in: `{"type":"welcome","username":"alice","users":["alice"],"count":1500,"protocol":1,"server":"pynet/2.0.0","limits":{"max_frame":65536,"max_text":4096,"rate":20,"burst":40},"account":false}`,
			want: protocol.ServerFrame{Type: "welcome", Username: "alice", Users: []string{"alice"}, Count: 1500, HasCount: true,
				Protocol: 1, Server: "pynet/2.0.0", Limits: &protocol.Limits{MaxFrame: 65536, MaxText: 4096, Rate: 20, Burst: 40}}},
		{name: "v2 welcome",
			in: `{"type":"welcome","username":"Carol","protocol":2,"server":"pynet/2.0.0","limits":{"max_frame":65536,"max_text":4096,"rate":20,"burst":40,"max_rooms":100,"presence_limit":1000,"history":100,"replay_max":1000,"resume_grace_ms":60000},"account":true,"session":"q0Vd3","epoch":"7fK2","last_id":41,"resumed":true,"privates":3,"private_gap":true,"ref":"j"}`,
			want: protocol.ServerFrame{Type: "welcome", Username: "Carol", Protocol: 2, Server: "pynet/2.0.0",
				Limits: &protocol.Limits{MaxFrame: 65536, MaxText: 4096, Rate: 20, Burst: 40,
					MaxRooms: 100, PresenceLimit: 1000, History: 100, ReplayMax: 1000, ResumeGraceMS: 60000},
				Account: true, Session: "q0Vd3", Epoch: "7fK2", LastID: 41, Resumed: true, Privates: 3, PrivateGap: true, Ref: "j"}},
		{name: "entered",
			in: `{"type":"entered","room":"go","count":2,"users":["alice","carol"],"replay":1,"gap":true,"ref":"e"}`,
			want: protocol.ServerFrame{Type: "entered", Room: "go", Count: 2, HasCount: true, Users: []string{"alice", "carol"},
				Replay: 1, Gap: true, Ref: "e"}},
		{name: "fetched with count 0",
			in:   `{"type":"fetched","room":"go","count":0}`,
			want: protocol.ServerFrame{Type: "fetched", Room: "go", HasCount: true}},
		{name: "users without count", in: `{"type":"users","users":["a","b"]}`,
			want: protocol.ServerFrame{Type: "users", Users: []string{"a", "b"}}},
		{name: "null count is absent", in: `{"type":"users","count":null}`, want: protocol.ServerFrame{Type: "users"}},
		{name: "exited", in: `{"type":"exited","room":"go","ref":"x"}`, want: protocol.ServerFrame{Type: "exited", Room: "go", Ref: "x"}},
		{name: "rooms",
			in: `{"type":"rooms","rooms":[{"room":"go","count":2},{"room":"lobby","count":0}],"more":true,"ref":"r"}`,
			want: protocol.ServerFrame{Type: "rooms", Rooms: []protocol.RoomCount{{Room: "go", Count: 2}, {Room: "lobby"}},
				More: true, Ref: "r"}},
		{name: "emote in a replay",
			in: `{"type":"message","id":44,"from":"alice","text":"waves","room":"go","ts":"2026-11-26T00:32:33.123Z","action":true,"history":true}`,
			want: protocol.ServerFrame{Type: "message", ID: 44, From: "alice", Text: "waves", Room: "go",
				TS: "2026-11-26T00:32:33.123Z", Action: true, History: true}},
		{name: "left exit", in: `{"type":"left","username":"bob","room":"go","reason":"exit","ts":"t"}`,
			want: protocol.ServerFrame{Type: "left", Username: "bob", Room: "go", Reason: protocol.ReasonExit, TS: "t"}},
		{name: "registered", in: `{"type":"registered","username":"Dave","session":"tok","ref":"g"}`,
			want: protocol.ServerFrame{Type: "registered", Username: "Dave", Session: "tok", Ref: "g"}},
		{name: "password_changed", in: `{"type":"password_changed","session":"tok2"}`,
			want: protocol.ServerFrame{Type: "password_changed", Session: "tok2"}},
		{name: "bye replaced", in: `{"type":"bye","reason":"replaced"}`,
			want: protocol.ServerFrame{Type: "bye", Reason: protocol.ReasonReplaced}},
		{name: "unknown members", in: `{"type":"future","x":{"count":5},"rooms2":[1]}`, want: protocol.ServerFrame{Type: "future"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.DecodeServer([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeServer(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeServer(%s):\ngot  %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeServerErrors(t *testing.T) {
	for _, in := range []string{`{}`, `{"type":""}`, `{"type":null,"count":3}`} {
		if f, err := protocol.DecodeServer([]byte(in)); !errors.Is(err, protocol.ErrNoType) || !reflect.DeepEqual(f, protocol.ServerFrame{}) {
			t.Errorf("DecodeServer(%s) = %+v, %v; want ErrNoType", in, f, err)
		}
	}
	for _, in := range []string{``, `{"type":"users"`, `{"type":"users","count":"3"}`, `{"type":"rooms","rooms":[1]}`, `[]`} {
		if f, err := protocol.DecodeServer([]byte(in)); err == nil || !reflect.DeepEqual(f, protocol.ServerFrame{}) {
			t.Errorf("DecodeServer(%s) = %+v, %v; want an error", in, f, err)
		}
	}
}
