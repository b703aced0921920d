package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

type hwRefCase struct {
	Name        string          `json:"name"`
	Period      int             `json:"period"`
	Alpha       float64         `json:"alpha"`
	Beta        float64         `json:"beta"`
	Gamma       float64         `json:"gamma"`
	Threshold   float64         `json:"threshold"`
	Windows     []seasRefWindow `json:"windows"`
	Out         []seasRefOut    `json:"out"`
	Statsmodels []*string       `json:"statsmodels"`
}

type hwRef struct {
	Cases []hwRefCase `json:"cases"`
	Fits  []struct {
		Name         string     `json:"name"`
		Period       int        `json:"period"`
		Means        []string   `json:"means"`
		SMParams     [3]float64 `json:"statsmodels_params"`
		StatsmodelsS string     `json:"statsmodels_sse"`
	} `json:"fits"`
}

func loadHWRef(t *testing.T) hwRef {
	var ref hwRef
	loadReference(t, "reference_holtwinters.json", &ref)
	if len(ref.Cases) < 7 || len(ref.Fits) < 3 {
		t.Fatalf("%d cases and %d fits in the reference", len(ref.Cases), len(ref.Fits))
	}
	return ref
}

// TestHoltWintersAgainstNumpy replays reference_holtwinters.py's cases
// (gaps inside and after the warm-up, spikes kept out, a constant warm-up,
// values near 1e300, a long run before the epoch, n = 1 windows) and
// compares every window's expected value, band and score with the numpy
// recursion at 1e-9.
func TestHoltWintersAgainstNumpy(t *testing.T) {
	for _, c := range loadHWRef(t).Cases {
		t.Run(c.Name, func(t *testing.T) {
			m := NewHoltWinters(c.Period, c.Alpha, c.Beta, c.Gamma, c.Threshold)
			seasReplay(t, m, c.Windows, c.Out)
		})
	}
}

// TestHoltWintersAgainstStatsmodels: on the series without gaps or
// anomalies, the expected values are statsmodels' fittedvalues (one-step
// forecasts of ExponentialSmoothing with the same start values and
// parameters) to 1e-9.
func TestHoltWintersAgainstStatsmodels(t *testing.T) {
	n := 0
	for _, c := range loadHWRef(t).Cases {
		if c.Statsmodels == nil {
			continue
		}
		n++
		m := NewHoltWinters(c.Period, c.Alpha, c.Beta, c.Gamma, c.Threshold)
		worst, compared := 0.0, 0
		for i, rw := range c.Windows {
			v, ok := m.Step(rw.window(t), seasNormal)
			want := c.Statsmodels[i]
			if ok != (want != nil) {
				t.Fatalf("%s window %d: ok %v, statsmodels %v", c.Name, i, ok, want)
			}
			if !ok {
				continue
			}
			e := RelErr(v.Expected, parseFloat(t, *want))
			worst = math.Max(worst, e)
			compared++
			if e > 1e-9 {
				t.Fatalf("%s window %d: expected %v, statsmodels %v (error %.3g)", c.Name, i, v.Expected, *want, e)
			}
		}
		t.Logf("%s: %d forecasts, worst relative error %.3g", c.Name, compared, worst)
	}
	if n < 2 {
		t.Fatalf("%d statsmodels cases", n)
	}
}

// TestFitHoltWintersAgainstStatsmodels: FitHoltWinters' parameters give a
// sum of squared one-step errors (over the windows after the first season)
// no larger than statsmodels' optimizer's parameters do, to 1e-6 relative
// (statsmodels minimizes with L-BFGS-B from its own start; its optimum
// measured on this criterion by the numpy recursion).
func TestFitHoltWintersAgainstStatsmodels(t *testing.T) {
	for _, f := range loadHWRef(t).Fits {
		ys := make([]float64, len(f.Means))
		for i, s := range f.Means {
			ys[i] = parseFloat(t, s)
		}
		a, b, g := FitHoltWinters(ys, f.Period)
		got := hwSSE(ys, f.Period, a, b, g, make([]float64, f.Period))
		sm := parseFloat(t, f.StatsmodelsS)
		smGo := hwSSE(ys, f.Period, f.SMParams[0], f.SMParams[1], f.SMParams[2], make([]float64, f.Period))
		if RelErr(smGo, sm) > 1e-9 {
			t.Errorf("%s: hwSSE at statsmodels' parameters %v, numpy %v", f.Name, smGo, sm)
		}
		if got > sm*(1+1e-6) {
			t.Errorf("%s: fit (%v, %v, %v) SSE %v, statsmodels' %v SSE %v", f.Name, a, b, g, got, f.SMParams, sm)
		}
		t.Logf("%s: fit (%.3f, %.3f, %.3f) SSE %.6g; statsmodels (%.3g, %.3g, %.3g) SSE %.6g",
			f.Name, a, b, g, got, f.SMParams[0], f.SMParams[1], f.SMParams[2], sm)
	}
}

// hwSimulate is n windows of the additive Holt–Winters model's own
// innovations form with parameters (a, b, g), m per season, noise sd.
func hwSimulate(n, m int, a, b, g, sd float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 9))
	l, tr := 10.0, 0.02
	s := make([]float64, m)
	for i := range s {
		s[i] = 3 * math.Sin(2*math.Pi*float64(i)/float64(m))
	}
	ys := make([]float64, n)
	for i := range ys {
		p := i % m
		e := sd * r.NormFloat64()
		ys[i] = l + tr + s[p] + e
		lp := l
		l = a*(ys[i]-s[p]) + (1-a)*(l+tr)
		s[p] = g*(ys[i]-lp-tr) + (1-g)*s[p]
		tr = b*(l-lp) + (1-b)*tr
	}
	return ys
}

// TestFitHoltWintersFindsTheMinimum: on series simulated from the model,
// the fit's SSE is at most the SSE at the true parameters (the grid's last
// step, 0.004, is fine enough), and at least as low as every coarse grid
// point's.
func TestFitHoltWintersFindsTheMinimum(t *testing.T) {
	for _, c := range []struct {
		m       int
		a, b, g float64
	}{
		{24, 0.3, 0.05, 0.2},
		{12, 0.7, 0.1, 0.5},
		{7, 0.15, 0.3, 0.05},
	} {
		ys := hwSimulate(c.m*6, c.m, c.a, c.b, c.g, 0.5, uint64(c.m))
		a, b, g := FitHoltWinters(ys, c.m)
		s := make([]float64, c.m)
		fit, truth := hwSSE(ys, c.m, a, b, g, s), hwSSE(ys, c.m, c.a, c.b, c.g, s)
		if fit > truth*(1+1e-3) {
			t.Errorf("m %d: fit (%v, %v, %v) SSE %v, true (%v, %v, %v) SSE %v", c.m, a, b, g, fit, c.a, c.b, c.g, truth)
		}
		for _, x := range []float64{0.05, 0.45, 0.95} {
			if sse := hwSSE(ys, c.m, x, x, x, s); sse < fit {
				t.Errorf("m %d: (%v, %v, %v) beats the fit: %v < %v", c.m, x, x, x, sse, fit)
			}
		}
		t.Logf("m %d: true (%v, %v, %v) SSE %.5g, fit (%.3f, %.3f, %.3f) SSE %.5g", c.m, c.a, c.b, c.g, truth, a, b, g, fit)
	}
	if a, b, g := FitHoltWinters([]float64{1, 2, 3}, 2); a != 0.5 || b != 0.1 || g != 0.1 {
		t.Errorf("too short: %v %v %v", a, b, g)
	}
	if a, b, g := FitHoltWinters(make([]float64, 10), 2); a != 0.5 || b != 0.1 || g != 0.1 {
		t.Errorf("all zero: %v %v %v", a, b, g)
	}
}

func hourly(i int64, x float64) Window {
	return Window{End: (i + 1) * int64(time.Hour), Width: int64(time.Hour), Summary: Summary{N: 1, Mean: x}}
}

// TestHoltWintersWarmUp: windows seed until 2m consecutive ones (3m when
// fitting) have been seen; a gap restarts the warm-up; a fitted model's
// parameters are FitHoltWinters' on its warm-up.
func TestHoltWintersWarmUp(t *testing.T) {
	const m = 6
	ys := hwSimulate(60, m, 0.3, 0.1, 0.2, 0.3, 1)
	for _, c := range []struct {
		name      string
		fit       bool
		skip      []int64 // window indices missing
		firstJudg int64
	}{
		{"given parameters", false, nil, 2 * m},
		{"fitted parameters", true, nil, 3 * m},
		{"gap in the warm-up", false, []int64{5}, 6 + 2*m},
		{"two gaps in the warm-up", false, []int64{3, 11}, 12 + 2*m},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := 0.3
			if c.fit {
				a = math.NaN()
			}
			h := NewHoltWinters(m, a, a*0.3, a*0.6, 3).(*HoltWinters)
			first := int64(-1)
		next:
			for i := int64(0); i < int64(len(ys)); i++ {
				for _, s := range c.skip {
					if i == s {
						continue next
					}
				}
				if _, ok := h.Step(hourly(i, ys[i]), func(Verdict) bool { return true }); ok && first < 0 {
					first = i
				}
			}
			if first != c.firstJudg {
				t.Fatalf("first judged window %d, want %d", first, c.firstJudg)
			}
			if c.fit {
				a, b, g, ok := h.Params()
				wa, wb, wg := FitHoltWinters(ys[:3*m], m)
				if !ok || a != wa || b != wb || g != wg {
					t.Fatalf("params (%v, %v, %v, %v), FitHoltWinters (%v, %v, %v)", a, b, g, ok, wa, wb, wg)
				}
			}
		})
	}
}

// TestHoltWintersNotKept: a window that is not kept (a spike, or one a
// filter refuses) advances the level by the trend and leaves trend, season
// and spread as they were; a gap of h windows leaves the same state as h
// windows not kept.
func TestHoltWintersNotKept(t *testing.T) {
	const m = 24
	ys := hwSimulate(m*6, m, 0.3, 0.05, 0.2, 0.5, 2)
	warm := func() *HoltWinters {
		h := NewHoltWinters(m, 0.3, 0.05, 0.2, 3).(*HoltWinters)
		for i := range int64(m * 4) {
			h.Step(hourly(i, ys[i]), seasNormal)
		}
		return h
	}
	for _, c := range []struct {
		name string
		x    float64
		keep func(Verdict) bool
	}{
		{"spike", ys[m*4] + 100, seasNormal},
		{"normal window refused by a filter", ys[m*4], func(Verdict) bool { return false }},
	} {
		h := warm()
		before := h.Clone().(*HoltWinters)
		v, ok := h.Step(hourly(m*4, c.x), c.keep)
		if !ok || v.Expected != before.level+before.trend+before.season[h.position(m*4)] {
			t.Fatalf("%s: %+v %v", c.name, v, ok)
		}
		if h.level != before.level+before.trend || h.trend != before.trend || h.sigma != before.sigma || !seasSameFloats(h.season, before.season) {
			t.Fatalf("%s: state changed: level %v trend %v sigma %v, was %v %v %v", c.name, h.level, h.trend, h.sigma, before.level, before.trend, before.sigma)
		}
	}
	// A gap of 5 windows against 5 refused windows: the next verdict agrees.
	gap, refused := warm(), warm()
	for i := range int64(5) {
		refused.Step(hourly(m*4+i, ys[m*4+i]), func(Verdict) bool { return false })
	}
	vg, _ := gap.Step(hourly(m*4+5, ys[m*4+5]), seasNormal)
	vr, _ := refused.Step(hourly(m*4+5, ys[m*4+5]), seasNormal)
	if RelErr(vg.Expected, vr.Expected) > 1e-12 || RelErr(vg.Score, vr.Score) > 1e-12 {
		t.Fatalf("after a gap %+v, after refused windows %+v", vg, vr)
	}
	// Out of order: not judged, nothing changes.
	before := gap.Clone().(*HoltWinters)
	if _, ok := gap.Step(hourly(m*4, 1e9), seasNormal); ok || gap.level != before.level || gap.last != before.last {
		t.Fatalf("an out-of-order window changed the state")
	}
}

// TestHoltWintersCloneIndependent: stepping a clone (spikes kept) leaves the
// original's verdicts those of an untouched copy.
func TestHoltWintersCloneIndependent(t *testing.T) {
	const m = 24
	ys := hwSimulate(m*8, m, 0.3, 0.05, 0.2, 0.5, 3)
	for _, fit := range []bool{false, true} {
		a := 0.3
		if fit {
			a = math.NaN()
		}
		for _, split := range []int{m, m * 5} { // mid warm-up, then running
			orig, ref := NewHoltWinters(m, a, a/6, a*2/3, 3), NewHoltWinters(m, a, a/6, a*2/3, 3)
			for i := range split {
				orig.Step(hourly(int64(i), ys[i]), seasNormal)
				ref.Step(hourly(int64(i), ys[i]), seasNormal)
			}
			c := orig.Clone()
			for i := split; i < len(ys); i++ {
				c.Step(hourly(int64(i), ys[i]+50), func(Verdict) bool { return true })
			}
			for i := split; i < len(ys); i++ {
				vo, oko := orig.Step(hourly(int64(i), ys[i]), seasNormal)
				vr, okr := ref.Step(hourly(int64(i), ys[i]), seasNormal)
				if !seasSameVerdict(vo, vr) || oko != okr {
					t.Fatalf("fit %v split %d window %d: original %+v, untouched copy %+v", fit, split, i, vo, vr)
				}
			}
		}
	}
}

func TestCheckHoltWinters(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		m       int
		a, b, g float64
		k       float64
		ok      bool
	}{
		{288, 0.3, 0.1, 0.2, 3, true},
		{288, nan, nan, nan, 3, true},
		{2, 0, 0, 0, 3, true},
		{2, 1, 1, 1, 3, true},
		{MaxSeasonPositions, 0.5, 0.5, 0.5, 3, true},
		{MaxSeasonPositions + 1, 0.5, 0.5, 0.5, 3, false},
		{1, 0.5, 0.5, 0.5, 3, false},
		{24, nan, 0.1, 0.1, 3, false},
		{24, 1.1, 0.1, 0.1, 3, false},
		{24, 0.1, -0.1, 0.1, 3, false},
		{24, 0.1, 0.1, 0.1, 0, false},
		{24, 0.1, 0.1, 0.1, math.Inf(1), false},
	} {
		if err := CheckHoltWinters(c.m, c.a, c.b, c.g, c.k); (err == nil) != c.ok {
			t.Errorf("CheckHoltWinters(%d, %v, %v, %v, %v) = %v", c.m, c.a, c.b, c.g, c.k, err)
		}
	}
}

// BenchmarkHoltWintersStep: one Step per window after the warm-up, 288
// windows per season (a day of 5-minute windows).
func BenchmarkHoltWintersStep(b *testing.B) {
	const m = 288
	ys := hwSimulate(m*3, m, 0.3, 0.05, 0.2, 0.5, 4)
	h := NewHoltWinters(m, 0.3, 0.05, 0.2, 3)
	for i := range ys {
		h.Step(Window{End: int64(i+1) * int64(5*time.Minute), Width: int64(5 * time.Minute), Summary: Summary{N: 1, Mean: ys[i]}}, seasNormal)
	}
	r := rand.New(rand.NewPCG(5, 5))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := len(ys) + i
		x := 10 + 3*math.Sin(2*math.Pi*float64(k)/m) + 0.5*r.NormFloat64()
		h.Step(Window{End: int64(k+1) * int64(5*time.Minute), Width: int64(5 * time.Minute), Summary: Summary{N: 1, Mean: x}}, seasNormal)
	}
}

// BenchmarkFitHoltWinters: the grid fit on a warm-up of 3 seasons of 288
// windows (the fitted model's warm-up for a day of 5-minute windows).
func BenchmarkFitHoltWinters(b *testing.B) {
	const m = 288
	ys := hwSimulate(m*3, m, 0.3, 0.05, 0.2, 0.5, 6)
	for range b.N {
		FitHoltWinters(ys, m)
	}
}

// TestHoltWintersRestart: after a lasting level shift the model alarms
// until more than m of the last 2m windows were not kept, then starts again
// from the last season and accepts the new level; a gap empties the
// record, so the restart waits for m + 1 consecutive alarms after it;
// spikes in one window of five never restart it.
func TestHoltWintersRestart(t *testing.T) {
	const m = 12
	ys := hwSimulate(m*12, m, 0.2, 0.02, 0.2, 0.3, 7)
	step := func(i int) float64 { return 50 * float64(min(1, max(0, i-4*m+1))) } // from window 4m
	for _, c := range []struct {
		name  string
		shift func(i int) float64
		skip  int64 // a missing window index, or -1
		runTo int64 // the alarms from 4m run to this window, then stop (or -1)
	}{
		{"level shift", step, -1, 4*m + m},
		{"level shift with a gap", step, 4*m + 5, 4*m + 5 + m + 1},
		{"spikes", func(i int) float64 { return 50 * float64(i%5/4) }, -1, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := NewHoltWinters(m, 0.2, 0.02, 0.2, 3).(*HoltWinters)
			alarms := map[int64]bool{}
			for i := range int64(len(ys)) {
				if i == c.skip {
					continue
				}
				x := ys[i]
				if i >= 3*m {
					x += c.shift(int(i))
				}
				if v, ok := h.Step(hourly(i, x), seasNormal); ok && v.Anomalous() {
					alarms[i] = true
				}
			}
			if c.runTo < 0 {
				noise := 0
				for i := int64(3 * m); i < int64(len(ys)); i++ {
					switch {
					case i%5 == 4 && !alarms[i]:
						t.Fatalf("spike at window %d: no alarm", i)
					case i%5 != 4 && alarms[i]:
						noise++
					}
				}
				if noise > 3 {
					t.Fatalf("%d alarms besides the spikes", noise)
				}
				return
			}
			for i := int64(4 * m); i <= c.runTo; i++ {
				if !alarms[i] && i != c.skip {
					t.Fatalf("window %d after the shift did not alarm", i)
				}
			}
			later := 0
			for i := c.runTo + 1; i < int64(len(ys)); i++ {
				if alarms[i] {
					later++
				}
			}
			if alarms[c.runTo+1] || later > 3 {
				t.Fatalf("%d alarms after window %d (the restart): %v", later, c.runTo, alarms)
			}
		})
	}
}
