package analysis

import (
	"math"
	"slices"
)

// normalQ3 is Φ⁻¹(3/4), the third quartile of the standard normal
// distribution: MAD/normalQ3 (MAD·1.482602…) estimates σ consistently for
// Gaussian data (Huber, Robust Statistics, 1981, 5.1; Rousseeuw & Croux,
// "Alternatives to the median absolute deviation", JASA 88, 1993), and it is
// scipy.stats.median_abs_deviation's scale='normal'.
const normalQ3 = 0.6744897501960817

// batchMin is the window size from which MAD admits a window's points by one
// merge (mergeOut: every baseline value moved once, O(history + w log
// history)) rather than one insertion per point (each moving a third of the
// baseline on average): the merge moves less from about 3 points on.
const batchMin = 4

// MAD judges a window's mean against the median and the scaled median
// absolute deviation of a baseline of recent normal points:
//
//	expected = median(b),  spread = median(|x - median(b)|) / Φ⁻¹(3/4),
//	score = |window mean - expected| / (threshold · spread)
//
// (Hampel's identifier: Hampel 1974; Rousseeuw & Croux 1993; Φ⁻¹(3/4), see
// normalQ3). Both are robust: up to half the baseline can be outliers that
// slipped in (a seed with a spike, a drift learnt slowly) without moving
// them far, where one wild point can inflate a standard deviation at will.
// Like ZScore it is an effect size, the spread being that of single points.
//
// The baseline is the last history admitted points: a ring in arrival
// order (to know which point leaves) beside the same points sorted (binary
// search insertion and deletion), so the median is read directly and the
// MAD is found by a selection on the sorted data in O(log history) (see
// madSorted). Judging a one-point window costs O(log history) comparisons
// plus one memory move of the points between the leaving and the entering
// value (a third of the history on average; BenchmarkMADStep measures it
// at histories of 3600 and 10^5); a window of w >= batchMin points enters
// by one merge.
//
// MAD needs the points. In the windows read mode (w.Values nil) each window
// enters as one value, its mean: the baseline is then of window means, whose
// spread is smaller than that of points, an approximation only; the query
// layer reads points for mad.
//
// Rules: a window is judged once the baseline holds baselineNeed(history)
// points (see minBaseline); before that it only seeds the baseline. A judged
// window enters only when keep accepts its verdict. When more than half of
// the baseline is one value (a mostly constant series) the MAD is 0 and any
// window mean off the median scores +Inf (see deviation): the MAD's known
// blind spot (Rousseeuw & Croux 1993), taken as is, since such a series'
// normal points keep entering and no deadlock follows.
//
// Memory is bounded by history: the ring and the sorted points (history
// values each) and two merge buffers (history and 2·history values).
type MAD struct {
	history   int
	threshold float64
	ring      []float64 // the baseline in arrival order, oldest at head once full
	head      int
	sorted    []float64 // the baseline, ascending
	scratch   []float64 // merge buffer (batch admission)
	buf       []float64 // the leaving and the entering points, sorted (batch admission)
}

// NewMAD returns a MAD model with an empty baseline of history points
// (raised to 2) at the given threshold (> 0: the number of scaled MADs at
// which the score reaches 1).
func NewMAD(history int, threshold float64) Model {
	return &MAD{history: max(history, 2), threshold: threshold}
}

// Step judges w and updates the baseline; see MAD.
func (m *MAD) Step(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	if len(m.sorted) >= baselineNeed(m.history) {
		med := median(m.sorted)
		v, ok = deviation(w.Mean, med, madSorted(m.sorted, med)/normalQ3, m.threshold), true
		if !keep(v) {
			return v, ok
		}
	}
	values := w.Values
	if values == nil {
		one := [1]float64{w.Mean}
		values = one[:]
	}
	m.admit(values)
	return v, ok
}

// admit adds values (in arrival order) to the baseline, the oldest points
// leaving beyond history.
func (m *MAD) admit(values []float64) {
	if len(values) > m.history { // the earlier ones would leave at once
		values = values[len(values)-m.history:]
	}
	if len(values) >= batchMin {
		m.admitBatch(values)
		return
	}
	for _, x := range values {
		if len(m.ring) < m.history {
			m.ring = append(m.ring, x)
			m.sorted = slices.Insert(m.sorted, lowerBound(m.sorted, x), x)
			continue
		}
		old := m.ring[m.head]
		m.ring[m.head] = x
		m.head = (m.head + 1) % len(m.ring)
		replaceSorted(m.sorted, old, x)
	}
}

// admitBatch adds values by sorting them and merging them with the sorted
// baseline, less the points that leave (also sorted), in one pass.
func (m *MAD) admitBatch(values []float64) {
	leave := max(0, len(m.ring)+len(values)-m.history)
	m.buf = m.buf[:0]
	for i := range leave {
		m.buf = append(m.buf, m.ring[(m.head+i)%len(m.ring)])
	}
	m.buf = append(m.buf, values...)
	out, in := m.buf[:leave], m.buf[leave:]
	slices.Sort(out)
	slices.Sort(in)
	m.scratch = mergeOut(m.scratch[:0], m.sorted, out, in)
	m.sorted, m.scratch = m.scratch, m.sorted

	for _, x := range values {
		if len(m.ring) < m.history {
			m.ring = append(m.ring, x)
			continue
		}
		m.ring[m.head] = x
		m.head = (m.head + 1) % len(m.ring)
	}
}

// mergeOut appends to dst the ascending merge of s less the multiset out
// (ascending, each a member of s) with in (ascending). The leaving and
// entering points are few next to s, so it goes from one to the next by
// binary search and copies the runs of s between them whole (memory moves,
// not a comparison per value).
func mergeOut(dst, s, out, in []float64) []float64 {
	for len(out) > 0 || len(in) > 0 {
		if len(in) == 0 || len(out) > 0 && out[0] <= in[0] {
			i := lowerBound(s, out[0]) // s[i] == out[0]: skip it
			dst = append(dst, s[:i]...)
			s, out = s[i+1:], out[1:]
			continue
		}
		i := lowerBound(s, in[0])
		dst = append(append(dst, s[:i]...), in[0])
		s, in = s[i:], in[1:]
	}
	return append(dst, s...)
}

// replaceSorted removes one copy of old from the ascending s and inserts x,
// moving only the values between the two positions.
func replaceSorted(s []float64, old, x float64) {
	po := lowerBound(s, old) // s[po] == old: old is in s
	pn := lowerBound(s, x)
	if pn > po { // x goes after old: shift (po, pn) down by one
		copy(s[po:pn-1], s[po+1:pn])
		s[pn-1] = x
		return
	}
	copy(s[pn+1:po+1], s[pn:po]) // x goes at or before old: shift [pn, po) up
	s[pn] = x
}

// lowerBound is the first index i with s[i] >= x (len(s) when none), by
// bisection with a plain comparison (no NaN ever enters s, so
// slices.BinarySearch's NaN ordering is not needed and costs time).
func lowerBound(s []float64, x float64) int {
	lo, n := 0, len(s)
	for n > 0 {
		half := n / 2
		if s[lo+half] < x {
			lo += half + 1
			n -= half + 1
		} else {
			n = half
		}
	}
	return lo
}

// median of the ascending, non-empty s; numpy's rule: the middle value, or
// the mean of the two middle values (halved first if their sum overflows).
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return midpoint(s[n/2-1], s[n/2])
}

func midpoint(a, b float64) float64 {
	if m := (a + b) / 2; !math.IsInf(m, 0) {
		return m
	}
	return a/2 + b/2
}

// madSorted is median(|x - med|) over the ascending, non-empty s, found
// without sorting the distances. Split s at p, the first index with
// s[p] >= med: the distances of the points left of p, read from p-1
// downwards, ascend (L[i] = med - s[p-1-i]), and so do those from p upwards
// (R[j] = s[p+j] - med). The k-th smallest distance is then the k-th
// smallest of two sorted arrays, found by a binary search on how many come
// from L (kthOfTwo), in O(log n). The differences are computed as numpy
// computes |x - med|, so the result is the same to the last bit.
func madSorted(s []float64, med float64) float64 {
	n := len(s)
	p := lowerBound(s, med)
	l := func(i int) float64 { return med - s[p-1-i] }
	r := func(j int) float64 { return s[p+j] - med }
	if n%2 == 1 {
		kth, _ := kthOfTwo(l, p, r, n-p, n/2+1)
		return kth
	}
	kth, next := kthOfTwo(l, p, r, n-p, n/2)
	return midpoint(kth, next)
}

// kthOfTwo returns the k-th smallest (1-based) of the union of ascending
// arrays L (nl values) and R (nr values), 1 <= k <= nl+nr, and the one
// after it (+Inf when there is none). It finds i, the number taken
// from L among the k smallest, by bisection: with j = k - i taken from R,
// the split is right when L[i-1] <= R[j] and R[j-1] <= L[i] (missing
// entries counting as -Inf on the left, +Inf on the right).
func kthOfTwo(l func(int) float64, nl int, r func(int) float64, nr, k int) (kth, next float64) {
	lo, hi := max(0, k-nr), min(k, nl)
	for {
		i := lo + (hi-lo)/2
		j := k - i
		switch {
		case i > 0 && j < nr && l(i-1) > r(j):
			hi = i - 1 // too many from L
		case j > 0 && i < nl && r(j-1) > l(i):
			lo = i + 1 // too few from L
		default:
			kth, next = math.Inf(-1), math.Inf(1)
			if i > 0 {
				kth = l(i - 1)
			}
			if j > 0 {
				kth = math.Max(kth, r(j-1))
			}
			if i < nl {
				next = l(i)
			}
			if j < nr {
				next = math.Min(next, r(j))
			}
			return kth, next
		}
	}
}

// Clone returns an independent copy of the model and its baseline.
func (m *MAD) Clone() Model {
	c := *m
	c.ring = slices.Clone(m.ring)
	c.sorted = slices.Clone(m.sorted)
	c.scratch, c.buf = nil, nil
	return &c
}

// Bytes is about how much memory the model holds.
func (m *MAD) Bytes() int64 {
	return 8*int64(cap(m.ring)+cap(m.sorted)+cap(m.scratch)+cap(m.buf)) + 120
}
