package term

import "unicode"

// Grapheme clusters: what a person calls one character. The editor moves
// and deletes whole clusters, so that Backspace after 👍🏽, a family emoji
// (👨‍👩‍👧, joined by ZWJ) or a flag (🇫🇷, two regional indicators) removes
// the whole thing, and the cursor never lands inside one.
//
// These are the rules of Unicode's UAX #29 that matter for chat text, in a
// simplified form: marks and other extenders join the character before them,
// anything after a zero-width joiner joins it, and regional indicators pair
// up. A line break always ends a cluster.

// extendsCluster reports a character that joins the cluster before it:
// combining marks (including spacing marks), variation selectors, emoji
// skin-tone modifiers, tag characters, Hangul vowel and final jamo, and the
// other zero-width characters.
func extendsCluster(r rune) bool {
	switch {
	case r == '\n':
		return false
	case r >= 0x1f3fb && r <= 0x1f3ff: // emoji modifiers (skin tones)
		return true
	case r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef: // variation selectors
		return true
	case r >= 0xe0020 && r <= 0xe007f: // tags (subdivision flags)
		return true
	case r >= 0x300 && unicode.Is(unicode.Mc, r): // spacing marks
		return true
	}
	return RuneWidth(r) == 0
}

func isRegionalIndicator(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// breakBefore reports whether a cluster boundary lies between text[i-1]
// and text[i]; the start and the end of the text are boundaries.
func breakBefore(text []rune, i int) bool {
	if i <= 0 || i >= len(text) {
		return true
	}
	prev, r := text[i-1], text[i]
	switch {
	case r == '\n' || prev == '\n':
		return true
	case extendsCluster(r):
		return false
	case prev == 0x200d: // ZWJ: 👨 ZWJ 👩 is one cluster
		return false
	case isRegionalIndicator(prev) && isRegionalIndicator(r):
		n := 0 // regional indicators pair up from the start of their run
		for j := i - 1; j >= 0 && isRegionalIndicator(text[j]); j-- {
			n++
		}
		return n%2 == 0
	}
	return true
}

// clusterStartAt returns the start of the cluster holding text[i].
func clusterStartAt(text []rune, i int) int {
	for i > 0 && !breakBefore(text, i) {
		i--
	}
	return i
}

// clusterEndAt returns the index just past the cluster starting at i.
func clusterEndAt(text []rune, i int) int {
	i++
	for i < len(text) && !breakBefore(text, i) {
		i++
	}
	return i
}
