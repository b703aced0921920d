package analysis

import (
	"fmt"
	"math"
)

// HoltWinters is additive Holt–Winters exponential smoothing (Holt 1957,
// Winters 1960) over window means, in the component form of Hyndman &
// Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., §8.3:
//
//	ŷ(t) = ℓ(t−1) + b(t−1) + s(t−m)                      the one-step forecast
//	ℓ(t) = α·(y(t) − s(t−m)) + (1−α)·(ℓ(t−1) + b(t−1))   level
//	b(t) = β·(ℓ(t) − ℓ(t−1)) + (1−β)·b(t−1)              trend (FPP's β*)
//	s(t) = γ·(y(t) − ℓ(t−1) − b(t−1)) + (1−γ)·s(t−m)     season
//
// with m windows per season; statsmodels' ExponentialSmoothing(trend="add",
// seasonal="add", damped_trend=False) runs the same recursion with
// smoothing_level α, smoothing_trend β, smoothing_seasonal γ. A window is
// judged against ŷ:
//
//	score = |y − ŷ| / (threshold · σ),  band ŷ ± threshold·σ,
//
// where σ² is an exponentially weighted mean of the admitted windows'
// squared one-step errors, σ²' = (1−λ)σ² + λe², λ = 2/(m+1): the EWMA with
// the centre of mass of a one-season moving average, (1−λ)/λ = (m−1)/2, so
// the band follows changes in the noise within about a season while one
// season's worth of errors makes it (Hyndman et al. 2008, §2.7, for σ² as
// the one-step errors' variance; a sample standard deviation of the last m
// errors would need m more values per series for the same memory). σ² is
// seeded with the mean squared one-step error of the warm-up after its
// first season.
//
// Time. A window's index is k = (End − Width)/Width (toward −∞), its season
// position k mod m, epoch-aligned like Seasonal's when the season is a
// multiple of the width. A gap of h missing windows is forecast through
// without update: ℓ advances by h·b (the h-step forecast ŷ(t+h) = ℓ + h·b +
// s, FPP §8.3), b and s stay. A window that is not kept (anomalous, or
// refused by a filter) updates the state with its forecast instead of its
// mean, which leaves b and s as they are and advances ℓ by b: it stays out of
// the baseline, and its error out of σ. A window at or before the last
// window's index (out of order) is not judged and changes nothing.
//
// Initialization (classical: Hyndman et al. 2008 §2.6.1 "heuristic"): the
// first 2m consecutive windows (3m when the smoothing parameters are
// fitted) seed and are not judged:
//
//	ℓ0 = mean(season 1),  b0 = (mean(season 2) − mean(season 1))/m,
//	s0[position of window i] = y(i) − ℓ0 for the windows i of season 1,
//
// then the recursion runs over the warm-up windows (all admitted), and
// judging starts with the next window. A gap in the warm-up restarts it at
// the window after the gap: the classical initialization needs whole
// seasons, so a series with a gap in every 2m windows is never judged.
// Smoothing parameters given as NaN are fitted on the warm-up with
// FitHoltWinters.
//
// Zero spread: a warm-up that the model fits exactly (a constant series)
// gives σ = 0, so any other mean scores +Inf and stays out (see deviation).
// The minimum baseline, two or three whole seasons, is otherwise long
// enough that the errors' spread is not tiny by chance.
//
// Memory: m season values and a warm-up buffer of at most 3m means;
// m ≤ MaxSeasonPositions. Only window means are used (w.Mean), so both read
// modes give the same verdicts. Values near 1e300 do not overflow: σ is
// updated in scaled form (see ewmaRMS).
type HoltWinters struct {
	m                  int
	alpha, beta, gamma float64
	fit                bool
	threshold, lambda  float64

	warm  []float64 // consecutive window means since the last gap (warm-up)
	first int64     // window index of warm[0]

	ready        bool
	level, trend float64
	season       []float64 // by position k mod m
	last         int64     // index of the last window stepped
	sigma        float64   // root of the EWMA of squared one-step errors
}

// CheckHoltWinters reports whether NewHoltWinters accepts the settings:
// 2 ≤ period ≤ MaxSeasonPositions, alpha, beta and gamma each in [0, 1] or
// all three NaN (fitted), and a positive finite threshold.
func CheckHoltWinters(period int, alpha, beta, gamma, threshold float64) error {
	nan := math.IsNaN(alpha) && math.IsNaN(beta) && math.IsNaN(gamma)
	in := func(x float64) bool { return x >= 0 && x <= 1 }
	switch {
	case period < 2 || period > MaxSeasonPositions:
		return fmt.Errorf("holtwinters: %d windows per season, want 2 to %d", period, MaxSeasonPositions)
	case !nan && !(in(alpha) && in(beta) && in(gamma)):
		return fmt.Errorf("holtwinters: alpha %v, beta %v, gamma %v must be in [0, 1] (or all unset)", alpha, beta, gamma)
	case !(threshold > 0) || math.IsInf(threshold, 0):
		return fmt.Errorf("holtwinters: threshold %v must be positive and finite", threshold)
	}
	return nil
}

// NewHoltWinters returns an additive Holt–Winters model (see HoltWinters)
// of period windows per season; alpha, beta and gamma all NaN are fitted
// on the warm-up. The settings must pass CheckHoltWinters; NewHoltWinters
// panics otherwise, as the memory bound depends on them.
func NewHoltWinters(period int, alpha, beta, gamma, threshold float64) Model {
	if err := CheckHoltWinters(period, alpha, beta, gamma, threshold); err != nil {
		panic(err)
	}
	return &HoltWinters{
		m: period, alpha: alpha, beta: beta, gamma: gamma, threshold: threshold,
		fit:    math.IsNaN(alpha),
		lambda: 2 / float64(period+1),
	}
}

// Params returns the smoothing parameters, fitted ones once the warm-up is
// over (ok false while they are still to be fitted).
func (h *HoltWinters) Params() (alpha, beta, gamma float64, ok bool) {
	return h.alpha, h.beta, h.gamma, !h.fit || h.ready
}

// warmLen is the number of consecutive windows the warm-up needs.
func (h *HoltWinters) warmLen() int {
	if h.fit {
		return 3 * h.m
	}
	return 2 * h.m
}

// Step judges w against the one-step forecast once initialized, and updates
// the state with w's mean when kept, with the forecast otherwise; see
// HoltWinters.
func (h *HoltWinters) Step(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	k := floorDiv(SatAdd(w.End, -w.Width), w.Width)
	if !h.ready {
		h.seed(k, w.Mean)
		return v, false
	}
	if k <= h.last {
		return v, false
	}
	h.level += float64(k-h.last-1) * h.trend // forecast through the gap
	h.last = k
	pos := h.position(k)
	yhat := h.level + h.trend + h.season[pos]
	v = deviation(w.Mean, yhat, h.sigma, h.threshold)
	if !keep(v) {
		h.level += h.trend // updated with ŷ: ℓ = ℓ + b, b and s unchanged
		return v, true
	}
	h.sigma = ewmaRMS(h.sigma, w.Mean-yhat, h.lambda)
	h.update(pos, w.Mean)
	return v, true
}

// position is k mod m, toward −∞.
func (h *HoltWinters) position(k int64) int {
	p := k % int64(h.m)
	if p < 0 {
		p += int64(h.m)
	}
	return int(p)
}

// update runs the recursion for observation y at position pos.
func (h *HoltWinters) update(pos int, y float64) {
	l, b := h.level, h.trend
	h.level = h.alpha*(y-h.season[pos]) + (1-h.alpha)*(l+b)
	h.trend = h.beta*(h.level-l) + (1-h.beta)*b
	h.season[pos] = h.gamma*(y-l-b) + (1-h.gamma)*h.season[pos]
}

// seed adds a warm-up window (restarting after a gap) and initializes the
// model once the warm-up holds warmLen consecutive windows.
func (h *HoltWinters) seed(k int64, y float64) {
	if len(h.warm) > 0 && k <= h.first+int64(len(h.warm))-1 {
		return // out of order
	}
	if len(h.warm) == 0 || k != h.first+int64(len(h.warm)) {
		h.warm, h.first = h.warm[:0], k
	}
	h.warm = append(h.warm, y)
	if len(h.warm) < h.warmLen() {
		return
	}
	if h.fit {
		h.alpha, h.beta, h.gamma = FitHoltWinters(h.warm, h.m)
	}
	h.season = make([]float64, h.m)
	h.level, h.trend = classicInit(h.warm, h.m, func(i int, s float64) { h.season[h.position(h.first+int64(i))] = s })
	errs := make([]float64, 0, len(h.warm)-h.m)
	for i, y := range h.warm {
		pos := h.position(h.first + int64(i))
		if i >= h.m {
			errs = append(errs, y-(h.level+h.trend+h.season[pos]))
		}
		h.update(pos, y)
	}
	h.sigma = rms(errs)
	h.last = h.first + int64(len(h.warm)) - 1
	h.ready, h.warm = true, nil
}

// classicInit is the classical initialization from the first two seasons of
// ys: it returns ℓ0 and b0 and passes each of season 1's seasonal values
// s0(i) = ys[i] − ℓ0 to set.
func classicInit(ys []float64, m int, set func(i int, s float64)) (level, trend float64) {
	m1, m2 := scaledMean(ys[:m]), scaledMean(ys[m:2*m])
	for i, y := range ys[:m] {
		set(i, y-m1)
	}
	return m1, (m2 - m1) / float64(m)
}

// scaledMean is the mean of xs computed as Σ(x/n), which cannot overflow
// for finite x.
func scaledMean(xs []float64) float64 {
	n, s := float64(len(xs)), 0.0
	for _, x := range xs {
		s += x / n
	}
	return s
}

// rms is √(mean e²), computed as a·√(mean (e/a)²), a = max|e|, so that
// errors near 1e300 do not overflow when squared; 0 for no errors.
func rms(es []float64) float64 {
	a := 0.0
	for _, e := range es {
		a = max(a, math.Abs(e))
	}
	if a == 0 {
		return 0
	}
	s := 0.0
	for _, e := range es {
		s += (e / a) * (e / a)
	}
	return a * math.Sqrt(s/float64(len(es)))
}

// ewmaRMS is √((1−λ)σ² + λe²), computed with both terms scaled by
// a = max(σ, |e|) so that neither square overflows.
func ewmaRMS(sigma, e, lambda float64) float64 {
	a := max(sigma, math.Abs(e))
	if a == 0 {
		return 0
	}
	s, r := sigma/a, e/a
	return a * math.Sqrt((1-lambda)*s*s+lambda*r*r)
}

// Clone returns an independent deep copy.
func (h *HoltWinters) Clone() Model {
	c := *h
	c.warm = append([]float64(nil), h.warm...)
	c.season = append([]float64(nil), h.season...)
	return &c
}

// FitHoltWinters chooses α, β, γ for HoltWinters from consecutive window
// means (at least two seasons of period windows): the values minimizing
// the sum of squared one-step errors over means[period:] (the windows after
// the season that sets the seasonal start values), with the classical
// initialization from the first two seasons.
//
// The search is a grid, refined twice: α, β, γ ∈ {0.05, 0.15, …, 0.95}
// (1000 triples), then steps of 0.02 within ±0.1 of the best, then of
// 0.004 within ±0.02, each clamped to [0, 1]; the first minimum in grid
// order wins. A grid, not Nelder–Mead: the SSE surface of Holt–Winters is
// often flat along a ridge with several local minima, where a simplex from
// one start can stop anywhere, while a grid is deterministic and costs a
// known 3·(10³ … 11³) recursions (about 3,700 passes over the means, e.g.
// 3·10⁶ updates for 3 days of 5-minute windows). The result is within 0.002
// of the best grid point of the last refinement, which for the band is
// well below the sampling error of the SSE itself. The errors are computed
// on means scaled by their largest magnitude (the recursion is linear), so
// values near 1e300 do not overflow. With fewer than two seasons, or a
// constant series, it returns 0.5, 0.1, 0.1.
func FitHoltWinters(means []float64, period int) (alpha, beta, gamma float64) {
	alpha, beta, gamma = 0.5, 0.1, 0.1
	if period < 1 || len(means) < 2*period {
		return
	}
	a := 0.0
	for _, y := range means {
		a = max(a, math.Abs(y))
	}
	if a == 0 {
		return
	}
	ys := make([]float64, len(means))
	for i, y := range means {
		ys[i] = y / a
	}
	season := make([]float64, period)
	best := math.Inf(1)
	search := func(ca, cb, cg, step float64, half int) {
		grid := func(c float64, i int) float64 { return min(1, max(0, c+float64(i)*step)) }
		for i := -half; i <= half; i++ {
			for j := -half; j <= half; j++ {
				for l := -half; l <= half; l++ {
					x, y, z := grid(ca, i), grid(cb, j), grid(cg, l)
					if sse := hwSSE(ys, period, x, y, z, season); sse < best {
						best, alpha, beta, gamma = sse, x, y, z
					}
				}
			}
		}
	}
	// 0.05 … 0.95: ten points centred on 0.5 ± 4.5 steps of 0.1.
	best = math.Inf(1)
	for i := range 10 {
		for j := range 10 {
			for l := range 10 {
				x, y, z := 0.05+0.1*float64(i), 0.05+0.1*float64(j), 0.05+0.1*float64(l)
				if sse := hwSSE(ys, period, x, y, z, season); sse < best {
					best, alpha, beta, gamma = sse, x, y, z
				}
			}
		}
	}
	search(alpha, beta, gamma, 0.02, 5)
	search(alpha, beta, gamma, 0.004, 5)
	return alpha, beta, gamma
}

// hwSSE is the sum of squared one-step errors over ys[m:] of additive
// Holt–Winters with the classical initialization; season is scratch of
// length m (positions relative to ys[0]).
func hwSSE(ys []float64, m int, alpha, beta, gamma float64, season []float64) float64 {
	l, b := classicInit(ys, m, func(i int, s float64) { season[i] = s })
	sse := 0.0
	for i, y := range ys {
		p := i % m
		e := y - (l + b + season[p])
		if i >= m {
			sse += e * e
		}
		lp := l
		l = alpha*(y-season[p]) + (1-alpha)*(l+b)
		season[p] = gamma*(y-lp-b) + (1-gamma)*season[p]
		b = beta*(l-lp) + (1-beta)*b
	}
	return sse
}
