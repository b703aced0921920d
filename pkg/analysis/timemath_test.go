package analysis

import (
	"math"
	"math/big"
	"testing"
	"time"
)

const (
	day   = int64(24 * time.Hour)
	year  = 31557600 * int64(time.Second) // Grafana's y
	maxI  = int64(math.MaxInt64)
	minI  = int64(math.MinInt64)
	w292y = 292 * year
)

// clampBig is v clamped to the int64 range: what the saturating helpers
// must return, computed without int64 arithmetic.
func clampBig(v *big.Int) int64 {
	switch {
	case v.Cmp(big.NewInt(maxI)) > 0:
		return maxI
	case v.Cmp(big.NewInt(minI)) < 0:
		return minI
	}
	return v.Int64()
}

var extremes = []int64{0, 1, -1, 2, -2, 7, day, -day, 60 * day, w292y, -w292y, maxI, maxI - 1, minI, minI + 1, maxI / 2049, maxI/2049 + 1}

func TestSatAddMul(t *testing.T) {
	for _, a := range extremes {
		for _, b := range extremes {
			if got, want := SatAdd(a, b), clampBig(new(big.Int).Add(big.NewInt(a), big.NewInt(b))); got != want {
				t.Errorf("SatAdd(%d, %d) = %d, want %d", a, b, got, want)
			}
			if got, want := SatMul(a, b), clampBig(new(big.Int).Mul(big.NewInt(a), big.NewInt(b))); got != want {
				t.Errorf("SatMul(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
	// The warm-up lookback of a 60-day window (2049 windows) wrapped to a
	// negative duration; saturated it is the longest duration.
	if got := SatDuration(2049, 60*24*time.Hour); got != math.MaxInt64 {
		t.Errorf("2049 × 60d = %v", got)
	}
}

func TestWindowStartEnd(t *testing.T) {
	widths := []int64{1, 7, 10, int64(time.Minute), day, 30 * day, 60 * day, w292y, maxI}
	times := []int64{0, 1, -1, 9, -10, -11, day - 1, maxI, maxI - 1, minI, minI + 1, minI + 2, maxI - 6, minI + 10}
	for _, w := range widths {
		for _, ts := range times {
			bw := big.NewInt(w)
			// floor(t / w) · w, and + w, exactly
			q := new(big.Int).Div(big.NewInt(ts), bw) // Euclidean: floor for w > 0
			start := new(big.Int).Mul(q, bw)
			end := new(big.Int).Add(start, bw)
			s, e := WindowStart(ts, w), WindowEnd(ts, w)
			if want := clampBig(start); s != want {
				t.Errorf("WindowStart(%d, %d) = %d, want %d", ts, w, s, want)
			}
			if want := clampBig(end); e != want {
				t.Errorf("WindowEnd(%d, %d) = %d, want %d", ts, w, e, want)
			}
			if !WindowHolds(s, e, ts) {
				t.Errorf("window [%d, %d) of width %d does not hold %d", s, e, w, ts)
			}
		}
	}
	for _, c := range []struct{ t, w, start, end int64 }{
		{-1, 10, -10, 0}, {-10, 10, -10, 0}, {9, 10, 0, 10}, {10, 10, 10, 20},
		// The window holding MinInt64 begins before it: clamped, not wrapped to 2262.
		{minI, day, minI, minI - minI%day},
		// The window holding MaxInt64 ends after it: clamped, not wrapped to 1677.
		{maxI, day, maxI - maxI%day, maxI},
		{maxI, 1, maxI, maxI},
		{maxI, maxI, maxI, maxI},
		{0, maxI, 0, maxI},
		{-1, maxI, -maxI, 0},
		{minI, maxI, minI, -maxI},
	} {
		if s, e := WindowStart(c.t, c.w), WindowEnd(c.t, c.w); s != c.start || e != c.end {
			t.Errorf("window of %d (width %d) = [%d, %d), want [%d, %d)", c.t, c.w, s, e, c.start, c.end)
		}
	}
}

func TestFirstWindowStart(t *testing.T) {
	for _, c := range []struct{ width, want int64 }{
		{1, minI}, {2, minI}, {1 << 62, minI}, {1<<63 - 1, -maxI},
		{7, minI + 1}, {10, minI + 8}, {day, minI - minI%day},
	} {
		got := FirstWindowStart(c.width)
		if got != c.want || WindowStart(got, c.width) != got {
			t.Errorf("FirstWindowStart(%d) = %d, want %d", c.width, got, c.want)
		}
	}
}

func TestWindowHolds(t *testing.T) {
	for _, c := range []struct {
		start, end, t int64
		want          bool
	}{
		{0, 10, 0, true}, {0, 10, 9, true}, {0, 10, 10, false}, {0, 10, -1, false},
		{maxI - 7, maxI, maxI - 1, true},
		{maxI - 7, maxI, maxI, true}, // the last window holds the last instant
		{minI, minI + 5, minI, true},
	} {
		if got := WindowHolds(c.start, c.end, c.t); got != c.want {
			t.Errorf("WindowHolds(%d, %d, %d) = %v", c.start, c.end, c.t, got)
		}
	}
}

func TestUnixNanoClamps(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{MinTime, minI},
		{MaxTime, maxI},
		{MinTime.Add(-time.Nanosecond), minI},
		{MaxTime.Add(time.Nanosecond), maxI},
		{time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), minI},
		{time.Date(1677, 9, 21, 0, 0, 0, 0, time.UTC), minI},
		{time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC), maxI},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), maxI},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 946684800 * int64(time.Second)},
	} {
		if got := UnixNano(c.t); got != c.want {
			t.Errorf("UnixNano(%v) = %d, want %d", c.t, got, c.want)
		}
		if got := ClampTime(c.t).UnixNano(); got != c.want {
			t.Errorf("ClampTime(%v) = %d ns, want %d", c.t, got, c.want)
		}
	}
}

// Windows at the ends of the range: points at MinInt64 and MaxInt64 fall
// in the clamped first and last windows, in order, with ends that do not
// wrap.
func TestWindowsAtTheEnds(t *testing.T) {
	w := Windows{Detector: NewDetector(Config{History: 2, Alpha: 0.5}), Width: day}
	var ends []int64
	for _, ts := range []int64{minI, minI + 1, 0, maxI - 1, maxI} {
		if _, end, ok := w.Add(ts, 1); ok || end != 0 {
			ends = append(ends, end)
		}
	}
	if _, end, _ := w.Flush(maxI); end != 0 {
		ends = append(ends, end)
	}
	want := []int64{minI - minI%day, day, maxI}
	if len(ends) != len(want) {
		t.Fatalf("window ends %v, want %v", ends, want)
	}
	for i := range want {
		if ends[i] != want[i] {
			t.Fatalf("window ends %v, want %v", ends, want)
		}
	}
}
