package analysis

import (
	"fmt"
	"math"
	"slices"
)

// Limits and constants of the seasonal detector; see Seasonal.
const (
	// MaxSeasonPositions is the most windows a season may hold: a week of
	// one-minute windows.
	MaxSeasonPositions = 10080
	// MaxSeasonalValues bounds positions × seasons, the window means one
	// series keeps (1 MiB of float64).
	MaxSeasonalValues = 1 << 17

	// seasonalMinValues is the number of values a position needs before
	// its own median judges (fewer seasons when the model keeps fewer).
	seasonalMinValues = 3
	// seasonalMinFallback and seasonalMaxFallback bound the fallback's
	// history: one season of windows, at least 24 and at most 1440 (a day
	// of one-minute windows); the fallback judges once it is full.
	seasonalMinFallback = 24
	seasonalMaxFallback = 1440
	// madToSigma is 1/Φ⁻¹(3/4): 1.4826·MAD estimates a normal sample's
	// standard deviation (Rousseeuw & Croux 1993).
	madToSigma = 1.4826
)

// Seasonal is a robust seasonal-profile detector over window means: each
// window is compared with the windows at the same position in the past
// seasons (the same time of day for a daily season, of the week for a
// weekly one).
//
// Position. A window starting at t = End − Width holds position
//
//	p = ((t mod season) / width),  0 ≤ p < positions = ⌈season/width⌉,
//
// with t mod season taken toward negative infinity, so seasons are aligned
// to the Unix epoch (days at 00:00 UTC, weeks on Thursdays 00:00 UTC) and
// a position means the same time of the season across gaps. When width does
// not divide season, windows at one position start within one width of each
// other in the season. Daylight-saving shifts of a local-time season are not
// followed (UTC only).
//
// Baseline. Each position keeps the means of the last `seasons` windows
// admitted there, and
//
//	expected = median,  spread = max(1.4826·MAD, floor),
//	score    = |mean − expected| / (threshold · spread)
//
// (the median and the scaled median absolute deviation: Hampel 1974;
// Rousseeuw & Croux 1993; Leys et al. 2013 for threshold 2.5–3 as the usual
// choice). Median and MAD resist a few unusual seasons that slipped into
// the baseline, which a mean and standard deviation over 3–8 values do not.
//
// Fallback. While a position holds fewer than min(3, seasons) values (the
// first seasons, or positions left empty by gaps), the window is judged
// against a non-seasonal baseline over the last F admitted window means,
// F = one season of windows clamped to [24, 1440]:
//
//	expected = their median,  spread = max(√(mean (x − median)²), floor),
//
// the root mean square deviation from the median, not a MAD. The fallback
// spans the whole season, so its band must include the seasonal swing, and
// must not be 0 when more than half the season sits at one level: a daily
// square wave low for 15 hours has a MAD of 0 over the day, and with it
// every high window scored +Inf, was never admitted, never filled its
// position, and stayed judged by the fallback for good (measured on NAB's
// art_daily_* series, below). The RMS deviation spans both levels. The
// fallback judges only when it holds F means; before that a window is not
// judged (ok false) and seeds the baseline. That minimum baseline (F ≥ 24
// means, then 3 per position) keeps a short, near-constant start from
// setting a tiny spread that would reject every later window (anomalous
// windows never enter, so a too-narrow baseline would never widen).
//
// Spread floor. With 3–8 values a MAD is often 0 or tiny on real data: NAB's
// series and most counters are quantized, so half of a position's values
// are often equal, and any other mean would then score +Inf (and, never
// admitted, would keep the MAD at 0 for good). The floor is the series'
// pooled noise level,
//
//	floor = √(mean r²),  r = |mean − median of its position's values|
//
// over the last F admitted windows whose position already held a value
// (judged by the position, by the fallback, or seeding): the root mean
// square of the residuals from the seasonal profile, which estimates the
// noise's standard deviation (slightly above it while positions hold 1–3
// values, which errs on the cautious side). It pools F residuals, so it is 0
// only when the series follows its profile exactly, and it exists from the
// second season on, before any position judges. The RMS, not the mean
// absolute residual or its median: on quantized data most residuals are 0
// and the rest one quantum q; if a fraction φ of them is q, the RMS is q·√φ,
// and a one-quantum step stays admissible (score ≤ 1) while φ ≥ 1/threshold²
// (11 % at threshold 3), where √(π/2)·mean|r| = 1.25·q·φ needs φ ≥ 27 %, and
// below that the floor collapses to 0 (steps rejected, only zeros
// admitted). Admitted residuals are bounded by the band, so one outlier
// cannot inflate it. The floor widens only positions whose own spread is
// below the pooled level: a noise level that varies over the season keeps
// its shape above it.
//
// Lasting change. Anomalous windows never enter, so after a lasting change
// of level or profile every later window would be anomalous for good. When
// more than F of the last 2F consecutive windows were not kept (at
// threshold 3 a normal window fails with probability well under 1 %, so
// this does not happen by chance; a gap empties the record), the baseline
// starts again: positions, fallback and floor are emptied and the last F
// windows, which after a change are all new ones (a change alarms from its
// start, so the (F+1)-th alarm closes F of them), are admitted again in
// order as seeds. The fallback then judges at once, and the positions fill
// over the next seasons. A spike in one window of four never triggers it.
//
// Measured on NAB's 18 series in shared/data/nab (daily season, window =
// the series' step, 4 seasons, threshold 3, 109,261 judged windows), the
// anomalous windows outside NAB's labelled windows and the labelled windows
// hit: 4,499 and 21 of 25 as documented here; 4,282 and 21 without the
// restart (which costs a relearning after each lasting change, and guards
// against the alarms-forever case); without the floor, 48,611 and 24 (most
// series end up rejecting nearly everything); with a MAD fallback, 15,061
// and 21 (the art_daily_* series locked as above).
//
// A series that followed its profile exactly through the warm-up has
// spread 0: any other value then scores +Inf and stays out (see
// deviation), until the restart above.
//
// Memory is at most positions × seasons values plus 5F (fallback, its
// sorted copy, residuals, and the 2F-window record) per series
// (MaxSeasonPositions, MaxSeasonalValues); position histories are allocated
// as they fill, so an unused season costs nothing. Only window means are
// used (w.Mean, never w.Values): both read modes give the same verdicts.
type Seasonal struct {
	season, width int64
	seasons       int
	threshold     float64
	minValues     int

	pos     [][]float64 // per position, its admitted means, oldest first
	recent  seasonRing  // the fallback: the last F admitted means, in arrival order
	sorted  []float64   // the same means in ascending order
	resid   seasonRing  // |residual| of the last F admitted windows (the floor)
	scratch []float64

	// The last 2F consecutive windows (a ring, oldest at recHead once
	// full), the index of the newest, and how many were not kept.
	rec       []seasonalRec
	recHead   int
	recLast   int64
	nRejected int
}

// CheckSeasonal reports whether NewSeasonal accepts the settings: season
// and width positive, width at most season, at most MaxSeasonPositions
// positions, seasons ≥ 1, positions × seasons at most MaxSeasonalValues,
// and a positive finite threshold.
func CheckSeasonal(season, width int64, seasons int, threshold float64) error {
	switch {
	case season <= 0 || width <= 0:
		return fmt.Errorf("seasonal: season %d ns and window %d ns must be positive", season, width)
	case width > season:
		return fmt.Errorf("seasonal: the window (%d ns) is longer than the season (%d ns)", width, season)
	case seasons < 1:
		return fmt.Errorf("seasonal: seasons %d must be at least 1", seasons)
	case !(threshold > 0) || math.IsInf(threshold, 0):
		return fmt.Errorf("seasonal: threshold %v must be positive and finite", threshold)
	}
	p := seasonPositions(season, width)
	if p > MaxSeasonPositions {
		return fmt.Errorf("seasonal: %d windows per season, at most %d", p, MaxSeasonPositions)
	}
	if int64(seasons) > MaxSeasonalValues/p { // p·seasons > MaxSeasonalValues, without overflow
		return fmt.Errorf("seasonal: %d windows per season × %d seasons is more than %d values", p, seasons, MaxSeasonalValues)
	}
	return nil
}

// NewSeasonal returns a seasonal model (see Seasonal) for windows of width
// ns over a season of season ns (a day or a week), keeping `seasons` past
// values per position. The settings must pass CheckSeasonal; NewSeasonal
// panics otherwise, as the memory bound depends on them.
func NewSeasonal(season, width int64, seasons int, threshold float64) Model {
	if err := CheckSeasonal(season, width, seasons, threshold); err != nil {
		panic(err)
	}
	p := int(seasonPositions(season, width))
	f := min(max(p, seasonalMinFallback), seasonalMaxFallback)
	return &Seasonal{
		season: season, width: width, seasons: seasons, threshold: threshold,
		minValues: min(seasonalMinValues, seasons),
		pos:       make([][]float64, p),
		recent:    newSeasonRing(f),
		sorted:    make([]float64, 0, f),
		resid:     newSeasonRing(f),
	}
}

// seasonPositions is ⌈season/width⌉.
func seasonPositions(season, width int64) int64 {
	return (season-1)/width + 1
}

// Position is w's position in the season:
// ((end − width) mod season) / width, epoch-aligned (see Seasonal).
func (m *Seasonal) Position(w Window) int {
	start := SatAdd(w.End, -w.Width)
	r := start % m.season
	if r < 0 {
		r += m.season
	}
	return int(r / m.width)
}

// Step judges w against its position's baseline, or the fallback, and
// admits it when not judged or when keep accepts the verdict; see Seasonal.
func (m *Seasonal) Step(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	p := m.Position(w)
	hist := m.pos[p]
	var e, s float64
	switch {
	case len(hist) >= m.minValues:
		e, s = m.medianMAD(hist)
		ok = true
	case m.recent.full():
		e, s = fallbackBaseline(m.sorted)
		ok = true
	}
	k := floorDiv(SatAdd(w.End, -w.Width), m.width)
	if ok {
		v = deviation(w.Mean, e, max(s, m.floor()), m.threshold)
		if !keep(v) {
			m.record(k, p, w.Mean, true)
			return v, true
		}
	}
	if len(hist) > 0 {
		if len(hist) < m.minValues {
			m.scratch = append(m.scratch[:0], hist...)
			e = selectMedian(m.scratch)
		}
		m.resid.add(math.Abs(w.Mean - e))
	}
	m.admit(p, w.Mean)
	m.record(k, p, w.Mean, false)
	return v, ok
}

// seasonalRec is one window in the record of the last 2F windows.
type seasonalRec struct {
	x        float64
	p        int32
	rejected bool
}

// record adds window k (position p, mean x) to the ring of the last 2F
// consecutive windows (a gap empties it), and starts the baseline again
// from the last F of them when more than F were not kept (see Seasonal,
// Lasting change).
func (m *Seasonal) record(k int64, p int, x float64, rejected bool) {
	n := 2 * cap(m.recent.buf)
	if m.rec == nil {
		m.rec = make([]seasonalRec, 0, n)
	}
	if len(m.rec) > 0 && k != m.recLast+1 {
		m.rec, m.recHead, m.nRejected = m.rec[:0], 0, 0
	}
	m.recLast = k
	r := seasonalRec{x: x, p: int32(p), rejected: rejected}
	if rejected {
		m.nRejected++
	}
	if len(m.rec) < n {
		m.rec = append(m.rec, r)
	} else {
		if m.rec[m.recHead].rejected {
			m.nRejected--
		}
		m.rec[m.recHead] = r
		if m.recHead++; m.recHead == n {
			m.recHead = 0
		}
	}
	if m.nRejected > n/2 {
		m.restart()
	}
}

// restart empties the baseline and admits the last F recorded windows, in
// order, as seeding windows.
func (m *Seasonal) restart() {
	f, n := cap(m.recent.buf), len(m.rec)
	last := make([]seasonalRec, 0, f)
	for i := range f {
		last = append(last, m.rec[(m.recHead+n-f+i)%n])
	}
	for i := range m.pos {
		m.pos[i] = m.pos[i][:0]
	}
	m.recent.buf, m.recent.head = m.recent.buf[:0], 0
	m.resid.buf, m.resid.head = m.resid.buf[:0], 0
	m.sorted = m.sorted[:0]
	for _, r := range last {
		m.admit(int(r.p), r.x)
	}
	m.rec, m.recHead, m.nRejected = m.rec[:0], 0, 0
}

// admit lets mean x into position p's history and the fallback's.
func (m *Seasonal) admit(p int, x float64) {
	hist := m.pos[p]
	switch {
	case hist == nil:
		hist = make([]float64, 0, m.seasons)
	case len(hist) == m.seasons:
		copy(hist, hist[1:])
		hist = hist[:len(hist)-1]
	}
	m.pos[p] = append(hist, x)
	if m.recent.full() {
		m.sorted = sortedRemove(m.sorted, m.recent.oldest())
	}
	m.recent.add(x)
	m.sorted = sortedInsert(m.sorted, x)
}

// floor is the spread floor, the root mean square of the residuals
// (0 before any), computed as a·√(mean((r/a)²)) with a = max r so that
// residuals near 1e300 do not overflow when squared (with 1/a multiplied
// and four partial sums: it runs over up to F values every window).
func (m *Seasonal) floor() float64 {
	r := m.resid.values()
	a := 0.0
	for _, x := range r {
		if x > a { // not max(a, x): its NaN and −0 rules cost a branch chain
			a = x
		}
	}
	if a == 0 {
		return 0
	}
	inv := 1 / a
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(r); i += 4 {
		x0, x1, x2, x3 := r[i]*inv, r[i+1]*inv, r[i+2]*inv, r[i+3]*inv
		s0 += x0 * x0
		s1 += x1 * x1
		s2 += x2 * x2
		s3 += x3 * x3
	}
	for ; i < len(r); i++ {
		x := r[i] * inv
		s0 += x * x
	}
	return a * math.Sqrt((s0+s1+s2+s3)/float64(len(r)))
}

// medianMAD returns the median of xs and 1.4826 times their median absolute
// deviation, xs unchanged.
func (m *Seasonal) medianMAD(xs []float64) (med, spread float64) {
	m.scratch = append(m.scratch[:0], xs...)
	med = selectMedian(m.scratch)
	for i, x := range xs {
		m.scratch[i] = math.Abs(x - med)
	}
	return med, madToSigma * selectMedian(m.scratch)
}

// Clone returns an independent deep copy.
func (m *Seasonal) Clone() Model {
	c := *m
	c.pos = make([][]float64, len(m.pos))
	for i, h := range m.pos {
		if h != nil {
			c.pos[i] = append(make([]float64, 0, m.seasons), h...)
		}
	}
	c.recent, c.resid = m.recent.clone(), m.resid.clone()
	c.sorted = append(make([]float64, 0, cap(m.sorted)), m.sorted...)
	c.scratch = nil
	if m.rec != nil {
		c.rec = append(make([]seasonalRec, 0, cap(m.rec)), m.rec...)
	}
	return &c
}

// sortedInsert inserts x into the ascending s (capacity permitting, no
// allocation).
func sortedInsert(s []float64, x float64) []float64 {
	i, _ := slices.BinarySearch(s, x)
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = x
	return s
}

// sortedRemove removes one x, which s holds, from the ascending s.
func sortedRemove(s []float64, x float64) []float64 {
	i, _ := slices.BinarySearch(s, x)
	copy(s[i:], s[i+1:])
	return s[:len(s)-1]
}

// fallbackBaseline is the median of the ascending, non-empty s and the
// root mean square deviation from it, √(mean (x − median)²), computed as
// a·√(mean ((x − median)/a)²) with a the largest deviation (at one end of
// s), so that values near 1e300 do not overflow.
func fallbackBaseline(s []float64) (med, spread float64) {
	n := len(s)
	if n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	a := max(med-s[0], s[n-1]-med)
	if a == 0 {
		return med, 0
	}
	inv := 1 / a
	sum := 0.0
	for _, x := range s {
		d := (x - med) * inv
		sum += d * d
	}
	return med, a * math.Sqrt(sum/float64(n))
}

// selectMedian is the median of xs (reordering xs): the middle value, or
// the mean of the two middle values for an even count, found with
// Hoare's selection in expected linear time.
func selectMedian(xs []float64) float64 {
	n := len(xs)
	if n <= 16 {
		slices.Sort(xs)
		if n%2 == 1 {
			return xs[n/2]
		}
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	k := n / 2
	hi := selectKth(xs, k)
	if n%2 == 1 {
		return hi
	}
	// After selection every value left of k is ≤ xs[k]: the lower middle
	// is their maximum.
	return (slices.Max(xs[:k]) + hi) / 2
}

// selectKth moves the k-th smallest value of xs to xs[k], smaller or equal
// values before it and larger or equal after, and returns it (Hoare's
// FIND; a median-of-three pivot keeps sorted input linear).
func selectKth(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		// Median of three into xs[mid].
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// seasonRing is a FIFO of at most cap(buf) values.
type seasonRing struct {
	buf  []float64
	head int // the oldest value once full
}

func newSeasonRing(size int) seasonRing {
	return seasonRing{buf: make([]float64, 0, size)}
}

func (r *seasonRing) full() bool { return len(r.buf) == cap(r.buf) }

// oldest is the value add drops next (the ring must be full).
func (r *seasonRing) oldest() float64 { return r.buf[r.head] }

// add appends x, dropping the oldest value when full.
func (r *seasonRing) add(x float64) {
	if !r.full() {
		r.buf = append(r.buf, x)
		return
	}
	r.buf[r.head] = x
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
}

// values are the ring's values in no particular order (median and mean do
// not need it).
func (r *seasonRing) values() []float64 { return r.buf }

func (r seasonRing) clone() seasonRing {
	r.buf = append(make([]float64, 0, cap(r.buf)), r.buf...)
	return r
}
