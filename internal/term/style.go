package term

import (
	"hash/fnv"

	"pynet/protocol"
)

// SGR parameters of the looks the renderer uses.
const (
	sgrDim     = "2"
	sgrBold    = "1"
	sgrJoin    = "32"
	sgrLeave   = "33"
	sgrInfo    = "36"
	sgrPrivate = "35"
	sgrError   = "1;31"
)

// userColors are the colours names are drawn in: the twelve ANSI colours
// that read well on both dark and light backgrounds (no black, white, grey).
var userColors = [...]string{"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"}

// UserColor returns the SGR colour of a username. It depends only on the
// name's folded form, so a user keeps one colour everywhere, across
// reconnects and for everyone, and Alice and alice (the same account for
// the server) look the same.
func UserColor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(protocol.FoldName(name)))
	return userColors[h.Sum32()%uint32(len(userColors))]
}

// painter wraps text in SGR sequences when colour is on, and returns it
// unchanged when it is off (NO_COLOR, -no-color, not a terminal).
type painter bool

func (p painter) paint(sgr, text string) string {
	if !p || sgr == "" || text == "" {
		return text
	}
	return "\x1b[" + sgr + "m" + text + "\x1b[0m"
}

// join combines two SGR parameter lists.
func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ";" + b
}
