package analysis

import "math"

// minBaseline is the most points a baseline must hold before zscore and
// mad judge a window (fewer when the history is short, see baselineNeed).
//
// Why: the sample standard deviation of n Gaussian points has a relative
// standard error of about 1/√(2(n-1)) (the large-sample variance of s,
// σ²/(2(n-1))), 13 % at n = 30 but 71 % at n = 2, and the scaled MAD is
// less efficient still (a Gaussian efficiency of 37 %, Rousseeuw & Croux
// 1993). A tiny seed that happens to be tight
// would score every later window as anomalous, and since anomalous windows
// never enter the baseline it would never widen: the detector would be
// deadlocked. Until the baseline holds the minimum, windows are not judged
// and seed it.
const minBaseline = 30

// baselineNeed is the number of baseline points needed before judging for a
// history of history points (history >= 2):
//
//	need = max(2, min(minBaseline, ⌈history/2⌉))
//
// At least 2, the fewest with a sample standard deviation. At most half the
// history, so the windows mode, which keeps whole windows (the newest
// holding at most history points), can always reach it when windows have
// the same count c: it then holds ⌊history/c⌋·c > history - c points, and
// at least c, so at least history/2 (c points when c > history).
func baselineNeed(history int) int {
	return max(2, min(minBaseline, (history+1)/2))
}

// ZScore judges a window's mean against the mean and sample standard
// deviation of a baseline of recent normal points:
//
//	expected = mean(b),  spread = sd(b) = √(Σ(x - mean)²/(n-1)),
//	score = |window mean - expected| / (threshold · spread)
//
// (the standard score, e.g. NIST/SEMATECH e-Handbook of Statistical
// Methods, 1.3.5.17 and 6.3.2). The spread is that of single points, not
// the standard error of a window mean: the score is an effect size ("the
// window sits 4 typical deviations off"), on purpose. With the standard
// error a window of many points is significant for a deviation too small to
// matter, and statistical significance is not what an operator wakes up
// for; the t-test (TTestModel) is the detector that measures it.
//
// The baseline is the last history admitted points, in one of two read
// modes chosen per window (as TTestModel's):
//
//   - points (w.Values non-nil): exactly the last history points, a
//     MovingStats ring (Welford's update forwards and backwards, cutting into
//     the oldest window as the t-test's Detector does). Every history
//     admitted points, and whenever lostDigits says the backward updates
//     have cancelled, the summary is recomputed from the ring in one forward
//     pass, so their rounding never piles up over a long run.
//   - windows (w.Values nil, only summaries read): WindowDetector's FIFO of
//     whole window summaries combined with Chan's update, the newest windows
//     holding at most history points (more only when one window alone
//     exceeds it), updated in O(1) per window (windowFIFO).
//
// A series is read in one mode; each mode keeps its own baseline, allocated
// on first use.
//
// Rules: a window is judged once the baseline holds baselineNeed(history)
// points (30 for the default history of 3600; see minBaseline); before that
// it only seeds the baseline. A judged window enters only when keep accepts
// its verdict, so anomalous windows never become the baseline. A constant
// baseline of the minimum size is taken at its word: a window equal to it
// scores 0, any other +Inf (see deviation). So is a lasting level shift
// beyond the threshold: it stays anomalous, as with the t-test, until the
// filters (minDeviation) let it in; that is the shared rule, not a
// deadlock of this detector.
//
// Huge values: Welford's M2 overflows when points deviate by more than
// about 1e154. In points mode the verdict is then computed from the ring
// with a power-of-two scaling (scaledMeanSD), exactly as far as rounding
// goes, and the summary is rebuilt from the ring at every step until the
// huge values have left. In windows mode the summaries' M2 (computed by the
// store) is already infinite and cannot be recovered: the spread is then
// +Inf, every window scores 0 and enters until those windows leave the
// baseline.
//
// Memory is bounded by history: at most history points in points mode, at
// most history window summaries in windows mode (the FIFO's slice at most
// twice that before it is compacted).
type ZScore struct {
	history   int
	threshold float64
	points    *MovingStats // points mode, nil until the first window with values
	since     int          // points admitted since the ring's summary was recomputed
	peak      float64      // the largest M2 since then
	wins      *windowFIFO  // windows mode, nil until the first window without
}

// NewZScore returns a z-score model with an empty baseline of history
// points (raised to 2, the fewest with a standard deviation) at the given
// threshold (> 0: the number of standard deviations at which the score
// reaches 1).
func NewZScore(history int, threshold float64) Model {
	return &ZScore{history: max(history, 2), threshold: threshold}
}

// Step judges w and updates the baseline; see ZScore.
func (z *ZScore) Step(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	if w.Values != nil {
		return z.stepPoints(w, keep)
	}
	return z.stepWindows(w, keep)
}

func (z *ZScore) stepPoints(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	if z.points == nil {
		z.points = NewMovingStats(z.history)
	}
	if z.points.N >= baselineNeed(z.history) {
		mean, sd := z.pointStats()
		v, ok = deviation(w.Mean, mean, sd, z.threshold), true
		if !keep(v) {
			return v, ok
		}
	}
	for _, x := range w.Values {
		z.points.Add(x)
	}
	z.since += len(w.Values)
	if s := z.points.Summary; z.since >= z.history || lostDigits(s, z.peak) {
		restat(z.points)
		z.since, z.peak = 0, z.points.M2
	}
	z.peak = math.Max(z.peak, z.points.M2)
	return v, ok
}

// lostDigits reports a running summary that cannot be trusted: not finite,
// or its M2 fallen below 1e-6 of the peak since it was last computed
// afresh. Removing values subtracts terms as large as the peak, each
// leaving a rounding error of about 1e-16 of it; once the M2 is a millionth
// of the peak that error could reach 1e-10 of the M2, too close to the
// 1e-9 agreement the detectors promise, so the summary is recomputed (a
// rare event: the variance has collapsed, e.g. a wild seed left).
func lostDigits(s Summary, peak float64) bool {
	return !finite(s.Mean) || !finite(s.M2) || s.M2 < 1e-6*peak
}

// pointStats is the points baseline's mean and sample standard deviation:
// from the running summary, or, when huge values made it overflow, from the
// ring scaled by a power of two.
func (z *ZScore) pointStats() (mean, sd float64) {
	if s := z.points.Summary; finite(s.Mean) && finite(s.M2) {
		return s.Mean, s.StdDev()
	}
	return scaledMeanSD(z.points.ring)
}

func (z *ZScore) stepWindows(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	if z.wins == nil {
		z.wins = &windowFIFO{}
	}
	if h := z.wins.total; h.N >= baselineNeed(z.history) {
		v, ok = deviation(w.Mean, h.Mean, h.StdDev(), z.threshold), true
		if !keep(v) {
			return v, ok
		}
	}
	z.wins.enter(w.Summary, z.history)
	return v, ok
}

// windowFIFO is WindowDetector's history of whole windows with an O(1)
// update: after a window enters, the oldest windows leave while the total
// exceeds history (the newest always stays), as in WindowDetector.Window.
// Where WindowDetector recombines every window it holds at each step
// (O(windows held), 3600 Combines per step for one-point windows), the
// total here is updated by Combine for the window that enters and by its
// inverse (uncombine) for each that leaves, and recombined afresh once as
// many windows have left as it holds (amortized O(1), and rounding from
// the subtractions never piles up over more than one history) or when
// lostDigits says the subtractions have cancelled.
type windowFIFO struct {
	wins    []Summary // the windows held are wins[head:], oldest first
	head    int
	total   Summary // Combine of wins[head:]
	removed int     // windows uncombined since total was recombined
	peak    float64 // the largest total M2 since then
}

func (f *windowFIFO) enter(w Summary, history int) {
	f.wins = append(f.wins, w)
	f.total = Combine(f.total, w)
	for f.total.N > history && len(f.wins)-f.head > 1 {
		f.total = uncombine(f.total, f.wins[f.head])
		f.head++
		f.removed++
	}
	if f.head > len(f.wins)/2 { // compact: amortized O(1) per window
		f.wins = append(f.wins[:0], f.wins[f.head:]...)
		f.head = 0
	}
	if f.removed >= len(f.wins)-f.head || lostDigits(f.total, f.peak) {
		f.total = Summary{}
		for _, s := range f.wins[f.head:] {
			f.total = Combine(f.total, s)
		}
		f.removed, f.peak = 0, 0
	}
	f.peak = math.Max(f.peak, f.total.M2)
}

// uncombine is the inverse of Combine: the summary of t less the disjoint
// part a (a.N < t.N). From n·mean = nR·meanR + nA·meanA and Chan's M2,
//
//	nR    = n - nA
//	meanR = mean + (mean - meanA)·nA/nR
//	M2R   = M2 - M2A - (meanA - meanR)²·nA·nR/n
func uncombine(t, a Summary) Summary {
	nr := t.N - a.N
	if nr <= 0 {
		return Summary{}
	}
	fn, fa, fr := float64(t.N), float64(a.N), float64(nr)
	mean := t.Mean + (t.Mean-a.Mean)*fa/fr
	d := a.Mean - mean
	return Summary{N: nr, Mean: mean, M2: t.M2 - a.M2 - d*d*fa*fr/fn}
}

// Clone returns an independent copy of the model and its baselines.
func (z *ZScore) Clone() Model {
	c := *z
	if z.points != nil {
		c.points = z.points.clone()
	}
	if z.wins != nil {
		w := *z.wins
		w.wins = append([]Summary(nil), z.wins.wins[z.wins.head:]...)
		w.head = 0
		c.wins = &w
	}
	return &c
}

// Bytes is about how much memory the model holds.
func (z *ZScore) Bytes() int64 {
	b := int64(64)
	if z.points != nil {
		b += 8*int64(cap(z.points.ring)) + 64
	}
	if z.wins != nil {
		b += 24*int64(cap(z.wins.wins)) + 64
	}
	return b
}

// restat recomputes m's summary from its ring in one forward Welford pass,
// oldest value first, discarding the rounding the backward updates left.
func restat(m *MovingStats) {
	var s Summary
	for _, x := range m.ring[m.head:] {
		s.Add(x)
	}
	for _, x := range m.ring[:m.head] {
		s.Add(x)
	}
	m.Summary = s
}

// scaledMeanSD is the mean and sample standard deviation of xs (in any
// order), computed in two passes on the values scaled by the power of two
// 2^-e that brings the largest magnitude into [0.5, 1): the squares then
// cannot overflow, and scaling by a power of two is exact (barring
// underflow of values 2^1000 times smaller than the largest, which do not
// matter next to it). Used only when Welford's summary has overflowed.
func scaledMeanSD(xs []float64) (mean, sd float64) {
	big := 0.0
	for _, x := range xs {
		big = math.Max(big, math.Abs(x))
	}
	if big == 0 || len(xs) == 0 {
		return 0, 0
	}
	_, e := math.Frexp(big)
	sum := 0.0
	for _, x := range xs {
		sum += math.Ldexp(x, -e)
	}
	m := sum / float64(len(xs))
	if len(xs) < 2 {
		return math.Ldexp(m, e), 0
	}
	m2 := 0.0
	for _, x := range xs {
		d := math.Ldexp(x, -e) - m
		m2 += d * d
	}
	return math.Ldexp(m, e), math.Ldexp(math.Sqrt(m2/float64(len(xs)-1)), e)
}

// finite reports whether x is neither NaN nor ±Inf.
func finite(x float64) bool { return x-x == 0 }
