package term

import (
	"unicode"
	"unicode/utf8"
)

// RuneWidth is the number of terminal columns r occupies: 0 for combining
// marks and invisible format characters, 2 for East Asian wide and
// full-width characters and most emoji, 1 otherwise. Control characters
// count as 0; callers neutralise them before display.
//
// Terminals disagree at the edges (emoji sequences, ambiguous-width
// characters); this follows what xterm, VTE and tmux do for the common cases,
// which is what keeps the cursor where the user sees it.
func RuneWidth(r rune) int {
	switch {
	case r < 0x20 || r == 0x7f:
		return 0
	case r < 0x300: // ASCII and Latin: by far the common case
		if r >= 0x80 && r < 0xa0 {
			return 0
		}
		return 1
	case r == 0x200d || r == 0x200b || r == 0xfeff: // joiners, zero-width space
		return 0
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case r >= 0x1160 && r <= 0x11ff: // Hangul medial vowels and final consonants join the syllable
		return 0
	case inTable(r, wideRanges):
		return 2
	}
	return 1
}

// StringWidth is the number of columns s occupies when printed on one line.
// Invalid UTF-8 counts as one column per bad byte (it prints as U+FFFD).
func StringWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		w += RuneWidth(r)
	}
	return w
}

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

// inTable reports whether r falls in one of the sorted ranges.
func inTable(r rune, table []runeRange) bool {
	lo, hi := 0, len(table)
	for lo < hi {
		mid := (lo + hi) / 2
		switch {
		case r < table[mid].lo:
			hi = mid
		case r > table[mid].hi:
			lo = mid + 1
		default:
			return true
		}
	}
	return false
}
