package bench

import (
	"maps"
	"sync"
)

// Keys of Result.Errors besides the protocol's error codes (which count error
// frames received, by code).
const (
	errDial       = "dial"         // could not connect
	errTLS        = "tls"          // the TLS handshake failed (Config.TLS)
	errJoin       = "join"         // no welcome: timeout, refusal or a dropped connection
	errRead       = "read"         // a read failed other than by a clean EOF
	errWrite      = "write"        // a send failed or timed out
	errOutOfOrder = "out_of_order" // a sender's message arrived twice or after a later one (not counted as delivered)
	errEcho       = "echo"         // a sender received its own message
	errGap        = "gap"          // a sender's message arrived after skipping some the receiver should have had (lost or refused)
	errWrongRoom  = "wrong_room"   // a message of a room the receiver is not in
	errIDOrder    = "id_order"     // a live message, private or ack whose id is not above every id before it on its connection
	errBadMarker  = "bad_marker"   // a message of this run whose marker did not parse
	errBadLine    = "bad_line"     // a line from the server that is not a frame
	errTooLong    = "line_too_long"
)

// tally counts rare events (errors, byes) and keeps notes for the report.
// The per-delivery path never touches it. Safe for concurrent use.
type tally struct {
	mu     sync.Mutex // protects the fields below
	errors map[string]int64
	byes   map[string]int64
	notes  []string
	noted  map[string]bool
}

func newTally() *tally {
	return &tally{errors: map[string]int64{}, byes: map[string]int64{}, noted: map[string]bool{}}
}

func (t *tally) addError(key string, n int64) {
	t.mu.Lock()
	t.errors[key] += n
	t.mu.Unlock()
}

func (t *tally) addBye(reason string) {
	t.mu.Lock()
	t.byes[reason]++
	t.mu.Unlock()
}

// note adds a line to the report once, however often it is called with the
// same key; the first text wins.
func (t *tally) note(key, text string) {
	t.mu.Lock()
	if !t.noted[key] {
		t.noted[key] = true
		t.notes = append(t.notes, text)
	}
	t.mu.Unlock()
}

func (t *tally) errorCount() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, v := range t.errors {
		n += v
	}
	return n
}

func (t *tally) snapshot() (errors, byes map[string]int64, notes []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.errors), maps.Clone(t.byes), append([]string(nil), t.notes...)
}
