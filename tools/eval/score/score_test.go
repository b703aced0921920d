package score

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/tools/eval/corpus"
)

const sec = int64(time.Second)

// input is an n-row Input at times 0s, 1s, .. with the windows given in
// seconds and every score 0 but those in set.
func input(n int, windows [][2]float64, set map[int]float64) Input {
	in := Input{Times: make([]int64, n), Scores: make([]float64, n)}
	for i := range n {
		in.Times[i] = int64(i) * sec
		in.Scores[i] = set[i]
	}
	for _, w := range windows {
		in.Windows = append(in.Windows, corpus.Window{Start: int64(w[0] * 1e9), End: int64(w[1] * 1e9)})
	}
	return in
}

var nan = math.NaN()

// near reports whether a and b agree to 1e-12, NaN agreeing with NaN.
func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) <= 1e-12
}

// σ(y) = 2/(1+e^(5y)) - 1 = tanh(-5y/2): the tests use tanh to check it.
func TestSigma(t *testing.T) {
	for _, c := range []struct{ y, want float64 }{
		{-1, 0.9866142981514303}, // 2/(1+e^-5)-1, NAB's maxTP
		{-0.25, math.Tanh(0.625)},
		{0, 0},
		{1, -0.9866142981514303},
		{2.999, math.Tanh(-7.4975)},
		{3, -1}, // NAB: -1 from y = 3 on
		{50, -1},
	} {
		if got := sigma(c.y); !near(got, c.want) {
			t.Errorf("σ(%v) = %v, want %v", c.y, got, c.want)
		}
	}
}

// probation = min(floor(0.15·n), 750).
func TestProbation(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{1, 0}, {6, 0}, {7, 1}, {20, 3}, {100, 15}, {4999, 749}, {5000, 750}, {100000, 750},
	} {
		if got := probation(c.n); got != c.want {
			t.Errorf("probation(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// The hand-worked cases: unless said otherwise a 20-row series (rows 0..2
// in probation, floor(0.15·20) = 3), one window over rows 10..13 (right =
// 13, width 4), the standard profile (A_tp 1, A_fp 0.11, A_fn 1) and rows
// scored 1 detecting at threshold 1. tp(y) = σ(y)/σ(-1) = tanh(-5y/2)/tanh(2.5).
func TestAt(t *testing.T) {
	w := [][2]float64{{10, 13}}
	tp := func(y float64) float64 { return math.Tanh(-2.5*y) / math.Tanh(2.5) }
	for _, c := range []struct {
		name      string
		in        []Input
		p         Profile
		threshold float64
		raw       float64
		found     int
	}{
		{
			// y = -(13-10+1)/4 = -1: σ(-1)/σ(-1) = 1.
			name: "first row of a window earns A_tp",
			in:   []Input{input(20, w, map[int]float64{10: 1})}, p: Standard, threshold: 1,
			raw: 1, found: 1,
		},
		{
			// y = -(13-13+1)/4 = -1/4: tanh(0.625)/tanh(2.5) = 0.55460/0.98661 = 0.56212.
			name: "last row of a 4-row window earns σ(-1/4)/σ(-1)",
			in:   []Input{input(20, w, map[int]float64{13: 1})}, p: Standard, threshold: 1,
			raw: 0.5621241486044829, found: 1,
		},
		{
			// A_tp = 2 doubles it: 2·0.56212.
			name: "A_tp scales a true positive",
			in:   []Input{input(20, w, map[int]float64{13: 1})}, p: Profile{TP: 2, FP: 0.11, FN: 1}, threshold: 1,
			raw: 2 * 0.5621241486044829, found: 1,
		},
		{
			// Rows 11 and 12 detect; only row 11 counts: y = -(13-11+1)/4 = -3/4,
			// tanh(1.875)/tanh(2.5) = 0.96699 (row 12 alone would earn 0.85979).
			name: "two detections in one window count once, the earliest",
			in:   []Input{input(20, w, map[int]float64{11: 1, 12: 1})}, p: Standard, threshold: 1,
			raw: tp(-0.75), found: 1,
		},
		{
			// Window undetected: -A_fn = -1; row 19 is 6 rows past right = 13,
			// y = 6/(4-1) = 2: 0.11·σ(2) = -0.11·tanh(5) = -0.10999.
			name: "false positive two window lengths after a window",
			in:   []Input{input(20, w, map[int]float64{19: 1})}, p: Standard, threshold: 1,
			raw: -1 - 0.11*math.Tanh(5),
		},
		{
			// Row 14 is 1 row past right: y = 1/3, 0.11·σ(1/3) = -0.11·tanh(5/6) = -0.07505;
			// plus the window's first row, 1.
			name: "false positive right after a detected window costs less",
			in:   []Input{input(20, w, map[int]float64{10: 1, 14: 1})}, p: Standard, threshold: 1,
			raw: 1 - 0.11*math.Tanh(5.0/6), found: 1,
		},
		{
			// Rows 5 and 6 precede every window: y = 3, σ = -1, -0.11 each;
			// the window undetected: -1. Every FP row counts, not only the first.
			name: "false positives before the first window cost A_fp each",
			in:   []Input{input(20, w, map[int]float64{5: 1, 6: 1})}, p: Standard, threshold: 1,
			raw: -1 - 0.22,
		},
		{
			// Window over row 10 alone (width 1): row 12 is y = 2/max(1-1, 1) = 2
			// past it: -0.11·tanh(5); row 10 itself undetected: -1.
			name: "one-row window: the FP denominator is at least 1",
			in:   []Input{input(20, [][2]float64{{10, 10}}, map[int]float64{12: 1})}, p: Standard, threshold: 1,
			raw: -1 - 0.11*math.Tanh(5),
		},
		{
			// Nothing detects: -A_fn per window, 2 windows, reward_low_FN_rate's A_fn = 2: -4.
			name: "undetected windows cost A_fn each",
			in:   []Input{input(20, [][2]float64{{5, 6}, {10, 13}}, nil)}, p: RewardLowFN, threshold: 1,
			raw: -4,
		},
		{
			// Window over rows 1..2 lies in probation (rows 0..2): row 1's
			// detection is hidden, the window costs -1; row 0's FP costs nothing.
			name: "probation hides an early detection but the window still counts",
			in:   []Input{input(20, [][2]float64{{1, 2}}, map[int]float64{0: 1, 1: 1})}, p: Standard, threshold: 1,
			raw: -1,
		},
		{
			// Rows 10, 11 NaN, row 12 scored 0.5: at threshold -Inf every scored
			// row detects, the NaN ones never. Earliest detection is row 12:
			// y = -2/4, tanh(1.25)/tanh(2.5) = 0.85979; rows 3..9 are FPs before the
			// first window: -0.11·7; rows 13 in the window; 14..19 FPs after it,
			// y = (i-13)/3: -0.11·Σ tanh(5(i-13)/6) for i = 14..19 (y = 2 at i = 19).
			name: "NaN never detects",
			in:   []Input{input(20, w, map[int]float64{10: nan, 11: nan, 12: 0.5})}, p: Standard, threshold: math.Inf(-1),
			raw: func() float64 {
				r := tp(-0.5) - 0.11*7
				for i := 14; i <= 19; i++ {
					r -= 0.11 * math.Tanh(5*float64(i-13)/6)
				}
				return r
			}(),
			found: 1,
		},
		{
			// A window between 10.5s and 10.7s holds no row: it costs -1. Row 12
			// is y = 2 past the last window with rows (over row 9, width 1):
			// -0.11·tanh(5); that one-row window is found at its row: +1.
			name: "a window without rows costs A_fn and is skipped as previous window",
			in:   []Input{input(20, [][2]float64{{9, 9}, {10.5, 10.7}}, map[int]float64{9: 1, 11: 1})}, p: Standard, threshold: 1,
			raw: -0.11 * math.Tanh(5), found: 1, // 1 - 1 - 0.11·tanh(5)
		},
		{
			// Series one: first-row detection, +1. Series two (10 rows, probation 1):
			// window over rows 6..7 undetected, -1; FP at row 2 before it, -0.11.
			name: "a corpus of two series sums them",
			in: []Input{
				input(20, w, map[int]float64{10: 1}),
				input(10, [][2]float64{{6, 7}}, map[int]float64{2: 1}),
			},
			p: Standard, threshold: 1,
			raw: -0.11, found: 1, // 1 - 1 - 0.11
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := At(c.in, c.p, c.threshold)
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.Raw, c.raw) {
				t.Errorf("raw %.15g, want %.15g", r.Raw, c.raw)
			}
			if r.Found != c.found {
				t.Errorf("found %d, want %d", r.Found, c.found)
			}
			if r.Threshold != c.threshold {
				t.Errorf("threshold %v, want %v", r.Threshold, c.threshold)
			}
		})
	}
}

// Null = -A_fn·windows, Perfect = A_tp·windows, Normalized =
// 100·(Raw-Null)/(Perfect-Null), NaN without windows.
func TestNormalized(t *testing.T) {
	for _, c := range []struct {
		name                 string
		in                   []Input
		p                    Profile
		null, perfect, normd float64
	}{
		{
			// Two windows, one found at its first row (+1), one missed (-1), an FP
			// before both (-0.11): raw -0.11, null -2, perfect 2:
			// 100·(-0.11+2)/(2+2) = 47.25.
			name: "standard: half the windows, one false positive",
			in:   []Input{input(20, [][2]float64{{10, 13}, {16, 17}}, map[int]float64{5: 1, 10: 1})},
			p:    Standard, null: -2, perfect: 2, normd: 47.25,
		},
		{
			// reward_low_FN_rate: raw 1 - 2 - 0.11 = -1.11, null -4, perfect 2:
			// 100·(-1.11+4)/(2+4) = 48.1666...
			name: "reward_low_FN_rate: a miss costs 2",
			in:   []Input{input(20, [][2]float64{{10, 13}, {16, 17}}, map[int]float64{5: 1, 10: 1})},
			p:    RewardLowFN, null: -4, perfect: 2, normd: 100 * 2.89 / 6,
		},
		{
			// Every window at its first row, nothing else: 100.
			name: "perfect detector scores 100",
			in:   []Input{input(20, [][2]float64{{10, 13}, {16, 17}}, map[int]float64{10: 1, 16: 1})},
			p:    Standard, null: -2, perfect: 2, normd: 100,
		},
		{
			// No windows: perfect = null = 0, the ratio is 0/0.
			name: "no windows: NaN",
			in:   []Input{input(20, nil, map[int]float64{5: 1})},
			p:    Standard, null: 0, perfect: 0, normd: nan,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := At(c.in, c.p, 1)
			if err != nil {
				t.Fatal(err)
			}
			if r.Null != c.null || r.Perfect != c.perfect || !near(r.Normalized, c.normd) {
				t.Errorf("null %v perfect %v normalized %v, want %v %v %v", r.Null, r.Perfect, r.Normalized, c.null, c.perfect, c.normd)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	for _, c := range []struct {
		name string
		in   Input
		want Counts
		raw  float64
	}{
		{
			// 20 rows, probation rows 0..2; W1 from 7.5s to 9s (rows 8, 9), W2 rows 16..17.
			// Row 2 detects in probation: nothing. Rows 3, (4 NaN), 5: one alarm.
			// Row 6 scored 0 cuts; row 7: alarm 2. Row 9 finds W1: delay 9s-7.5s.
			// Row 10 goes on past W1's end: alarm 3. W2 missed.
			// Precision 1/(1+3), recall 1/2, F1 = 2·1/(1+3+2) = 1/3.
			// Raw: W1 at its last row y = -1/2: tanh(1.25)/tanh(2.5); W2 -1; rows 3, 5, 7
			// before any window -0.11 each; row 10 y = (10-9)/max(2-1, 1) = 1:
			// -0.11·tanh(2.5).
			name: "alarms, NaN inside a run, a run past a window",
			in: input(20, [][2]float64{{7.5, 9}, {16, 17}},
				map[int]float64{2: 1, 3: 1, 4: nan, 5: 1, 7: 1, 9: 1, 10: 1}),
			want: Counts{Windows: 2, Found: 1, FalseAlarms: 3, Precision: 0.25, Recall: 0.5, F1: 1.0 / 3,
				MeanDelay: 1500 * time.Millisecond},
			raw: math.Tanh(1.25)/math.Tanh(2.5) - 1 - 0.33 - 0.11*math.Tanh(2.5),
		},
		{
			// Rows 10 and 11 detect with a row-less window (10.5s..10.7s) between:
			// two alarms; that window is missed. Precision 0/2, recall 0/1, F1 0.
			name: "a window without rows cuts an alarm",
			in:   input(20, [][2]float64{{10.5, 10.7}}, map[int]float64{10: 1, 11: 1}),
			want: Counts{Windows: 1, FalseAlarms: 2, Precision: 0, Recall: 0, F1: 0},
			raw:  -1 - 0.22,
		},
		{
			// Nothing detects and no windows: every ratio is 0/0.
			name: "nothing at all: NaN ratios, zero delay",
			in:   input(20, nil, nil),
			want: Counts{Precision: nan, Recall: nan, F1: nan},
		},
		{
			// Two windows found at their first rows: W1 (10s..11s) at row 10, delay 0;
			// W2 (14.5s..16s) at row 15, its first row, 0.5s after its Start:
			// mean 0.25s. Raw 1 + 1.
			name: "mean delay over found windows",
			in:   input(20, [][2]float64{{10, 11}, {14.5, 16}}, map[int]float64{10: 1, 15: 1}),
			want: Counts{Windows: 2, Found: 2, Precision: 1, Recall: 1, F1: 1, MeanDelay: 250 * time.Millisecond},
			raw:  2,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := At([]Input{c.in}, Standard, 1)
			if err != nil {
				t.Fatal(err)
			}
			g, w := r.Counts, c.want
			if g.Windows != w.Windows || g.Found != w.Found || g.FalseAlarms != w.FalseAlarms ||
				!near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) ||
				g.MeanDelay != w.MeanDelay {
				t.Errorf("counts %+v, want %+v", g, w)
			}
			if !near(r.Raw, c.raw) {
				t.Errorf("raw %.15g, want %.15g", r.Raw, c.raw)
			}
		})
	}
}

func TestBest(t *testing.T) {
	for _, c := range []struct {
		name      string
		in        []Input
		threshold float64
		raw       float64
	}{
		{
			// Row 10 (window's first row) scored 0.9, row 12 0.5, the rest 0.
			// +Inf: -1. 0.9: +1. 0.5: +1 too (row 12 is later than row 10). 0: rows
			// 3..9 and 14..19 add false positives. 0.9 and 0.5 tie: the higher wins.
			name:      "threshold tie: the highest threshold wins",
			in:        []Input{input(20, [][2]float64{{10, 13}}, map[int]float64{10: 0.9, 12: 0.5})},
			threshold: 0.9, raw: 1,
		},
		{
			// Row 5 (FP, -0.11) scored 0.8 above row 10 (window's first row, +1)
			// at 0.7: +Inf -1, 0.8 -1.11, 0.7 +0.89, 0 worse: 0.7.
			name:      "a false positive above the window's detection is worth taking",
			in:        []Input{input(20, [][2]float64{{10, 13}}, map[int]float64{5: 0.8, 10: 0.7})},
			threshold: 0.7, raw: 0.89,
		},
		{
			// 60 rows (probation 9), window over rows 40..43 scored 0.7, rows 9..39
			// before it at 0.8: 0.8 gives -1 - 31·0.11 = -4.41, 0.7 1 - 3.41 = -2.41,
			// 0 worse still, all below +Inf's -1.
			name: "too many false positives: detect nothing",
			in: []Input{input(60, [][2]float64{{40, 43}}, func() map[int]float64 {
				m := map[int]float64{40: 0.7}
				for i := 9; i <= 39; i++ {
					m[i] = 0.8
				}
				return m
			}())},
			threshold: math.Inf(1), raw: -1,
		},
		{
			// Row 10 scored +Inf: threshold +Inf detects it, +1; nothing is
			// not reachable.
			name:      "a row scored +Inf detects at +Inf",
			in:        []Input{input(20, [][2]float64{{10, 13}}, map[int]float64{10: math.Inf(1)})},
			threshold: math.Inf(1), raw: 1,
		},
		{
			// Series one's window first row at 0.6, series two's at 0.4 with an FP
			// (before its window) at 0.5: 0.6: 1-1 = 0; 0.5: -0.11; 0.4: 2-0.11 = 1.89.
			name: "one threshold for the corpus",
			in: []Input{
				input(20, [][2]float64{{10, 13}}, map[int]float64{10: 0.6}),
				input(20, [][2]float64{{10, 13}}, map[int]float64{5: 0.5, 10: 0.4}),
			},
			threshold: 0.4, raw: 1.89,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Best(c.in, Standard)
			if err != nil {
				t.Fatal(err)
			}
			if r.Threshold != c.threshold || !near(r.Raw, c.raw) {
				t.Errorf("threshold %v raw %.15g, want %v %.15g", r.Threshold, r.Raw, c.threshold, c.raw)
			}
		})
	}
}

// Best agrees with trying every distinct score and +Inf with At, keeping
// the highest raw score and the highest threshold on a tie, and its result
// is At's at its threshold.
func TestBestIsBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	levels := []float64{0, 0.25, 0.5, 0.75, 1, nan, math.Inf(1), math.Inf(-1)}
	for trial := range 400 {
		var in []Input
		for range 1 + rng.IntN(3) {
			n := 1 + rng.IntN(60)
			s := Input{Times: make([]int64, n), Scores: make([]float64, n)}
			t0 := int64(0)
			for i := range n {
				t0 += 1 + rng.Int64N(3)
				s.Times[i] = t0 * sec
				s.Scores[i] = levels[rng.IntN(5)]
				if rng.IntN(10) == 0 {
					s.Scores[i] = levels[5+rng.IntN(3)]
				}
			}
			for u := int64(0); u < t0; {
				start := u + rng.Int64N(40)
				end := start + rng.Int64N(12)
				s.Windows = append(s.Windows, corpus.Window{Start: start * sec, End: end * sec})
				u = end + 1
			}
			in = append(in, s)
		}
		p := Profiles()[rng.IntN(3)]

		candidates := []float64{math.Inf(1)}
		for _, s := range in {
			for _, v := range s.Scores {
				if !math.IsNaN(v) {
					candidates = append(candidates, v)
				}
			}
		}
		slices.Sort(candidates)
		slices.Reverse(candidates)
		candidates = slices.Compact(candidates)
		var want Result
		for k, c := range candidates {
			r, err := At(in, p, c)
			if err != nil {
				t.Fatal(err)
			}
			if k == 0 || r.Raw > want.Raw {
				want = r
			}
		}

		got, err := Best(in, p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Threshold != want.Threshold || math.Abs(got.Raw-want.Raw) > 1e-9 {
			t.Fatalf("trial %d: Best threshold %v raw %v, brute force %v %v", trial, got.Threshold, got.Raw, want.Threshold, want.Raw)
		}
		same, err := At(in, p, got.Threshold)
		if err != nil {
			t.Fatal(err)
		}
		if !equal(got, same) {
			t.Fatalf("trial %d: Best %+v, At its threshold %+v", trial, got, same)
		}
	}
}

// equal compares results field by field, NaN equal to NaN.
func equal(a, b Result) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	return eq(a.Threshold, b.Threshold) && eq(a.Raw, b.Raw) && eq(a.Null, b.Null) && eq(a.Perfect, b.Perfect) &&
		eq(a.Normalized, b.Normalized) && a.Windows == b.Windows && a.Found == b.Found &&
		a.FalseAlarms == b.FalseAlarms && eq(a.Precision, b.Precision) && eq(a.Recall, b.Recall) &&
		eq(a.F1, b.F1) && a.MeanDelay == b.MeanDelay
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		name string
		in   Input
	}{
		{"fewer scores than times", Input{Times: []int64{1, 2}, Scores: []float64{0}}},
		{"times not increasing", Input{Times: []int64{1, 1}, Scores: []float64{0, 0}}},
		{"window ends before it starts", Input{Times: []int64{1}, Scores: []float64{0}, Windows: []corpus.Window{{Start: 2, End: 1}}}},
		{"windows overlap", Input{Times: []int64{1}, Scores: []float64{0}, Windows: []corpus.Window{{Start: 1, End: 5}, {Start: 5, End: 6}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := At([]Input{c.in}, Standard, 0); err == nil {
				t.Error("At: no error")
			}
			if _, err := Best([]Input{c.in}, Standard); err == nil {
				t.Error("Best: no error")
			}
		})
	}
}

// The Go profiles are NAB's profiles.json, from the shared data.
func TestProfilesFile(t *testing.T) {
	dir, err := corpus.NABDir()
	if err != nil {
		t.Skip(err)
	}
	got, err := LoadProfiles(filepath.Join(dir, "profiles.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Profiles()
	slices.SortFunc(want, func(a, b Profile) int { return strings.Compare(a.Name, b.Name) })
	if !slices.Equal(got, want) {
		t.Errorf("profiles.json %+v, Go values %+v", got, want)
	}
}

func TestParseProfiles(t *testing.T) {
	for _, c := range []struct {
		name, json string
		want       []Profile
		fails      bool
	}{
		{
			name: "sorted by name, tnWeight ignored",
			json: `{"b":{"CostMatrix":{"tpWeight":1,"fnWeight":3,"fpWeight":0.5,"tnWeight":1}},
			        "a":{"CostMatrix":{"tpWeight":2,"fnWeight":1,"fpWeight":0.1}}}`,
			want: []Profile{{Name: "a", TP: 2, FP: 0.1, FN: 1}, {Name: "b", TP: 1, FP: 0.5, FN: 3}},
		},
		{name: "a weight missing", json: `{"a":{"CostMatrix":{"tpWeight":1,"fnWeight":1}}}`, fails: true},
		{name: "not JSON", json: `{"a":`, fails: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseProfiles([]byte(c.json))
			if (err != nil) != c.fails {
				t.Fatalf("error %v, want failure %v", err, c.fails)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%+v, want %+v", got, c.want)
			}
		})
	}
}
