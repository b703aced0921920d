// Package corpus holds the labelled series Vigil's detectors are evaluated
// on: the Numenta Anomaly Benchmark's series (read from where the shared
// data lives, never copied into the repository) and synthetic series of
// printers, households and servers with labelled faults, each generated
// deterministically from a seed.
package corpus

import (
	"fmt"
	"sort"
)

// Window is a labelled anomaly: every row with Start <= time <= End (Unix
// nanoseconds, both ends included, as NAB labels them) lies in it.
type Window struct {
	Start, End int64
}

// Series is one labelled series of one field: values at strictly
// increasing times (Unix nanoseconds) and its anomaly windows, in time
// order and disjoint. A missing reading is a missing row, never NaN.
type Series struct {
	// Name identifies the series in its corpus, e.g.
	// "realKnownCause/nyc_taxi.csv" or "printer-03/hotend".
	Name    string
	Times   []int64
	Values  []float64
	Windows []Window
}

// Corpus is a named set of series scored together: one threshold and one
// detector setting serve all of its series, as NAB requires.
type Corpus struct {
	Name   string
	Series []Series
}

// Check reports the first way s breaks Series' rules.
func (s *Series) Check() error {
	if len(s.Times) != len(s.Values) {
		return fmt.Errorf("%s: %d times for %d values", s.Name, len(s.Times), len(s.Values))
	}
	if len(s.Times) == 0 {
		return fmt.Errorf("%s: no rows", s.Name)
	}
	for i := 1; i < len(s.Times); i++ {
		if s.Times[i] <= s.Times[i-1] {
			return fmt.Errorf("%s: row %d is not after row %d", s.Name, i, i-1)
		}
	}
	for i, v := range s.Values {
		if v-v != 0 {
			return fmt.Errorf("%s: row %d is %v", s.Name, i, v)
		}
	}
	for i, w := range s.Windows {
		if w.End < w.Start {
			return fmt.Errorf("%s: window %d ends before it starts", s.Name, i)
		}
		if i > 0 && w.Start <= s.Windows[i-1].End {
			return fmt.Errorf("%s: window %d overlaps or precedes window %d", s.Name, i, i-1)
		}
	}
	return nil
}

// Step is the series' typical sampling interval: the median of the gaps
// between rows (0 for a single row).
func (s *Series) Step() int64 {
	if len(s.Times) < 2 {
		return 0
	}
	gaps := make([]int64, len(s.Times)-1)
	for i := range gaps {
		gaps[i] = s.Times[i+1] - s.Times[i]
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	return gaps[len(gaps)/2]
}
