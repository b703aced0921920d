package analysis

import (
	"math"
	"time"
)

// Times here are int64 nanoseconds since the Unix epoch: the range of
// time.Time.UnixNano, 1677-09-21 to 2262-04-11. Window and lookback
// arithmetic near its ends must not wrap around to the other end (a range
// from 1677 read as one from 2262), so these helpers clamp to the range.

var (
	// MinTime and MaxTime are the first and last instants UnixNano holds.
	MinTime = time.Unix(0, math.MinInt64).UTC()
	MaxTime = time.Unix(0, math.MaxInt64).UTC()
)

// UnixNano is t in nanoseconds, clamped to [MinInt64, MaxInt64]
// (time.Time.UnixNano is undefined outside them, and wraps).
func UnixNano(t time.Time) int64 {
	switch {
	case t.Before(MinTime):
		return math.MinInt64
	case t.After(MaxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// ClampTime is t moved into [MinTime, MaxTime]; t itself when inside.
func ClampTime(t time.Time) time.Time {
	switch {
	case t.Before(MinTime):
		return MinTime
	case t.After(MaxTime):
		return MaxTime
	}
	return t
}

// SatAdd is a + b, clamped to [MinInt64, MaxInt64].
func SatAdd(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

// SatMul is n × d, clamped to [MinInt64, MaxInt64]: a number of windows
// times a window width.
func SatMul(n, d int64) int64 {
	if n == 0 || d == 0 {
		return 0
	}
	p := n * d
	// MinInt64 × -1 wraps to MinInt64, and MinInt64 / -1 back to MinInt64.
	if p/d != n || (n == math.MinInt64 && d == -1) {
		if (n < 0) != (d < 0) {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return p
}

// SatDuration is n × d as a duration, clamped (never wrapped to the other
// sign).
func SatDuration(n int64, d time.Duration) time.Duration {
	return time.Duration(SatMul(n, int64(d)))
}

// floorDiv is t / width rounded toward negative infinity (width > 0).
func floorDiv(t, width int64) int64 {
	q := t / width
	if t%width != 0 && t < 0 {
		q--
	}
	return q
}

// WindowStart is the start of the epoch-aligned window [k·width,
// (k+1)·width) that holds t: t rounded down (toward negative infinity) to
// a multiple of width (> 0). A window that begins before MinInt64 starts at
// MinInt64.
func WindowStart(t, width int64) int64 {
	return SatMul(floorDiv(t, width), width)
}

// WindowEnd is the end of the window that holds t, WindowStart(t, width)
// + width; a window that ends after MaxInt64 ends at MaxInt64, and holds
// MaxInt64 itself (see WindowHolds).
func WindowEnd(t, width int64) int64 {
	q := floorDiv(t, width)
	if q == math.MaxInt64 {
		return math.MaxInt64 // width 1 at MaxInt64
	}
	return SatMul(q+1, width)
}

// WindowHolds reports whether t lies in the window [start, end) from
// WindowStart and WindowEnd: the last window, ending at MaxInt64, also
// holds MaxInt64, which no later window can.
func WindowHolds(start, end, t int64) bool {
	return t >= start && (t < end || end == math.MaxInt64)
}

// FirstWindowStart is the start of the first whole window of this width
// (> 0) inside the range: the window holding MinInt64 begins before it
// unless MinInt64 is a multiple of width. A reader that groups by window
// (InfluxDB) cannot place that partial window.
func FirstWindowStart(width int64) int64 {
	if math.MinInt64%width == 0 {
		return math.MinInt64
	}
	return WindowEnd(math.MinInt64, width)
}
