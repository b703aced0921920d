package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// lastMean is a test Model: the expected value is the last admitted
// window's mean, with spread 1 at threshold 1 (score = |mean - expected|);
// the first window seeds it. It records the windows it was given.
type lastMean struct {
	seeded   bool
	expected float64
	seen     []Window
}

func (m *lastMean) Step(w Window, keep func(Verdict) bool) (Verdict, bool) {
	w.Values = slices.Clone(w.Values) // the assigner reuses its buffer
	m.seen = append(m.seen, w)
	if !m.seeded {
		m.seeded, m.expected = true, w.Mean
		return Verdict{}, false
	}
	v := deviation(w.Mean, m.expected, 1, 1)
	if keep(v) {
		m.expected = w.Mean
	}
	return v, true
}

func (m *lastMean) Clone() Model {
	c := *m
	c.seen = slices.Clone(m.seen)
	return &c
}

// TestModelWindowsAssigns: points go to epoch-aligned windows, a window
// closes when a later one starts or on Flush once complete, non-finite
// values are left out (a window with none is never passed), the model sees
// each window's values and summary, and a window scoring above 1 after the
// filter stays out of the baseline.
func TestModelWindowsAssigns(t *testing.T) {
	const width = 10
	inf := math.Inf(1)
	type point struct {
		t int64
		x float64
	}
	tests := []struct {
		name   string
		points []point
		flush  int64
		filter Filter
		// want: per closed window with a verdict, its end, mean and score.
		want     [][3]float64
		seen     []int64 // ends of the windows the model saw
		accepted int     // points admitted
	}{
		{
			name:   "two windows and a flush",
			points: []point{{1, 1}, {5, 3}, {12, 2}, {19, 4}, {21, 10}},
			flush:  30,
			want:   [][3]float64{{20, 3, 1}, {30, 10, 7}},
			seen:   []int64{10, 20, 30}, accepted: 4,
		},
		{
			name:   "flush before the open window is complete",
			points: []point{{1, 1}, {12, 2}, {21, 10}},
			flush:  29,
			want:   [][3]float64{{20, 2, 1}},
			seen:   []int64{10, 20}, accepted: 2,
		},
		{
			name:   "non-finite values, an all-NaN window and a gap",
			points: []point{{1, 1}, {2, math.NaN()}, {3, inf}, {11, math.NaN()}, {45, 1.5}},
			flush:  50,
			want:   [][3]float64{{50, 1.5, 0.5}},
			seen:   []int64{10, 50}, accepted: 2,
		},
		{
			name:   "an anomalous window stays out of the baseline",
			points: []point{{1, 0}, {11, 5}, {21, 0.5}},
			flush:  30,
			want:   [][3]float64{{20, 5, 5}, {30, 0.5, 0.5}},
			seen:   []int64{10, 20, 30}, accepted: 2,
		},
		{
			name:   "minDeviation lets a small drift in",
			points: []point{{1, 0}, {11, 5}, {21, 5.5}},
			flush:  30, filter: Filter{MinDeviation: 6},
			want: [][3]float64{{20, 5, 0}, {30, 5.5, 0}},
			seen: []int64{10, 20, 30}, accepted: 3,
		},
		{
			name:   "direction above ignores a drop",
			points: []point{{1, 0}, {11, -5}, {21, -5}},
			flush:  30, filter: Filter{Direction: Above},
			want: [][3]float64{{20, -5, 0}, {30, -5, 0}},
			seen: []int64{10, 20, 30}, accepted: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &lastMean{}
			mw := &ModelWindows{Model: m, Filter: tc.filter, Width: width}
			var got [][3]float64
			for _, p := range tc.points {
				if c, ok := mw.Add(p.t, p.x); ok {
					got = append(got, [3]float64{float64(c.End), c.Mean, c.Verdict.Score})
				}
			}
			if c, ok := mw.Flush(tc.flush); ok {
				got = append(got, [3]float64{float64(c.End), c.Mean, c.Verdict.Score})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("windows %v, want %v", got, tc.want)
			}
			var seen []int64
			for _, w := range m.seen {
				seen = append(seen, w.End)
				var s Summary
				for _, x := range w.Values {
					s.Add(x)
				}
				if w.Width != width || s != w.Summary || w.N == 0 {
					t.Errorf("window %d: width %d, values %v for summary %+v", w.End, w.Width, w.Values, w.Summary)
				}
			}
			if !slices.Equal(seen, tc.seen) {
				t.Errorf("the model saw windows ending %v, want %v", seen, tc.seen)
			}
			if mw.Accepted() != tc.accepted {
				t.Errorf("accepted %d points, want %d", mw.Accepted(), tc.accepted)
			}
		})
	}
}

// TestModelWindowsWithoutModel: with no model (Peers) every window with a
// point and a finite mean is returned, summarized, with a zero verdict.
func TestModelWindowsWithoutModel(t *testing.T) {
	mw := &ModelWindows{Width: 10}
	mw.Add(1, 2)
	mw.Add(3, 4)
	c, ok := mw.Add(11, 1)
	if !ok || c.End != 10 || c.N != 2 || c.Mean != 3 || c.M2 != 2 || c.Verdict != (Verdict{}) {
		t.Fatalf("%+v %v", c, ok)
	}
	if c, ok := mw.Window(Window{End: 30, Width: 10, Summary: Summary{N: 3, Mean: 7}}); !ok || c.Mean != 7 {
		t.Fatalf("a whole window: %+v %v", c, ok)
	}
	if _, ok := mw.Window(Window{End: 40, Width: 10}); ok {
		t.Fatal("an empty window was returned")
	}
	if _, ok := mw.Window(Window{End: 50, Width: 10, Summary: Summary{N: 2, Mean: math.Inf(1)}}); ok {
		t.Fatal("a window with an infinite mean (an overflowing store summary) was returned")
	}
}

// TestModelWindowsClone: a clone goes on from the same state and changes
// nothing of the original (its model and its open window).
func TestModelWindowsClone(t *testing.T) {
	orig := &ModelWindows{Model: &lastMean{}, Width: 10}
	orig.Add(1, 1)
	orig.Add(11, 2)
	orig.Add(12, 4)
	c := orig.Clone()
	c.Add(13, 100)
	c.Add(21, 0)
	if w, ok := orig.Flush(20); !ok || w.Mean != 3 || w.Verdict.Score != 2 {
		t.Fatalf("the original's open window changed with its clone: %+v", w)
	}
	if n := len(orig.Model.(*lastMean).seen); n != 2 {
		t.Fatalf("the original's model saw %d windows, want 2", n)
	}
}

// TestModelWindowsTTestIsWindows: TTestModel through ModelWindows gives the
// t-test's Windows (Detector) results bit for bit, and admits the same
// points, over random data with gaps, NaN and windows of one point.
func TestModelWindowsTTestIsWindows(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 1))
	cfg := Config{History: 50, Alpha: 0.01}
	mw := &ModelWindows{Model: NewTTestModel(cfg), Width: 10}
	ref := &Windows{Detector: NewDetector(cfg), Width: 10}
	ts := int64(0)
	compared := 0
	for i := 0; i < 5000; i++ {
		ts += 1 + rng.Int64N(4)
		if rng.IntN(200) == 0 {
			ts += 100 // a gap
		}
		x := 10 + rng.NormFloat64()
		if rng.IntN(300) == 0 {
			x += 20 // anomalies
		}
		if rng.IntN(500) == 0 {
			x = math.NaN()
		}
		c, ok := mw.Add(ts, x)
		r, end, rok := ref.Add(ts, x)
		if ok != rok || ok && (c.End != end || math.Float64bits(c.Verdict.P) != math.Float64bits(r.P) || math.Float64bits(c.Verdict.T) != math.Float64bits(r.T)) {
			t.Fatalf("point %d: model %+v %v, Windows %+v %d %v", i, c, ok, r, end, rok)
		}
		if ok {
			compared++
		}
		if mw.Accepted() != ref.Accepted() {
			t.Fatalf("point %d: %d points admitted, Windows %d", i, mw.Accepted(), ref.Accepted())
		}
	}
	if compared < 100 {
		t.Fatalf("only %d windows compared", compared)
	}
}

// constModel judges every window against 10 with spread 1, keeping no
// state: what the assigner itself costs.
type constModel struct{}

func (constModel) Step(w Window, keep func(Verdict) bool) (Verdict, bool) {
	v := deviation(w.Mean, 10, 1, 3)
	keep(v)
	return v, true
}

func (m *constModel) Clone() Model { return m }

// BenchmarkModelWindows: the cost per point around a model (TTestModel,
// history 3600; constModel, the assigner alone), for point-by-point windows
// (1 point each) and 5-minute windows of 1 Hz points (300 each), against
// the t-test's own Windows.
func BenchmarkModelWindows(b *testing.B) {
	for _, per := range []int64{1, 300} {
		rng := rand.New(rand.NewPCG(23, 6))
		xs := make([]float64, 1<<16)
		for i := range xs {
			xs[i] = 10 + rng.NormFloat64()
		}
		cfg := Config{History: 3600, Alpha: 0.001}
		b.Run("model/"+strconv.FormatInt(per, 10), func(b *testing.B) {
			mw := &ModelWindows{Model: NewTTestModel(cfg), Width: per}
			for i := 0; b.Loop(); i++ {
				mw.Add(int64(i), xs[i&(len(xs)-1)])
			}
		})
		b.Run("assigner/"+strconv.FormatInt(per, 10), func(b *testing.B) {
			mw := &ModelWindows{Model: &constModel{}, Width: per}
			for i := 0; b.Loop(); i++ {
				mw.Add(int64(i), xs[i&(len(xs)-1)])
			}
		})
		b.Run("windows/"+strconv.FormatInt(per, 10), func(b *testing.B) {
			w := &Windows{Detector: NewDetector(cfg), Width: per}
			for i := 0; b.Loop(); i++ {
				w.Add(int64(i), xs[i&(len(xs)-1)])
			}
		})
	}
}
