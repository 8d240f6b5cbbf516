package protocol

import (
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

// Frame is one decoded client frame. Only the members the protocol knows for
// its Type are filled; other members are ignored (forward compatibility). A
// member whose value is null counts as absent.
//
// String members are decoded (escapes resolved, lone surrogates replaced by
// U+FFFD, so always valid UTF-8) but not validated: the Check* and FoldRoom
// functions do that, in the order PROTOCOL §6 gives.
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

	// v2 members. The v2-only ones (room, rooms, since, epoch, session,
	// after) are not filled for a version 1 join, nor by DecodeClientV1:
	// a version 1 client's are ignored. Password, Old, New and Action are
	// for every client.
	Protocol    int64  // join: the protocol member, ≥ 1 (0 when absent)
	Room        string // message, users, enter, exit, fetch: raw (not yet folded/validated)
	HasRoom     bool
	Rooms       []string // join: raw names; non-nil (maybe empty) when HasRooms
	HasRooms    bool
	Since       int64 // join, enter, fetch: ≥ 0
	HasSince    bool
	Epoch       string // join, enter
	HasEpoch    bool
	Session     string // join
	HasSession  bool
	Password    string // join, register
	HasPassword bool
	Old, New    string // password
	HasOld      bool
	HasNew      bool
	Action      bool   // message: true for an emote (false when absent)
	After       string // rooms
	HasAfter    bool
}

// memberID names a top-level member the decoder knows. The order is the
// order in which a frame's members are checked.
type memberID uint8

const (
	mType memberID = iota
	mRef
	mProtocol
	mUsername
	mText
	mTo
	mRoom
	mRooms
	mSince
	mEpoch
	mSession
	mPassword
	mOld
	mNew
	mAction
	mAfter
	numMembers
)

// memberNames are the members' JSON names, for error messages.
var memberNames = [numMembers]string{
	mType: "type", mRef: "ref", mProtocol: "protocol", mUsername: "username", mText: "text",
	mTo: "to", mRoom: "room", mRooms: "rooms", mSince: "since", mEpoch: "epoch",
	mSession: "session", mPassword: "password", mOld: "old", mNew: "new",
	mAction: "action", mAfter: "after",
}

// lookupMember returns the memberID of a key, or numMembers for a member
// the decoder does not know. The switch compares without allocating.
func lookupMember(key []byte) memberID {
	switch string(key) {
	case "type":
		return mType
	case "ref":
		return mRef
	case "protocol":
		return mProtocol
	case "username":
		return mUsername
	case "text":
		return mText
	case "to":
		return mTo
	case "room":
		return mRoom
	case "rooms":
		return mRooms
	case "since":
		return mSince
	case "epoch":
		return mEpoch
	case "session":
		return mSession
	case "password":
		return mPassword
	case "old":
		return mOld
	case "new":
		return mNew
	case "action":
		return mAction
	case "after":
		return mAfter
	}
	return numMembers
}

// memberSet says which members a client frame type takes.
type memberSet uint32

const (
	takesProtocol memberSet = 1 << mProtocol
	takesUsername memberSet = 1 << mUsername
	takesText     memberSet = 1 << mText
	takesTo       memberSet = 1 << mTo
	takesRoom     memberSet = 1 << mRoom
	takesRooms    memberSet = 1 << mRooms
	takesSince    memberSet = 1 << mSince
	takesEpoch    memberSet = 1 << mEpoch
	takesSession  memberSet = 1 << mSession
	takesPassword memberSet = 1 << mPassword
	takesOld      memberSet = 1 << mOld
	takesNew      memberSet = 1 << mNew
	takesAction   memberSet = 1 << mAction
	takesAfter    memberSet = 1 << mAfter

	// v2Members are the members only version 2 clients send (PROTOCOL §3);
	// a version 1 client's are ignored, whatever they hold. protocol is how a
	// join says its version, so it is read from every join.
	v2Members = takesRoom | takesRooms | takesSince | takesEpoch | takesSession | takesAfter
)

// clientType returns, for a client frame type, its constant (so that a
// decoded Type needs no string of its own) and the members it takes
// (PROTOCOL §3); ok is false for a type that is unknown_type. A switch rather
// than a map: it costs no hashing.
func clientType(name string) (typ string, takes memberSet, ok bool) {
	switch name {
	case MsgJoin:
		return MsgJoin, takesUsername | takesPassword | takesProtocol | takesRooms | takesSince | takesEpoch | takesSession, true
	case MsgMessage:
		return MsgMessage, takesText | takesRoom | takesAction, true
	case MsgPrivate:
		return MsgPrivate, takesTo | takesText, true
	case MsgUsers:
		return MsgUsers, takesRoom, true
	case MsgNick:
		return MsgNick, takesUsername, true
	case MsgEnter:
		return MsgEnter, takesRoom | takesSince | takesEpoch, true
	case MsgExit:
		return MsgExit, takesRoom, true
	case MsgFetch:
		return MsgFetch, takesRoom | takesSince, true
	case MsgRooms:
		return MsgRooms, takesAfter, true
	case MsgRegister:
		return MsgRegister, takesPassword, true
	case MsgPassword:
		return MsgPassword, takesOld | takesNew, true
	case MsgPing:
		return MsgPing, 0, true
	case MsgPong:
		return MsgPong, 0, true
	case MsgLeave:
		return MsgLeave, 0, true
	}
	return "", 0, false
}

// maxClientType is the length of the longest client frame type: a longer
// name is unknown without looking.
const maxClientType = len(MsgRegister)

// KnownClientType reports whether t is a client frame type of this version
// (v2-only types included: see IsV2Only).
func KnownClientType(t string) bool { _, _, ok := clientType(t); return ok }

// member is one top-level member's raw JSON value; raw == nil means absent.
type member struct{ raw []byte }

func (m member) absent() bool   { return m.raw == nil || string(m.raw) == "null" }
func (m member) isString() bool { return len(m.raw) > 0 && m.raw[0] == '"' }
func (m member) isNumber() bool {
	return len(m.raw) > 0 && (m.raw[0] == '-' || m.raw[0] >= '0' && m.raw[0] <= '9')
}

// DecodeClient decodes one line (without its LF or CR) sent by a client that
// speaks version 2, or that has not joined yet.
//
// On failure it returns the protocol error to answer with: bad_json, bad_frame
// or unknown_type (PROTOCOL §6), in that order. Even then, f.Ref/f.HasRef are
// set when the line was an object with a valid ref, because the error must
// carry it; and when the error is about a member of a known type (bad_frame),
// f.Type is set too. Members are checked only for known types, and only the
// members the type takes.
//
// A join says its own version: when its protocol is absent or 1, it is a
// version 1 join, and its v2-only members (rooms, since, epoch, session) are
// ignored, however they look; with protocol 2 or more they are checked and
// filled. After a version 1 join, decode with DecodeClientV1.
//
// Numbers: protocol and since must be integers (PROTOCOL §5.2). JSON has one
// number type, so, as JSON Schema's "integer" does, any number whose value is
// a whole number in the range of int64 is accepted however it is written
// (2, 2.0, 2e0, 20e-1, and -0 for 0). The value is worked out exactly from the
// digits, never through a float64: 9007199254740993 stays itself, and 1.5,
// 1e-400 or 9223372036854775808 are bad_frame, not rounded.
func DecodeClient(line []byte) (Frame, *Error) { return decodeClient(line, false) }

// DecodeClientV1 decodes one line from a connection that joined as a
// version 1 client. It differs from DecodeClient in what it reads: the
// v2-only types (IsV2Only) are decoded with no members, so that the server
// answers unknown_type whatever their members hold; the v2-only members of
// the other types (room of message and users) are ignored, whatever they
// hold (PROTOCOL: "v2-only members are ignored"). action, password, old and
// new are read as from every client; join is decoded as by DecodeClient.
func DecodeClientV1(line []byte) (Frame, *Error) { return decodeClient(line, true) }

func decodeClient(line []byte, v1 bool) (f Frame, perr *Error) {
	if !utf8.Valid(line) {
		return f, newError(CodeBadJSON, "the line is not valid UTF-8")
	}
	if !json.Valid(line) {
		return f, newError(CodeBadJSON, "the line is not one valid JSON value")
	}
	var ms [numMembers]member
	isObject := scanObject(line, func(key []byte, raw []byte) {
		if m := lookupMember(key); m < numMembers {
			ms[m].raw = raw
		}
	})
	if !isObject {
		return f, newError(CodeBadFrame, "a frame must be a JSON object")
	}
	if ref := ms[mRef]; !ref.absent() {
		if !ref.isString() {
			return f, wrongType("ref")
		}
		r := unquote(ref.raw)
		if len(r) > MaxRef {
			return f, newError(CodeBadFrame, `member "ref" is longer than 64 bytes`)
		}
		f.Ref, f.HasRef = r, true
	}
	typ := ms[mType]
	if typ.absent() || !typ.isString() {
		return f, newError(CodeBadFrame, `a frame needs a string member "type"`)
	}
	name := unquoteBytes(typ.raw)
	var takes memberSet
	known := false
	if len(name) <= maxClientType { // so that string(name) is copied on the stack
		f.Type, takes, known = clientType(string(name))
	}
	if !known {
		return f, newError(CodeUnknownType, "unknown frame type "+QuoteForMessage(string(name)))
	}
	switch {
	case f.Type == MsgJoin:
		// The join's protocol decides which members it takes.
		if p := ms[mProtocol]; !p.absent() {
			v, ok := p.int()
			if !ok || v < 1 {
				return failed(f, newError(CodeBadFrame, `member "protocol" must be an integer of 1 or more`))
			}
			f.Protocol = v
		}
		if f.Protocol <= VersionV1 {
			takes &^= v2Members
		}
	case v1:
		// The v2-only types take only v2-only members, so from a version 1
		// client they are decoded with none.
		takes &^= v2Members
	}
	// The members taken (protocol was read above, for join only), in
	// memberID order: one step per member taken, not per member known.
	takes &^= takesProtocol
	for ; takes != 0; takes &= takes - 1 {
		m := memberID(bits.TrailingZeros32(uint32(takes)))
		if !ms[m].absent() {
			if perr := f.set(m, ms[m].raw); perr != nil {
				return failed(f, perr)
			}
		}
	}
	return f, nil
}

// failed is the frame returned with a member error: its type and ref only.
func failed(f Frame, perr *Error) (Frame, *Error) {
	return Frame{Type: f.Type, Ref: f.Ref, HasRef: f.HasRef}, perr
}

// set fills member m (present, not null) from its raw JSON value, or returns
// the bad_frame error when the value has the wrong type.
func (f *Frame) set(m memberID, raw []byte) *Error {
	v := member{raw}
	switch m {
	case mSince:
		n, ok := v.int()
		if !ok || n < 0 {
			return newError(CodeBadFrame, `member "since" must be an integer of 0 or more`)
		}
		f.Since, f.HasSince = n, true
		return nil
	case mRooms:
		rooms, ok := parseRooms(raw)
		if !ok {
			return newError(CodeBadFrame, `member "rooms" must be an array of strings`)
		}
		f.Rooms, f.HasRooms = rooms, true
		return nil
	case mAction:
		switch string(raw) {
		case "true":
			f.Action = true
		case "false":
			f.Action = false
		default:
			return newError(CodeBadFrame, `member "action" must be true or false`)
		}
		return nil
	}
	// The rest are strings.
	if !v.isString() {
		return wrongType(memberNames[m])
	}
	s := unquote(raw)
	switch m {
	case mUsername:
		f.Username, f.HasUsername = s, true
	case mText:
		f.Text = s
	case mTo:
		f.To, f.HasTo = s, true
	case mRoom:
		f.Room, f.HasRoom = s, true
	case mEpoch:
		f.Epoch, f.HasEpoch = s, true
	case mSession:
		f.Session, f.HasSession = s, true
	case mPassword:
		f.Password, f.HasPassword = s, true
	case mOld:
		f.Old, f.HasOld = s, true
	case mNew:
		f.New, f.HasNew = s, true
	case mAfter:
		f.After, f.HasAfter = s, true
	}
	return nil
}

// int returns the value of a number member when it is a whole number that
// fits in an int64 (see DecodeClient); ok is false for anything else,
// including values that are not numbers.
func (m member) int() (v int64, ok bool) {
	if !m.isNumber() {
		return 0, false
	}
	return parseInt(m.raw)
}

// parseInt returns the value of raw, a valid JSON number, when that value is
// a whole number in the range of int64. It is exact: the number is read as
// digits × 10^exponent, and nothing is rounded. Its work is linear in
// len(raw).
func parseInt(raw []byte) (int64, bool) {
	i := 0
	neg := raw[0] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(raw) && isDigit(raw[i]) {
		i++
	}
	intPart := raw[start:i]
	var frac []byte
	if i < len(raw) && raw[i] == '.' {
		i++
		start = i
		for i < len(raw) && isDigit(raw[i]) {
			i++
		}
		frac = raw[start:i]
	}
	var exp int64
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		expNeg := false
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			expNeg = raw[i] == '-'
			i++
		}
		for ; i < len(raw) && isDigit(raw[i]); i++ {
			// Saturate far beyond any line length: a number has fewer
			// digits than that, so the result below is still decided right.
			if exp < 1<<40 {
				exp = exp*10 + int64(raw[i]-'0')
			}
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(raw) || len(intPart) == 0 {
		return 0, false // not a JSON number after all
	}
	// The digits of intPart then frac, as one sequence d(0..n-1).
	n := len(intPart) + len(frac)
	d := func(k int) byte {
		if k < len(intPart) {
			return intPart[k]
		}
		return frac[k-len(intPart)]
	}
	lo, hi := 0, n-1 // the first and last non-zero digits
	for lo < n && d(lo) == '0' {
		lo++
	}
	if lo == n {
		return 0, true // 0, -0, 0.000, 0e99
	}
	for d(hi) == '0' {
		hi--
	}
	// value = ±D × 10^scale, D = d(lo..hi), whose last digit is not 0: it is
	// whole exactly when scale ≥ 0.
	scale := exp - int64(len(frac)) + int64(n-1-hi)
	if scale < 0 {
		return 0, false
	}
	// Every int64 has at most 19 digits; 19 digits fit in a uint64.
	if int64(hi-lo+1)+scale > 19 {
		return 0, false
	}
	var u uint64
	for k := lo; k <= hi; k++ {
		u = u*10 + uint64(d(k)-'0')
	}
	for range scale {
		u *= 10
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true // two's complement: right for 1<<63 too
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseRooms decodes raw, a valid JSON value, when it is an array of
// strings. The result is never nil: [] gives an empty slice. Its work is
// linear in len(raw): one pass to count and check the elements, one to
// decode them.
func parseRooms(raw []byte) ([]string, bool) {
	if raw[0] != '[' {
		return nil, false
	}
	n := 0
	i := skipSpace(raw, 1)
	if raw[i] != ']' {
		for {
			if raw[i] != '"' {
				return nil, false
			}
			i = skipSpace(raw, skipString(raw, i))
			n++
			if raw[i] == ']' {
				break
			}
			i = skipSpace(raw, i+1) // the ','
		}
	}
	rooms := make([]string, 0, n) // non-nil even when n == 0, without allocating
	i = skipSpace(raw, 1)
	for range n {
		end := skipString(raw, i)
		rooms = append(rooms, unquote(raw[i:end]))
		i = skipSpace(raw, skipSpace(raw, end)+1)
	}
	return rooms, true
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
