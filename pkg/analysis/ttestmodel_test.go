package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis/analysistest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

// keepAll admits every verdict: the model's own rule (p > alpha) decides.
func keepAll(Verdict) bool { return true }

// pointsWindow is a points-mode window of values (summary by Welford's
// update, as a reader builds it).
func pointsWindow(end int64, values ...float64) Window {
	w := Window{End: end, Width: 1, Values: values}
	for _, x := range values {
		w.Add(x)
	}
	return w
}

// summaryWindow is the same window as the windows read mode gives it: the
// summary only.
func summaryWindow(end int64, values ...float64) Window {
	w := pointsWindow(end, values...)
	w.Values = nil
	return w
}

// printerWindows cuts one field of the reference day into its complete
// windows, in the points read mode (the last window, which the data ends
// inside, is left out as the reference leaves it out).
func printerWindows(pts []datagen.PrinterPoint, field int, width int64) []Window {
	var out []Window
	var cur Window
	for _, p := range pts {
		t := p.Time.UnixNano()
		if cur.N > 0 && !WindowHolds(cur.End-width, cur.End, t) {
			out = append(out, cur)
			cur = Window{}
		}
		if cur.N == 0 {
			cur = Window{End: WindowEnd(t, width), Width: width}
		}
		cur.Values = append(cur.Values, p.Values[field])
		cur.Add(p.Values[field])
	}
	return out
}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// TestTTestModelMatchesDetectorsOnReferenceDay replays the scipy reference
// day through the model in both read modes, with no filters, and requires
// p and t bit for bit equal to Detector's (points) and WindowDetector's
// (windows), the same windows judged, and the score, band and expected value
// consistent with p.
func TestTTestModelMatchesDetectorsOnReferenceDay(t *testing.T) {
	ref := analysistest.LoadReference(t, analysistest.ReferencePath())
	pts := analysistest.ReferencePrinter(t, ref)
	cfg := Config{History: ref.History, Alpha: ref.Alpha}
	width := ref.WindowSeconds * int64(time.Second)
	for fi, field := range datagen.PrinterFields {
		windows := printerWindows(pts, fi, width)
		want := ref.Fields[field]
		for _, mode := range []string{"points", "windows"} {
			m := NewTTestModel(cfg)
			det, wdet := NewDetector(cfg), NewWindowDetector(cfg)
			judged := 0
			for i, w := range windows {
				var r Result
				var ok bool
				if mode == "points" {
					for _, x := range w.Values {
						det.Observe(x)
					}
					r, ok = det.CloseWindow()
				} else {
					w.Values = nil
					r, ok = wdet.Window(w.Summary)
				}
				h := m.(*TTestModel).history()
				v, vok := Step(m, Filter{}, w)
				if vok != ok {
					t.Fatalf("%s %s window %d: model ok=%v, detector ok=%v", field, mode, i, vok, ok)
				}
				if !ok {
					continue
				}
				if !sameFloat(v.P, r.P) || !sameFloat(v.T, r.T) {
					t.Fatalf("%s %s window %d: model p=%v t=%v, detector p=%v t=%v", field, mode, i, v.P, v.T, r.P, r.T)
				}
				if v.Expected != h.Mean || v.Anomalous() != r.Anomalous(cfg.Alpha) {
					t.Fatalf("%s %s window %d: %+v against history mean %v, detector %+v", field, mode, i, v, h.Mean, r)
				}
				// The band's edge is where p reaches alpha.
				_, pEdge := Welch(h.Mean, h.StdDev(), h.N, v.Upper, w.StdDev(), w.N)
				if e := RelErr(pEdge, cfg.Alpha); e > relTol {
					t.Fatalf("%s %s window %d: p at the band's upper edge %v = %v, want alpha (rel err %.3g)", field, mode, i, v.Upper, pEdge, e)
				}
				if mode == "points" {
					rw := want[judged]
					if rw.End != w.End/int64(time.Second) || TErr(v.T, rw.T) > relTol || PErr(v.P, rw.P) > relTol {
						t.Fatalf("%s window %d: model %+v, scipy %+v", field, i, v, rw)
					}
				}
				judged++
			}
			if mode == "points" && judged != len(want) {
				t.Fatalf("%s: %d windows judged, scipy %d", field, judged, len(want))
			}
			n := det.HistoryN()
			if mode == "windows" {
				n = wdet.HistoryN()
			}
			if got := m.(*TTestModel).history().N; got != n {
				t.Fatalf("%s %s: history of %d points, detector %d", field, mode, got, n)
			}
		}
	}
}

// history is the summary of whichever history the model uses.
func (m *TTestModel) history() Summary {
	switch {
	case m.points != nil:
		return m.points.Summary
	case m.wins != nil:
		return m.wins.total
	}
	return Summary{}
}

type bandReference struct {
	Cases []struct {
		Mean1, Std1 float64
		N1          int
		Std2        float64
		N2          int
		Alpha       float64
		Q, Half     float64
		Lower       float64
		Upper       float64
		PAtEdges    []float64 `json:"p_at_edges"`
		EdgeTol     float64   `json:"edge_tol"`
	}
}

// TestWelchBandAgainstScipy compares the band's half-width with scipy's
// t.isf(alpha/2, df)·√v (polished to machine precision) to 1e-9, and checks
// that a window mean at either edge gives Welch's p = alpha to 1e-9 (or the
// reference's edge_tol where rounding the edge to a double moves p more).
func TestWelchBandAgainstScipy(t *testing.T) {
	var ref bandReference
	loadReference(t, "reference_band.json", &ref)
	if len(ref.Cases) < 100 {
		t.Fatalf("%d cases", len(ref.Cases))
	}
	worst := 0.0
	for _, c := range ref.Cases {
		half := welchHalfWidth(c.Std1, c.N1, c.Std2, c.N2, c.Alpha)
		e := RelErr(half, c.Half)
		worst = math.Max(worst, e)
		if e > relTol {
			t.Errorf("%+v: half-width %v, scipy %v (rel err %.3g)", c, half, c.Half, e)
		}
		if half == 0 {
			continue
		}
		for _, x := range []float64{c.Mean1 - half, c.Mean1 + half} {
			_, p := Welch(c.Mean1, c.Std1, c.N1, x, c.Std2, c.N2)
			if e := RelErr(p, c.Alpha); e > math.Max(relTol, c.EdgeTol) {
				t.Errorf("%+v: p at the edge %v = %v, want alpha (rel err %.3g)", c, x, p, e)
			}
		}
	}
	t.Logf("worst relative error of the half-width against scipy over %d cases: %.3g", len(ref.Cases), worst)
}

func TestTTestScore(t *testing.T) {
	for _, c := range []struct {
		p, alpha, want float64
	}{
		{0.001, 0.001, 1},
		{1, 0.001, 0},
		{1 + 1e-15, 0.001, 0}, // rounding above 1: never negative
		{0, 0.001, math.Inf(1)},
		{1e-6, 0.001, 2},
		{0.01, 0.001, 2.0 / 3},
		{0.05, 0.05, 1},
		{math.NaN(), 0.001, math.NaN()},
		{1e-300, 0.001, 100},
	} {
		if got := TTestScore(c.p, c.alpha); RelErr(got, c.want) > 1e-12 {
			t.Errorf("TTestScore(%v, %v) = %v, want %v", c.p, c.alpha, got, c.want)
		}
	}
}

// TestTTestModelRules checks the rules in both read modes.
func TestTTestModelRules(t *testing.T) {
	cfg := Config{History: 6, Alpha: 0.01}
	modes := map[string]func(int64, ...float64) Window{"points": pointsWindow, "windows": summaryWindow}
	for name, win := range modes {
		t.Run(name, func(t *testing.T) {
			t.Run("the first window only seeds", func(t *testing.T) {
				m := NewTTestModel(cfg)
				if _, ok := m.Step(win(1, 1, 2, 3), keepAll); ok {
					t.Fatal("the seeding window was judged")
				}
				if n := m.(*TTestModel).history().N; n != 3 {
					t.Fatalf("history %d", n)
				}
			})
			t.Run("anomalous windows stay out", func(t *testing.T) {
				m := NewTTestModel(cfg)
				m.Step(win(1, 10, 10.1, 9.9, 10.05, 9.95), keepAll)
				v, ok := m.Step(win(2, 50, 50.1, 49.9), keepAll)
				if !ok || !v.Anomalous() || v.P >= cfg.Alpha || m.(*TTestModel).history().N != 5 {
					t.Fatalf("%+v ok=%v history %d", v, ok, m.(*TTestModel).history().N)
				}
				if v.Expected != 10 || !(v.Lower < 10 && 10 < v.Upper) || v.Upper >= 50 {
					t.Fatalf("expected and band: %+v", v)
				}
				// Points keep the last 6 points; windows keep whole windows,
				// and the 5-point seed leaves to make room.
				want := map[string]int{"points": 6, "windows": 2}[name]
				v, _ = m.Step(win(3, 10.02, 9.98), keepAll)
				if v.Anomalous() || m.(*TTestModel).history().N != want {
					t.Fatalf("normal window after the anomaly: %+v history %d", v, m.(*TTestModel).history().N)
				}
			})
			t.Run("keep can refuse a normal window", func(t *testing.T) {
				m := NewTTestModel(cfg)
				m.Step(win(1, 10, 10.1, 9.9), keepAll)
				calls := 0
				v, ok := m.Step(win(2, 10.05, 9.95), func(Verdict) bool { calls++; return false })
				if !ok || v.Anomalous() || calls != 1 || m.(*TTestModel).history().N != 3 {
					t.Fatalf("%+v ok=%v calls=%d history %d", v, ok, calls, m.(*TTestModel).history().N)
				}
			})
			t.Run("a filter hiding an anomaly does not let it in", func(t *testing.T) {
				m := NewTTestModel(cfg)
				m.Step(win(1, 10, 10.1, 9.9, 10.05, 9.95), keepAll)
				v, ok := Step(m, Filter{Direction: Above}, win(2, 1, 1.1, 0.9))
				if !ok || v.Score != 0 || v.P >= cfg.Alpha || m.(*TTestModel).history().N != 5 {
					t.Fatalf("%+v ok=%v history %d", v, ok, m.(*TTestModel).history().N)
				}
			})
			t.Run("constant and equal: NaN p, no verdict, stays out", func(t *testing.T) {
				m := NewTTestModel(cfg)
				m.Step(win(1, 5, 5, 5), keepAll)
				v, ok := m.Step(win(2, 5, 5), keepAll)
				if !ok || !math.IsNaN(v.P) || !math.IsNaN(v.Score) || v.Anomalous() || m.(*TTestModel).history().N != 3 {
					t.Fatalf("%+v ok=%v history %d", v, ok, m.(*TTestModel).history().N)
				}
				if v.Lower != 5 || v.Upper != 5 {
					t.Fatalf("a band around a constant: %+v", v)
				}
				v, _ = m.Step(win(3, 6, 6), keepAll)
				if !math.IsInf(v.Score, 1) || v.P != 0 {
					t.Fatalf("constant and different: %+v", v)
				}
			})
			t.Run("n = 1 windows", func(t *testing.T) {
				// Against a history with variance: judged, Welch's df = 1.
				m := NewTTestModel(cfg)
				m.Step(win(1, 1, 2), keepAll)
				v, ok := m.Step(win(2, 1.5), keepAll)
				if !ok || v.P != 1 || v.Score != 0 || m.(*TTestModel).history().N != 3 {
					t.Fatalf("%+v ok=%v history %d", v, ok, m.(*TTestModel).history().N)
				}
				v, _ = m.Step(win(3, 40), keepAll)
				if wantQ := 63.65674116287399; RelErr(v.Upper-v.Expected, wantQ*math.Sqrt(0.25/3)) > 1e-12 || v.Anomalous() == (40 <= v.Upper) {
					t.Fatalf("df = 1 band: %+v", v)
				}
				// The reference's deadlock, kept: a one-point seed against
				// one-point windows has no variance at all, so every
				// different mean is p = 0 and stays out.
				m = NewTTestModel(cfg)
				m.Step(win(1, 1), keepAll)
				for i := int64(2); i < 5; i++ {
					v, ok = m.Step(win(i, 1.5), keepAll)
					if !ok || v.P != 0 || !math.IsInf(v.Score, 1) || m.(*TTestModel).history().N != 1 {
						t.Fatalf("%+v ok=%v history %d", v, ok, m.(*TTestModel).history().N)
					}
				}
			})
			t.Run("clone independence", func(t *testing.T) {
				m := NewTTestModel(cfg)
				m.Step(win(1, 1, 2, 3), keepAll)
				c := m.Clone()
				fresh := m.Clone()
				for i := int64(2); i < 10; i++ {
					c.Step(win(i, 2, 2.5, 1.5+float64(i)/10), keepAll)
				}
				next := win(10, 2.1, 2.2)
				a, _ := m.Step(next, keepAll)
				b, _ := fresh.Step(next, keepAll)
				if !sameFloat(a.P, b.P) || a.Expected != b.Expected || m.(*TTestModel).history() != fresh.(*TTestModel).history() {
					t.Fatalf("stepping a clone changed the original: %+v vs %+v", a, b)
				}
				if c.(*TTestModel).history() == m.(*TTestModel).history() {
					t.Fatal("the clone did not move")
				}
			})
		})
	}
}

// TestTTestModelBoundedMemory runs a long random run through both modes and
// checks the histories stay within History.
func TestTTestModelBoundedMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 1))
	cfg := Config{History: 50, Alpha: 0.001}
	pm, wm := NewTTestModel(cfg).(*TTestModel), NewTTestModel(cfg).(*TTestModel)
	for i := range int64(20000) {
		vals := make([]float64, 1+rng.IntN(7))
		for j := range vals {
			vals[j] = 1e6 + rng.NormFloat64()
		}
		pm.Step(pointsWindow(i, vals...), keepAll)
		wm.Step(summaryWindow(i, vals...), keepAll)
	}
	if pm.points.N != cfg.History || cap(pm.points.ring) > cfg.History {
		t.Fatalf("points history %d, ring %d", pm.points.N, cap(pm.points.ring))
	}
	if wm.wins.total.N > cfg.History || len(wm.wins.windows) > cfg.History || cap(wm.wins.windows) > 2*cfg.History {
		t.Fatalf("windows history %d points in %d windows (cap %d)", wm.wins.total.N, len(wm.wins.windows), cap(wm.wins.windows))
	}
	if pm.wins != nil || wm.points != nil {
		t.Fatal("a mode never used holds a history")
	}
}

// BenchmarkTTestModelStep: one 5-minute window of 1 Hz points against a
// 3600-point history, per window, in each read mode.
func BenchmarkTTestModelStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	windows := make([]Window, 64)
	for i := range windows {
		vals := make([]float64, 300)
		for j := range vals {
			vals[j] = 220 + 0.5*rng.NormFloat64()
		}
		windows[i] = pointsWindow(int64(i), vals...)
	}
	cfg := Config{History: 3600, Alpha: 0.001}
	for _, mode := range []string{"points", "windows"} {
		b.Run(mode, func(b *testing.B) {
			m := NewTTestModel(cfg)
			for i := 0; i < b.N; i++ {
				w := windows[i%len(windows)]
				if mode == "windows" {
					w.Values = nil
				}
				Step(m, Filter{}, w)
			}
		})
	}
}
