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
	sgrMention = "1" // bold: a line naming the user (the client also rings)
	// SGRStatus is the look of the status row.
	SGRStatus = "7"
)

// Nick colours. Two names drawn in colours a person cannot tell apart are
// worse than no colour, so each palette holds only clearly different hues,
// readable on dark and light backgrounds alike.
var (
	// userColors16 are the six hues of the basic ANSI palette. The bright
	// variants (91–96) are left out: next to the plain ones they read as
	// the same colour (two yellows, two cyans).
	userColors16 = [...]string{"31", "32", "33", "34", "35", "36"}
	// userColors256 are eleven hues of the xterm 256-colour cube, spread
	// around the colour wheel (at least 20° apart) at a middle lightness.
	userColors256 = [...]string{
		"38;5;160", // red      #d70000
		"38;5;166", // orange   #d75f00
		"38;5;136", // gold     #af8700
		"38;5;70",  // green    #5faf00
		"38;5;35",  // sea      #00af5f
		"38;5;37",  // teal     #00afaf
		"38;5;32",  // blue     #0087d7
		"38;5;62",  // violet   #5f5fd7
		"38;5;92",  // purple   #8700d7
		"38;5;127", // magenta  #af00af
		"38;5;162", // pink     #d70087
	}
)

// UserColor returns the SGR colour of a username, from the 256-colour
// palette when wide is set, else from the basic one. It depends only on the
// name's folded form, so a user keeps one colour everywhere, across
// reconnects and for everyone, and Alice and alice (the same account for
// the server) look the same.
func UserColor(name string, wide bool) string {
	h := fnv.New32a()
	h.Write([]byte(protocol.FoldName(name)))
	x := h.Sum32() // FNV's low bits are weak for short names: mix them
	x ^= x >> 16
	x *= 0x45d9f3b
	x ^= x >> 16
	if wide {
		return userColors256[x%uint32(len(userColors256))]
	}
	return userColors16[x%uint32(len(userColors16))]
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
