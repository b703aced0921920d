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

// blockSize sets the sorted baseline's block length: blocks hold between
// blockSize/4 and 2·blockSize values (one block may hold fewer), so an
// insertion or deletion moves at most 2·blockSize values (16 KiB) and
// updates one start per block (history/(2·blockSize) to 4·history/blockSize
// blocks). 1024 measured best over histories of 3600 and 10^5 among 128 to
// 4096 (CPU time on a loaded machine): at 3600 (2 to 14 blocks) a
// one-point step costs within 1.5 times a single sorted slice's, at 10^5 a
// third of it.
const blockSize = 1024

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
// order (to know which point leaves) beside the same points sorted, in
// blocks (sortedBlocks: a sorted list cut into blocks of about blockSize,
// with each block's starting rank), so a point enters or leaves in
// O(blockSize + history/blockSize) and any rank is read in O(log history).
// The median is read by rank and the MAD found by a selection on the sorted
// data in O(log² history) (see madOf). BenchmarkMADStep measures a step at
// histories of 3600 and 10^5, one point and 60 points per window.
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
// Memory is bounded by history: the ring (history values) and the sorted
// blocks (history values, in blocks whose capacity grows by append: at
// most about twice that).
type MAD struct {
	history   int
	threshold float64
	ring      []float64 // the baseline in arrival order, oldest at head once full
	head      int
	sorted    sortedBlocks // the baseline, ascending
}

// NewMAD returns a MAD model with an empty baseline of history points
// (raised to 2) at the given threshold (> 0: the number of scaled MADs at
// which the score reaches 1).
func NewMAD(history int, threshold float64) Model {
	return &MAD{history: max(history, 2), threshold: threshold}
}

// Step judges w and updates the baseline; see MAD.
func (m *MAD) Step(w Window, keep func(Verdict) bool) (v Verdict, ok bool) {
	if n := m.sorted.len(); n >= baselineNeed(m.history) {
		med := medianOf(n, m.sorted.at)
		v, ok = deviation(w.Mean, med, madOf(n, m.sorted.at, med)/normalQ3, m.threshold), true
		if !keep(v) {
			return v, ok
		}
	}
	if w.Values == nil {
		m.admit(w.Mean)
		return v, ok
	}
	values := w.Values
	if len(values) > m.history { // the earlier ones would leave at once
		values = values[len(values)-m.history:]
	}
	for _, x := range values {
		m.admit(x)
	}
	return v, ok
}

// admit adds x to the baseline, the oldest point leaving beyond history.
func (m *MAD) admit(x float64) {
	if len(m.ring) < m.history {
		m.ring = append(m.ring, x)
		m.sorted.insert(x)
		return
	}
	m.sorted.remove(m.ring[m.head])
	m.sorted.insert(x)
	m.ring[m.head] = x
	m.head = (m.head + 1) % len(m.ring)
}

// sortedBlocks is a sorted multiset of float64 (no NaN) cut into ascending
// blocks whose concatenation is ascending, with each block's starting rank:
// the classic square-root decomposition of a sorted list (as in Python's
// sortedcontainers, blocks of bounded length), trading the O(n) memory move
// of a sorted slice's insertion for O(blockSize + n/blockSize).
type sortedBlocks struct {
	blocks [][]float64 // non-empty
	starts []int       // starts[b] = rank of blocks[b][0]; starts[len(blocks)] = n
}

func (s *sortedBlocks) len() int {
	if len(s.starts) == 0 {
		return 0
	}
	return s.starts[len(s.starts)-1]
}

// at is the value of rank r (0 <= r < len): the block is found by
// bisection on the starts.
func (s *sortedBlocks) at(r int) float64 {
	lo, hi := 0, len(s.blocks)-1 // the last b with starts[b] <= r
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if s.starts[mid] <= r {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return s.blocks[lo][r-s.starts[lo]]
}

// blockFor is the first block whose last value is >= x (the last block when
// none): where x goes, and, when x is held, the block of its first copy.
func (s *sortedBlocks) blockFor(x float64) int {
	lo, hi := 0, len(s.blocks)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if b := s.blocks[mid]; b[len(b)-1] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// newBlock copies values into a block of their own (capacity grows by
// append as the block does, so a short history holds little).
func newBlock(values []float64) []float64 {
	return append([]float64(nil), values...)
}

func (s *sortedBlocks) insert(x float64) {
	if len(s.blocks) == 0 {
		s.blocks = append(s.blocks, newBlock([]float64{x}))
		s.reindex(0)
		return
	}
	b := s.blockFor(x)
	blk := s.blocks[b]
	s.blocks[b] = slices.Insert(blk, lowerBound(blk, x), x)
	s.split(b)
	s.reindex(b)
}

// remove deletes one copy of x, which must be held.
func (s *sortedBlocks) remove(x float64) {
	b := s.blockFor(x)
	blk := s.blocks[b]
	i := lowerBound(blk, x)
	blk = append(blk[:i], blk[i+1:]...)
	s.blocks[b] = blk
	switch {
	case len(s.blocks) == 1:
		if len(blk) == 0 {
			s.blocks, s.starts = s.blocks[:0], s.starts[:0]
			return
		}
	case len(blk) < blockSize/4: // merge with a neighbour, then split if too long
		lo := min(b, len(s.blocks)-2)
		s.blocks[lo] = append(s.blocks[lo], s.blocks[lo+1]...)
		s.blocks = slices.Delete(s.blocks, lo+1, lo+2)
		s.split(lo)
		b = lo
	}
	s.reindex(b)
}

// split cuts block b in two halves when it is longer than 2·blockSize.
func (s *sortedBlocks) split(b int) {
	blk := s.blocks[b]
	if len(blk) <= 2*blockSize {
		return
	}
	h := len(blk) / 2
	s.blocks = slices.Insert(s.blocks, b+1, newBlock(blk[h:]))
	s.blocks[b] = blk[:h]
}

// reindex recomputes the starts from block b on.
func (s *sortedBlocks) reindex(b int) {
	if cap(s.starts) < len(s.blocks)+1 {
		s.starts = append(s.starts[:cap(s.starts)], make([]int, len(s.blocks)+1-cap(s.starts))...)
	}
	s.starts = s.starts[:len(s.blocks)+1]
	if b == 0 {
		s.starts[0] = 0
	}
	for i := b; i < len(s.blocks); i++ {
		s.starts[i+1] = s.starts[i] + len(s.blocks[i])
	}
}

// values returns the held values, ascending (for tests).
func (s *sortedBlocks) values() []float64 {
	var out []float64
	for _, b := range s.blocks {
		out = append(out, b...)
	}
	return out
}

func (s *sortedBlocks) clone() sortedBlocks {
	c := sortedBlocks{blocks: make([][]float64, len(s.blocks)), starts: slices.Clone(s.starts)}
	for i, b := range s.blocks {
		c.blocks[i] = newBlock(b)
	}
	return c
}

// rankOf is the first rank r with at(r) >= x (n when none).
func rankOf(n int, at func(int) float64, x float64) int {
	lo := 0
	for n > 0 {
		half := n / 2
		if at(lo+half) < x {
			lo += half + 1
			n -= half + 1
		} else {
			n = half
		}
	}
	return lo
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

// medianOf is the median of the n > 0 ascending values at(0..n-1); numpy's
// rule: the middle value, or the mean of the two middle values (halved
// first if their sum overflows).
func medianOf(n int, at func(int) float64) float64 {
	if n%2 == 1 {
		return at(n / 2)
	}
	return midpoint(at(n/2-1), at(n/2))
}

func midpoint(a, b float64) float64 {
	if m := (a + b) / 2; !math.IsInf(m, 0) {
		return m
	}
	return a/2 + b/2
}

// madOf is median(|x - med|) over the n > 0 ascending values at(0..n-1),
// found without sorting the distances. Split them at p, the first rank with
// at(p) >= med: the distances of the values ranked below p, read from p-1
// downwards, ascend (L[i] = med - at(p-1-i)), and so do those from p
// upwards (R[j] = at(p+j) - med). The k-th smallest distance is then the
// k-th smallest of two sorted arrays, found by a binary search on how many
// come from L (kthOfTwo), in O(log n) reads. The differences are computed
// as numpy computes |x - med|, so the result is the same to the last bit.
func madOf(n int, at func(int) float64, med float64) float64 {
	p := rankOf(n, at, med)
	l := func(i int) float64 { return med - at(p-1-i) }
	r := func(j int) float64 { return at(p+j) - med }
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
	c.sorted = m.sorted.clone()
	return &c
}

// Bytes is about how much memory the model holds.
func (m *MAD) Bytes() int64 {
	n := cap(m.ring) + cap(m.sorted.starts) + 3*cap(m.sorted.blocks)
	for _, b := range m.sorted.blocks {
		n += cap(b)
	}
	return 8*int64(n) + 96
}
