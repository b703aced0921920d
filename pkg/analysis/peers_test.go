package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

type peersReference struct {
	Cases []struct {
		Name      string
		Threshold float64
		Means     []string
		Verdicts  []struct{ Expected, Lower, Upper, Score string }
	}
}

// TestPeersAgainstNumpy replays reference_peers.json (leave-one-out median
// and MAD by numpy, one np.delete per series): 3 series, ties, constant
// fleets, the mean-deviation fallback, 1e300, 50 series with outliers and
// 60 random fleets of 3 to 60 series; every expected value, band edge and
// score to 1e-9 relative, +Inf scores equal.
func TestPeersAgainstNumpy(t *testing.T) {
	var ref peersReference
	loadReference(t, "reference_peers.json", &ref)
	if len(ref.Cases) < 70 {
		t.Fatalf("%d cases", len(ref.Cases))
	}
	worst := 0.0
	for _, c := range ref.Cases {
		means := parseFloats(t, c.Means...)
		got, ok := Peers(means, c.Threshold)
		if ok != (c.Verdicts != nil) || len(got) != len(c.Verdicts) {
			t.Fatalf("%s: ok=%v with %d verdicts, numpy %d", c.Name, ok, len(got), len(c.Verdicts))
		}
		for i, w := range c.Verdicts {
			want := parseFloats(t, w.Expected, w.Lower, w.Upper, w.Score)
			g := got[i]
			for j, x := range []float64{g.Expected, g.Lower, g.Upper, g.Score} {
				e := RelErr(x, want[j])
				worst = math.Max(worst, e)
				if e > relTol {
					t.Errorf("%s, series %d: %+v, numpy expected/lower/upper/score %v (rel err %.3g)", c.Name, i, g, want, e)
					break
				}
			}
			if !math.IsNaN(g.P) || !math.IsNaN(g.T) {
				t.Errorf("%s, series %d: P, T = %v, %v; want NaN", c.Name, i, g.P, g.T)
			}
		}
	}
	t.Logf("worst relative error against numpy over %d fleets: %.3g", len(ref.Cases), worst)
}

// naivePeers is the definition, one leave-one-out sort per series.
func naivePeers(means []float64, k float64) []Verdict {
	out := make([]Verdict, len(means))
	for i, x := range means {
		others := slices.Concat(means[:i], means[i+1:])
		slices.Sort(others)
		e := medianWithout(append(others, math.Inf(1)), len(others))
		devs := make([]float64, len(others))
		sum := 0.0
		for j, y := range others {
			devs[j] = math.Abs(y - e)
			sum += devs[j]
		}
		slices.Sort(devs)
		s := MADScale * medianWithout(append(devs, math.Inf(1)), len(devs))
		if s == 0 {
			s = MeanADScale * sum / float64(len(others))
		}
		out[i] = deviation(x, e, s, k)
	}
	return out
}

// TestPeersMatchesLeaveOneOutDefinition checks the one-sort method against
// a sort per series over random fleets up to 200 series, with heavy ties
// (values on a coarse grid), to 1e-12 (only the fallback's sums are added
// in another order).
func TestPeersMatchesLeaveOneOutDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 17))
	for it := range 300 {
		n := 3 + rng.IntN(200)
		if it < 100 {
			n = 3 + it%8
		}
		means := make([]float64, n)
		grid := []float64{0, 0.5, 1, 1e-3}[it%4]
		for i := range means {
			means[i] = 10 * rng.NormFloat64()
			if grid > 0 {
				means[i] = math.Round(means[i]/grid) * grid
			}
			if it%5 == 0 && rng.IntN(3) > 0 {
				means[i] = 0 // a majority of idle series: zero MAD
			}
		}
		in := slices.Clone(means)
		got, ok := Peers(means, 3)
		if !ok || !slices.Equal(in, means) {
			t.Fatalf("fleet %d: ok=%v, input changed %v", it, ok, !slices.Equal(in, means))
		}
		want := naivePeers(means, 3)
		for i := range want {
			g, w := got[i], want[i]
			if g.Expected != w.Expected || RelErr(g.Score, w.Score) > 1e-12 || RelErr(g.Lower, w.Lower) > 1e-12 || RelErr(g.Upper, w.Upper) > 1e-12 {
				t.Fatalf("fleet %d (%d series) series %d: %+v, definition %+v", it, n, i, g, w)
			}
		}
	}
}

func TestPeersRules(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name  string
		means []float64
		k     float64
		ok    bool
		// per series: expected, spread (band half-width / k), score
		want [][3]float64
	}{
		{name: "no series", means: nil, k: 3},
		{name: "two series cannot judge", means: []float64{1, 100}, k: 3},
		{name: "three series: each against the other two", means: []float64{1, 3, 11}, k: 2, ok: true,
			want: [][3]float64{{7, 1.4826 * 4, 6 / (2 * 1.4826 * 4)}, {6, 1.4826 * 5, 3 / (2 * 1.4826 * 5)}, {2, 1.4826, 9 / (2 * 1.4826)}}},
		{name: "an outlier moves nobody's baseline", means: []float64{10, 10.5, 9.5, 1000}, k: 3, ok: true,
			want: [][3]float64{{10.5, 1.4826, 0.5 / (3 * 1.4826)}, {10, 1.4826 * 0.5, 0.5 / (3 * 1.4826 * 0.5)}, {10.5, 1.4826 * 0.5, 1 / (3 * 1.4826 * 0.5)}, {10, 1.4826 * 0.5, 990 / (3 * 1.4826 * 0.5)}}},
		{name: "constant fleet", means: []float64{4, 4, 4, 4}, k: 3, ok: true,
			want: [][3]float64{{4, 0, 0}, {4, 0, 0}, {4, 0, 0}, {4, 0, 0}}},
		{name: "all others equal: any difference is +Inf", means: []float64{4, 4, 4, 5}, k: 3, ok: true,
			want: [][3]float64{{4, MeanADScale * 1.0 / 3, 0}, {4, MeanADScale * 1.0 / 3, 0}, {4, MeanADScale * 1.0 / 3, 0}, {4, 0, inf}}},
		{name: "zero MAD falls back to the mean deviation", means: []float64{0, 0, 0, 0, 2, 6}, k: 2, ok: true,
			want: [][3]float64{
				{0, MeanADScale * 8 / 5, 0}, {0, MeanADScale * 8 / 5, 0}, {0, MeanADScale * 8 / 5, 0}, {0, MeanADScale * 8 / 5, 0},
				{0, MeanADScale * 6 / 5, 2 / (2 * MeanADScale * 6 / 5)}, {0, MeanADScale * 2 / 5, 6 / (2 * MeanADScale * 2 / 5)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Peers(c.means, c.k)
			if ok != c.ok || len(got) != len(c.want) {
				t.Fatalf("ok=%v, %d verdicts; want ok=%v, %d", ok, len(got), c.ok, len(c.want))
			}
			for i, w := range c.want {
				g := got[i]
				if RelErr(g.Expected, w[0]) > 1e-12 || RelErr(g.Upper-g.Expected, c.k*w[1]) > 1e-12 ||
					RelErr(g.Expected-g.Lower, c.k*w[1]) > 1e-12 || RelErr(g.Score, w[2]) > 1e-12 {
					t.Errorf("series %d: %+v, want expected %v, spread %v, score %v", i, g, w[0], w[1], w[2])
				}
			}
		})
	}
}

// TestPeersOrderDoesNotMatter: a series' verdict depends on the fleet, not
// on where the series sits in it.
func TestPeersOrderDoesNotMatter(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	means := make([]float64, 41)
	for i := range means {
		means[i] = math.Round(rng.NormFloat64() * 4)
	}
	want, _ := Peers(means, 3)
	perm := rng.Perm(len(means))
	shuffled := make([]float64, len(means))
	for i, j := range perm {
		shuffled[i] = means[j]
	}
	got, _ := Peers(shuffled, 3)
	for i, j := range perm {
		g, w := got[i], want[j]
		if g.Score != w.Score || g.Expected != w.Expected || g.Lower != w.Lower || g.Upper != w.Upper {
			t.Fatalf("series %d moved to %d: %+v, was %+v", j, i, got[i], want[j])
		}
	}
}

func TestMedianWithout(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		s := make([]float64, 2+rng.IntN(9))
		for i := range s {
			s[i] = float64(rng.IntN(5))
		}
		slices.Sort(s)
		r := rng.IntN(len(s))
		rest := slices.Concat(s[:r], s[r+1:])
		var want float64
		if m := len(rest); m%2 == 1 {
			want = rest[m/2]
		} else {
			want = (rest[m/2-1] + rest[m/2]) / 2
		}
		if got := medianWithout(s, r); got != want {
			t.Fatalf("medianWithout(%v, %d) = %v, want %v", s, r, got, want)
		}
	}
	if got := medianWithout([]float64{1e308, 1.5e308, 1.7e308}, 0); got != 1.6e308 {
		t.Fatalf("near overflow: %v", got)
	}
}

// BenchmarkPeers: one window end of a fleet, per fleet.
func BenchmarkPeers(b *testing.B) {
	for _, n := range []int{50, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			means := make([]float64, n)
			for i := range means {
				means[i] = 50 + 5*rng.NormFloat64()
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Peers(means, 3)
			}
		})
	}
}
