package analysistest

import (
	"math"
	"testing"
)

func TestRelErr(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		a, b  float64
		fails bool // RelErr(a, b) > 1e-9
	}{
		{1, 1, false}, {1 + 1e-12, 1, false}, {0, 0, false}, {nan, nan, false}, {inf, inf, false}, {-inf, -inf, false},
		{1.1, 1, true}, {1e-3, 0, true},
		{nan, 1, true}, {1, nan, true}, {nan, inf, true}, {inf, nan, true},
		{5, -inf, true}, {-inf, 5, true}, {inf, -inf, true}, {0, inf, true}, {inf, 0, true},
	} {
		if got := RelErr(c.a, c.b); (got > 1e-9) != c.fails {
			t.Errorf("RelErr(%v, %v) = %v: a 1e-9 check fails: %v, want %v", c.a, c.b, got, got > 1e-9, c.fails)
		}
	}
}
