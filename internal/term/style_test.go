package term

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// hue returns the hue in degrees of an SGR foreground colour: 31–37 and
// 91–97, or 38;5;N from the 256-colour cube.
func hue(t *testing.T, sgr string) float64 {
	t.Helper()
	var r, g, b float64
	if n, ok := strings.CutPrefix(sgr, "38;5;"); ok {
		i, err := strconv.Atoi(n)
		if err != nil || i < 16 || i > 231 {
			t.Fatalf("colour %q is not in the 256-colour cube", sgr)
		}
		levels := [6]float64{0, 95, 135, 175, 215, 255}
		i -= 16
		r, g, b = levels[i/36], levels[i/6%6], levels[i%6]
	} else {
		i, err := strconv.Atoi(sgr)
		if err != nil {
			t.Fatalf("colour %q", sgr)
		}
		bits := i % 10 // 1 red, 2 green, 4 blue
		r, g, b = float64(bits&1), float64(bits>>1&1), float64(bits>>2&1)
	}
	hi, lo := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	if hi == lo {
		t.Fatalf("colour %q is grey", sgr)
	}
	var h float64
	switch hi {
	case r:
		h = math.Mod((g-b)/(hi-lo), 6)
	case g:
		h = (b-r)/(hi-lo) + 2
	default:
		h = (r-g)/(hi-lo) + 4
	}
	return math.Mod(h*60+360, 360)
}

// TestNickPalettesAreDistinct (bug 10): no two nick colours of a palette
// may be the same hue, as 33 and 93 (two yellows) or 36 and 96 were.
func TestNickPalettesAreDistinct(t *testing.T) {
	for name, palette := range map[string][]string{"16": userColors16[:], "256": userColors256[:]} {
		for i, a := range palette {
			for _, b := range palette[i+1:] {
				d := math.Abs(hue(t, a) - hue(t, b))
				d = math.Min(d, 360-d)
				if d < 19 {
					t.Errorf("palette %s: %s and %s are %.0f° apart, too alike", name, a, b, d)
				}
			}
		}
	}
}
