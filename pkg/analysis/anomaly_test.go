package analysis

import (
	"math"
	"testing"
)

func TestDeviation(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name                string
		x, e, s, k          float64
		score, lower, upper float64
	}{
		{"on the expected value", 10, 10, 2, 3, 0, 4, 16},
		{"at the band's edge", 16, 10, 2, 3, 1, 4, 16},
		{"below", 7, 10, 2, 3, 0.5, 4, 16},
		{"far above", 40, 10, 2, 3, 5, 4, 16},
		{"zero spread, equal", 5, 5, 0, 3, 0, 5, 5},
		{"zero spread, different", 5.000001, 5, 0, 3, inf, 5, 5},
		{"zero spread, below", -1, 5, 0, 3, inf, 5, 5},
		{"huge values", 3e300, 1e300, 1e300, 2, 1, -1e300, 3e300},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := deviation(c.x, c.e, c.s, c.k)
			if RelErr(v.Score, c.score) > 1e-15 || v.Expected != c.e || RelErr(v.Lower, c.lower) > 1e-15 || RelErr(v.Upper, c.upper) > 1e-15 {
				t.Fatalf("deviation(%v, %v, %v, %v) = %+v, want score %v band [%v, %v]", c.x, c.e, c.s, c.k, v, c.score, c.lower, c.upper)
			}
			if !math.IsNaN(v.P) || !math.IsNaN(v.T) {
				t.Fatalf("P, T = %v, %v; want NaN", v.P, v.T)
			}
			if v.Anomalous() != (c.score > 1) {
				t.Fatalf("Anomalous() = %v at score %v", v.Anomalous(), v.Score)
			}
		})
	}
}

func TestFilterApply(t *testing.T) {
	// The model's verdict: expected 10, band [8, 12], score 3 for x = 16
	// (or x = 4: the same distance below).
	base := Verdict{Score: 3, Expected: 10, Lower: 8, Upper: 12, P: 0.5, T: 2}
	for _, c := range []struct {
		name         string
		f            Filter
		x            float64
		score        float64
		lower, upper float64
	}{
		{"no filters", Filter{}, 16, 3, 8, 12},
		{"empty direction is both", Filter{Direction: ""}, 4, 3, 8, 12},
		{"both, above", Filter{Direction: Both}, 16, 3, 8, 12},
		{"both, below", Filter{Direction: Both}, 4, 3, 8, 12},
		{"above keeps a rise", Filter{Direction: Above}, 16, 3, 8, 12},
		{"above zeroes a drop", Filter{Direction: Above}, 4, 0, 8, 12},
		{"below keeps a drop", Filter{Direction: Below}, 4, 3, 8, 12},
		{"below zeroes a rise", Filter{Direction: Below}, 16, 0, 8, 12},
		{"minDeviation smaller than the distance", Filter{MinDeviation: 5}, 16, 3, 5, 15},
		{"minDeviation at the distance is not closer", Filter{MinDeviation: 6}, 16, 3, 4, 16},
		{"minDeviation larger zeroes the score", Filter{MinDeviation: 6.5}, 16, 0, 3.5, 16.5},
		{"minDeviation larger, below", Filter{MinDeviation: 6.5}, 4, 0, 3.5, 16.5},
		{"minDeviation narrower than the band leaves it", Filter{MinDeviation: 1}, 16, 3, 8, 12},
		{"minDeviation and direction", Filter{MinDeviation: 1, Direction: Above}, 4, 0, 8, 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := c.f.Apply(c.x, base)
			if v.Score != c.score || v.Lower != c.lower || v.Upper != c.upper {
				t.Fatalf("Apply(%v) = %+v, want score %v band [%v, %v]", c.x, v, c.score, c.lower, c.upper)
			}
			if v.Expected != base.Expected || v.P != base.P || v.T != base.T {
				t.Fatalf("Apply changed expected, P or T: %+v", v)
			}
		})
	}
	t.Run("a zero-spread band widens to minDeviation", func(t *testing.T) {
		v := Filter{MinDeviation: 0.5}.Apply(5.2, deviation(5.2, 5, 0, 3))
		if v.Score != 0 || v.Lower != 4.5 || v.Upper != 5.5 {
			t.Fatalf("%+v", v)
		}
		v = Filter{MinDeviation: 0.5}.Apply(5.7, deviation(5.7, 5, 0, 3))
		if !math.IsInf(v.Score, 1) || v.Lower != 4.5 || v.Upper != 5.5 {
			t.Fatalf("%+v", v)
		}
	})
}

// fixedModel answers every window with one verdict (ok after the first
// window) and records what keep said.
type fixedModel struct {
	v       Verdict
	seeded  bool
	kept    []bool
	entered int
}

func (m *fixedModel) Step(w Window, keep func(Verdict) bool) (Verdict, bool) {
	if !m.seeded {
		m.seeded = true
		m.entered++
		return Verdict{}, false
	}
	k := keep(m.v)
	m.kept = append(m.kept, k)
	if k {
		m.entered++
	}
	return m.v, true
}

func (m *fixedModel) Clone() Model {
	c := *m
	c.kept = append([]bool(nil), m.kept...)
	return &c
}

// TestStepFilteredVerdictDecidesAdmission: Step hands the model a keep that
// judges the verdict after the filters, and returns the filtered verdict.
func TestStepFilteredVerdictDecidesAdmission(t *testing.T) {
	// Expected 10, band [8, 12]; the window mean decides the direction.
	anomalous := Verdict{Score: 3, Expected: 10, Lower: 8, Upper: 12, P: math.NaN(), T: math.NaN()}
	normal := Verdict{Score: 0.5, Expected: 10, Lower: 8, Upper: 12, P: math.NaN(), T: math.NaN()}
	for _, c := range []struct {
		name  string
		v     Verdict
		f     Filter
		mean  float64
		keep  bool
		score float64
	}{
		{"anomalous stays out", anomalous, Filter{}, 16, false, 3},
		{"normal enters", normal, Filter{}, 11, true, 0.5},
		{"a drop hidden by direction above enters", anomalous, Filter{Direction: Above}, 4, true, 0},
		{"a rise with direction above stays out", anomalous, Filter{Direction: Above}, 16, false, 3},
		{"a rise hidden by direction below enters", anomalous, Filter{Direction: Below}, 16, true, 0},
		{"a drift below minDeviation enters", anomalous, Filter{MinDeviation: 7}, 16, true, 0},
		{"a drift beyond minDeviation stays out", anomalous, Filter{MinDeviation: 5}, 16, false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &fixedModel{v: c.v}
			w := Window{End: 1, Width: 1, Summary: Summary{N: 1, Mean: c.mean}}
			if v, ok := Step(m, c.f, w); ok || v != (Verdict{}) {
				t.Fatalf("the seeding window: %+v ok=%v", v, ok)
			}
			v, ok := Step(m, c.f, w)
			if !ok || len(m.kept) != 1 || m.kept[0] != c.keep || v.Score != c.score {
				t.Fatalf("verdict %+v ok=%v kept %v; want keep %v score %v", v, ok, m.kept, c.keep, c.score)
			}
			if want := 1 + map[bool]int{true: 1}[c.keep]; m.entered != want {
				t.Fatalf("%d windows entered, want %d", m.entered, want)
			}
			if c.f.MinDeviation > 0 && (v.Lower > v.Expected-c.f.MinDeviation || v.Upper < v.Expected+c.f.MinDeviation) {
				t.Fatalf("band %+v narrower than minDeviation %v", v, c.f.MinDeviation)
			}
		})
	}
}
