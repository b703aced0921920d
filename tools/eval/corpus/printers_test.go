package corpus

import (
	"math"
	"reflect"
	"sort"
	"testing"
	"time"
)

// prTestSeeds are the seeds every property is checked on.
var prTestSeeds = []uint64{1, 7, 2026}

func TestPrintersSameSeedSameCorpus(t *testing.T) {
	a, b := Printers(7), Printers(7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("seed 7 gave two different corpora")
	}
	if !reflect.DeepEqual(PrinterFaults(7), PrinterFaults(7)) {
		t.Fatal("seed 7 gave two different fault lists")
	}
	c := Printers(8)
	for i := range a.Series {
		if reflect.DeepEqual(a.Series[i].Values, c.Series[i].Values) {
			t.Errorf("%s: seeds 7 and 8 gave the same values", a.Series[i].Name)
		}
	}
}

func TestPrintersShape(t *testing.T) {
	for _, seed := range prTestSeeds {
		c := Printers(seed)
		if c.Name != "printers" || len(c.Series) != printerCount*prFields {
			t.Fatalf("seed %d: %q with %d series", seed, c.Name, len(c.Series))
		}
		rows, healthy := 0, 0
		for i, s := range c.Series {
			if err := s.Check(); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if want := prSeriesName(i/prFields, i%prFields); s.Name != want {
				t.Errorf("seed %d: series %d is %q, want %q", seed, i, s.Name, want)
			}
			if s.Step() != int64(printerStep) {
				t.Errorf("%s: step %v", s.Name, time.Duration(s.Step()))
			}
			// Gaps of 2–6 minutes, two to four of them.
			if missing := printerRows - len(s.Times); missing < 2*12 || missing > 4*36 {
				t.Errorf("%s: %d rows missing", s.Name, missing)
			}
			if len(s.Windows) == 0 {
				healthy++
			}
			rows += len(s.Times)
		}
		if rows > 1_000_000 || rows < printerCount*prFields*printerRows*99/100 {
			t.Errorf("seed %d: %d rows in all", seed, rows)
		}
		if healthy < prFields {
			t.Errorf("seed %d: only %d series without a fault", seed, healthy)
		}
	}
}

func TestPrinterFaultsFollowTheRules(t *testing.T) {
	for _, seed := range prTestSeeds {
		c := Printers(seed)
		faults := PrinterFaults(seed)
		kinds := map[string]int{}
		byName := map[string][]Window{}
		for _, f := range faults {
			kinds[f.Kind]++
			byName[f.Series] = append(byName[f.Series], f.Window)
		}
		for _, k := range prKinds {
			if kinds[k] == 0 {
				t.Errorf("seed %d: no %s fault in %v", seed, k, kinds)
			}
		}
		for _, s := range c.Series {
			if !reflect.DeepEqual(s.Windows, byName[s.Name]) {
				t.Errorf("%s: windows %v, PrinterFaults says %v", s.Name, s.Windows, byName[s.Name])
			}
			probation := s.Times[len(s.Times)*15/100]
			for _, w := range s.Windows {
				if w.Start <= probation {
					t.Errorf("%s: window %v in the probationary period", s.Name, w)
				}
				if d := time.Duration(w.End - w.Start); d < 10*time.Minute {
					t.Errorf("%s: window %v lasts %v", s.Name, w, d)
				}
				if !prHasRow(s, w) {
					t.Errorf("%s: window %v holds no row", s.Name, w)
				}
			}
		}
	}
}

// TestPrinterFaultsAreVisible checks that each window holds the evidence
// of its kind, on the corpus and against the fault-free twin.
func TestPrinterFaultsAreVisible(t *testing.T) {
	type look struct {
		s, twin Series
		w       Window
		sp      func(int64) float64 // the running job's setpoint
	}
	checks := map[string]func(l look) bool{
		prRunaway: func(l look) bool {
			return prMax(l.s, l.w, func(i int) float64 { return l.s.Values[i] - l.sp(l.s.Times[i]) }) > 10 ||
				prAirField(l.s) // the air only follows the bed
		},
		prDropout: func(l look) bool { return prMax(l.s, l.w, func(i int) float64 { return -l.s.Values[i] }) >= 0 },
		prFlatline: func(l look) bool {
			return prLongestRun(l.s, l.w) >= prRows(20*time.Minute)
		},
		prFan: func(l look) bool {
			return prMax(l.s, l.w, func(i int) float64 { return l.s.Values[i] - l.twin.Values[i] }) > 3
		},
		prShift: func(l look) bool {
			return prMax(l.s, l.w, func(i int) float64 { return math.Abs(l.s.Values[i] - l.twin.Values[i]) }) > 3.9
		},
		prDrift: func(l look) bool {
			return prMax(l.s, l.w, func(i int) float64 { return math.Abs(l.s.Values[i] - l.twin.Values[i]) }) > 1.1
		},
		prNoise: func(l look) bool {
			return prMax(l.s, l.w, func(i int) float64 { return math.Abs(l.s.Values[i] - l.twin.Values[i]) }) > 5*prHotSigma
		},
	}
	for _, seed := range prTestSeeds {
		plans := printerPlans(seed)
		c := Printers(seed)
		twin := printersCorpus(plans, seed, false)
		series := map[string]int{}
		for i, s := range c.Series {
			series[s.Name] = i
		}
		for _, f := range PrinterFaults(seed) {
			i := series[f.Series]
			field := i % prFields
			l := look{c.Series[i], twin.Series[i], f.Window, func(at int64) float64 {
				return prSetpoint(plans[i/prFields], field, at)
			}}
			if !checks[f.Kind](l) {
				t.Errorf("seed %d: %s %s at %v: not visible", seed, f.Series, f.Kind, time.Unix(0, f.Start).UTC())
			}
		}
	}
}

// TestPrintersMatchTheirTwinOutsideWindows checks that the windows cover
// every fault: outside them each reading is within noise (0.5 °C) of the
// same printers simulated without faults.
func TestPrintersMatchTheirTwinOutsideWindows(t *testing.T) {
	for _, seed := range prTestSeeds {
		plans := printerPlans(seed)
		c, twin := Printers(seed), printersCorpus(plans, seed, false)
		for i, s := range c.Series {
			inside := false
			for r, v := range s.Values {
				d := math.Abs(v - twin.Series[i].Values[r])
				if !prInWindow(s, s.Times[r]) && d > 0.5 {
					t.Errorf("seed %d: %s at %v reads %v, %v without faults", seed, s.Name,
						time.Unix(0, s.Times[r]).UTC(), v, twin.Series[i].Values[r])
					break
				}
				inside = inside || d > 0
			}
			if inside != (len(s.Windows) > 0) {
				t.Errorf("seed %d: %s: %d windows, differs from its twin: %v", seed, s.Name, len(s.Windows), inside)
			}
		}
	}
}

// TestPrintersHotOnlyInRunaways checks that no hotend or bed reading
// exceeds its job's setpoint by over 10 °C outside a window.
func TestPrintersHotOnlyInRunaways(t *testing.T) {
	for _, seed := range prTestSeeds {
		plans := printerPlans(seed)
		for i, s := range Printers(seed).Series {
			field := i % prFields
			if field == prAir {
				continue
			}
			for r, v := range s.Values {
				if sp := prSetpoint(plans[i/prFields], field, s.Times[r]); v > sp+10 && !prInWindow(s, s.Times[r]) {
					t.Errorf("seed %d: %s reads %v over a setpoint of %v at %v", seed, s.Name, v, sp, time.Unix(0, s.Times[r]).UTC())
					break
				}
			}
		}
	}
}

// TestPrintersFlatOnlyInWindows checks that a live sensor never repeats a
// reading eight times running outside a window.
func TestPrintersFlatOnlyInWindows(t *testing.T) {
	for _, seed := range prTestSeeds {
		for _, s := range Printers(seed).Series {
			run := 1
			for r := 1; r < len(s.Values); r++ {
				if s.Values[r] != s.Values[r-1] || prInWindow(s, s.Times[r]) {
					run = 1
					continue
				}
				if run++; run >= 8 {
					t.Errorf("seed %d: %s reads %v eight times at %v", seed, s.Name, s.Values[r], time.Unix(0, s.Times[r]).UTC())
					break
				}
			}
		}
	}
}

// TestPrinterJobStartsAreNotLabelled checks that a job's heat-up ramp
// (its first 10 minutes) lies outside every window, or inside one that
// began at least 15 minutes earlier: no window starts at a job's start.
func TestPrinterJobStartsAreNotLabelled(t *testing.T) {
	for _, seed := range prTestSeeds {
		plans := printerPlans(seed)
		for i, s := range Printers(seed).Series {
			free := 0
			for _, j := range plans[i/prFields].jobs {
				a, b := prTime(j.start), prTime(j.start+prRows(10*time.Minute))
				clear := true
				for _, w := range s.Windows {
					if w.Start <= b && a <= w.End {
						clear = false
						if a-w.Start < int64(15*time.Minute) {
							t.Errorf("seed %d: %s: window %v starts with the job at %v", seed, s.Name, w, time.Unix(0, a).UTC())
						}
					}
				}
				if clear {
					free++
				}
			}
			if free == 0 {
				t.Errorf("seed %d: %s: every heat-up lies in a window", seed, s.Name)
			}
		}
	}
}

// TestPrintersRunAsPrintersDo checks the physics the detectors must learn:
// a room at 18–28 °C before the first job, each job's hotend and bed at
// their setpoints 30 minutes in (within the PID ripple and noise), the
// air 1–12 °C warmer at the end of a long job than before it.
func TestPrintersRunAsPrintersDo(t *testing.T) {
	plans := printerPlans(1)
	c := printersCorpus(plans, 1, false)
	// at is the mean of the six readings from row on: a minute's worth.
	at := func(s Series, row int) float64 {
		i := min(sort.Search(len(s.Times), func(i int) bool { return s.Times[i] >= prTime(row) }), len(s.Values)-6)
		sum := 0.0
		for _, v := range s.Values[i : i+6] {
			sum += v
		}
		return sum / 6
	}
	for p, plan := range plans {
		hot, bed, air := c.Series[p*prFields+prHotend], c.Series[p*prFields+prBed], c.Series[p*prFields+prAir]
		if v := hot.Values[0]; v < 18 || v > 28 {
			t.Errorf("%s starts at %v", hot.Name, v)
		}
		jobs, idleSince := 0, 0
		for _, j := range plan.jobs {
			rested := j.start-idleSince > prRows(2*time.Hour) // the air is back at the room's
			idleSince = j.end
			settled := j.start + prRows(30*time.Minute)
			if settled >= min(j.end, printerRows) {
				continue
			}
			jobs++
			if v := at(hot, settled); math.Abs(v-j.hot) > 2.5 {
				t.Errorf("%s reads %v at a setpoint of %v", hot.Name, v, j.hot)
			}
			if v := at(bed, settled); math.Abs(v-j.bed) > 1.5 {
				t.Errorf("%s reads %v at a setpoint of %v", bed.Name, v, j.bed)
			}
			if rested && j.end-j.start > prRows(2*time.Hour) && j.end < printerRows {
				if rise := at(air, j.end-6) - at(air, j.start-6); rise < 1 || rise > 12 {
					t.Errorf("%s rises %v °C over a job", air.Name, rise)
				}
			}
		}
		if jobs < 3 {
			t.Errorf("printer %d: %d jobs over four days", p+1, jobs)
		}
	}
}

func BenchmarkPrinters(b *testing.B) {
	for i := range b.N {
		Printers(uint64(i))
	}
}

// prSetpoint is the setpoint of p's job running at time at for field, or of
// the last one before it (cooling down), or the room's if none has run.
func prSetpoint(p prPlan, field int, at int64) float64 {
	sp := 25.0
	for _, j := range p.jobs {
		if prTime(j.start) > at {
			break
		}
		sp = j.hot
		if field == prBed {
			sp = j.bed
		}
	}
	return sp
}

func prAirField(s Series) bool { return len(s.Name) > 4 && s.Name[len(s.Name)-4:] == "/air" }

func prInWindow(s Series, at int64) bool {
	for _, w := range s.Windows {
		if w.Start <= at && at <= w.End {
			return true
		}
	}
	return false
}

func prHasRow(s Series, w Window) bool {
	i := sort.Search(len(s.Times), func(i int) bool { return s.Times[i] >= w.Start })
	return i < len(s.Times) && s.Times[i] <= w.End
}

// prMax is the largest f(row) over the rows of s in w.
func prMax(s Series, w Window, f func(row int) float64) float64 {
	m := math.Inf(-1)
	for r, at := range s.Times {
		if w.Start <= at && at <= w.End {
			m = max(m, f(r))
		}
	}
	return m
}

// prLongestRun is the longest run of equal readings of s in w.
func prLongestRun(s Series, w Window) int {
	best, run := 0, 0
	for r, at := range s.Times {
		if at < w.Start || at > w.End {
			continue
		}
		if run > 0 && s.Values[r] == s.Values[r-1] {
			run++
		} else {
			run = 1
		}
		best = max(best, run)
	}
	return best
}
