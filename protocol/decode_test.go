package protocol_test

import (
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
				if got != tt.want {
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

func TestKnownClientType(t *testing.T) {
	for _, typ := range []string{"join", "message", "private", "users", "nick", "ping", "pong", "leave"} {
		if !protocol.KnownClientType(typ) {
			t.Errorf("KnownClientType(%q) = false, want true", typ)
		}
	}
	for _, typ := range []string{"", "Join", "welcome", "joined", "left", "ack", "renamed", "error", "bye", "ping "} {
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
