package protocol

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Builder encodes one frame by appending to a byte slice: no reflection, no
// map, no HTML escaping (chat text is not HTML, and "\u003c" for every "<"
// would make frames six times larger). Members appear in the order they are
// added. Keys are written as given and must be plain ASCII names.
//
//	b := protocol.NewFrame(buf[:0], protocol.MsgAck)
//	b.Str("ref", ref).Int("id", id)
//	line := b.End() // {"type":"ack","ref":"a1","id":8}\n
type Builder struct{ buf []byte }

// NewFrame starts a frame of type typ, appending to dst.
func NewFrame(dst []byte, typ string) *Builder {
	b := &Builder{buf: append(dst, `{"type":`...)}
	b.buf = AppendString(b.buf, typ)
	return b
}

func (b *Builder) key(k string) {
	b.buf = append(b.buf, ',', '"')
	b.buf = append(b.buf, k...)
	b.buf = append(b.buf, '"', ':')
}

// Str adds a string member.
func (b *Builder) Str(k, v string) *Builder {
	b.key(k)
	b.buf = AppendString(b.buf, v)
	return b
}

// Int adds an integer member.
func (b *Builder) Int(k string, v int64) *Builder {
	b.key(k)
	b.buf = strconv.AppendInt(b.buf, v, 10)
	return b
}

// Num adds a number member, written without a fraction when it is whole.
func (b *Builder) Num(k string, v float64) *Builder {
	b.key(k)
	b.buf = strconv.AppendFloat(b.buf, v, 'f', -1, 64)
	return b
}

// Bool adds a boolean member.
func (b *Builder) Bool(k string, v bool) *Builder {
	b.key(k)
	b.buf = strconv.AppendBool(b.buf, v)
	return b
}

// Time adds a timestamp member in RFC 3339 UTC with milliseconds.
func (b *Builder) Time(k string, t time.Time) *Builder {
	b.key(k)
	b.buf = append(b.buf, '"')
	b.buf = AppendTime(b.buf, t)
	b.buf = append(b.buf, '"')
	return b
}

// Strs adds an array of strings.
func (b *Builder) Strs(k string, vs []string) *Builder {
	return b.StrsFunc(k, len(vs), func(i int) string { return vs[i] })
}

// StrsFunc adds an array of n strings, the i-th given by item(i): a list
// kept in some other shape is encoded without building a []string first.
func (b *Builder) StrsFunc(k string, n int, item func(i int) string) *Builder {
	b.key(k)
	b.buf = AppendStrings(b.buf, n, item)
	return b
}

// AppendStrings appends a JSON array of n strings, the i-th given by item(i).
func AppendStrings(dst []byte, n int, item func(i int) string) []byte {
	dst = append(dst, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, item(i))
	}
	return append(dst, ']')
}

// Raw adds a member whose value is already-encoded JSON.
func (b *Builder) Raw(k string, json []byte) *Builder {
	b.key(k)
	b.buf = append(b.buf, json...)
	return b
}

// End closes the frame, appends the LF and returns the whole slice.
func (b *Builder) End() []byte { return append(b.buf, '}', '\n') }

// TimeLayout is the layout of every ts member: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// AppendTime appends t in TimeLayout (without quotes).
func AppendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, TimeLayout)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Control characters are
// escaped, invalid UTF-8 becomes U+FFFD, and U+2028/U+2029 are escaped as
// encoding/json does; "<", ">" and "&" are left alone.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
