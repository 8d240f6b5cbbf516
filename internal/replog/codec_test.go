package replog

import (
	"encoding/json"
	"reflect"
	"testing"
)

func fullCommand() *Command {
	return &Command{Op: OpJoin, Node: "pynet1", Req: 42, Conn: 7, SID: "abc", Att: 3, TS: 1764547200123,
		Room: "go", From: "alice", To: "bob", ToSID: "def", Text: "héllo\n\"quoted\" \x00", Action: true,
		Ref: "r1", HasRef: true, FromKey: "s:abc", ToKey: "a:bob", Name: "Alice", V2: true,
		Rooms: []string{"lobby", "go"}, Since: 99, UseSince: true, Token: "t", NewToken: "nt",
		Account: "alice", AccName: "Alice", IsAccount: true, Addr: "127.0.0.2", Reason: "timeout", Gen: 5,
		Nodes: []string{"pynet2", "pynet3"}}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, c := range []*Command{fullCommand(), {Op: OpMessage}, {Op: OpExpire, Gen: 1 << 62}} {
		got, err := Decode(Encode(c))
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
		}
	}
	// JSON, as written by hand or by tools, decodes to the same command.
	js, _ := json.Marshal(fullCommand())
	if got, err := Decode(js); err != nil || !reflect.DeepEqual(got, fullCommand()) {
		t.Fatalf("json: %+v, %v", got, err)
	}
}

func TestCodecRefusesGarbage(t *testing.T) {
	good := Encode(fullCommand())
	for _, bad := range [][]byte{nil, {}, {0x02}, {codecVersion, tagOp}, {codecVersion, tagOp, 200},
		{codecVersion, 250, 1, 'x'}, good[:len(good)-1], []byte("{not json")} {
		if c, err := Decode(bad); err == nil {
			t.Errorf("%q decoded to %+v", bad, c)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(fullCommand()))
	f.Add([]byte(`{"op":"msg","text":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if err != nil || len(data) == 0 || data[0] == '{' {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, err := Decode(Encode(c))
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("%x: %+v then %+v (%v)", data, c, again, err)
		}
	})
}

func BenchmarkDecodeMessage(b *testing.B) {
	data := Encode(&Command{Op: OpMessage, Node: "pynet1", Conn: 12, SID: "0123456789abcdef0123456789abcdef",
		TS: 1764547200123, Room: "lobby", From: "bench-0001", Text: string(make([]byte, 100)), Ref: "12345", HasRef: true,
		FromKey: "s:0123456789abcdef0123456789abcdef"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
