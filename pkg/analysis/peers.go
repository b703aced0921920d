package analysis

import (
	"math"
	"slices"
	"sort"
)

// MADScale makes the median absolute deviation a consistent estimator of
// the standard deviation for normal data: 1/Φ⁻¹(3/4) = 1.4826 (Rousseeuw
// and Croux 1993, "Alternatives to the Median Absolute Deviation", JASA 88).
const MADScale = 1.4826

// MeanADScale makes the mean absolute deviation a consistent estimator of
// the standard deviation for normal data: E|X - μ| = σ·√(2/π), so σ =
// √(π/2)·E|X - μ| ≈ 1.253314·MeanAD: the fallback spread when more than
// half the peers agree exactly (MAD 0).
const MeanADScale = 1.2533141373155003 // math.Sqrt(math.Pi / 2)

// MinPeers is the fewest series a peer comparison judges: each series is
// compared with the others, and the others need at least two members for a
// spread.
const MinPeers = 3

// Peers compares a fleet: means[i] is series i's mean over one window (every
// series' window with the same end), and each series is judged against the
// others, leaving itself out so that one outlier cannot drag its own
// baseline:
//
//	expected_i = median{ means[j] : j ≠ i }
//	spread_i   = 1.4826 · median{ |means[j] - expected_i| : j ≠ i }
//	score_i    = |means[i] - expected_i| / (threshold · spread_i)
//
// (the median/MAD outlier rule, Hampel 1974, Iglewicz and Hoaglin 1993: the
// median and the MAD have a 50 % breakdown point, so a minority of
// deviating peers moves neither). Medians of an even count average the two
// middle values, as numpy's median does.
//
// Zero spread among the peers (more than half of the others share one
// value, e.g. several idle machines at exactly 0) would make every
// difference score +Inf. The spread then falls back to the scaled mean
// absolute deviation of the others about their median,
// MeanADScale · mean{ |means[j] - expected_i| : j ≠ i }, which is positive
// unless all the others are equal. Only a fleet whose other members are all
// identical keeps zero spread: equality scores 0 and any difference +Inf
// (deviation's rule; Filter.MinDeviation sets how large a difference
// matters).
//
// ok is false, and no verdict is given, when fewer than MinPeers series
// have the window. means must be finite. Peers sorts copies only: the cost
// is O(n log n) for n series (the leave-one-out medians come from one sort
// per distinct leave-one-out median, of which there are at most three).
func Peers(means []float64, threshold float64) ([]Verdict, bool) {
	n := len(means)
	if n < MinPeers {
		return nil, false
	}
	sorted := slices.Clone(means)
	slices.Sort(sorted)
	rank := func(x float64) int { return sort.SearchFloat64s(sorted, x) }
	out := make([]Verdict, n)
	// Group the series by their leave-one-out median: each group shares the
	// sorted deviations about it.
	medians := make([]float64, n)
	for i, x := range means {
		medians[i] = medianWithout(sorted, rank(x))
	}
	devs := make([]float64, n)
	lower, upper := make([]float64, n+1), make([]float64, n+1)
	done := make([]bool, n)
	for i := range means {
		if done[i] {
			continue
		}
		e := medians[i]
		for j, x := range sorted {
			devs[j] = math.Abs(x - e)
		}
		slices.Sort(devs)
		// lower[r] sums the r smallest deviations, upper[r] the ones from
		// rank r up: the sum without rank r is lower[r] + upper[r+1], a sum
		// of non-negative terms with no cancellation.
		for r := range n {
			lower[r+1] = lower[r] + devs[r]
			upper[n-r-1] = upper[n-r] + devs[n-r-1]
		}
		for k := i; k < n; k++ {
			if done[k] || medians[k] != e {
				continue
			}
			done[k] = true
			d := math.Abs(means[k] - e)
			r := sort.SearchFloat64s(devs, d)
			s := MADScale * medianWithout(devs, r)
			if s == 0 {
				s = MeanADScale * (lower[r] + upper[r+1]) / float64(n-1)
			}
			out[k] = deviation(means[k], e, s, threshold)
		}
	}
	return out, true
}

// medianWithout is the median of sorted without the element at index r
// (the mean of the two middle values for an even count). Which of equal
// elements is left out does not matter: the rest is the same multiset.
func medianWithout(sorted []float64, r int) float64 {
	at := func(j int) float64 { // the j-th element of sorted without index r
		if j >= r {
			j++
		}
		return sorted[j]
	}
	m := len(sorted) - 1
	if m%2 == 1 {
		return at(m / 2)
	}
	// numpy's (a + b)/2, halved first only where the sum overflows.
	a, b := at(m/2-1), at(m/2)
	if mid := (a + b) / 2; !math.IsInf(mid, 0) {
		return mid
	}
	return a/2 + b/2
}
