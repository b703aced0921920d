// Package analysis is Vigil's pure anomaly-detection math: running statistics,
// Welch's t-test and the windowed detector that reproduces the reference
// Kapacitor tTest UDF. It imports no Grafana or InfluxDB code.
package analysis

import "math"

// Summary holds the count, mean and sum of squared deviations (M2) of a
// sample, updated one value at a time with Welford's algorithm:
//
//	n' = n + 1
//	δ  = x - mean
//	mean' = mean + δ/n'
//	M2'   = M2 + δ·(x - mean')
//
// (Welford 1962; Knuth, TAOCP vol. 2, 4.2.2).
type Summary struct {
	N    int
	Mean float64
	M2   float64
}

// Add includes x.
func (s *Summary) Add(x float64) {
	s.N++
	delta := x - s.Mean
	s.Mean += delta / float64(s.N)
	s.M2 += delta * (x - s.Mean)
}

// Remove excludes x, which must have been added: Welford's update run backwards,
//
//	n' = n - 1
//	δ  = x - mean
//	mean' = mean - δ/n'
//	M2'   = M2 - δ·(x - mean')
func (s *Summary) Remove(x float64) {
	s.N--
	if s.N == 0 {
		*s = Summary{}
		return
	}
	delta := x - s.Mean
	s.Mean -= delta / float64(s.N)
	s.M2 -= delta * (x - s.Mean)
}

// StdDev is the sample standard deviation sqrt(M2/(n-1)); 0 when n <= 1, as
// in the reference. Rounding can leave M2 a hair below zero after removals;
// it counts as zero.
func (s Summary) StdDev() float64 {
	if s.N <= 1 || s.M2 <= 0 {
		return 0
	}
	return math.Sqrt(s.M2 / float64(s.N-1))
}

// Combine returns the summary of two disjoint samples together (Chan, Golub
// and LeVeque 1979, the parallel variance update):
//
//	n    = nA + nB
//	δ    = meanB - meanA
//	mean = meanA + δ·nB/n
//	M2   = M2A + M2B + δ²·nA·nB/n
func Combine(a, b Summary) Summary {
	switch {
	case a.N == 0:
		return b
	case b.N == 0:
		return a
	}
	n := a.N + b.N
	delta := b.Mean - a.Mean
	fn, fa, fb := float64(n), float64(a.N), float64(b.N)
	return Summary{
		N:    n,
		Mean: a.Mean + delta*fb/fn,
		M2:   a.M2 + b.M2 + delta*delta*fa*fb/fn,
	}
}

// MovingStats keeps the last Size values in a FIFO with their running
// Summary, as the reference UDF's history does: a new value is added with
// Welford's update and, when that makes the count exceed Size, the oldest
// value is removed with the backward update.
type MovingStats struct {
	size int
	ring []float64 // values in arrival order starting at head
	head int
	Summary
}

// NewMovingStats returns an empty history of at most size values.
func NewMovingStats(size int) *MovingStats {
	return &MovingStats{size: size, ring: make([]float64, 0, min(size, 1<<16))}
}

// Add appends x and drops the oldest value when the history is over size.
func (m *MovingStats) Add(x float64) {
	m.Summary.Add(x)
	m.push(x)
}

// push stores x in the ring and removes the value it replaces from the summary.
func (m *MovingStats) push(x float64) {
	if len(m.ring) < m.size {
		m.ring = append(m.ring, x)
		return
	}
	oldest := m.ring[m.head]
	m.ring[m.head] = x
	m.head++
	if m.head == len(m.ring) {
		m.head = 0
	}
	m.Summary.Remove(oldest)
}

// addWindow adds a window's values to the history, like Add for each value in
// order, and returns the window's own Summary, computed (like the reference's)
// with Welford's update. accept decides, from the window's summary, whether
// the values enter at all.
//
// When the ring is full and the window fits in it, the history update is
// computed speculatively in the same loop as the window's summary: the two
// dependency chains (each bound by a division per value) then overlap in the
// CPU, and the arithmetic, done in the same order as Add, is bit for bit the
// same. The ring itself changes only when the window is accepted.
func (m *MovingStats) addWindow(values []float64, accept func(window Summary) bool) (w Summary, added bool) {
	if len(m.ring) < m.size || len(values) > m.size {
		for _, x := range values {
			w.Add(x)
		}
		if added = accept(w); added {
			for _, x := range values {
				m.Add(x)
			}
		}
		return w, added
	}
	// The same updates as Summary.Add and Summary.Remove, on locals so the
	// chains stay in registers; n is exact as a float64.
	n := float64(m.N)
	mean, m2 := m.Mean, m.M2
	wn, wmean, wm2 := 0.0, 0.0, 0.0
	pos := m.head
	for _, x := range values {
		wn++
		d := x - wmean
		wmean += d / wn
		wm2 += d * (x - wmean)

		d = x - mean // add x: the count becomes n+1
		mean += d / (n + 1)
		m2 += d * (x - mean)
		y := m.ring[pos] // remove the oldest: the count is n again
		d = y - mean
		mean -= d / n
		m2 -= d * (y - mean)
		pos++
		if pos == len(m.ring) {
			pos = 0
		}
	}
	w = Summary{N: len(values), Mean: wmean, M2: wm2}
	spec := Summary{N: m.N, Mean: mean, M2: m2}
	if added = accept(w); added {
		m.Summary = spec
		for _, x := range values {
			m.ring[m.head] = x
			m.head++
			if m.head == len(m.ring) {
				m.head = 0
			}
		}
	}
	return w, added
}

func (m *MovingStats) clone() *MovingStats {
	c := *m
	c.ring = append(make([]float64, 0, cap(m.ring)), m.ring...)
	return &c
}
