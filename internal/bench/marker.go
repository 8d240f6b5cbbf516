package bench

// The marker is how a receiver recognises a bench message and measures it
// without any clock exchange (senders and receivers share one process and
// one monotonic clock). It opens the text of every message the bench sends:
//
//	~RRRRPSSSSSSQQQQQQQQTTTTTTTTTTTT~
//	 │   ││     │       └ 12 hex: scheduled send time, ns since the run's epoch
//	 │   ││     └ 8 hex: sequence number, per sender, from 0
//	 │   │└ 6 hex: sender index (its connection's index, 0-based)
//	 │   └ phase: 'w' warmup, 'm' measured
//	 └ 4 hex: run id, random per run, so stale messages are not counted
//
// All of it is ASCII that JSON does not escape, so it appears verbatim in the
// frames the server sends, and a receiver finds it with bytes.Index instead of
// decoding JSON. The rest of the text, up to the requested size, is letters.

// markerLen is the length of the marker; it is the smallest -size.
const markerLen = 1 + 4 + 1 + 6 + 8 + 12 + 1

// Offsets inside the marker.
const (
	mkPhase  = 5
	mkSender = 6
	mkSeq    = 12
	mkTime   = 20
	mkEnd    = 32
)

// Phases written in the marker.
const (
	phaseWarmup   = 'w'
	phaseMeasured = 'm'
)

// maxSenderIndex is the largest sender index the marker can carry.
const maxSenderIndex = 1<<24 - 1

const padding = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// makeText returns a text of size bytes (at least markerLen) whose marker
// carries run id run and sender index sender; phase, seq and time are zero
// and are filled per message with putMarker.
func makeText(run uint16, sender, size int) []byte {
	t := make([]byte, size)
	t[0] = '~'
	putHex(t[1:5], uint64(run))
	t[mkPhase] = phaseWarmup
	putHex(t[mkSender:mkSeq], uint64(sender))
	putHex(t[mkSeq:mkTime], 0)
	putHex(t[mkTime:mkEnd], 0)
	t[mkEnd] = '~'
	for i := markerLen; i < size; i++ {
		t[i] = padding[(i-markerLen)%len(padding)]
	}
	return t
}

// runPrefix is what a receiver searches for: '~' and the run id.
func runPrefix(run uint16) []byte {
	p := []byte{'~', 0, 0, 0, 0}
	putHex(p[1:], uint64(run))
	return p
}

// putMarker overwrites the per-message fields of the marker starting at m[0].
func putMarker(m []byte, phase byte, seq uint32, at int64) {
	m[mkPhase] = phase
	putHex(m[mkSeq:mkTime], uint64(seq))
	putHex(m[mkTime:mkEnd], uint64(at))
}

// parseMarker decodes the marker starting at m[0] (its '~'). ok is false when
// it is cut short or malformed.
func parseMarker(m []byte) (phase byte, sender int, seq uint32, at int64, ok bool) {
	if len(m) < markerLen || m[mkEnd] != '~' {
		return 0, 0, 0, 0, false
	}
	phase = m[mkPhase]
	if phase != phaseWarmup && phase != phaseMeasured {
		return 0, 0, 0, 0, false
	}
	s, ok1 := getHex(m[mkSender:mkSeq])
	q, ok2 := getHex(m[mkSeq:mkTime])
	t, ok3 := getHex(m[mkTime:mkEnd])
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, 0, 0, false
	}
	return phase, int(s), uint32(q), int64(t), true
}

const hexDigits = "0123456789abcdef"

// putHex writes v as len(dst) lower-case hex digits, most significant first;
// higher digits of v are dropped.
func putHex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = hexDigits[v&0xf]
		v >>= 4
	}
}

// hexVal maps a lower-case hex digit to its value and every other byte to
// 0xff, so that getHex needs no branch per digit.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := range 16 {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

// getHex reads lower-case hex digits.
func getHex(src []byte) (uint64, bool) {
	var v uint64
	var bad byte
	for _, c := range src {
		d := hexVal[c]
		bad |= d
		v = v<<4 | uint64(d&0xf)
	}
	return v, bad&0xf0 == 0
}
