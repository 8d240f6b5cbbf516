package protocol

import (
	"encoding/json"
	"unicode/utf8"
)

// Frame is one decoded client frame. Only the members the protocol knows for
// its Type are filled; other members are ignored (forward compatibility).
type Frame struct {
	Type string
	// Ref is the client's correlation string; HasRef says it was present
	// (and valid), so replies must carry it.
	Ref    string
	HasRef bool
	// Username (join, nick), Text (message, private) and To (private) are
	// "" when absent or null; Has* tells absent from empty.
	Username    string
	HasUsername bool
	Text        string
	To          string
	HasTo       bool
}

// memberSet says which members a client frame type takes. A type missing from
// clientTypes is unknown_type.
type memberSet uint8

const (
	takesUsername memberSet = 1 << iota
	takesText
	takesTo
)

var clientTypes = map[string]memberSet{
	MsgJoin:    takesUsername,
	MsgMessage: takesText,
	MsgPrivate: takesTo | takesText,
	MsgUsers:   0,
	MsgNick:    takesUsername,
	MsgPing:    0,
	MsgPong:    0,
	MsgLeave:   0,
}

// canonicalType maps each client type name to its constant, so a decoded
// Type needs no string of its own.
var canonicalType = func() map[string]string {
	m := make(map[string]string, len(clientTypes))
	for t := range clientTypes {
		m[t] = t
	}
	return m
}()

// KnownClientType reports whether t is a client frame type of this version.
func KnownClientType(t string) bool { _, ok := clientTypes[t]; return ok }

// member is one top-level member's raw JSON value; raw == nil means absent.
type member struct{ raw []byte }

func (m member) absent() bool   { return m.raw == nil || string(m.raw) == "null" }
func (m member) isString() bool { return len(m.raw) > 0 && m.raw[0] == '"' }

// DecodeClient decodes one line (without its LF or CR) sent by a client.
//
// On failure it returns the protocol error to answer with: bad_json, bad_frame
// or unknown_type (PROTOCOL §6). Even then, f.Ref/f.HasRef are set when the
// line was an object with a valid ref, because the error must carry it.
func DecodeClient(line []byte) (f Frame, perr *Error) {
	if !utf8.Valid(line) {
		return f, newError(CodeBadJSON, "the line is not valid UTF-8")
	}
	if !json.Valid(line) {
		return f, newError(CodeBadJSON, "the line is not one valid JSON value")
	}
	var typ, ref, username, text, to member
	isObject := scanObject(line, func(key []byte, raw []byte) {
		switch string(key) { // compared without allocating
		case "type":
			typ.raw = raw
		case "ref":
			ref.raw = raw
		case "username":
			username.raw = raw
		case "text":
			text.raw = raw
		case "to":
			to.raw = raw
		}
	})
	if !isObject {
		return f, newError(CodeBadFrame, "a frame must be a JSON object")
	}
	if !ref.absent() {
		if !ref.isString() {
			return f, newError(CodeBadFrame, `member "ref" must be a string`)
		}
		r := unquote(ref.raw)
		if len(r) > MaxRef {
			return f, newError(CodeBadFrame, `member "ref" is longer than 64 bytes`)
		}
		f.Ref, f.HasRef = r, true
	}
	if typ.absent() || !typ.isString() {
		return f, newError(CodeBadFrame, `a frame needs a string member "type"`)
	}
	name := unquoteBytes(typ.raw)
	takes, known := clientTypes[string(name)]
	if !known {
		return f, newError(CodeUnknownType, "unknown frame type "+QuoteForMessage(string(name)))
	}
	f.Type = canonicalType[string(name)] // a constant: no allocation
	if takes&takesUsername != 0 && !username.absent() {
		if !username.isString() {
			return f, wrongType("username")
		}
		f.Username, f.HasUsername = unquote(username.raw), true
	}
	if takes&takesTo != 0 && !to.absent() {
		if !to.isString() {
			return f, wrongType("to")
		}
		f.To, f.HasTo = unquote(to.raw), true
	}
	if takes&takesText != 0 && !text.absent() {
		if !text.isString() {
			return f, wrongType("text")
		}
		f.Text = unquote(text.raw)
	}
	return f, nil
}

func wrongType(member string) *Error {
	return newError(CodeBadFrame, `member "`+member+`" must be a string`)
}

// scanObject calls fn for each top-level member of the JSON value in b, which
// must already be known to be valid JSON. It reports whether b is an object.
// Later duplicates of a key are reported after earlier ones, so the last wins,
// as with encoding/json. Keys are matched exactly (encoding/json would match
// "TYPE" to "type"; JSON member names are case-sensitive).
func scanObject(b []byte, fn func(key []byte, raw []byte)) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if b[i] == '}' {
		return true
	}
	for i < len(b) {
		kEnd := skipString(b, i)
		key := unquoteBytes(b[i:kEnd])
		i = skipSpace(b, kEnd)
		i = skipSpace(b, i+1) // the ':'
		vEnd := skipValue(b, i)
		fn(key, b[i:vEnd])
		i = skipSpace(b, vEnd)
		if b[i] == '}' {
			break
		}
		i = skipSpace(b, i+1) // the ','
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the (valid) JSON value at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// unquoteBytes decodes a valid JSON string literal into bytes. Without
// escapes it returns the literal's own inner bytes, with no copy.
func unquoteBytes(raw []byte) []byte {
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			return []byte(unquote(raw))
		}
	}
	return inner
}

// unquote decodes a valid JSON string literal. Without escapes it is a plain
// copy; with escapes encoding/json does the work, which also turns lone
// surrogates into U+FFFD as PROTOCOL §1 requires.
func unquote(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return ""
			}
			return s
		}
	}
	return string(inner)
}

// QuoteForMessage quotes a client-supplied string for a human-readable error
// message, shortened so that an error never echoes a whole frame back.
func QuoteForMessage(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
