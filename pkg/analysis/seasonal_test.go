package analysis

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// seasRefWindow is one input window of a detector reference.
type seasRefWindow struct {
	End   int64  `json:"end"`
	Width int64  `json:"width"`
	Mean  string `json:"mean"`
	N     int    `json:"n"`
}

// seasRefOut is the reference's verdict for one window; floats are
// Python repr() strings, so that inf survives JSON.
type seasRefOut struct {
	OK       bool   `json:"ok"`
	Expected string `json:"expected"`
	Lower    string `json:"lower"`
	Upper    string `json:"upper"`
	Score    string `json:"score"`
}

func (w seasRefWindow) window(t *testing.T) Window {
	return Window{End: w.End, Width: w.Width, Summary: Summary{N: w.N, Mean: parseFloat(t, w.Mean)}}
}

// seasCompare checks one verdict against the reference: expected, score
// and the band's half-width to tol relative; the band's ends to tol
// relative to max(|expected|, half-width), as an end near 0 is the
// difference of two close numbers. It returns the worst error.
func seasCompare(t *testing.T, where string, got Verdict, ok bool, want seasRefOut, tol float64) float64 {
	t.Helper()
	if ok != want.OK {
		t.Fatalf("%s: ok %v, reference %v", where, ok, want.OK)
	}
	if !ok {
		return 0
	}
	e, lo, hi, sc := parseFloat(t, want.Expected), parseFloat(t, want.Lower), parseFloat(t, want.Upper), parseFloat(t, want.Score)
	half := (hi - lo) / 2
	scale := math.Max(math.Abs(e), math.Abs(half))
	errs := []float64{
		RelErr(got.Expected, e), RelErr(got.Score, sc), RelErr((got.Upper-got.Lower)/2, half),
		math.Abs(got.Lower-lo) / scale, math.Abs(got.Upper-hi) / scale,
	}
	if scale == 0 {
		errs[3], errs[4] = RelErr(got.Lower, lo), RelErr(got.Upper, hi)
	}
	worst := 0.0
	for _, x := range errs {
		worst = math.Max(worst, x)
	}
	if worst > tol || math.IsNaN(worst) {
		t.Fatalf("%s: got %+v, reference expected %v band [%v, %v] score %v (error %.3g)", where, got, e, lo, hi, sc, worst)
	}
	return worst
}

// seasReplay steps m through a reference case's windows with seasNormal
// and compares every verdict with seasCompare at 1e-9.
func seasReplay(t *testing.T, m Model, windows []seasRefWindow, out []seasRefOut) {
	t.Helper()
	worst, judged, anomalous := 0.0, 0, 0
	for i, rw := range windows {
		v, ok := m.Step(rw.window(t), seasNormal)
		worst = math.Max(worst, seasCompare(t, "window "+strconv.Itoa(i), v, ok, out[i], 1e-9))
		if ok {
			judged++
			if v.Anomalous() {
				anomalous++
			}
		}
	}
	t.Logf("%d windows, %d judged, %d anomalous, worst error %.3g", len(windows), judged, anomalous, worst)
}

// seasNormal is the admission rule without filters.
func seasNormal(v Verdict) bool { return !v.Anomalous() }

// TestSeasonalAgainstNumpy replays reference_seasonal.py's cases (daily and
// weekly seasons, gaps, n = 1 windows, quantized counts, a constant series
// and a step, values near 1e300, a long run, negative times and a width
// that does not divide the season) and compares every window's verdict
// with numpy's at 1e-9.
func TestSeasonalAgainstNumpy(t *testing.T) {
	var ref struct {
		Cases []struct {
			Name      string          `json:"name"`
			Season    int64           `json:"season"`
			Width     int64           `json:"width"`
			Seasons   int             `json:"seasons"`
			Threshold float64         `json:"threshold"`
			Windows   []seasRefWindow `json:"windows"`
			Out       []seasRefOut    `json:"out"`
		} `json:"cases"`
	}
	loadReference(t, "reference_seasonal.json", &ref)
	if len(ref.Cases) < 8 {
		t.Fatalf("%d cases in the reference", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			m := NewSeasonal(c.Season, c.Width, c.Seasons, c.Threshold)
			seasReplay(t, m, c.Windows, c.Out)
		})
	}
}

func TestSeasonalPosition(t *testing.T) {
	day, hour := int64(24*time.Hour), int64(time.Hour)
	for _, c := range []struct {
		name        string
		season, wid int64
		end         int64
		want        int
	}{
		{"first hour of the epoch", day, hour, hour, 0},
		{"last hour of a day", day, hour, 3*day + 24*hour, 23},
		{"before the epoch", day, hour, -hour + hour, 23},
		{"week, Thursday 01:00 is position 1", 7 * day, hour, 7*day + 2*hour, 1},
		{"7h windows over a day: the 4th starts at 21:00", day, 7 * hour, 28 * hour, 3},
		{"7h windows, next day: starts at 04:00", day, 7 * hour, 35 * hour, 0},
	} {
		m := NewSeasonal(c.season, c.wid, 3, 3).(*Seasonal)
		if got := m.Position(Window{End: c.end, Width: c.wid}); got != c.want {
			t.Errorf("%s: position %d, want %d", c.name, got, c.want)
		}
	}
}

func TestCheckSeasonal(t *testing.T) {
	day, week := int64(24*time.Hour), int64(7*24*time.Hour)
	for _, c := range []struct {
		season, width int64
		seasons       int
		threshold     float64
		ok            bool
	}{
		{day, int64(5 * time.Minute), 4, 3, true},
		{week, int64(time.Minute), 13, 3, true},      // 10080 × 13 = 131040 values
		{week, int64(time.Minute), 14, 3, false},     // over MaxSeasonalValues
		{week, int64(59 * time.Second), 1, 3, false}, // over MaxSeasonPositions
		{day, 2 * day, 3, 3, false},
		{day, 0, 3, 3, false},
		{0, 1, 3, 3, false},
		{day, int64(time.Hour), 0, 3, false},
		{day, int64(time.Hour), math.MaxInt64/24 + 1, 3, false}, // 24 × seasons wraps
		{day, int64(time.Hour), MaxSeasonalValues / 24, 3, true},
		{day, int64(time.Hour), 3, 0, false},
		{day, int64(time.Hour), 3, math.NaN(), false},
		{day, int64(time.Hour), 3, math.Inf(1), false},
	} {
		if err := CheckSeasonal(c.season, c.width, c.seasons, c.threshold); (err == nil) != c.ok {
			t.Errorf("CheckSeasonal(%d, %d, %d, %v) = %v", c.season, c.width, c.seasons, c.threshold, err)
		}
	}
}

// seasonalSeries is n hourly windows of a daily sine with normal noise.
func seasonalSeries(n int, seed uint64) []Window {
	r := rand.New(rand.NewPCG(seed, 1))
	ws := make([]Window, n)
	for i := range ws {
		x := 50 + 10*math.Sin(2*math.Pi*float64(i)/24) + r.NormFloat64()
		ws[i] = Window{End: int64(i+1) * int64(time.Hour), Width: int64(time.Hour), Summary: Summary{N: 1, Mean: x}}
	}
	return ws
}

// TestSeasonalSeeding: nothing is judged until the fallback holds 24 means
// (one day of hourly windows here), then the fallback judges until a
// position holds 3 means, then the position (every judged window is kept,
// so that the counts are known).
func TestSeasonalSeeding(t *testing.T) {
	m := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 5, 3).(*Seasonal)
	for i, w := range seasonalSeries(24*7, 1) {
		_, ok := m.Step(w, func(Verdict) bool { return true })
		if want := i >= 24; ok != want {
			t.Fatalf("window %d: ok %v, want %v", i, ok, want)
		}
		if byPos := len(m.pos[m.Position(w)]) > 3; byPos != (i >= 3*24) {
			t.Fatalf("window %d: position holds %d values", i, len(m.pos[m.Position(w)]))
		}
	}
	for p, h := range m.pos {
		if len(h) != 5 {
			t.Errorf("position %d holds %d values, want the last 5 seasons", p, len(h))
		}
	}
}

// TestSeasonalAnomalyStaysOut: a spike is anomalous, leaves the position's
// history and the fallback unchanged, and the same spike a season later is
// anomalous again; a kept window enters.
func TestSeasonalAnomalyStaysOut(t *testing.T) {
	for _, c := range []struct {
		name  string
		delta float64
		keep  func(Verdict) bool
		enter bool
	}{
		{"spike", 100, seasNormal, false},
		{"spike kept by the caller", 100, func(Verdict) bool { return true }, true},
		{"normal window", 0, seasNormal, true},
		{"normal window refused by a filter", 0, func(Verdict) bool { return false }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := seasonalSeries(24*6, 2)
			m := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 4, 3).(*Seasonal)
			for _, w := range ws[:24*5] {
				m.Step(w, seasNormal)
			}
			w := ws[24*5]
			w.Mean += c.delta
			p := m.Position(w)
			before := append([]float64(nil), m.pos[p]...)
			v, ok := m.Step(w, c.keep)
			if !ok || v.Anomalous() != (c.delta != 0) {
				t.Fatalf("verdict %+v ok %v", v, ok)
			}
			entered := m.pos[p][len(m.pos[p])-1] == w.Mean
			if entered != c.enter {
				t.Fatalf("entered %v, want %v (history %v, was %v)", entered, c.enter, m.pos[p], before)
			}
			if !c.enter && !seasSameFloats(m.pos[p], before) {
				t.Fatalf("history changed: %v, was %v", m.pos[p], before)
			}
		})
	}
}

// seasSameVerdict compares verdicts field by field, NaN equal to NaN.
func seasSameVerdict(a, b Verdict) bool {
	return seasSameFloats([]float64{a.Score, a.Expected, a.Lower, a.Upper, a.P, a.T}, []float64{b.Score, b.Expected, b.Lower, b.Upper, b.P, b.T})
}

func seasSameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// TestSeasonalCloneIndependent: a clone goes on from the state, and stepping
// the clone (including a spike) does not change what the original says.
func TestSeasonalCloneIndependent(t *testing.T) {
	ws := seasonalSeries(24*8, 3)
	a := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 4, 3)
	for _, w := range ws[:24*5] {
		a.Step(w, seasNormal)
	}
	b := a.Clone()
	ref := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 4, 3)
	for _, w := range ws[:24*5] {
		ref.Step(w, seasNormal)
	}
	for _, w := range ws[24*5:] {
		w.Mean += 3
		b.Step(w, func(Verdict) bool { return true })
	}
	for i, w := range ws[24*5:] {
		va, oka := a.Step(w, seasNormal)
		vr, okr := ref.Step(w, seasNormal)
		if !seasSameVerdict(va, vr) || oka != okr {
			t.Fatalf("window %d: original %+v, untouched copy %+v", i, va, vr)
		}
	}
}

// TestSeasonalFloorQuantized: on quantized data most positions have MAD 0;
// the floor keeps their spread at the pooled noise level, so a one-step
// change is not +Inf.
func TestSeasonalFloorQuantized(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	m := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 5, 3).(*Seasonal)
	var infs, judged int
	for i := range 24 * 30 {
		x := 5.0
		if r.Float64() < 0.25 {
			x = 6
		}
		v, ok := m.Step(Window{End: int64(i+1) * int64(time.Hour), Width: int64(time.Hour), Summary: Summary{N: 1, Mean: x}}, seasNormal)
		if ok && i >= 24*3 {
			judged++
			if math.IsInf(v.Score, 1) {
				infs++
			}
		}
	}
	if infs > 0 || m.floor() <= 0 {
		t.Fatalf("%d of %d windows scored +Inf; floor %v", infs, judged, m.floor())
	}
}

// TestSeasonalSquareWave: a daily square wave whose low level fills most of
// the day is learnt without alarms: the fallback's spread (RMS deviation
// from the median) spans both levels, where a MAD would be 0 and would keep
// every high window out of its position for good (measured on NAB's
// art_daily_* series: see Seasonal).
func TestSeasonalSquareWave(t *testing.T) {
	m := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 4, 3).(*Seasonal)
	for i := range 24 * 10 {
		x := 20.0
		if i%24 >= 15 {
			x = 80
		}
		v, ok := m.Step(Window{End: int64(i+1) * int64(time.Hour), Width: int64(time.Hour), Summary: Summary{N: 1, Mean: x}}, seasNormal)
		if ok && v.Anomalous() || i >= 24*4 && v.Score != 0 {
			t.Fatalf("window %d (%v): %+v", i, x, v)
		}
	}
	for p, h := range m.pos {
		if len(h) != 4 {
			t.Fatalf("position %d holds %d values", p, len(h))
		}
	}
}

// TestSeasonalConstant: a constant series scores 0; a different value +Inf
// and stays out.
func TestSeasonalConstant(t *testing.T) {
	m := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 3, 3)
	for i := range 24 * 4 {
		v, ok := m.Step(Window{End: int64(i+1) * int64(time.Hour), Width: int64(time.Hour), Summary: Summary{N: 1, Mean: 2}}, seasNormal)
		if ok && (v.Score != 0 || v.Lower != 2 || v.Upper != 2) {
			t.Fatalf("window %d: %+v", i, v)
		}
	}
	v, _ := m.Step(Window{End: int64(24*4+1) * int64(time.Hour), Width: int64(time.Hour), Summary: Summary{N: 1, Mean: 2.5}}, seasNormal)
	if !math.IsInf(v.Score, 1) {
		t.Fatalf("step after a constant series: %+v", v)
	}
}

// TestSeasonalMemoryBounded: a long run keeps at most seasons values per
// position and F values in the fallback and residual rings.
func TestSeasonalMemoryBounded(t *testing.T) {
	m := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 3, 3).(*Seasonal)
	for _, w := range seasonalSeries(24*400, 5) {
		m.Step(w, seasNormal)
	}
	for p, h := range m.pos {
		if len(h) != 3 || cap(h) != 3 {
			t.Fatalf("position %d: %d values, capacity %d", p, len(h), cap(h))
		}
	}
	if len(m.recent.buf) != 24 || len(m.resid.buf) != 24 || len(m.sorted) != 24 || len(m.rec) != 48 || cap(m.rec) != 48 {
		t.Fatalf("rings hold %d, %d, %d and %d values", len(m.recent.buf), len(m.resid.buf), len(m.sorted), len(m.rec))
	}
}

func TestSelectMedian(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for n := 1; n < 200; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(r.IntN(7)) // many ties
		}
		sorted := append([]float64(nil), xs...)
		sortFloats(sorted)
		want := sorted[n/2]
		if n%2 == 0 {
			want = (sorted[n/2-1] + sorted[n/2]) / 2
		}
		if got := selectMedian(xs); got != want {
			t.Fatalf("n %d: median %v, want %v", n, got, want)
		}
	}
}

// BenchmarkSeasonalStep: one Step per window in the steady state, a daily
// season of 5-minute windows (288 positions) and 4 seasons, and a weekly
// season of 1-minute windows (10080 positions, fallback of 1440 means)
// while it still judges by the fallback.
func BenchmarkSeasonalStep(b *testing.B) {
	for _, c := range []struct {
		name          string
		season, width int64
		seasons, warm int
	}{
		{"day_5m_4seasons", int64(24 * time.Hour), int64(5 * time.Minute), 4, 288 * 5},
		{"week_1m_fallback", int64(7 * 24 * time.Hour), int64(time.Minute), 4, 2000},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, 7))
			m := NewSeasonal(c.season, c.width, c.seasons, 3)
			i := 0
			next := func() Window {
				i++
				x := 10*math.Sin(2*math.Pi*float64(i)*float64(c.width)/float64(24*time.Hour)) + r.NormFloat64()
				return Window{End: int64(i) * c.width, Width: c.width, Summary: Summary{N: 1, Mean: x}}
			}
			for range c.warm {
				m.Step(next(), seasNormal)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				m.Step(next(), seasNormal)
			}
		})
	}
}

// TestFallbackSorted: the fallback's incremental sorted copy stays the
// ring's values in order, and its median is the selection's.
func TestFallbackSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, size := range []int{1, 2, 3, 24, 25, 100} {
		m := &Seasonal{recent: newSeasonRing(size), sorted: make([]float64, 0, size), seasons: 1, pos: make([][]float64, 1)}
		for i := range 5 * size {
			m.admit(0, float64(r.IntN(9))+r.Float64()*float64(i%2)) // ties and non-ties
			want := append([]float64(nil), m.recent.values()...)
			sortFloats(want)
			if !seasSameFloats(m.sorted, want) {
				t.Fatalf("size %d step %d: sorted %v, ring %v", size, i, m.sorted, want)
			}
			gm, _ := fallbackBaseline(m.sorted)
			if wm := selectMedian(want); gm != wm {
				t.Fatalf("size %d step %d: median %v, selection %v", size, i, gm, wm)
			}
		}
	}
}

// sortFloats is an insertion sort, independent of the code under test.
func sortFloats(xs []float64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// TestSeasonalRestart: a lasting level shift alarms until more than F of
// the last 2F windows were not kept (F = 24 hourly windows here), then the
// baseline starts again from the last F windows and the new level is
// normal; a gap empties the record; spikes in one window of four never
// restart it.
func TestSeasonalRestart(t *testing.T) {
	const day = 24
	ws := seasonalSeries(day*14, 9)
	for _, c := range []struct {
		name  string
		shift func(i int) float64
		skip  int
		runTo int // the alarms from the shift run to this window, then stop (or -1)
	}{
		{"level shift", func(i int) float64 { return 40 * float64(min(1, max(0, i-7*day+1))) }, -1, 7*day + day},
		{"level shift with a gap", func(i int) float64 { return 40 * float64(min(1, max(0, i-7*day+1))) }, 7*day + 10, 7*day + 10 + day + 1},
		{"spikes", func(i int) float64 { return 40 * float64(i%4/3) }, -1, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := NewSeasonal(int64(24*time.Hour), int64(time.Hour), 4, 3)
			alarms := map[int]bool{}
			for i, w := range ws {
				if i == c.skip {
					continue
				}
				if i >= 6*day {
					w.Mean += c.shift(i)
				}
				if v, ok := m.Step(w, seasNormal); ok && v.Anomalous() {
					alarms[i] = true
				}
			}
			if c.runTo < 0 {
				for i := 6 * day; i < len(ws); i++ {
					if i%4 == 3 && !alarms[i] {
						t.Fatalf("spike at window %d: no alarm", i)
					}
				}
				return
			}
			for i := 7 * day; i <= c.runTo; i++ {
				if !alarms[i] && i != c.skip {
					t.Fatalf("window %d after the shift did not alarm", i)
				}
			}
			later := 0
			for i := c.runTo + 1; i < len(ws); i++ {
				if alarms[i] {
					later++
				}
			}
			if alarms[c.runTo+1] || later > 3 {
				t.Fatalf("%d alarms after window %d (the restart)", later, c.runTo)
			}
		})
	}
}
