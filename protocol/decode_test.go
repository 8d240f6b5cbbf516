package protocol_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"pynet/protocol"
)

type decodeCase struct {
	name string
	in   string
	want protocol.Frame // compared whole on success; only Ref/HasRef on failure
	code string         // "" when the line decodes
}

// withRef is a failing frame's expected ref.
func withRef(ref string) protocol.Frame { return protocol.Frame{Ref: ref, HasRef: true} }

var (
	ref64    = strings.Repeat("r", protocol.MaxRef)
	ref65    = strings.Repeat("r", protocol.MaxRef+1)
	deepJSON = strings.Repeat("[", 500) + strings.Repeat("]", 500)
)

var decodeCases = []decodeCase{
	// bad_json: not UTF-8, not exactly one JSON value (PROTOCOL §1).
	{name: "invalid utf8 in string", in: "{\"type\":\"message\",\"text\":\"\xff\"}", code: protocol.CodeBadJSON},
	{name: "invalid utf8 in unknown member", in: "{\"type\":\"ping\",\"x\":\"a\xc3\"}", code: protocol.CodeBadJSON},
	{name: "invalid utf8 outside json", in: "\xff", code: protocol.CodeBadJSON},
	{name: "utf8 surrogate bytes", in: "{\"type\":\"ping\",\"x\":\"\xed\xa0\x80\"}", code: protocol.CodeBadJSON},
	{name: "two objects", in: `{"type":"ping"}{"type":"ping"}`, code: protocol.CodeBadJSON},
	{name: "two objects with space", in: `{"type":"ping"} {"type":"ping"}`, code: protocol.CodeBadJSON},
	{name: "object then number", in: `{"type":"ping"} 1`, code: protocol.CodeBadJSON},
	{name: "trailing garbage", in: `{"type":"ping"}x`, code: protocol.CodeBadJSON},
	{name: "truncated", in: `{"type":"ping"`, code: protocol.CodeBadJSON},
	{name: "empty line", in: ``, code: protocol.CodeBadJSON},
	{name: "white space only", in: " \t\r", code: protocol.CodeBadJSON},
	{name: "single quotes", in: `{'type':'ping'}`, code: protocol.CodeBadJSON},
	{name: "trailing comma", in: `{"type":"ping",}`, code: protocol.CodeBadJSON},
	{name: "unquoted key", in: `{type:"ping"}`, code: protocol.CodeBadJSON},
	{name: "raw control char in string", in: "{\"type\":\"message\",\"text\":\"a\x01\"}", code: protocol.CodeBadJSON},
	{name: "raw tab in string", in: "{\"type\":\"message\",\"text\":\"a\tb\"}", code: protocol.CodeBadJSON},
	{name: "bad escape", in: `{"type":"message","text":"\x41"}`, code: protocol.CodeBadJSON},
	{name: "short unicode escape", in: `{"type":"message","text":"\u12"}`, code: protocol.CodeBadJSON},
	{name: "byte order mark", in: "\ufeff{\"type\":\"ping\"}", code: protocol.CodeBadJSON},
	{name: "NaN", in: `{"type":"ping","x":NaN}`, code: protocol.CodeBadJSON},
	{name: "leading zero", in: `{"type":"ping","x":01}`, code: protocol.CodeBadJSON},
	// RFC 8259 §9 lets a parser limit nesting; encoding/json stops at 10,000.
	{name: "nesting over 10000", in: `{"type":"ping","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		code: protocol.CodeBadJSON},
	{name: "comment", in: `{"type":"ping"} // hi`, code: protocol.CodeBadJSON},

	// White space around the one object is fine.
	{name: "spaces around", in: ` {"type":"ping"} `, want: protocol.Frame{Type: "ping"}},
	{name: "json white space around", in: "\t\r {\"type\":\"ping\"}\t\r ", want: protocol.Frame{Type: "ping"}},
	{name: "white space everywhere", in: "{ \"type\" :\t\"private\" ,\r\"to\" : \"bob\" , \"text\" : \"x\" }",
		want: protocol.Frame{Type: "private", To: "bob", HasTo: true, Text: "x"}},
	{name: "empty object", in: `{ }`, code: protocol.CodeBadFrame},

	// bad_frame: valid JSON but not an object.
	{name: "array", in: `[]`, code: protocol.CodeBadFrame},
	{name: "array of frame", in: `[{"type":"ping"}]`, code: protocol.CodeBadFrame},
	{name: "array of strings", in: `["type","ping"]`, code: protocol.CodeBadFrame},
	{name: "string", in: `"ping"`, code: protocol.CodeBadFrame},
	{name: "number", in: `5`, code: protocol.CodeBadFrame},
	{name: "negative number", in: ` -1.5e3 `, code: protocol.CodeBadFrame},
	{name: "null", in: `null`, code: protocol.CodeBadFrame},
	{name: "true", in: `true`, code: protocol.CodeBadFrame},

	// type: missing, null, not a string.
	{name: "no type", in: `{"text":"hi"}`, code: protocol.CodeBadFrame},
	{name: "null type", in: `{"type":null}`, code: protocol.CodeBadFrame},
	{name: "number type", in: `{"type":5}`, code: protocol.CodeBadFrame},
	{name: "bool type", in: `{"type":true}`, code: protocol.CodeBadFrame},
	{name: "array type", in: `{"type":["ping"]}`, code: protocol.CodeBadFrame},
	{name: "object type", in: `{"type":{"type":"ping"}}`, code: protocol.CodeBadFrame},
	{name: "upper-case TYPE is unknown", in: `{"TYPE":"ping"}`, code: protocol.CodeBadFrame},
	{name: "Type is unknown", in: `{"Type":"ping"}`, code: protocol.CodeBadFrame},
	{name: "TYPE ignored next to type", in: `{"TYPE":5,"type":"ping"}`, want: protocol.Frame{Type: "ping"}},

	// unknown_type.
	{name: "upper-case value", in: `{"type":"PING"}`, code: protocol.CodeUnknownType},
	{name: "empty type", in: `{"type":""}`, code: protocol.CodeUnknownType},
	{name: "type with space", in: `{"type":"ping "}`, code: protocol.CodeUnknownType},
	{name: "server-only type", in: `{"type":"welcome"}`, code: protocol.CodeUnknownType},
	{name: "error type", in: `{"type":"error"}`, code: protocol.CodeUnknownType},
	{name: "future type", in: `{"type":"react","emoji":"👍"}`, code: protocol.CodeUnknownType},
	{name: "type with NUL", in: `{"type":"ping\u0000"}`, code: protocol.CodeUnknownType},

	// Every client type is known.
	{name: "join", in: `{"type":"join","username":"alice"}`,
		want: protocol.Frame{Type: "join", Username: "alice", HasUsername: true}},
	{name: "message", in: `{"type":"message","text":"hi"}`, want: protocol.Frame{Type: "message", Text: "hi"}},
	{name: "private", in: `{"type":"private","to":"bob","text":"hi"}`,
		want: protocol.Frame{Type: "private", To: "bob", HasTo: true, Text: "hi"}},
	{name: "users", in: `{"type":"users"}`, want: protocol.Frame{Type: "users"}},
	{name: "nick", in: `{"type":"nick","username":"carol"}`,
		want: protocol.Frame{Type: "nick", Username: "carol", HasUsername: true}},
	{name: "ping", in: `{"type":"ping"}`, want: protocol.Frame{Type: "ping"}},
	{name: "pong", in: `{"type":"pong"}`, want: protocol.Frame{Type: "pong"}},
	{name: "leave", in: `{"type":"leave"}`, want: protocol.Frame{Type: "leave"}},
	{name: "member order free", in: `{"text":"hi","ref":"r","type":"message"}`,
		want: protocol.Frame{Type: "message", Text: "hi", Ref: "r", HasRef: true}},

	// ref (PROTOCOL §2).
	{name: "ref", in: `{"type":"ping","ref":"a1"}`, want: protocol.Frame{Type: "ping", Ref: "a1", HasRef: true}},
	{name: "empty ref", in: `{"type":"ping","ref":""}`, want: protocol.Frame{Type: "ping", HasRef: true}},
	{name: "null ref is absent", in: `{"type":"ping","ref":null}`, want: protocol.Frame{Type: "ping"}},
	{name: "64-byte ref", in: `{"type":"ping","ref":"` + ref64 + `"}`,
		want: protocol.Frame{Type: "ping", Ref: ref64, HasRef: true}},
	{name: "65-byte ref", in: `{"type":"ping","ref":"` + ref65 + `"}`, code: protocol.CodeBadFrame},
	{name: "64-byte multibyte ref", in: `{"type":"ping","ref":"` + strings.Repeat("é", 32) + `"}`,
		want: protocol.Frame{Type: "ping", Ref: strings.Repeat("é", 32), HasRef: true}},
	{name: "66-byte multibyte ref", in: `{"type":"ping","ref":"` + strings.Repeat("é", 33) + `"}`,
		code: protocol.CodeBadFrame},
	{name: "64-byte escaped ref", in: `{"type":"ping","ref":"` + strings.Repeat(`\u0041`, 64) + `"}`,
		want: protocol.Frame{Type: "ping", Ref: strings.Repeat("A", 64), HasRef: true}},
	{name: "65-byte escaped ref", in: `{"type":"ping","ref":"` + strings.Repeat(`\u0041`, 65) + `"}`,
		code: protocol.CodeBadFrame},
	{name: "number ref", in: `{"type":"ping","ref":5}`, code: protocol.CodeBadFrame},
	{name: "bool ref", in: `{"type":"ping","ref":false}`, code: protocol.CodeBadFrame},
	{name: "array ref", in: `{"type":"ping","ref":["a"]}`, code: protocol.CodeBadFrame},
	{name: "object ref", in: `{"type":"ping","ref":{}}`, code: protocol.CodeBadFrame},
	{name: "bad ref before unknown type", in: `{"type":"nope","ref":1}`, code: protocol.CodeBadFrame},
	{name: "bad ref and no type", in: `{"ref":1}`, code: protocol.CodeBadFrame},
	{name: "REF is an unknown member", in: `{"type":"ping","REF":"x"}`, want: protocol.Frame{Type: "ping"}},
	// A valid ref comes back even when the frame fails later.
	{name: "ref kept: no type", in: `{"ref":"a1"}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "ref kept: null type", in: `{"ref":"a1","type":null}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "ref kept: number type", in: `{"ref":"a1","type":1}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "ref kept: unknown type", in: `{"type":"nope","ref":"a1"}`, want: withRef("a1"), code: protocol.CodeUnknownType},
	{name: "ref kept: bad text", in: `{"type":"message","text":5,"ref":"a1"}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "ref kept: bad to", in: `{"type":"private","ref":"a1","to":[],"text":"x"}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "ref kept: bad username", in: `{"ref":"a1","type":"join","username":{}}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "empty ref kept", in: `{"type":"nope","ref":""}`, want: withRef(""), code: protocol.CodeUnknownType},

	// Members a type takes must be strings (or null, which is absent).
	{name: "empty username", in: `{"type":"join","username":""}`, want: protocol.Frame{Type: "join", HasUsername: true}},
	{name: "null username", in: `{"type":"join","username":null}`, want: protocol.Frame{Type: "join"}},
	{name: "no username", in: `{"type":"join"}`, want: protocol.Frame{Type: "join"}},
	{name: "number username", in: `{"type":"join","username":5}`, code: protocol.CodeBadFrame},
	{name: "bool username", in: `{"type":"join","username":true}`, code: protocol.CodeBadFrame},
	{name: "array username", in: `{"type":"nick","username":["a"]}`, code: protocol.CodeBadFrame},
	{name: "object username", in: `{"type":"nick","username":{"a":"b"}}`, code: protocol.CodeBadFrame},
	{name: "number text", in: `{"type":"message","text":5}`, code: protocol.CodeBadFrame},
	{name: "array text", in: `{"type":"message","text":["hi"]}`, code: protocol.CodeBadFrame},
	{name: "bool text in private", in: `{"type":"private","to":"bob","text":false}`, code: protocol.CodeBadFrame},
	{name: "null text", in: `{"type":"message","text":null}`, want: protocol.Frame{Type: "message"}},
	{name: "no text", in: `{"type":"message"}`, want: protocol.Frame{Type: "message"}},
	{name: "number to", in: `{"type":"private","to":1,"text":"x"}`, code: protocol.CodeBadFrame},
	{name: "object to", in: `{"type":"private","to":{},"text":"x"}`, code: protocol.CodeBadFrame},
	{name: "null to", in: `{"type":"private","to":null,"text":"x"}`, want: protocol.Frame{Type: "private", Text: "x"}},
	{name: "empty to", in: `{"type":"private","to":"","text":"x"}`,
		want: protocol.Frame{Type: "private", HasTo: true, Text: "x"}},
	{name: "Text is an unknown member", in: `{"type":"message","Text":"hi"}`, want: protocol.Frame{Type: "message"}},
	{name: "USERNAME is an unknown member", in: `{"type":"join","USERNAME":5}`, want: protocol.Frame{Type: "join"}},

	// A member the type does not take is ignored, even wrongly typed.
	{name: "ping with number text", in: `{"type":"ping","text":5}`, want: protocol.Frame{Type: "ping"}},
	{name: "ping with everything wrong", in: `{"type":"ping","text":5,"username":[],"to":{}}`,
		want: protocol.Frame{Type: "ping"}},
	{name: "join with number text", in: `{"type":"join","username":"a","text":5,"to":true}`,
		want: protocol.Frame{Type: "join", Username: "a", HasUsername: true}},
	{name: "message with number username", in: `{"type":"message","text":"x","username":5,"to":5}`,
		want: protocol.Frame{Type: "message", Text: "x"}},
	{name: "message ignores username and to", in: `{"type":"message","text":"x","username":"u","to":"t"}`,
		want: protocol.Frame{Type: "message", Text: "x"}},
	{name: "users ignores to", in: `{"type":"users","to":"bob"}`, want: protocol.Frame{Type: "users"}},
	{name: "leave with object text", in: `{"type":"leave","text":{"a":1}}`, want: protocol.Frame{Type: "leave"}},
	{name: "private ignores username", in: `{"type":"private","to":"b","text":"x","username":false}`,
		want: protocol.Frame{Type: "private", To: "b", HasTo: true, Text: "x"}},

	// Escapes.
	{name: "unicode escape", in: `{"type":"message","text":"\u0041"}`, want: protocol.Frame{Type: "message", Text: "A"}},
	{name: "newline escape", in: `{"type":"message","text":"a\nb"}`, want: protocol.Frame{Type: "message", Text: "a\nb"}},
	{name: "all short escapes", in: `{"type":"message","text":"\"\\\/\b\f\n\r\t"}`,
		want: protocol.Frame{Type: "message", Text: "\"\\/\b\f\n\r\t"}},
	{name: "escaped NUL", in: `{"type":"message","text":"\u0000"}`, want: protocol.Frame{Type: "message", Text: "\x00"}},
	{name: "lone high surrogate", in: `{"type":"message","text":"\ud800"}`,
		want: protocol.Frame{Type: "message", Text: "\uFFFD"}},
	{name: "lone low surrogate", in: `{"type":"message","text":"a\udc00b"}`,
		want: protocol.Frame{Type: "message", Text: "a\uFFFDb"}},
	{name: "surrogate pair", in: `{"type":"message","text":"\ud83d\ude00"}`,
		want: protocol.Frame{Type: "message", Text: "😀"}},
	{name: "reversed surrogate pair", in: `{"type":"message","text":"\ude00\ud83d"}`,
		want: protocol.Frame{Type: "message", Text: "\uFFFD\uFFFD"}},
	{name: "raw utf8", in: `{"type":"message","text":"héllo 世界 😀"}`,
		want: protocol.Frame{Type: "message", Text: "héllo 世界 😀"}},
	{name: "escaped type", in: `{"type":"p\u0069ng"}`, want: protocol.Frame{Type: "ping"}},
	{name: "escaped key", in: `{"typ\u0065":"ping","\u0072ef":"x"}`, want: protocol.Frame{Type: "ping", Ref: "x", HasRef: true}},
	{name: "escaped slash in to", in: `{"type":"private","to":"a\/b","text":"x"}`,
		want: protocol.Frame{Type: "private", To: "a/b", HasTo: true, Text: "x"}},
	{name: "escaped username", in: `{"type":"nick","username":"\u0062ob"}`,
		want: protocol.Frame{Type: "nick", Username: "bob", HasUsername: true}},

	// Duplicate keys: the last wins, as with encoding/json.
	{name: "duplicate type", in: `{"type":"ping","type":"message","text":"x"}`,
		want: protocol.Frame{Type: "message", Text: "x"}},
	{name: "duplicate type back", in: `{"type":"message","type":"ping"}`, want: protocol.Frame{Type: "ping"}},
	{name: "duplicate text", in: `{"type":"message","text":"a","text":"b"}`, want: protocol.Frame{Type: "message", Text: "b"}},
	{name: "duplicate text, bad first", in: `{"type":"message","text":5,"text":"b"}`,
		want: protocol.Frame{Type: "message", Text: "b"}},
	{name: "duplicate text, bad last", in: `{"type":"message","text":"b","text":5}`, code: protocol.CodeBadFrame},
	{name: "duplicate text, null last", in: `{"type":"message","text":"b","text":null}`,
		want: protocol.Frame{Type: "message"}},
	{name: "duplicate ref", in: `{"ref":"a","ref":"b","type":"ping"}`, want: protocol.Frame{Type: "ping", Ref: "b", HasRef: true}},
	{name: "duplicate ref, bad first", in: `{"ref":1,"ref":"b","type":"ping"}`,
		want: protocol.Frame{Type: "ping", Ref: "b", HasRef: true}},
	{name: "duplicate type, bad first", in: `{"type":5,"type":"ping"}`, want: protocol.Frame{Type: "ping"}},
	{name: "duplicate type, null last", in: `{"type":"ping","type":null}`, code: protocol.CodeBadFrame},
	{name: "escaped duplicate key", in: `{"text":"a","type":"message","t\u0065xt":"b"}`,
		want: protocol.Frame{Type: "message", Text: "b"}},

	// Unknown members are skipped, whatever they hold.
	{name: "nested object with type", in: `{"x":{"type":"message","a":[1,{"b":"}"}]},"type":"ping"}`,
		want: protocol.Frame{Type: "ping"}},
	{name: "nested members not taken", in: `{"a":{"type":"join","username":"bob","ref":"n"},"type":"message","text":"hi"}`,
		want: protocol.Frame{Type: "message", Text: "hi"}},
	{name: "string with escaped quote and brace", in: `{"x":"\"}","type":"ping"}`, want: protocol.Frame{Type: "ping"}},
	{name: "string ending in backslash", in: `{"x":"\\","type":"ping"}`, want: protocol.Frame{Type: "ping"}},
	{name: "string ending in backslash quote", in: `{"x":"\\\"","type":"ping","y":"\\\\"}`, want: protocol.Frame{Type: "ping"}},
	{name: "brackets in strings", in: `{"x":["]","[","{","}"],"type":"ping","y":[[[]]],"z":{}}`,
		want: protocol.Frame{Type: "ping"}},
	{name: "key that looks like json", in: `{"{\"type\":\"x\"}":1,"type":"ping"}`, want: protocol.Frame{Type: "ping"}},
	{name: "scalars", in: `{"x":-1.5e+10,"y":true,"z":false,"w":null,"type":"ping","v":0}`, want: protocol.Frame{Type: "ping"}},
	{name: "null text with spaces", in: `{"type":"message","text" : null }`, want: protocol.Frame{Type: "message"}},
	{name: "null members with white space", in: "{\"type\":\"private\",\"to\":null\t,\"ref\":null\r,\"text\":\"x\"}",
		want: protocol.Frame{Type: "private", Text: "x"}},
	{name: "scalars with spaces", in: `{"x" : 1 , "y" : true , "type" : "ping" , "z" : null }`, want: protocol.Frame{Type: "ping"}},
	{name: "deep nesting", in: `{"x":` + deepJSON + `,"type":"ping"}`, want: protocol.Frame{Type: "ping"}},
	{name: "nested object with text after", in: `{"type":"message","x":{"text":5},"text":"ok"}`,
		want: protocol.Frame{Type: "message", Text: "ok"}},
	{name: "array of objects with refs", in: `{"type":"ping","x":[{"ref":1},{"ref":{}}]}`, want: protocol.Frame{Type: "ping"}},

	// Version 2 types: every one is known to the decoder (the server answers
	// unknown_type to version 1 clients; see DecodeClientV1).
	{name: "enter", in: `{"type":"enter","room":"Go"}`, want: protocol.Frame{Type: "enter", Room: "Go", HasRoom: true}},
	{name: "enter with since and epoch", in: `{"type":"enter","room":"go","since":41,"epoch":"7fK2","ref":"e"}`,
		want: protocol.Frame{Type: "enter", Room: "go", HasRoom: true, Since: 41, HasSince: true, Epoch: "7fK2", HasEpoch: true, Ref: "e", HasRef: true}},
	{name: "enter without room", in: `{"type":"enter"}`, want: protocol.Frame{Type: "enter"}},
	{name: "enter with null room", in: `{"type":"enter","room":null}`, want: protocol.Frame{Type: "enter"}},
	{name: "enter with empty room", in: `{"type":"enter","room":""}`, want: protocol.Frame{Type: "enter", HasRoom: true}},
	{name: "exit", in: `{"type":"exit","room":"go"}`, want: protocol.Frame{Type: "exit", Room: "go", HasRoom: true}},
	{name: "fetch", in: `{"type":"fetch","room":"go","since":0}`,
		want: protocol.Frame{Type: "fetch", Room: "go", HasRoom: true, HasSince: true}},
	{name: "fetch without since", in: `{"type":"fetch","room":"go"}`, want: protocol.Frame{Type: "fetch", Room: "go", HasRoom: true}},
	{name: "rooms", in: `{"type":"rooms"}`, want: protocol.Frame{Type: "rooms"}},
	{name: "rooms after", in: `{"type":"rooms","after":"Not A Room!"}`,
		want: protocol.Frame{Type: "rooms", After: "Not A Room!", HasAfter: true}},
	{name: "rooms empty after", in: `{"type":"rooms","after":""}`, want: protocol.Frame{Type: "rooms", HasAfter: true}},
	{name: "rooms null after", in: `{"type":"rooms","after":null}`, want: protocol.Frame{Type: "rooms"}},
	{name: "register", in: `{"type":"register","password":"correct horse"}`,
		want: protocol.Frame{Type: "register", Password: "correct horse", HasPassword: true}},
	{name: "register without password", in: `{"type":"register"}`, want: protocol.Frame{Type: "register"}},
	{name: "register with empty password", in: `{"type":"register","password":""}`,
		want: protocol.Frame{Type: "register", HasPassword: true}},
	{name: "password", in: `{"type":"password","old":"old secret","new":"new secret"}`,
		want: protocol.Frame{Type: "password", Old: "old secret", HasOld: true, New: "new secret", HasNew: true}},
	{name: "password without old", in: `{"type":"password","old":null,"new":"n"}`,
		want: protocol.Frame{Type: "password", New: "n", HasNew: true}},
	{name: "escaped password", in: `{"type":"register","password":"p\u00e4ss\"word\ud800"}`,
		want: protocol.Frame{Type: "register", Password: "päss\"word\uFFFD", HasPassword: true}},

	// join, version 2 (PROTOCOL §8).
	{name: "join v2", in: `{"type":"join","username":"carol","protocol":2,"rooms":["lobby","go"],"ref":"j"}`,
		want: protocol.Frame{Type: "join", Username: "carol", HasUsername: true, Protocol: 2,
			Rooms: []string{"lobby", "go"}, HasRooms: true, Ref: "j", HasRef: true}},
	{name: "join v2 resume", in: `{"type":"join","username":"carol","protocol":2,"session":"q0Vd3","epoch":"7fK2","since":43}`,
		want: protocol.Frame{Type: "join", Username: "carol", HasUsername: true, Protocol: 2,
			Session: "q0Vd3", HasSession: true, Epoch: "7fK2", HasEpoch: true, Since: 43, HasSince: true}},
	{name: "join v2 login", in: `{"type":"join","username":"dave","password":"hunter2hunter2","protocol":2}`,
		want: protocol.Frame{Type: "join", Username: "dave", HasUsername: true, Password: "hunter2hunter2", HasPassword: true, Protocol: 2}},
	{name: "join v1 login", in: `{"type":"join","username":"dave","password":"hunter2hunter2"}`,
		want: protocol.Frame{Type: "join", Username: "dave", HasUsername: true, Password: "hunter2hunter2", HasPassword: true}},
	{name: "join protocol 3 is v2", in: `{"type":"join","protocol":3,"rooms":[]}`,
		want: protocol.Frame{Type: "join", Protocol: 3, Rooms: []string{}, HasRooms: true}},
	{name: "join empty rooms", in: `{"type":"join","protocol":2,"rooms":[ ]}`,
		want: protocol.Frame{Type: "join", Protocol: 2, Rooms: []string{}, HasRooms: true}},
	{name: "join null rooms", in: `{"type":"join","protocol":2,"rooms":null}`, want: protocol.Frame{Type: "join", Protocol: 2}},
	{name: "join rooms kept raw", in: `{"type":"join","protocol":2,"rooms":[ "Go" , "go","", "no such room!", "\u0067o\/x" ]}`,
		want: protocol.Frame{Type: "join", Protocol: 2, Rooms: []string{"Go", "go", "", "no such room!", "go/x"}, HasRooms: true}},
	{name: "join rooms with brackets", in: `{"type":"join","protocol":2,"rooms":["]","[,\"]"]}`,
		want: protocol.Frame{Type: "join", Protocol: 2, Rooms: []string{"]", "[,\"]"}, HasRooms: true}},
	// A join without protocol, or with protocol 1, is version 1: its
	// v2-only members are ignored, however they look.
	{name: "join v1 ignores v2 members", in: `{"type":"join","username":"a","rooms":["go"],"since":5,"epoch":"e","session":"s"}`,
		want: protocol.Frame{Type: "join", Username: "a", HasUsername: true}},
	{name: "join v1 ignores bad v2 members", in: `{"type":"join","username":"a","rooms":5,"since":-1,"epoch":[],"session":{}}`,
		want: protocol.Frame{Type: "join", Username: "a", HasUsername: true}},
	{name: "join protocol 1 ignores bad v2 members", in: `{"type":"join","protocol":1,"rooms":"go","since":1.5}`,
		want: protocol.Frame{Type: "join", Protocol: 1}},
	{name: "join null protocol is v1", in: `{"type":"join","protocol":null,"rooms":"go"}`, want: protocol.Frame{Type: "join"}},
	{name: "join v1 bad password", in: `{"type":"join","username":"a","password":5}`, code: protocol.CodeBadFrame},

	// protocol: an integer of 1 or more.
	{name: "protocol 0", in: `{"type":"join","protocol":0}`, code: protocol.CodeBadFrame},
	{name: "protocol -0", in: `{"type":"join","protocol":-0}`, code: protocol.CodeBadFrame},
	{name: "protocol -2", in: `{"type":"join","protocol":-2}`, code: protocol.CodeBadFrame},
	{name: "protocol string", in: `{"type":"join","protocol":"2","ref":"j"}`, want: withRef("j"), code: protocol.CodeBadFrame},
	{name: "protocol bool", in: `{"type":"join","protocol":true}`, code: protocol.CodeBadFrame},
	{name: "protocol array", in: `{"type":"join","protocol":[2]}`, code: protocol.CodeBadFrame},
	{name: "protocol fraction", in: `{"type":"join","protocol":1.5}`, code: protocol.CodeBadFrame},
	{name: "protocol 2.0", in: `{"type":"join","protocol":2.0}`, want: protocol.Frame{Type: "join", Protocol: 2}},
	{name: "protocol 2e0", in: `{"type":"join","protocol":2E+0}`, want: protocol.Frame{Type: "join", Protocol: 2}},
	{name: "protocol 20e-1", in: `{"type":"join","protocol":20e-1}`, want: protocol.Frame{Type: "join", Protocol: 2}},
	{name: "protocol 0.2e1", in: `{"type":"join","protocol":0.2e1}`, want: protocol.Frame{Type: "join", Protocol: 2}},
	{name: "protocol max int64", in: `{"type":"join","protocol":9223372036854775807}`,
		want: protocol.Frame{Type: "join", Protocol: 9223372036854775807}},
	{name: "protocol over int64", in: `{"type":"join","protocol":9223372036854775808}`, code: protocol.CodeBadFrame},
	{name: "protocol 1e999", in: `{"type":"join","protocol":1e999}`, code: protocol.CodeBadFrame},
	{name: "bad protocol beats bad username", in: `{"type":"join","username":5,"protocol":0}`, code: protocol.CodeBadFrame},

	// since: an integer of 0 or more.
	{name: "since 0", in: `{"type":"fetch","since":0}`, want: protocol.Frame{Type: "fetch", HasSince: true}},
	{name: "since -0", in: `{"type":"fetch","since":-0}`, want: protocol.Frame{Type: "fetch", HasSince: true}},
	{name: "since 0.0", in: `{"type":"fetch","since":-0.0e-5}`, want: protocol.Frame{Type: "fetch", HasSince: true}},
	{name: "since 0e-400", in: `{"type":"fetch","since":0e-400}`, want: protocol.Frame{Type: "fetch", HasSince: true}},
	{name: "since -1", in: `{"type":"fetch","since":-1,"ref":"f"}`, want: withRef("f"), code: protocol.CodeBadFrame},
	{name: "since min int64", in: `{"type":"fetch","since":-9223372036854775808}`, code: protocol.CodeBadFrame},
	{name: "since 1.0", in: `{"type":"enter","since":1.0}`, want: protocol.Frame{Type: "enter", Since: 1, HasSince: true}},
	{name: "since 1e2", in: `{"type":"enter","since":1e2}`, want: protocol.Frame{Type: "enter", Since: 100, HasSince: true}},
	{name: "since 12300e-2", in: `{"type":"enter","since":12300e-2}`, want: protocol.Frame{Type: "enter", Since: 123, HasSince: true}},
	{name: "since 1.5", in: `{"type":"enter","since":1.5}`, code: protocol.CodeBadFrame},
	{name: "since 0.5", in: `{"type":"enter","since":0.5}`, code: protocol.CodeBadFrame},
	{name: "since 1e-400", in: `{"type":"enter","since":1e-400}`, code: protocol.CodeBadFrame},
	{name: "since 1.00000000000000000001", in: `{"type":"enter","since":1.00000000000000000001}`, code: protocol.CodeBadFrame},
	{name: "since 2^53+1 exact", in: `{"type":"enter","since":9007199254740993}`,
		want: protocol.Frame{Type: "enter", Since: 9007199254740993, HasSince: true}},
	{name: "since max int64", in: `{"type":"enter","since":9223372036854775807}`,
		want: protocol.Frame{Type: "enter", Since: 9223372036854775807, HasSince: true}},
	{name: "since max int64 written long", in: `{"type":"enter","since":922337203685477580.70e1}`,
		want: protocol.Frame{Type: "enter", Since: 9223372036854775807, HasSince: true}},
	{name: "since max int64 many digits", in: `{"type":"enter","since":` + "9223372036854775807" + strings.Repeat("0", 300) + `e-300}`,
		want: protocol.Frame{Type: "enter", Since: 9223372036854775807, HasSince: true}},
	{name: "since 1 with 400 zeros", in: `{"type":"enter","since":0.` + strings.Repeat("0", 399) + `1e400}`,
		want: protocol.Frame{Type: "enter", Since: 1, HasSince: true}},
	{name: "since over int64", in: `{"type":"enter","since":9223372036854775808}`, code: protocol.CodeBadFrame},
	{name: "since over int64 written long", in: `{"type":"enter","since":922337203685477580.8e1}`, code: protocol.CodeBadFrame},
	{name: "since 20 digits", in: `{"type":"enter","since":10000000000000000000}`, code: protocol.CodeBadFrame},
	{name: "since 2e19 (wraps a uint64)", in: `{"type":"enter","since":20000000000000000000}`, code: protocol.CodeBadFrame},
	{name: "since 20 nines", in: `{"type":"enter","since":99999999999999999999}`, code: protocol.CodeBadFrame},
	{name: "since 1e19", in: `{"type":"enter","since":1e19}`, code: protocol.CodeBadFrame},
	{name: "since 1e18", in: `{"type":"enter","since":1e18}`, want: protocol.Frame{Type: "enter", Since: 1e18, HasSince: true}},
	{name: "since huge exponent", in: `{"type":"enter","since":1e99999999999999999999999}`, code: protocol.CodeBadFrame},
	{name: "since tiny exponent", in: `{"type":"enter","since":1e-99999999999999999999999}`, code: protocol.CodeBadFrame},
	{name: "since exponent with zeros", in: `{"type":"enter","since":5e000000000000000000000001}`,
		want: protocol.Frame{Type: "enter", Since: 50, HasSince: true}},
	{name: "since string", in: `{"type":"enter","since":"5"}`, code: protocol.CodeBadFrame},
	{name: "since bool", in: `{"type":"enter","since":false}`, code: protocol.CodeBadFrame},
	{name: "since object", in: `{"type":"enter","since":{}}`, code: protocol.CodeBadFrame},
	{name: "since null", in: `{"type":"enter","since":null}`, want: protocol.Frame{Type: "enter"}},
	{name: "since with spaces", in: `{"type":"fetch","room":"go","since" : 7 }`,
		want: protocol.Frame{Type: "fetch", Room: "go", HasRoom: true, Since: 7, HasSince: true}},
	{name: "join v2 bad since", in: `{"type":"join","protocol":2,"since":-5}`, code: protocol.CodeBadFrame},

	// rooms: an array of strings (join, v2).
	{name: "rooms string", in: `{"type":"join","protocol":2,"rooms":"lobby"}`, code: protocol.CodeBadFrame},
	{name: "rooms object", in: `{"type":"join","protocol":2,"rooms":{"lobby":1}}`, code: protocol.CodeBadFrame},
	{name: "rooms number", in: `{"type":"join","protocol":2,"rooms":0}`, code: protocol.CodeBadFrame},
	{name: "rooms with null", in: `{"type":"join","protocol":2,"rooms":["lobby",null]}`, code: protocol.CodeBadFrame},
	{name: "rooms with number", in: `{"type":"join","protocol":2,"rooms":[1,"lobby"],"ref":"j"}`, want: withRef("j"), code: protocol.CodeBadFrame},
	{name: "rooms nested", in: `{"type":"join","protocol":2,"rooms":[["lobby"]]}`, code: protocol.CodeBadFrame},
	{name: "rooms with object", in: `{"type":"join","protocol":2,"rooms":["a",{"b":"c"}]}`, code: protocol.CodeBadFrame},
	{name: "rooms duplicate, last wins", in: `{"type":"join","protocol":2,"rooms":5,"rooms":["a"]}`,
		want: protocol.Frame{Type: "join", Protocol: 2, Rooms: []string{"a"}, HasRooms: true}},

	// action: a boolean (message, every client).
	{name: "action true", in: `{"type":"message","text":"waves","action":true}`,
		want: protocol.Frame{Type: "message", Text: "waves", Action: true}},
	{name: "action false", in: `{"type":"message","text":"x","action":false}`, want: protocol.Frame{Type: "message", Text: "x"}},
	{name: "action null", in: `{"type":"message","text":"x","action":null}`, want: protocol.Frame{Type: "message", Text: "x"}},
	{name: "action string", in: `{"type":"message","text":"x","action":"true"}`, code: protocol.CodeBadFrame},
	{name: "action number", in: `{"type":"message","text":"x","action":1}`, code: protocol.CodeBadFrame},
	{name: "action array", in: `{"type":"message","text":"x","action":[true]}`, code: protocol.CodeBadFrame},

	// room (message, users, enter, exit, fetch): a string, kept raw.
	{name: "message room", in: `{"type":"message","text":"yes","room":"go","ref":"m1"}`,
		want: protocol.Frame{Type: "message", Text: "yes", Room: "go", HasRoom: true, Ref: "m1", HasRef: true}},
	{name: "message room raw", in: `{"type":"message","text":"x","room":"No Such Room!"}`,
		want: protocol.Frame{Type: "message", Text: "x", Room: "No Such Room!", HasRoom: true}},
	{name: "users room", in: `{"type":"users","room":"GO"}`, want: protocol.Frame{Type: "users", Room: "GO", HasRoom: true}},
	{name: "users null room", in: `{"type":"users","room":null}`, want: protocol.Frame{Type: "users"}},
	{name: "number room", in: `{"type":"message","text":"x","room":5,"ref":"r"}`, want: withRef("r"), code: protocol.CodeBadFrame},
	{name: "array room in users", in: `{"type":"users","room":["go"]}`, code: protocol.CodeBadFrame},
	{name: "bool room in exit", in: `{"type":"exit","room":true}`, code: protocol.CodeBadFrame},
	{name: "object room in fetch", in: `{"type":"fetch","room":{},"since":1}`, code: protocol.CodeBadFrame},
	{name: "number epoch", in: `{"type":"enter","room":"go","epoch":7}`, code: protocol.CodeBadFrame},
	{name: "number session", in: `{"type":"join","protocol":2,"session":7}`, code: protocol.CodeBadFrame},
	{name: "number password", in: `{"type":"register","password":12345678}`, code: protocol.CodeBadFrame},
	{name: "null old, number new", in: `{"type":"password","old":null,"new":12345678}`, code: protocol.CodeBadFrame},
	{name: "array old", in: `{"type":"password","old":[],"new":"x"}`, code: protocol.CodeBadFrame},
	{name: "number after", in: `{"type":"rooms","after":0}`, code: protocol.CodeBadFrame},

	// Members a v2 type does not take are ignored, even wrongly typed.
	{name: "ping ignores v2 members", in: `{"type":"ping","room":5,"rooms":5,"since":-1,"epoch":1,"session":1,"password":1,"old":1,"new":1,"action":"x","after":1,"protocol":0}`,
		want: protocol.Frame{Type: "ping"}},
	{name: "message ignores join members", in: `{"type":"message","text":"x","protocol":0,"rooms":1,"since":-1,"session":1,"password":1}`,
		want: protocol.Frame{Type: "message", Text: "x"}},
	{name: "private ignores room and action", in: `{"type":"private","to":"b","text":"x","room":1,"action":1}`,
		want: protocol.Frame{Type: "private", To: "b", HasTo: true, Text: "x"}},
	{name: "exit ignores since", in: `{"type":"exit","room":"go","since":-1,"epoch":5}`,
		want: protocol.Frame{Type: "exit", Room: "go", HasRoom: true}},
	{name: "fetch ignores epoch", in: `{"type":"fetch","room":"go","since":3,"epoch":5}`,
		want: protocol.Frame{Type: "fetch", Room: "go", HasRoom: true, Since: 3, HasSince: true}},
	{name: "rooms ignores room", in: `{"type":"rooms","room":5,"after":"a"}`, want: protocol.Frame{Type: "rooms", After: "a", HasAfter: true}},
	{name: "register ignores old and username", in: `{"type":"register","password":"p","old":5,"username":5}`,
		want: protocol.Frame{Type: "register", Password: "p", HasPassword: true}},
	{name: "password ignores password", in: `{"type":"password","old":"o","new":"n","password":5}`,
		want: protocol.Frame{Type: "password", Old: "o", HasOld: true, New: "n", HasNew: true}},
	{name: "nick ignores protocol and room", in: `{"type":"nick","username":"b","protocol":"x","room":1}`,
		want: protocol.Frame{Type: "nick", Username: "b", HasUsername: true}},
	{name: "users ignores action", in: `{"type":"users","action":"x"}`, want: protocol.Frame{Type: "users"}},
	{name: "enter ignores after", in: `{"type":"enter","room":"go","after":1}`, want: protocol.Frame{Type: "enter", Room: "go", HasRoom: true}},

	// Precedence: bad_json, bad_frame (ref first), unknown_type; members
	// only for known types.
	{name: "bad json beats bad members", in: `{"type":"enter","room":5`, code: protocol.CodeBadJSON},
	{name: "bad ref beats bad room", in: `{"type":"enter","room":5,"ref":5}`, code: protocol.CodeBadFrame},
	{name: "unknown type ignores bad v2 members", in: `{"type":"entre","room":5,"since":-1,"ref":"r"}`,
		want: withRef("r"), code: protocol.CodeUnknownType},
	{name: "server type rooms-like", in: `{"type":"registered","password":5}`, code: protocol.CodeUnknownType},
	{name: "ref kept: bad since", in: `{"ref":"a1","type":"enter","room":"go","since":"x"}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "ref kept: bad rooms", in: `{"type":"join","protocol":2,"ref":"a1","rooms":[1]}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "ref kept: bad action", in: `{"type":"message","action":0,"ref":"a1"}`, want: withRef("a1"), code: protocol.CodeBadFrame},
	{name: "duplicate room, bad first", in: `{"type":"enter","room":5,"room":"go"}`, want: protocol.Frame{Type: "enter", Room: "go", HasRoom: true}},
	{name: "duplicate since, null last", in: `{"type":"enter","since":5,"since":null}`, want: protocol.Frame{Type: "enter"}},
	{name: "nested v2 members are not members", in: `{"type":"enter","x":{"room":5,"since":-1},"room":"go"}`,
		want: protocol.Frame{Type: "enter", Room: "go", HasRoom: true}},
	{name: "escaped v2 keys", in: `{"type":"enter","r\u006fom":"go","\u0073ince":2}`,
		want: protocol.Frame{Type: "enter", Room: "go", HasRoom: true, Since: 2, HasSince: true}},
	{name: "upper-case v2 keys are unknown", in: `{"type":"enter","Room":5,"SINCE":-1}`, want: protocol.Frame{Type: "enter"}},
}

func TestDecodeClient(t *testing.T) {
	for _, tt := range decodeCases {
		t.Run(tt.name, func(t *testing.T) {
			got, perr := protocol.DecodeClient([]byte(tt.in))
			code := ""
			if perr != nil {
				code = perr.Code
				if perr.Message == "" {
					t.Errorf("DecodeClient(%q): error %q has no message", tt.in, perr.Code)
				}
			}
			if code != tt.code {
				t.Fatalf("DecodeClient(%q): code %q (%v), want %q", tt.in, code, perr, tt.code)
			}
			if perr == nil {
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("DecodeClient(%q):\ngot  %+v\nwant %+v", tt.in, got, tt.want)
				}
				return
			}
			if got.Ref != tt.want.Ref || got.HasRef != tt.want.HasRef {
				t.Errorf("DecodeClient(%q) failing with %s: ref %q/%v, want %q/%v",
					tt.in, code, got.Ref, got.HasRef, tt.want.Ref, tt.want.HasRef)
			}
		})
	}
}

// TestDecodeClientOracle runs the table through the encoding/json oracle of
// fuzz_test.go, so that the oracle is checked against known answers too.
func TestDecodeClientOracle(t *testing.T) {
	for _, tt := range decodeCases {
		t.Run(tt.name, func(t *testing.T) {
			checkAgainstOracle(t, []byte(tt.in))
		})
	}
}

// decodeV1Cases are decoded with DecodeClientV1, as from a connection that
// joined as a version 1 client: v2-only members are ignored, whatever they
// hold, and the v2-only types have no members (the server answers
// unknown_type).
var decodeV1Cases = []decodeCase{
	{name: "message ignores room", in: `{"type":"message","text":"x","room":"go"}`, want: protocol.Frame{Type: "message", Text: "x"}},
	{name: "message ignores bad room", in: `{"type":"message","text":"x","room":5}`, want: protocol.Frame{Type: "message", Text: "x"}},
	{name: "message action", in: `{"type":"message","text":"waves","action":true,"ref":"a"}`,
		want: protocol.Frame{Type: "message", Text: "waves", Action: true, Ref: "a", HasRef: true}},
	{name: "message bad action", in: `{"type":"message","text":"x","action":"yes"}`, code: protocol.CodeBadFrame},
	{name: "message bad text", in: `{"type":"message","text":1,"room":"go"}`, code: protocol.CodeBadFrame},
	{name: "users ignores bad room", in: `{"type":"users","room":[]}`, want: protocol.Frame{Type: "users"}},
	{name: "enter has no members", in: `{"type":"enter","room":5,"since":-1,"epoch":{},"ref":"e"}`,
		want: protocol.Frame{Type: "enter", Ref: "e", HasRef: true}},
	{name: "exit has no members", in: `{"type":"exit","room":"go"}`, want: protocol.Frame{Type: "exit"}},
	{name: "fetch has no members", in: `{"type":"fetch","room":null,"since":1.5}`, want: protocol.Frame{Type: "fetch"}},
	{name: "rooms has no members", in: `{"type":"rooms","after":false}`, want: protocol.Frame{Type: "rooms"}},
	{name: "register", in: `{"type":"register","password":"12345678"}`,
		want: protocol.Frame{Type: "register", Password: "12345678", HasPassword: true}},
	{name: "register bad password", in: `{"type":"register","password":12345678}`, code: protocol.CodeBadFrame},
	{name: "password", in: `{"type":"password","old":"a","new":"b"}`,
		want: protocol.Frame{Type: "password", Old: "a", HasOld: true, New: "b", HasNew: true}},
	{name: "password bad new", in: `{"type":"password","old":"a","new":true}`, code: protocol.CodeBadFrame},
	// A join says its own version, whatever the connection.
	{name: "join v2", in: `{"type":"join","username":"a","protocol":2,"rooms":["go"]}`,
		want: protocol.Frame{Type: "join", Username: "a", HasUsername: true, Protocol: 2, Rooms: []string{"go"}, HasRooms: true}},
	{name: "join v2 bad rooms", in: `{"type":"join","protocol":2,"rooms":5}`, code: protocol.CodeBadFrame},
	{name: "join v1 ignores bad rooms", in: `{"type":"join","rooms":5}`, want: protocol.Frame{Type: "join"}},
	{name: "unknown type", in: `{"type":"nope","room":5}`, code: protocol.CodeUnknownType},
	{name: "bad ref", in: `{"type":"enter","ref":5}`, code: protocol.CodeBadFrame},
	{name: "bad json", in: `{"type":"enter"`, code: protocol.CodeBadJSON},
}

func TestDecodeClientV1(t *testing.T) {
	for _, tt := range decodeV1Cases {
		t.Run(tt.name, func(t *testing.T) {
			got, perr := protocol.DecodeClientV1([]byte(tt.in))
			code := ""
			if perr != nil {
				code = perr.Code
			}
			if code != tt.code {
				t.Fatalf("DecodeClientV1(%q): code %q (%v), want %q", tt.in, code, perr, tt.code)
			}
			if perr == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeClientV1(%q):\ngot  %+v\nwant %+v", tt.in, got, tt.want)
			}
			checkAgainstOracle(t, []byte(tt.in))
		})
	}
}

// A member error names the member and keeps the frame's type and ref; the
// rest of the frame is empty.
func TestDecodeClientMemberErrors(t *testing.T) {
	tests := []struct{ in, member, typ string }{
		{`{"type":"join","protocol":0,"username":"a"}`, `"protocol" must be an integer of 1 or more`, "join"},
		{`{"type":"join","protocol":2,"username":"a","since":-1}`, `"since" must be an integer of 0 or more`, "join"},
		{`{"type":"fetch","room":"go","since":1.5}`, `"since" must be an integer of 0 or more`, "fetch"},
		{`{"type":"join","protocol":2,"rooms":["a",1]}`, `"rooms" must be an array of strings`, "join"},
		{`{"type":"message","text":"x","action":"true"}`, `"action" must be true or false`, "message"},
		{`{"type":"enter","room":1}`, `"room" must be a string`, "enter"},
		{`{"type":"enter","room":"go","epoch":1}`, `"epoch" must be a string`, "enter"},
		{`{"type":"join","protocol":2,"session":1}`, `"session" must be a string`, "join"},
		{`{"type":"register","password":1}`, `"password" must be a string`, "register"},
		{`{"type":"password","old":1}`, `"old" must be a string`, "password"},
		{`{"type":"password","new":1}`, `"new" must be a string`, "password"},
		{`{"type":"rooms","after":1}`, `"after" must be a string`, "rooms"},
		{`{"type":"nick","username":1}`, `"username" must be a string`, "nick"},
	}
	for _, tt := range tests {
		got, perr := protocol.DecodeClient([]byte(`{"ref":"r",` + tt.in[1:]))
		if perr == nil || perr.Code != protocol.CodeBadFrame || !strings.Contains(perr.Message, tt.member) {
			t.Errorf("DecodeClient(%s) = %v, want bad_frame saying %s", tt.in, perr, tt.member)
			continue
		}
		if want := (protocol.Frame{Type: tt.typ, Ref: "r", HasRef: true}); !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeClient(%s) failing: frame %+v, want %+v", tt.in, got, want)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"7", 7, true}, {"-7", -7, true}, {"-0.0e0", 0, true},
		{"9223372036854775807", math.MaxInt64, true}, {"9223372036854775808", 0, false},
		{"-9223372036854775808", math.MinInt64, true}, {"-9223372036854775809", 0, false},
		{"-922337203685477580.8e1", math.MinInt64, true}, {"-92233720368547758080e-1", math.MinInt64, true},
		{"18446744073709551616", 0, false}, {"18446744073709551615", 0, false}, {"99999999999999999999", 0, false},
		{"-18446744073709551616", 0, false}, {"-1e19", 0, false}, {"-1e18", -1e18, true},
		{"1.5", 0, false}, {"-1.5", 0, false}, {"1.50e1", 15, true}, {"150E-1", 15, true}, {"1.5e+1", 15, true},
		{"123456789e-9", 0, false}, {"123456789000000000e-9", 123456789, true},
		{"0.000001", 0, false}, {"0e-99999", 0, true}, {"1e-99999", 0, false}, {"1e99999", 0, false},
		{"10e-1", 1, true}, {"100e-2", 1, true}, {"1000e-4", 0, false},
	}
	for _, tt := range tests {
		got, ok := protocol.ParseInt([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseInt(%s) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if wantO, okO := oracleInt(json.RawMessage(tt.in)); wantO != got || okO != ok {
			t.Errorf("parseInt(%s) = %d, %v; the oracle says %d, %v", tt.in, got, ok, wantO, okO)
		}
	}
}

func TestKnownClientType(t *testing.T) {
	for _, typ := range []string{"join", "message", "private", "users", "nick", "ping", "pong", "leave",
		"enter", "exit", "fetch", "rooms", "register", "password"} {
		if !protocol.KnownClientType(typ) {
			t.Errorf("KnownClientType(%q) = false, want true", typ)
		}
		v2Only := typ == "enter" || typ == "exit" || typ == "fetch" || typ == "rooms"
		if protocol.IsV2Only(typ) != v2Only {
			t.Errorf("IsV2Only(%q) = %v, want %v", typ, !v2Only, v2Only)
		}
	}
	for _, typ := range []string{"", "Join", "welcome", "joined", "left", "ack", "renamed", "error", "bye", "ping ",
		"entered", "exited", "fetched", "registered", "password_changed", "Enter"} {
		if protocol.IsV2Only(typ) {
			t.Errorf("IsV2Only(%q) = true", typ)
		}
		if protocol.KnownClientType(typ) {
			t.Errorf("KnownClientType(%q) = true, want false", typ)
		}
	}
}

// An unknown_type message quotes the type, shortened, and stays valid UTF-8.
func TestDecodeClientUnknownTypeMessage(t *testing.T) {
	for _, typ := range []string{"nope", strings.Repeat("x", 1000), strings.Repeat("é", 100), "a\"b<c>", strings.Repeat("😀", 30)} {
		t.Run(typ[:min(len(typ), 10)], func(t *testing.T) {
			line := protocol.NewFrame(nil, typ).End()
			_, perr := protocol.DecodeClient(line[:len(line)-1])
			if perr == nil || perr.Code != protocol.CodeUnknownType {
				t.Fatalf("type %q: got %v, want unknown_type", typ, perr)
			}
			if len(perr.Message) > 100 || !utf8.ValidString(perr.Message) {
				t.Errorf("type %q: message %q is longer than 100 bytes or not UTF-8", typ, perr.Message)
			}
			if len(typ) <= 40 && !strings.Contains(perr.Message, typ[:1]) {
				t.Errorf("type %q: message %q does not name it", typ, perr.Message)
			}
			if got := perr.Error(); got != perr.Code+": "+perr.Message {
				t.Errorf("Error() = %q, want code: message", got)
			}
		})
	}
}
