package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMovingStatsMatchesRecomputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, size := range []int{2, 3, 10, 3600} {
		m := NewMovingStats(size)
		var all []float64
		for i := 0; i < 5*size+17; i++ {
			x := 220 + 3*rng.NormFloat64()
			m.Add(x)
			all = append(all, x)
			last := all[max(0, len(all)-size):]
			var want Summary
			for _, v := range last {
				want.Add(v)
			}
			if m.N != want.N || RelErr(m.Mean, want.Mean) > 1e-12 || RelErr(m.StdDev(), want.StdDev()) > 1e-9 {
				t.Fatalf("size %d step %d: got n=%d mean=%v sd=%v, want n=%d mean=%v sd=%v",
					size, i, m.N, m.Mean, m.StdDev(), want.N, want.Mean, want.StdDev())
			}
		}
	}
}

func TestSummaryEdgeCases(t *testing.T) {
	var s Summary
	if s.StdDev() != 0 {
		t.Fatal("empty")
	}
	s.Add(5)
	if s.StdDev() != 0 || s.Mean != 5 {
		t.Fatalf("n=1: %+v", s)
	}
	s.Add(5)
	if s.StdDev() != 0 {
		t.Fatal("zero variance")
	}
	s.Remove(5)
	s.Remove(5)
	if s != (Summary{}) {
		t.Fatalf("removing everything leaves %+v", s)
	}
	a, b := Summary{}, Summary{}
	for _, x := range []float64{1, 2, 3} {
		a.Add(x)
	}
	for _, x := range []float64{10, 20} {
		b.Add(x)
	}
	var all Summary
	for _, x := range []float64{1, 2, 3, 10, 20} {
		all.Add(x)
	}
	c := Combine(a, b)
	if c.N != 5 || RelErr(c.Mean, all.Mean) > 1e-15 || RelErr(c.M2, all.M2) > 1e-14 {
		t.Fatalf("Combine = %+v, want %+v", c, all)
	}
	if Combine(Summary{}, b) != b || Combine(a, Summary{}) != a {
		t.Fatal("combining with an empty summary")
	}
}

// window runs one window of values through d.
func window(d *Detector, values ...float64) (Result, bool) {
	for _, v := range values {
		d.Observe(v)
	}
	return d.CloseWindow()
}

func TestDetectorRules(t *testing.T) {
	cfg := Config{History: 6, Alpha: 0.01}

	t.Run("the first window only seeds the history", func(t *testing.T) {
		d := NewDetector(cfg)
		if _, ok := window(d, 1, 2, 3); ok {
			t.Fatal("the seeding window emitted")
		}
		if d.HistoryN() != 3 {
			t.Fatalf("history %d", d.HistoryN())
		}
	})

	t.Run("empty windows are skipped", func(t *testing.T) {
		d := NewDetector(cfg)
		if _, ok := window(d); ok || d.HistoryN() != 0 {
			t.Fatal("an empty window counted")
		}
		window(d, 1, 2, 3)
		if _, ok := window(d); ok || d.HistoryN() != 3 {
			t.Fatal("an empty window counted")
		}
	})

	t.Run("NaN and infinite values are ignored", func(t *testing.T) {
		d := NewDetector(cfg)
		window(d, 1, math.NaN(), 2, math.Inf(1), 3)
		r, ok := window(d, math.NaN(), 2, 2.5, 1.5)
		if !ok || d.HistoryN() != 6 || r.N != 3 || math.IsNaN(r.P) {
			t.Fatalf("got %+v ok=%v history=%d", r, ok, d.HistoryN())
		}
	})

	t.Run("anomalous windows never enter the history", func(t *testing.T) {
		d := NewDetector(cfg)
		window(d, 10, 10.1, 9.9, 10.05, 9.95)
		r, ok := window(d, 50, 50.1, 49.9)
		if !ok || !r.Anomalous(cfg.Alpha) || d.HistoryN() != 5 {
			t.Fatalf("got %+v ok=%v history=%d", r, ok, d.HistoryN())
		}
		r, ok = window(d, 10.02, 9.98)
		if !ok || r.Anomalous(cfg.Alpha) || d.HistoryN() != 6 {
			t.Fatalf("normal window after an anomaly: %+v history=%d", r, d.HistoryN())
		}
	})

	t.Run("a window of one point", func(t *testing.T) {
		d := NewDetector(cfg)
		window(d, 1, 2, 3, 4)
		r, ok := window(d, 3.5)
		// scipy.stats.ttest_ind_from_stats(2.5, sqrt(5/3), 4, 3.5, 0, 1, equal_var=False), scipy 1.10.1
		wantT, wantP := -1.5491933384829668, 0.3649125601601306
		if !ok || r.N != 1 || RelErr(r.T, wantT) > 1e-12 || RelErr(r.P, wantP) > 1e-12 {
			t.Fatalf("got %+v, want t=%v p=%v", r, wantT, wantP)
		}
	})

	t.Run("zero variance on both sides with equal means gives NaN and stays out", func(t *testing.T) {
		d := NewDetector(cfg)
		window(d, 5, 5, 5)
		r, ok := window(d, 5, 5)
		if !ok || !math.IsNaN(r.P) || !math.IsNaN(r.T) || r.Anomalous(cfg.Alpha) || d.HistoryN() != 3 {
			t.Fatalf("got %+v history=%d", r, d.HistoryN())
		}
		r, _ = window(d, 6, 6)
		if !math.IsInf(r.T, -1) || r.P != 0 || !r.Anomalous(cfg.Alpha) {
			t.Fatalf("different constant means: %+v", r)
		}
	})

	t.Run("the history keeps the last History points", func(t *testing.T) {
		d := NewDetector(Config{History: 4, Alpha: 1e-300})
		window(d, 1, 2, 3)
		window(d, 2, 3, 4)
		if d.HistoryN() != 4 || d.history.Mean != 3 { // 3, 2, 3, 4
			t.Fatalf("history n=%d mean=%v", d.HistoryN(), d.history.Mean)
		}
	})
}

func TestWindowsAlignment(t *testing.T) {
	const w = 10
	win := Windows{Detector: NewDetector(Config{History: 100, Alpha: 0.001}), Width: w}
	var ends []int64
	add := func(ts int64, x float64) {
		if _, end, ok := win.Add(ts, x); ok {
			ends = append(ends, end)
		}
	}
	// Window [-10, 0) seeds; [0,10) and [20,30) are tested; [10,20) is empty.
	for _, ts := range []int64{-7, -1, 0, 5, 9, 21, 29} {
		add(ts, float64(ts%3))
	}
	if _, _, ok := win.Flush(29); ok {
		t.Fatal("flushed the incomplete window [20, 30) at 29")
	}
	if _, end, ok := win.Flush(30); !ok || end != 30 {
		t.Fatalf("flush at 30: end %d ok %v", end, ok)
	}
	if len(ends) != 1 || ends[0] != 10 {
		t.Fatalf("emitted window ends %v, want [10]", ends)
	}
	if WindowStart(-1, 10) != -10 || WindowStart(-10, 10) != -10 || WindowStart(9, 10) != 0 {
		t.Fatal("WindowStart")
	}
}

// TestWindowDetectorMatchesPointDetector: with equal window counts and a
// History that is a whole number of windows, both paths agree to 1e-9: p
// relative; t relative, or absolute when |t| < 1, because t = Δmean/se is
// ill-conditioned near 0 (the two paths round the history mean differently,
// by ~1e-14 of 220, which is 1e-8 of a Δmean of 1e-4); p relative, or ln p
// relative below 1e-30, where p's own conditioning (d ln p/d t ≈ -t)
// multiplies the same rounding by t² (see PErr).
func TestWindowDetectorMatchesPointDetector(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := Config{History: 3600, Alpha: 0.001}
	pd, wd := NewDetector(cfg), NewWindowDetector(cfg)
	compared := 0
	for k := 0; k < 600; k++ {
		shift := 0.0
		if k%97 == 50 {
			shift = 2 // an anomaly now and then
		}
		var s Summary
		for i := 0; i < 300; i++ {
			x := 220 + shift + 0.5*rng.NormFloat64()
			pd.Observe(x)
			s.Add(x)
		}
		rp, okp := pd.CloseWindow()
		rw, okw := wd.Window(s)
		if okp != okw || TErr(rw.T, rp.T) > relTol || PErr(rw.P, rp.P) > relTol || pd.HistoryN() != wd.HistoryN() {
			t.Fatalf("window %d: points %+v (%v), windows %+v (%v), history %d vs %d", k, rp, okp, rw, okw, pd.HistoryN(), wd.HistoryN())
		}
		if okp {
			compared++
		}
	}
	if compared != 599 {
		t.Fatalf("compared %d windows", compared)
	}
}

func TestWindowDetectorUnequalWindows(t *testing.T) {
	d := NewWindowDetector(Config{History: 10, Alpha: 1e-300})
	mk := func(n int) Summary {
		var s Summary
		for i := 0; i < n; i++ {
			s.Add(float64(i % 3))
		}
		return s
	}
	for _, n := range []int{4, 4, 4} {
		d.Window(mk(n))
	}
	if d.HistoryN() != 8 { // 4+4+4 > 10: the oldest window leaves
		t.Fatalf("history %d, want 8", d.HistoryN())
	}
	d.Window(mk(25))
	if d.HistoryN() != 25 { // one window larger than History stays alone
		t.Fatalf("history %d, want 25", d.HistoryN())
	}
	if _, ok := d.Window(Summary{}); ok {
		t.Fatal("an empty window emitted")
	}
}
