package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// robustReference is testdata/reference_robust.json, written by
// reference_robust.py (numpy and scipy).
type robustReference struct {
	MinBaseline int `json:"min_baseline"`
	Cases       []struct {
		Name      string  `json:"name"`
		History   int     `json:"history"`
		Threshold float64 `json:"threshold"`
		Windows   []struct {
			End    int64     `json:"end"`
			Values []float64 `json:"values"`
			N      int       `json:"n"`
			Mean   string    `json:"mean"`
			M2     string    `json:"m2"`
		} `json:"windows"`
		Runs []struct {
			Detector string     `json:"detector"`
			Mode     string     `json:"mode"`
			Verdicts [][]string `json:"verdicts"` // expected, lower, upper, score; null when not judged
		} `json:"runs"`
	} `json:"cases"`
}

var robustModels = map[string]func(history int, threshold float64) Model{"zscore": NewZScore, "mad": NewMAD}

// TestRobustAgainstReference replays every case of the numpy/scipy
// reference through zscore and mad in both read modes and compares every
// window's verdict: judged or not, and expected, lower, upper and score to
// 1e-9 relative (+Inf and 0 exactly).
func TestRobustAgainstReference(t *testing.T) {
	var ref robustReference
	loadReference(t, "reference_robust.json", &ref)
	if ref.MinBaseline != minBaseline {
		t.Fatalf("reference minimum baseline %d, model %d", ref.MinBaseline, minBaseline)
	}
	for _, c := range ref.Cases {
		for _, r := range c.Runs {
			t.Run(c.Name+"/"+r.Detector+"/"+r.Mode, func(t *testing.T) {
				m := robustModels[r.Detector](c.History, c.Threshold)
				worst := 0.0
				for i, rw := range c.Windows {
					w := Window{End: rw.End, Width: 1, Summary: Summary{N: rw.N, Mean: parseFloat(t, rw.Mean), M2: parseFloat(t, rw.M2)}}
					if r.Mode == "points" {
						w.Values = rw.Values
					}
					v, ok := Step(m, Filter{}, w)
					want := r.Verdicts[i]
					if ok != (want != nil) {
						t.Fatalf("window %d: judged %v, reference %v", i, ok, want != nil)
					}
					if !ok {
						continue
					}
					got := []float64{v.Expected, v.Lower, v.Upper, v.Score}
					for j, name := range []string{"expected", "lower", "upper", "score"} {
						g, e := got[j], parseFloat(t, want[j])
						err := RelErr(g, e)
						if e == 0 && g != 0 || err > relTol {
							t.Fatalf("window %d %s: %v, reference %v (rel err %.3g)", i, name, g, e, err)
						}
						worst = math.Max(worst, err)
					}
				}
				t.Logf("%d windows, worst relative error %.3g", len(c.Windows), worst)
			})
		}
	}
}

func TestBaselineNeed(t *testing.T) {
	for _, c := range []struct{ history, want int }{
		{2, 2}, {3, 2}, {4, 2}, {5, 3}, {7, 4}, {40, 20}, {59, 30}, {60, 30}, {3600, 30}, {100000, 30},
	} {
		if got := baselineNeed(c.history); got != c.want {
			t.Errorf("baselineNeed(%d) = %d, want %d", c.history, got, c.want)
		}
	}
}

// robustWindow makes a points-mode window (or, without values, windows mode).
func robustWindow(values []float64, pointsMode bool) Window {
	var s Summary
	for _, x := range values {
		s.Add(x)
	}
	w := Window{Summary: s}
	if pointsMode {
		w.Values = slices.Clone(values)
	}
	return w
}

type robustRun struct {
	name   string
	new    func() Model
	points bool
}

func robustRuns(history int, threshold float64) []robustRun {
	var runs []robustRun
	for _, d := range []string{"zscore", "mad"} {
		for _, p := range []bool{true, false} {
			runs = append(runs, robustRun{fmt.Sprintf("%s/points=%v", d, p), func() Model { return robustModels[d](history, threshold) }, p})
		}
	}
	return runs
}

func gaussWindows(seed uint64, count, size int, mean, sd float64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float64, count)
	for i := range out {
		out[i] = make([]float64, size)
		for j := range out[i] {
			out[i][j] = mean + sd*rng.NormFloat64()
		}
	}
	return out
}

var keepNormal = func(v Verdict) bool { return !v.Anomalous() }

// TestRobustSeeding: windows are not judged until the baseline holds
// baselineNeed(history) points, and every one of them enters.
func TestRobustSeeding(t *testing.T) {
	for _, c := range []struct {
		history, size, firstJudged int
	}{
		{3600, 1, 30}, {3600, 7, 5}, {3600, 60, 1}, {10, 1, 5}, {10, 3, 2}, {2, 1, 2}, {40, 25, 1},
	} {
		for _, r := range robustRuns(c.history, 3) {
			t.Run(fmt.Sprintf("%s/h=%d/n=%d", r.name, c.history, c.size), func(t *testing.T) {
				m := r.new()
				first := -1
				for i, vals := range gaussWindows(1, 40, c.size, 0, 1) {
					if _, ok := m.Step(robustWindow(vals, r.points), keepNormal); ok && first < 0 {
						first = i
					}
				}
				want := c.firstJudged
				if _, isMAD := m.(*MAD); isMAD && !r.points {
					want = baselineNeed(c.history) // one value per window
				}
				if first != want {
					t.Errorf("first judged window %d, want %d", first, want)
				}
			})
		}
	}
}

// TestRobustAnomalyStaysOut: a window judged anomalous leaves the baseline
// exactly as it was (the model goes on as a copy that never saw it), and a
// window kept out by keep does the same.
func TestRobustAnomalyStaysOut(t *testing.T) {
	for _, r := range robustRuns(200, 3) {
		for _, size := range []int{1, 20} {
			t.Run(fmt.Sprintf("%s/n=%d", r.name, size), func(t *testing.T) {
				m := r.new()
				ws := gaussWindows(2, 300, size, 10, 2)
				for _, vals := range ws[:100] {
					m.Step(robustWindow(vals, r.points), keepNormal)
				}
				before := m.Clone()
				spike := make([]float64, size)
				for i := range spike {
					spike[i] = ws[100][i] + 50
				}
				if v, ok := m.Step(robustWindow(spike, r.points), keepNormal); !ok || !v.Anomalous() {
					t.Fatalf("spike: %+v, judged %v; want anomalous", v, ok)
				}
				// A normal window refused by keep stays out too.
				if v, ok := m.Step(robustWindow(ws[101], r.points), func(Verdict) bool { return false }); !ok || v.Anomalous() {
					t.Fatalf("normal window: %+v, judged %v", v, ok)
				}
				for i, vals := range ws[102:] {
					w := robustWindow(vals, r.points)
					got, _ := m.Step(w, keepNormal)
					want, _ := before.Step(w, keepNormal)
					if !sameVerdict(got, want) {
						t.Fatalf("window %d after the spike: %+v, without it %+v", i, got, want)
					}
				}
			})
		}
	}
}

func sameVerdict(a, b Verdict) bool {
	return a.Score == b.Score && a.Expected == b.Expected && a.Lower == b.Lower && a.Upper == b.Upper
}

// TestRobustCloneIndependent: feeding a clone other data changes nothing in
// the original, in both modes and both directions.
func TestRobustCloneIndependent(t *testing.T) {
	for _, r := range robustRuns(50, 3) {
		t.Run(r.name, func(t *testing.T) {
			a, b := r.new(), r.new()
			ws := gaussWindows(3, 200, 5, 0, 1)
			for _, vals := range ws[:100] {
				a.Step(robustWindow(vals, r.points), keepNormal)
				b.Step(robustWindow(vals, r.points), keepNormal)
			}
			c := a.Clone()
			for _, vals := range gaussWindows(4, 100, 5, 0.5, 1.2) { // other data into the clone
				c.Step(robustWindow(vals, r.points), keepNormal)
			}
			for i, vals := range ws[100:] {
				w := robustWindow(vals, r.points)
				va, _ := a.Step(w, keepNormal)
				vb, _ := b.Step(w, keepNormal)
				if !sameVerdict(va, vb) {
					t.Fatalf("window %d: original %+v, untouched twin %+v", i, va, vb)
				}
			}
		})
	}
}

// TestMADSelection checks madOf against sorting the distances, on arrays
// with and without ties, odd and even sizes.
func TestMADSelection(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= 60; n++ {
		for _, levels := range []int{1, 2, 3, 1 << 30} {
			s := make([]float64, n)
			for i := range s {
				s[i] = float64(rng.IntN(levels)) + 0.5*float64(min(levels, 2)-1)*rng.Float64()
			}
			slices.Sort(s)
			at := func(i int) float64 { return s[i] }
			med := medianOf(n, at)
			d := make([]float64, n)
			for i, x := range s {
				d[i] = math.Abs(x - med)
			}
			slices.Sort(d)
			if got, want := madOf(n, at, med), medianOf(n, func(i int) float64 { return d[i] }); got != want {
				t.Fatalf("n=%d levels=%d: madOf %v, sorted distances %v (%v)", n, levels, got, want, s)
			}
		}
	}
}

// TestMADAdmission: the sorted blocks always hold exactly the last history
// admitted points, in order, with their blocks' bounds and starting ranks
// right, through splits and merges (histories past 2·blockSize).
func TestMADAdmission(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, history := range []int{2, 5, 17, 100, 1500, 5000} {
		m := NewMAD(history, 3).(*MAD)
		var all []float64
		for it := range 600 {
			vals := make([]float64, rng.IntN(60)+1)
			for i := range vals {
				vals[i] = float64(rng.IntN(20 + it)) // ties, and a drifting range
			}
			m.Step(Window{Summary: Summary{N: len(vals), Mean: vals[0]}, Values: vals}, func(Verdict) bool { return true })
			all = append(all, vals...)
			want := slices.Clone(all[max(0, len(all)-history):])
			slices.Sort(want)
			s := &m.sorted
			if !slices.Equal(s.values(), want) || s.len() != len(want) {
				t.Fatalf("history %d after %d points: %d sorted values, want %d", history, len(all), s.len(), len(want))
			}
			for b, blk := range s.blocks {
				if len(blk) == 0 || len(blk) > 2*blockSize || len(s.blocks) > 1 && len(blk) < blockSize/4 || s.starts[b+1]-s.starts[b] != len(blk) {
					t.Fatalf("history %d: block %d of %d holds %d, starts %d..%d", history, b, len(s.blocks), len(blk), s.starts[b], s.starts[b+1])
				}
			}
			for _, r := range []int{0, len(want) / 3, len(want) - 1} {
				if got := s.at(r); got != want[r] {
					t.Fatalf("history %d: at(%d) = %v, want %v", history, r, got, want[r])
				}
			}
			if len(m.ring) > history {
				t.Fatalf("history %d: ring %d", history, len(m.ring))
			}
		}
	}
}

// TestMADWindowsModeOneValue: without points each window enters as its mean.
func TestMADWindowsModeOneValue(t *testing.T) {
	m := NewMAD(10, 3).(*MAD)
	for i, mean := range []float64{4, 1, 3, 2} {
		m.Step(Window{Summary: Summary{N: 60, Mean: mean, M2: 100}}, keepNormal)
		if m.sorted.len() != i+1 {
			t.Fatalf("after %d windows the baseline holds %d values", i+1, m.sorted.len())
		}
	}
	if got := m.sorted.values(); !slices.Equal(got, []float64{1, 2, 3, 4}) {
		t.Fatalf("baseline %v, want the window means", got)
	}
}

func TestNormalQ3(t *testing.T) {
	if q := math.Sqrt2 * math.Erfinv(0.5); math.Abs(q-normalQ3) > 1e-15 {
		t.Errorf("Φ⁻¹(3/4) = %v, constant %v", q, normalQ3)
	}
}

// TestScaledMeanSD: the same as Welford on ordinary values, exactly
// proportional under power-of-two scaling, and finite at 1e300.
func TestScaledMeanSD(t *testing.T) {
	xs := gaussWindows(9, 1, 1000, 3, 2)[0]
	var s Summary
	for _, x := range xs {
		s.Add(x)
	}
	mean, sd := scaledMeanSD(xs)
	if RelErr(mean, s.Mean) > 1e-12 || RelErr(sd, s.StdDev()) > 1e-12 {
		t.Errorf("scaledMeanSD = %v, %v; Welford %v, %v", mean, sd, s.Mean, s.StdDev())
	}
	big := make([]float64, len(xs))
	for i, x := range xs {
		big[i] = math.Ldexp(x, 990)
	}
	bm, bs := scaledMeanSD(big)
	if bm != math.Ldexp(mean, 990) || bs != math.Ldexp(sd, 990) {
		t.Errorf("scaled by 2^990: %v, %v; want %v, %v", bm, bs, math.Ldexp(mean, 990), math.Ldexp(sd, 990))
	}
	for _, c := range [][]float64{{}, {0, 0}, {7}} {
		if m, sd := scaledMeanSD(c); sd != 0 || len(c) > 0 && m != c[0] {
			t.Errorf("scaledMeanSD(%v) = %v, %v", c, m, sd)
		}
	}
}

// TestRobustExtremes: huge values, constant series and n = 1 windows never
// give a NaN, and a points baseline recovers a finite summary once huge
// values have left it.
func TestRobustExtremes(t *testing.T) {
	for _, r := range robustRuns(20, 3) {
		t.Run(r.name, func(t *testing.T) {
			m := r.new()
			rng := rand.New(rand.NewPCG(10, 11))
			for i := range 400 {
				var vals []float64
				switch {
				case i < 100:
					vals = []float64{1e300 * (1 + 0.5*rng.NormFloat64()), -1e300 * rng.Float64()}
				case i < 200:
					vals = []float64{5}
				default:
					vals = []float64{rng.NormFloat64(), rng.NormFloat64()}
				}
				v, ok := m.Step(robustWindow(vals, r.points), keepNormal)
				if ok && (math.IsNaN(v.Score) || math.IsNaN(v.Expected) || math.IsNaN(v.Lower) || math.IsNaN(v.Upper)) {
					t.Fatalf("window %d (%v): %+v", i, vals, v)
				}
			}
			if z, isZ := m.(*ZScore); isZ && z.points != nil && (!finite(z.points.M2) || z.points.N != 20) {
				t.Errorf("points summary %+v after the huge values left", z.points.Summary)
			}
		})
	}
}

// TestZScoreLongRunDrift: over 10^6 points the running summary stays within
// 1e-9 of a fresh computation over the ring (the periodic recomputation).
func TestZScoreLongRunDrift(t *testing.T) {
	z := NewZScore(3600, 1e9).(*ZScore) // nothing is anomalous
	rng := rand.New(rand.NewPCG(12, 13))
	for i := range 1_000_000 {
		x := 1e6 + 1e3*math.Sin(float64(i)/1e4) + rng.NormFloat64()
		z.Step(Window{Summary: Summary{N: 1, Mean: x}, Values: []float64{x}}, keepNormal)
	}
	got := z.points.Summary
	restat(z.points)
	if RelErr(got.Mean, z.points.Mean) > 1e-9 || RelErr(got.StdDev(), z.points.StdDev()) > 1e-9 {
		t.Errorf("running %+v, fresh %+v", got, z.points.Summary)
	}
	if len(z.points.ring) != 3600 {
		t.Errorf("ring holds %d points", len(z.points.ring))
	}
}

func benchWindows(n, size int) []Window {
	ws := make([]Window, n)
	for i, vals := range gaussWindows(14, n, size, 20, 3) {
		ws[i] = robustWindow(vals, true)
	}
	return ws
}

func benchStep(b *testing.B, m Model, ws []Window, size int) {
	for _, w := range ws[:len(ws)/2] { // fill the baseline
		m.Step(w, keepNormal)
	}
	rest := ws[len(ws)/2:]
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m.Step(rest[i%len(rest)], keepNormal)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/point")
}

// BenchmarkMADStep: one window through MAD with a full baseline, for
// point-by-point (one point per window) and 60-point windows.
func BenchmarkMADStep(b *testing.B) {
	for _, c := range []struct{ history, size int }{{3600, 1}, {3600, 60}, {100_000, 1}, {100_000, 60}} {
		b.Run(fmt.Sprintf("history=%d/points=%d", c.history, c.size), func(b *testing.B) {
			ws := benchWindows(max(4*c.history/c.size, 1000), c.size)
			benchStep(b, NewMAD(c.history, 3), ws, c.size)
		})
	}
}

// BenchmarkZScoreStep: one window through ZScore with a full baseline, in
// points mode and (summaries only) windows mode.
func BenchmarkZScoreStep(b *testing.B) {
	for _, c := range []struct {
		history, size int
		points        bool
	}{{3600, 1, true}, {3600, 60, true}, {3600, 1, false}, {3600, 60, false}} {
		b.Run(fmt.Sprintf("history=%d/points=%d/values=%v", c.history, c.size, c.points), func(b *testing.B) {
			ws := benchWindows(max(4*c.history/c.size, 1000), c.size)
			if !c.points {
				for i := range ws {
					ws[i].Values = nil
				}
			}
			benchStep(b, NewZScore(c.history, 3), ws, c.size)
		})
	}
}

// TestWindowFIFO: the O(1) FIFO holds the windows WindowDetector holds, with
// the same total up to rounding, over windows of random sizes, some with a
// huge variance that later leaves.
func TestWindowFIFO(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, history := range []int{1, 7, 100, 3600} {
		f, d := &windowFIFO{}, NewWindowDetector(Config{History: history})
		for i := range 5000 {
			var s Summary
			for range rng.IntN(12) + 1 {
				x := rng.NormFloat64()
				if i%97 == 0 {
					x *= 1e6
				}
				s.Add(x)
			}
			f.enter(s, history)
			d.enter(s)
			if !slices.Equal(f.wins[f.head:], d.windows) {
				t.Fatalf("history %d, window %d: FIFO holds %d windows, WindowDetector %d", history, i, len(f.wins)-f.head, len(d.windows))
			}
			if f.total.N != d.total.N || RelErr(f.total.Mean, d.total.Mean) > 1e-9 && math.Abs(f.total.Mean-d.total.Mean) > 1e-12 ||
				RelErr(f.total.M2, d.total.M2) > 1e-9 {
				t.Fatalf("history %d, window %d: total %+v, WindowDetector %+v", history, i, f.total, d.total)
			}
			if cap(f.wins) > 2*history+8 {
				t.Fatalf("history %d: FIFO capacity %d", history, cap(f.wins))
			}
		}
	}
}

func TestUncombine(t *testing.T) {
	for _, c := range []struct{ a, b []float64 }{
		{[]float64{1, 2, 3}, []float64{10, 20}},
		{[]float64{5}, []float64{5, 5, 5}},
		{[]float64{-1e3, 1e3}, []float64{0.5}},
	} {
		var a, b Summary
		for _, x := range c.a {
			a.Add(x)
		}
		for _, x := range c.b {
			b.Add(x)
		}
		got := uncombine(Combine(a, b), a)
		if got.N != b.N || math.Abs(got.Mean-b.Mean) > 1e-12*(1+math.Abs(b.Mean)) || math.Abs(got.M2-b.M2) > 1e-9*(1+a.M2) {
			t.Errorf("uncombine(Combine(%v, %v), a) = %+v, want %+v", c.a, c.b, got, b)
		}
	}
	if got := uncombine(Summary{N: 2, Mean: 1, M2: 2}, Summary{N: 2, Mean: 1, M2: 2}); got != (Summary{}) {
		t.Errorf("uncombine of everything = %+v", got)
	}
}

// TestZScoreVarianceCollapse: a wild seed that leaves a constant baseline
// leaves an M2 of exactly 0 (recomputed, not the rounding of subtracting
// 1e12-sized terms), so the constant is judged as a constant: 0 for itself
// and +Inf for anything else.
func TestZScoreVarianceCollapse(t *testing.T) {
	for _, points := range []bool{true, false} {
		m := NewZScore(10, 3)
		for _, vals := range [][]float64{{1e6 + 0.1, -1e6}, {3e6, 0.3}, {-2e6 - 0.7}, {5, 5}, {5, 5}, {5, 5}, {5, 5}, {5, 5}, {5}} {
			m.Step(robustWindow(vals, points), keepNormal)
		}
		if v, ok := m.Step(robustWindow([]float64{5}, points), keepNormal); !ok || v.Score != 0 || v.Expected != 5 || v.Lower != 5 {
			t.Errorf("points=%v: constant window %+v (judged %v)", points, v, ok)
		}
		if v, _ := m.Step(robustWindow([]float64{5.000001}, points), keepNormal); !math.IsInf(v.Score, 1) {
			t.Errorf("points=%v: window off the constant scores %v, want +Inf", points, v.Score)
		}
	}
}

// TestSortedBlocks: random insertions and deletions, down to empty and up
// again, against a plain sorted slice.
func TestSortedBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	var s sortedBlocks
	var want []float64
	for it := range 60000 {
		grow := it%30000 < 16000 // up to about 5300 values (blocks split), then down to empty (they merge)
		if len(want) > 0 && (!grow || rng.IntN(3) == 0) {
			x := want[rng.IntN(len(want))]
			s.remove(x)
			i, _ := slices.BinarySearch(want, x)
			want = slices.Delete(want, i, i+1)
		} else {
			x := float64(rng.IntN(300)) / 4
			s.insert(x)
			i, _ := slices.BinarySearch(want, x)
			want = slices.Insert(want, i, x)
		}
		if s.len() != len(want) || it%97 == 0 && !slices.Equal(s.values(), want) {
			t.Fatalf("step %d: %d values, want %d", it, s.len(), len(want))
		}
		if len(want) > 0 {
			if r := rng.IntN(len(want)); s.at(r) != want[r] {
				t.Fatalf("step %d: at(%d) = %v, want %v", it, r, s.at(r), want[r])
			}
		}
	}
}

// TestRobustMemoryBounded: after a long run the models hold memory in
// proportion to history, not to the run.
func TestRobustMemoryBounded(t *testing.T) {
	const history = 1000
	type sized interface {
		Model
		Bytes() int64
	}
	for _, r := range robustRuns(history, 3) {
		t.Run(r.name, func(t *testing.T) {
			m := r.new().(sized)
			for _, vals := range gaussWindows(19, 30000, 1, 0, 1) {
				m.Step(robustWindow(vals, r.points), keepNormal)
			}
			if b := m.Bytes(); b > 100*history+4096 {
				t.Errorf("%d bytes for a history of %d points", b, history)
			}
		})
	}
}
