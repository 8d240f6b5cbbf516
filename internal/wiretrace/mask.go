package wiretrace

// Passwords and session tokens never appear in a trace (PROTOCOL §5.5): the
// tracer masks the string values of the members that carry them, in reads
// (where a secret may be split across several reads) and in frames. It
// follows the stream with a small JSON-string scanner, so it needs no
// buffering; masking keeps the byte count, so the trace still shows how
// the stream was cut.

// secretKeys are the members whose string values are masked.
var secretKeys = map[string]bool{"password": true, "old": true, "new": true, "session": true}

// maskRune replaces each byte of a secret.
const maskRune = '*'

// masker is the scanner's state, carried from one chunk to the next.
type masker struct {
	inStr    bool   // inside a string
	esc      bool   // the previous byte was a backslash inside a string
	secret   bool   // the current string is a secret value
	expect   bool   // a secret key and its colon were seen: the next string is secret
	afterStr bool   // the last token was a string (a key if a colon follows)
	cur      []byte // the current string's bytes, up to maxKey+1, for key detection
	last     string // the last complete string, if short
}

const maxKey = 16

// mask returns p with secret values masked (a copy only if needed).
func (m *masker) mask(p []byte) []byte {
	var out []byte
	for i, c := range p {
		hide := false
		switch {
		case m.inStr:
			switch {
			case m.esc:
				m.esc = false
				hide = m.secret
			case c == '\\':
				m.esc = true
				hide = m.secret
			case c == '"':
				m.inStr = false
				if m.secret {
					m.secret = false
				} else {
					m.afterStr = true
					m.last = ""
					if len(m.cur) <= maxKey {
						m.last = string(m.cur)
					}
				}
			default:
				hide = m.secret
				if !m.secret && len(m.cur) <= maxKey {
					m.cur = append(m.cur, c)
				}
			}
		case c == '"':
			m.inStr, m.esc = true, false
			m.secret, m.expect, m.afterStr = m.expect, false, false
			m.cur = m.cur[:0]
		case c == ':':
			m.expect = m.afterStr && secretKeys[m.last]
			m.afterStr = false
		case c == '\n':
			*m = masker{cur: m.cur[:0]}
		case c == ' ' || c == '\t' || c == '\r':
		default:
			m.afterStr, m.expect = false, false
		}
		if hide {
			if out == nil {
				out = append([]byte(nil), p...)
			}
			out[i] = maskRune
		}
	}
	if out == nil {
		return p
	}
	return out
}
