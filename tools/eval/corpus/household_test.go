package corpus

import (
	"math"
	"reflect"
	"regexp"
	"sort"
	"testing"
	"time"
)

// synthetic lists the generated corpora the table-driven tests share.
var synthetic = []struct {
	name      string
	gen       func(uint64) (Corpus, [][]injected)
	minutes   int // readings per series before the missing ones
	minWindow int
	kinds     []string
	series    *regexp.Regexp
}{
	{"household", household, householdDays * 1440, householdMinWindow,
		[]string{faultStuckMeter, faultFridgeFailure, faultNightLoad},
		regexp.MustCompile(`^house-[0-9]+/active_power$`)},
	{"servers", servers, serverDays * 1440, serverMinWindow,
		[]string{faultTrafficStorm, faultOutage, faultLatencyShift, faultRunaway, faultCPUStuck},
		regexp.MustCompile(`^server-[0-9]+/(cpu|requests|latency_ms)$`)},
}

var hsSeeds = []uint64{1, 2, 3, 42, 1 << 40}

func TestSyntheticIsDeterministicInItsSeed(t *testing.T) {
	for _, c := range synthetic {
		t.Run(c.name, func(t *testing.T) {
			a, _ := c.gen(7)
			b, _ := c.gen(7)
			if !reflect.DeepEqual(a, b) {
				t.Fatal("seed 7 gave two different corpora")
			}
			other, _ := c.gen(8)
			for i := range a.Series {
				if reflect.DeepEqual(a.Series[i].Values, other.Series[i].Values) {
					t.Errorf("%s: seeds 7 and 8 gave the same values", a.Series[i].Name)
				}
			}
			if a.Name != c.name {
				t.Errorf("corpus named %q", a.Name)
			}
		})
	}
	if !reflect.DeepEqual(Household(3), func() Corpus { c, _ := household(3); return c }()) ||
		!reflect.DeepEqual(Servers(3), func() Corpus { c, _ := servers(3); return c }()) {
		t.Error("the exported generators differ from the ones under test")
	}
}

// TestSyntheticFollowsTheRules: valid series, a few readings missing,
// windows of at least the minimum length lying after the probationary
// 15%, one per fault, and under a million rows per corpus.
func TestSyntheticFollowsTheRules(t *testing.T) {
	for _, c := range synthetic {
		for _, seed := range hsSeeds {
			corpus, faults := c.gen(seed)
			rows, healthy := 0, 0
			for i, s := range corpus.Series {
				if err := s.Check(); err != nil {
					t.Fatalf("%s seed %d: %v", c.name, seed, err)
				}
				if !c.series.MatchString(s.Name) {
					t.Errorf("%s: series named %q", c.name, s.Name)
				}
				rows += len(s.Times)
				if lost := c.minutes - len(s.Times); lost < 1 || lost > 200 {
					t.Errorf("%s seed %d: %d readings missing, want a few", s.Name, seed, lost)
				}
				if s.Step() != int64(time.Minute) {
					t.Errorf("%s: step %v", s.Name, time.Duration(s.Step()))
				}
				if len(s.Windows) != len(faults[i]) {
					t.Fatalf("%s: %d windows for %d faults", s.Name, len(s.Windows), len(faults[i]))
				}
				if len(s.Windows) == 0 {
					healthy++
				}
				probation := s.Times[len(s.Times)*15/100]
				for _, w := range s.Windows {
					if w.Start <= probation {
						t.Errorf("%s seed %d: window at %d inside the probationary 15%%", s.Name, seed, w.Start)
					}
					if w.End-w.Start < int64(c.minWindow-1)*int64(time.Minute) {
						t.Errorf("%s seed %d: window of %v", s.Name, seed, time.Duration(w.End-w.Start))
					}
					if w.End > s.Times[len(s.Times)-1] {
						t.Errorf("%s seed %d: window ends after the last reading", s.Name, seed)
					}
				}
			}
			if rows >= 1_000_000 {
				t.Errorf("%s: %d rows", c.name, rows)
			}
			if healthy == 0 {
				t.Errorf("%s seed %d: every series has a fault", c.name, seed)
			}
		}
	}
}

func TestSyntheticHasEveryFaultKind(t *testing.T) {
	for _, c := range synthetic {
		for _, seed := range hsSeeds {
			_, faults := c.gen(seed)
			seen := map[string]int{}
			for _, fs := range faults {
				for _, f := range fs {
					seen[f.kind]++
				}
			}
			for _, k := range c.kinds {
				if seen[k] == 0 {
					t.Errorf("%s seed %d: no %s", c.name, seed, k)
				}
			}
			if len(seen) != len(c.kinds) {
				t.Errorf("%s seed %d: kinds %v, want %v", c.name, seed, seen, c.kinds)
			}
		}
	}
}

// hsRows returns the values of s's rows in [from, to] (Unix ns).
func hsRows(s Series, from, to int64) []float64 {
	i := sort.Search(len(s.Times), func(i int) bool { return s.Times[i] >= from })
	j := sort.Search(len(s.Times), func(i int) bool { return s.Times[i] > to })
	return s.Values[i:j]
}

// hsMinute is the time of minute m of a series starting at t0.
func hsMinute(t0 int64, m int) int64 { return t0 + int64(m)*int64(time.Minute) }

// hsInWindow reports whether t lies in one of s's windows.
func hsInWindow(s Series, t int64) bool {
	for _, w := range s.Windows {
		if t >= w.Start && t <= w.End {
			return true
		}
	}
	return false
}

// hsLongestRun is the longest run of consecutive rows satisfying same(prev,
// cur), counted in rows, among the rows where keep(time) holds.
func hsLongestRun(s Series, keep func(int64) bool, same func(a, b float64) bool) int {
	best, run := 0, 0
	for i := range s.Values {
		switch {
		case !keep(s.Times[i]):
			run = 0
			continue
		case run > 0 && same(s.Values[i-1], s.Values[i]):
			run++
		default:
			run = 1
		}
		best = max(best, run)
	}
	return best
}

func hsMean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func hsQuantile(xs []float64, q float64) float64 {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	return ys[int(q*float64(len(ys)-1))]
}

// hsCleanNights returns, for each day whose 01:00–05:00 lies outside every
// window of s, that night's readings.
func hsCleanNights(s Series, t0 int64, days int) [][]float64 {
	var out [][]float64
	for d := range days {
		from, to := hsMinute(t0, d*1440+60), hsMinute(t0, d*1440+299)
		clean := true
		for _, w := range s.Windows {
			if w.Start <= to && w.End >= from {
				clean = false
			}
		}
		if clean {
			out = append(out, hsRows(s, from, to))
		}
	}
	return out
}

// fridgeOnShare is the share of a night's minutes drawing at least 40 W
// above its 10th percentile: the compressor running, since nothing else
// runs from 01:00 to 05:00 and the meter's noise is 6 W.
func fridgeOnShare(night []float64) float64 {
	floor, on := hsQuantile(night, 0.1), 0
	for _, v := range night {
		if v > floor+0.04 {
			on++
		}
	}
	return float64(on) / float64(len(night))
}

func TestHouseholdFaultsAreVisible(t *testing.T) {
	for _, seed := range hsSeeds {
		c, faults := household(seed)
		for i, s := range c.Series {
			outside := func(t int64) bool { return !hsInWindow(s, t) }
			equal := func(a, b float64) bool { return a == b }
			if run := hsLongestRun(s, outside, equal); run >= 10 {
				t.Errorf("%s seed %d: %d identical readings in a row outside the windows", s.Name, seed, run)
			}
			nights := hsCleanNights(s, householdStart, householdDays)
			var quiet []float64
			for _, n := range nights {
				if share := fridgeOnShare(n); share < 0.2 || share > 0.5 {
					t.Errorf("%s seed %d: the fridge runs %.2f of a healthy night", s.Name, seed, share)
				}
				quiet = append(quiet, hsMean(n))
			}
			for _, f := range faults[i] {
				from, to := hsMinute(householdStart, f.start), hsMinute(householdStart, f.end-1)
				switch f.kind {
				case faultStuckMeter:
					in := func(t int64) bool { return t >= from && t <= to }
					if run := hsLongestRun(s, in, equal); run != f.end-f.start {
						t.Errorf("%s seed %d: stuck for %d minutes, %d identical readings", s.Name, seed, f.end-f.start, run)
					}
				case faultFridgeFailure:
					whole := 0
					for d := f.start/1440 - 1; d <= f.end/1440; d++ {
						a, b := d*1440+60, d*1440+299
						if a < f.start || b >= f.end {
							continue
						}
						whole++
						if share := fridgeOnShare(hsRows(s, hsMinute(householdStart, a), hsMinute(householdStart, b))); share > 0.02 {
							t.Errorf("%s seed %d: a broken fridge runs %.2f of the night", s.Name, seed, share)
						}
					}
					if whole == 0 {
						t.Errorf("%s seed %d: the fridge failure spans no whole night", s.Name, seed)
					}
				case faultNightLoad:
					got := hsMean(hsRows(s, from, to))
					if got < hsQuantile(quiet, 1)+0.8 {
						t.Errorf("%s seed %d: night mean %.3f kW in the window, up to %.3f on other nights", s.Name, seed, got, hsQuantile(quiet, 1))
					}
				}
			}
			// Normal bursts (kettle, oven, washing machine) outside the windows.
			bursts := 0
			for k := 1; k < len(s.Values); k++ {
				if s.Values[k] >= 1.8 && s.Values[k-1] < 1.8 && outside(s.Times[k]) {
					bursts++
				}
			}
			if bursts < 2*householdDays {
				t.Errorf("%s seed %d: %d bursts outside the windows", s.Name, seed, bursts)
			}
		}
	}
}

// TestHouseholdRhythm: evenings draw more than nights, and weekend
// middays more than weekday ones.
func TestHouseholdRhythm(t *testing.T) {
	c := Household(5)
	for _, s := range c.Series {
		var night, evening, weekday, weekend []float64
		for k, tm := range s.Times {
			m := int((tm - householdStart) / int64(time.Minute))
			hour, sat := m%1440/60, m/1440%7 >= 5
			switch {
			case hsInWindow(s, tm):
			case hour >= 1 && hour < 5:
				night = append(night, s.Values[k])
			case hour >= 18 && hour < 21:
				evening = append(evening, s.Values[k])
			case hour >= 11 && hour < 15 && sat:
				weekend = append(weekend, s.Values[k])
			case hour >= 11 && hour < 15:
				weekday = append(weekday, s.Values[k])
			}
		}
		if n, e := hsMean(night), hsMean(evening); e < n+0.3 {
			t.Errorf("%s: evening mean %.3f kW, night %.3f", s.Name, e, n)
		}
		if n := hsMean(night); n > 0.5 {
			t.Errorf("%s: night mean %.3f kW", s.Name, n)
		}
		if wd, we := hsMean(weekday), hsMean(weekend); we < wd+0.05 {
			t.Errorf("%s: weekend midday mean %.3f kW, weekday %.3f", s.Name, we, wd)
		}
		for _, v := range s.Values {
			if v < 0 || v > 10 || v != math.Round(v*1000)/1000 {
				t.Fatalf("%s: reading %v", s.Name, v)
			}
		}
	}
}

func BenchmarkHousehold(b *testing.B) {
	for b.Loop() {
		Household(1)
	}
}
