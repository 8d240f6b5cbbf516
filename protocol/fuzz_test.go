package protocol_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"pynet/protocol"
)

// oracleDecode is what DecodeClient (v1 false) or DecodeClientV1 (v1 true)
// must answer, worked out with encoding/json and math/big. encoding/json
// accepts invalid UTF-8 (it substitutes U+FFFD), so UTF-8 is checked first;
// its map keys are exact (unlike struct fields, which it matches
// case-insensitively), which is what JSON member names need.
func oracleDecode(line []byte, v1 bool) (f protocol.Frame, code string) {
	if !utf8.Valid(line) || !json.Valid(line) {
		return f, protocol.CodeBadJSON
	}
	if t := bytes.TrimLeft(line, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return f, protocol.CodeBadFrame
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		panic("oracle: json.Valid object does not unmarshal: " + err.Error())
	}
	// present is false for an absent or null member.
	get := func(name string) (raw json.RawMessage, present bool) {
		raw, found := m[name]
		return raw, found && string(raw) != "null"
	}
	// str reports a member's string value; ok is false for a value that is
	// not a string.
	str := func(name string) (s string, present, ok bool) {
		raw, present := get(name)
		if !present {
			return "", false, true
		}
		if raw[0] != '"' {
			return "", true, false
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			panic("oracle: string member does not unmarshal: " + err.Error())
		}
		return s, true, true
	}
	ref, hasRef, ok := str("ref")
	if !ok || len(ref) > protocol.MaxRef {
		return f, protocol.CodeBadFrame
	}
	f.Ref, f.HasRef = ref, hasRef
	typ, hasType, ok := str("type")
	if !hasType || !ok {
		return f, protocol.CodeBadFrame
	}
	takes := map[string][]string{
		"join":    {"username", "password", "rooms", "since", "epoch", "session"}, // and protocol
		"message": {"text", "room", "action"}, "private": {"to", "text"},
		"users": {"room"}, "nick": {"username"},
		"enter": {"room", "since", "epoch"}, "exit": {"room"}, "fetch": {"room", "since"},
		"rooms": {"after"}, "register": {"password"}, "password": {"old", "new"},
		"ping": nil, "pong": nil, "leave": nil,
	}
	v2OnlyMember := map[string]bool{"room": true, "rooms": true, "since": true, "epoch": true, "session": true, "after": true}
	v2OnlyType := map[string]bool{"enter": true, "exit": true, "fetch": true, "rooms": true}
	members, known := takes[typ]
	if !known {
		return f, protocol.CodeUnknownType
	}
	f.Type = typ
	fail := protocol.Frame{Type: typ, Ref: f.Ref, HasRef: f.HasRef}
	ignoreV2 := v1
	if typ == "join" {
		if raw, present := get("protocol"); present {
			n, ok := oracleInt(raw)
			if !ok || n < 1 {
				return fail, protocol.CodeBadFrame
			}
			f.Protocol = n
		}
		ignoreV2 = f.Protocol <= 1
	} else if v1 && v2OnlyType[typ] {
		members = nil
	}
	for _, name := range members {
		if ignoreV2 && v2OnlyMember[name] {
			continue
		}
		switch name {
		case "since":
			if raw, present := get(name); present {
				n, ok := oracleInt(raw)
				if !ok || n < 0 {
					return fail, protocol.CodeBadFrame
				}
				f.Since, f.HasSince = n, true
			}
			continue
		case "rooms":
			if raw, present := get(name); present {
				var elems []json.RawMessage
				if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
					return fail, protocol.CodeBadFrame
				}
				f.Rooms, f.HasRooms = make([]string, len(elems)), true
				for i, e := range elems {
					if e[0] != '"' || json.Unmarshal(e, &f.Rooms[i]) != nil {
						return fail, protocol.CodeBadFrame
					}
				}
			}
			continue
		case "action":
			if raw, present := get(name); present {
				if err := json.Unmarshal(raw, &f.Action); err != nil {
					return fail, protocol.CodeBadFrame
				}
			}
			continue
		}
		s, present, ok := str(name)
		if !ok {
			return fail, protocol.CodeBadFrame
		}
		switch name {
		case "username":
			f.Username, f.HasUsername = s, present
		case "to":
			f.To, f.HasTo = s, present
		case "text":
			f.Text = s
		case "room":
			f.Room, f.HasRoom = s, present
		case "epoch":
			f.Epoch, f.HasEpoch = s, present
		case "session":
			f.Session, f.HasSession = s, present
		case "password":
			f.Password, f.HasPassword = s, present
		case "old":
			f.Old, f.HasOld = s, present
		case "new":
			f.New, f.HasNew = s, present
		case "after":
			f.After, f.HasAfter = s, present
		default:
			panic("oracle: no rule for member " + name)
		}
	}
	return f, ""
}

// oracleInt is the value of a JSON number that is a whole number in the
// range of int64, worked out with math/big (exactly); ok is false for
// anything else. Exponents too large for big.Rat to handle cheaply are
// decided by magnitude alone.
func oracleInt(raw json.RawMessage) (n int64, ok bool) {
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	mant, expText, _ := strings.Cut(strings.ToLower(string(raw)), "e")
	var exp int64
	if expText != "" {
		exp, _ = strconv.ParseInt(expText, 10, 64) // clamped on overflow, which is enough
	}
	r, valid := new(big.Rat).SetString(mant)
	if !valid {
		panic("oracle: big.Rat does not take the mantissa " + mant)
	}
	if r.Sign() == 0 {
		return 0, true
	}
	// 10^-len(mant) <= |r| < 10^len(mant): beyond this bound the value is
	// either below 1 (and not 0) or above 10^19.
	if bound := int64(len(mant)) + 20; exp > bound || exp < -bound {
		return 0, false
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(max(exp, -exp)), nil)
	if exp >= 0 {
		r.Mul(r, new(big.Rat).SetInt(p))
	} else {
		r.Quo(r, new(big.Rat).SetInt(p))
	}
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

// checkAgainstOracle decodes line with DecodeClient and DecodeClientV1 and
// compares with oracleDecode.
func checkAgainstOracle(t *testing.T, line []byte) {
	t.Helper()
	for _, v1 := range []bool{false, true} {
		decode, name := protocol.DecodeClient, "DecodeClient"
		if v1 {
			decode, name = protocol.DecodeClientV1, "DecodeClientV1"
		}
		got, perr := decode(line)
		want, wantCode := oracleDecode(line, v1)
		code := ""
		if perr != nil {
			code = perr.Code
			if perr.Message == "" {
				t.Fatalf("%s(%q): %s without a message", name, line, code)
			}
		}
		if code != wantCode {
			t.Fatalf("%s(%q): code %q (%v), oracle says %q", name, line, code, perr, wantCode)
		}
		if perr == nil {
			if !protocol.KnownClientType(got.Type) {
				t.Fatalf("%s(%q): success with unknown type %q", name, line, got.Type)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s(%q):\ngot    %+v\noracle %+v", name, line, got, want)
			}
		} else if got.Ref != want.Ref || got.HasRef != want.HasRef || got.Type != want.Type {
			t.Fatalf("%s(%q) failing with %s: type %q, ref %q/%v; oracle %q, %q/%v",
				name, line, code, got.Type, got.Ref, got.HasRef, want.Type, want.Ref, want.HasRef)
		}
		if len(got.Ref) > protocol.MaxRef || (!got.HasRef && got.Ref != "") {
			t.Fatalf("%s(%q): ref %q (HasRef %v)", name, line, got.Ref, got.HasRef)
		}
	}
}

func FuzzDecodeClient(f *testing.F) {
	for _, tt := range decodeCases {
		f.Add([]byte(tt.in))
	}
	for _, s := range []string{
		`{"type":"join","username":"alice","ref":"j1"}`,
		`{"type":"message","text":"hi bob","ref":"a1"}`,
		`{"type":"private","to":"bob","text":"welcome!"}`,
		`{"type":"nick","username":"bob"}`,
		`{"type":"leave"}`,
		`{"type":"message","text":"<script>&amp;</script>"}`,
		`{"type":"message","text":"\u2028\u2029\ufeff\u0085"}`,
		`{"type":"message","text":"\ud800\udc00\udbff\udfff\ud800\ud800"}`,
		`{"type":"private","to":"\u00e9","text":"\t\n","to":"x","to":null}`,
		`{"":"","type":"ping"}`,
		`{"type":"ping","":{"":[{"":""}]}}`,
		`{"type":"ping","x":1e999}`,
		`{"type":"ping","x":-0.0E-0}`,
		`{"type":"ping","x":"\\\\\\\""}`,
		`{"type" : "ping" , "ref" : "` + ref64 + `" }`,
		`{"TYPE":"ping","Type":"ping","tYpe":"ping"}`,
		`{"type":"ping"}` + "\n",
		"{\"type\":\"ping\"}\r",
		`{"type":"message","text":"` + strings.Repeat(`\"`, 100) + `"}`,
		`[{"type":"ping"}`,
		`{"type":"ping"]`,
		`{"type"}`,
		`{"type":}`,
		`{,}`,
		`{"a":[}`,
		`"\"{"`,
		` `,
		`{"type":"ping","x":tru}`,
		`{"type":"ping","x":nulll}`,
		// v2 (PROTOCOL §3, §5.2, §8).
		`{"type":"join","username":"carol","protocol":2,"rooms":["lobby","go"],"ref":"j"}`,
		`{"type":"join","username":"carol","protocol":2,"session":"q0Vd3","epoch":"7fK2","since":43}`,
		`{"type":"join","username":"dave","password":"hunter2hunter2","protocol":2.0,"rooms":[]}`,
		`{"type":"join","username":"v1","rooms":5,"since":-1,"session":{},"protocol":1}`,
		`{"type":"join","protocol":2,"rooms":[ "a" , "\u0062" ,"" ],"since":1e2}`,
		`{"type":"join","protocol":2,"rooms":["a",null]}`,
		`{"type":"message","room":"go","text":"yes","ref":"m1","action":true}`,
		`{"type":"message","text":"waves","action":false,"room":null}`,
		`{"type":"users","room":"Go"}`,
		`{"type":"enter","room":"go","since":41,"epoch":"7fK2"}`,
		`{"type":"exit","room":"go"}`,
		`{"type":"fetch","room":"go","since":-0.0}`,
		`{"type":"fetch","room":"go","since":9223372036854775807}`,
		`{"type":"fetch","room":"go","since":9223372036854775808}`,
		`{"type":"fetch","room":"go","since":922337203685477580.7E1}`,
		`{"type":"fetch","room":"go","since":1.000000000000000000001e21}`,
		`{"type":"fetch","room":"go","since":100000000000000000000000e-23}`,
		`{"type":"fetch","since":0.5e1,"since":5e-1}`,
		`{"type":"rooms","after":"go"}`,
		`{"type":"register","password":"correct horse"}`,
		`{"type":"password","old":"a","new":"b","password":1}`,
		`{"type":"ping","room":5,"rooms":5,"since":-1,"epoch":1,"session":1,"password":1,"old":1,"new":1,"action":"x","after":1,"protocol":0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkAgainstOracle(t, line)
	})
}

// refSplit is the reference LineReader: split on LF, strip one CR, refuse
// lines over max, skip blank lines, and for the unterminated tail report
// ErrLineTooLong when it can no longer be a legal line (over max+1 bytes, or
// max+1 bytes not ending in CR); otherwise drop it.
func refSplit(data []byte, max int) []string {
	var out []string
	parts := bytes.Split(data, []byte("\n"))
	tail := parts[len(parts)-1]
	for _, p := range parts[:len(parts)-1] {
		p = bytes.TrimSuffix(p, []byte("\r"))
		switch {
		case len(p) > max:
			out = append(out, tooLong)
		case len(bytes.Trim(p, " \t\r")) == 0:
		default:
			out = append(out, L(string(p)))
		}
	}
	if len(tail) > max+1 || (len(tail) == max+1 && tail[max] != '\r') {
		out = append(out, tooLong)
	}
	return append(out, eof)
}

// cutReader hands out data in pieces whose sizes come from cuts (cycled);
// a size of 0 is a (0, nil) read, but never more than 50 in a row.
type cutReader struct {
	data  []byte
	cuts  []byte
	i     int
	zeros int
}

func (r *cutReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := 1 << 30
	if len(r.cuts) > 0 {
		n = int(r.cuts[r.i%len(r.cuts)]) % 24
		r.i++
	}
	if n == 0 && r.zeros < 50 {
		r.zeros++
		return 0, nil
	}
	r.zeros = 0
	n = min(max(n, 1), len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\nccc\n"), []byte{1}, uint8(16))
	f.Add([]byte("\n \n\t\r\n\r\r\nx\n"), []byte{2, 0, 3}, uint8(16))
	f.Add([]byte("1234567890123456\r\n12345678901234567\nok\n"), []byte{5, 7}, uint8(16))
	f.Add([]byte("1234567890123456\r\r\n123456789012345\r\r\n"), []byte{16, 1}, uint8(16))
	f.Add([]byte("ok\n1234567890123456\r"), []byte{3}, uint8(16))
	f.Add([]byte("ok\n12345678901234567"), []byte{}, uint8(16))
	f.Add([]byte("                     \nx\n"), []byte{0, 0, 1}, uint8(16))
	f.Add([]byte("ab\nabc\n\rab\r\n"), []byte{1, 2, 3}, uint8(1))
	f.Add([]byte("a\r\r\r\r\r\r\r\r\nb\n"), []byte{4}, uint8(4))
	f.Fuzz(func(t *testing.T, data, cuts []byte, m uint8) {
		maxLen := 1 + int(m%32)
		want := refSplit(data, maxLen)
		lr := protocol.NewLineReader(&cutReader{data: data, cuts: cuts}, maxLen)
		var got []string
		for range len(data) + 2 {
			line, err := lr.ReadLine()
			if lr.BufCap() > maxLen+2 {
				t.Fatalf("buffer capacity %d > max+2 = %d", lr.BufCap(), maxLen+2)
			}
			if err == nil {
				got = append(got, L(string(line)))
				continue
			}
			got = append(got, errResult(err))
			if !errors.Is(err, protocol.ErrLineTooLong) {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("input %q, max %d, cuts %v:\ngot  %q\nwant %q", data, maxLen, cuts, got, want)
		}
	})
}

// FuzzBuilderRoundTrip checks that Builder.Str encodes any string so that
// encoding/json decodes it back: unchanged when it is valid UTF-8, with the
// same U+FFFD substitutions encoding/json makes otherwise. The frame must be
// valid JSON on one line, and DecodeClient must read it back too.
func FuzzBuilderRoundTrip(f *testing.F) {
	for _, s := range []string{"", "hi", `"\`, "\x00\x1f\x7f", "\u2028\u2029", "<>&", "a\xffb", "\xed\xa0\x80", "😀", "\ufffd", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := protocol.NewFrame(nil, "message").Str("text", s).Str("ref", "r").End()
		if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
			t.Fatalf("Str(%q): frame %q does not end in its only LF", s, line)
		}
		body := line[:len(line)-1]
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("Str(%q): frame %q is not valid UTF-8 JSON", s, line)
		}
		want := s
		if !utf8.ValidString(s) {
			enc, _ := json.Marshal(s)
			if err := json.Unmarshal(enc, &want); err != nil {
				t.Fatal(err)
			}
		}
		var got struct{ Type, Text, Ref string }
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("Str(%q): %v", s, err)
		}
		if got.Text != want || got.Type != "message" || got.Ref != "r" {
			t.Fatalf("Str(%q): frame %q decodes to %+v, want text %q", s, line, got, want)
		}
		fr, perr := protocol.DecodeClient(body)
		if perr != nil || fr.Text != want || fr.Ref != "r" {
			t.Fatalf("Str(%q): DecodeClient(%q) = %+v, %v; want text %q", s, body, fr, perr, want)
		}
	})
}
