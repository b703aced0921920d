package corpus

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The household corpus: one reading of active power (kW, three decimals)
// per minute for three weeks, in the shape and units of the UCI
// "Individual household electric power consumption" set's
// Global_active_power, as pkg/datagen's unlabelled generator draws it, but
// built from the loads a real meter sums so that a fault has something to
// break: a base load, a fridge compressor cycling, the occupants' daily and
// weekly rhythm, and kettle, oven and washing-machine bursts.
const (
	householdDays = 21
	// householdMinWindow is the shortest labelled window, in minutes:
	// every household fault lasts longer, so it only guards the rule.
	householdMinWindow = 120
)

// householdStart is the first reading's time: Monday 2026-01-05 00:00 UTC,
// so that day d (from 0) is a weekend day when d%7 >= 5.
var householdStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).UnixNano()

// The household corpus's fault kinds.
const (
	// faultStuckMeter: the meter repeats one reading for hours.
	faultStuckMeter = "stuck-meter"
	// faultFridgeFailure: the fridge's compressor stops for a day or more,
	// then runs long to pull the temperature down once repaired.
	faultFridgeFailure = "fridge-failure"
	// faultNightLoad: 1–2 kW drawn from 01:00 to 05:00, when the house
	// otherwise draws only its base load and the fridge, for 1–3 nights.
	faultNightLoad = "night-load"
)

// householdPlans lists each house's faults (in an order the seed
// shuffles); houses 3 and 5 have none, so false alarms on healthy houses
// count against a detector too.
var householdPlans = [][]string{
	{faultStuckMeter, faultNightLoad},
	{faultFridgeFailure},
	nil,
	{faultFridgeFailure, faultStuckMeter, faultNightLoad},
	nil,
}

// Household returns the household corpus for seed: series
// "house-<i>/active_power", one per house.
func Household(seed uint64) Corpus {
	c, _ := household(seed)
	return c
}

// household returns the corpus and, per series, the faults injected in it
// (for the tests, which check each fault is visible in the readings).
func household(seed uint64) (Corpus, [][]injected) {
	c := Corpus{Name: "household"}
	faults := make([][]injected, len(householdPlans))
	for i, plan := range householdPlans {
		rng := rand.New(rand.NewPCG(seed, 0x686f757365<<8|uint64(i)))
		name := fmt.Sprintf("house-%d/active_power", i+1)
		var s Series
		s, faults[i] = house(name, plan, rng)
		c.Series = append(c.Series, s)
	}
	return c, faults
}

// house simulates one house: the sum of its loads minute by minute, the
// plan's faults placed after the probationary period, then a few readings
// dropped.
func house(name string, plan []string, rng *rand.Rand) (Series, []injected) {
	n := householdDays * 24 * 60
	h := drawHabits(rng)
	plan = append([]string(nil), plan...)
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	var faults []injected
	for i, slot := range faultSlots(n, len(plan)) {
		faults = append(faults, placeHouseFault(plan[i], slot, rng)...)
	}
	fridge := fridgeLoad(n, h.fridgeKW, faultsOf(faults, faultFridgeFailure), rng)
	appl := applianceLoad(n, h, rng)
	kw := make([]float64, n)
	for m := range kw {
		v := h.base + 0.006*rng.NormFloat64() + fridge[m] + appl[m] + activityLoad(m, h, rng)
		kw[m] = math.Max(0, v)
	}
	for _, f := range faultsOf(faults, faultNightLoad) {
		for m := f.start; m < f.end; m++ {
			kw[m] += f.level + 0.02*rng.NormFloat64()
		}
	}
	for m := range kw {
		kw[m] = math.Round(kw[m]*1000) / 1000 // three decimals, as the UCI file
	}
	for _, f := range faultsOf(faults, faultStuckMeter) {
		for m := f.start + 1; m < f.end; m++ {
			kw[m] = kw[f.start]
		}
	}
	missing := missingMinutes(n, 3+rng.IntN(4), 15, faults, householdMinWindow, rng)
	return minuteSeries(name, householdStart, kw, missing, faults, householdMinWindow), faults
}

// habits are one house's constants: its appliances and its occupants'
// hours (in hours of the day).
type habits struct {
	base, fridgeKW, scale    float64
	wakeWeekday, wakeWeekend float64
	bed                      float64
}

// drawHabits draws a house: a base load of 0.12–0.30 kW (standby, the
// boiler's pump), a fridge of 80–130 W, activity at 0.6–1.4 times the
// typical, waking at 06:00–07:30 on weekdays and 1.5–2.5 hours later at
// weekends, in bed by 22:45–23:45.
func drawHabits(rng *rand.Rand) habits {
	wake := 6 + 1.5*rng.Float64()
	return habits{
		base:        0.12 + 0.18*rng.Float64(),
		fridgeKW:    0.08 + 0.05*rng.Float64(),
		scale:       0.6 + 0.8*rng.Float64(),
		wakeWeekday: wake,
		wakeWeekend: wake + 1.5 + rng.Float64(),
		bed:         22.75 + rng.Float64(),
	}
}

// placeHouseFault draws one fault of kind inside slot [a, b) (minutes).
func placeHouseFault(kind string, slot [2]int, rng *rand.Rand) []injected {
	switch kind {
	case faultStuckMeter:
		d := 180 + rng.IntN(421) // 3–10 h
		s := startIn(slot, max(d, householdMinWindow), rng)
		return []injected{{kind: kind, start: s, end: s + d, settled: s + d}}
	case faultFridgeFailure:
		d := 24*60 + rng.IntN(16*60+1) // 24–40 h: always a whole night
		pull := 60 + rng.IntN(31)      // the compressor's pull-down run
		s := startIn(slot, d+pull, rng)
		return []injected{{kind: kind, start: s, end: s + d, settled: s + d + pull}}
	case faultNightLoad:
		nights := 1 + rng.IntN(3)
		first := (slot[0] - 60 + 1439) / 1440
		last := (slot[1]-300)/1440 - (nights - 1)
		d := first + rng.IntN(last-first+1)
		level := 1 + rng.Float64() // a heater left on: 1–2 kW
		var out []injected
		for k := range nights {
			s := (d+k)*1440 + 60
			out = append(out, injected{kind: kind, start: s, end: s + 240, settled: s + 240, level: level})
		}
		return out
	}
	panic("corpus: unknown household fault " + kind)
}

// fridgeLoad is the compressor's draw: on at kw for 12–18 minutes, off for
// 25–35, a cycle of about 45 minutes with jitter on every phase. A failure
// stops it for [start, end) and, repaired, it runs until settled to pull
// the temperature back down before it cycles again.
func fridgeLoad(n int, kw float64, failures []injected, rng *rand.Rand) []float64 {
	out := make([]float64, n)
	on, left := false, rng.IntN(35)
	for m := range out {
		if f, ok := during(failures, m); ok {
			if m >= f.end {
				out[m] = kw
			}
			on, left = false, 25+rng.IntN(11)
			continue
		}
		for left == 0 {
			on = !on
			if on {
				left = 12 + rng.IntN(7)
			} else {
				left = 25 + rng.IntN(11)
			}
		}
		left--
		if on {
			out[m] = kw
		}
	}
	return out
}

// activityLoad is the occupants' lights, screens and cooking hobs: a
// morning peak an hour after waking, an evening peak around 19:30, more
// during the day at weekends, and nothing from bedtime until an hour
// before waking. Each term is a Gaussian bump a·exp(-(h-c)²/2w²); the
// whole scales by 1+0.15·N(0,1) noise.
func activityLoad(m int, h habits, rng *rand.Rand) float64 {
	hour := float64(m%1440) / 60
	wake, day := h.wakeWeekday, 0.08
	if m/1440%7 >= 5 {
		wake, day = h.wakeWeekend, 0.3
	}
	gate := unitRamp(hour-(wake-1)) * unitRamp((h.bed-hour)/0.5)
	if gate == 0 {
		return 0
	}
	load := 0.5*gaussBump(hour, wake+0.75, 0.6) + 0.8*gaussBump(hour, 19.5, 1.5) + day*gaussBump(hour, 13, 2.5)
	return math.Max(0, h.scale*gate*load*(1+0.15*rng.NormFloat64()))
}

// applianceLoad is the bursts: a kettle (2.0–2.2 kW for 3–4 minutes, most
// often after waking and in the evening), an oven at dinner time (and at
// lunch at weekends) heating 12 minutes then cycling 4 on, 4 off for 30–70
// minutes, and a washing machine (more often at weekends) heating 15–20
// minutes at 2 kW, washing at about 0.3 kW and spinning at 0.5 kW. All end
// before midnight, so the house is quiet from 01:00 to 05:00.
func applianceLoad(n int, h habits, rng *rand.Rand) []float64 {
	out := make([]float64, n)
	var kettle, oven, washer, ovenLen, washerLen, heat, wash int
	kettleKW := 2 + 0.2*rng.Float64()
	for m := range out {
		hour := float64(m%1440) / 60
		weekend := m/1440%7 >= 5
		wake := h.wakeWeekday
		if weekend {
			wake = h.wakeWeekend
		}
		awake := hour >= wake && hour < h.bed-0.25
		if kettle == 0 && awake && rng.Float64() < kettleRate(hour, wake) {
			kettle = 3 + rng.IntN(2)
		}
		if oven == 0 && rng.Float64() < ovenRate(hour, weekend) {
			ovenLen = 30 + rng.IntN(41)
			oven = ovenLen
		}
		if washer == 0 && rng.Float64() < washerRate(hour, weekend) {
			heat, wash = 15+rng.IntN(6), 45+rng.IntN(16)
			washerLen = heat + wash + 8 + rng.IntN(5)
			washer = washerLen
		}
		if kettle > 0 {
			kettle--
			out[m] += kettleKW
		}
		if oven > 0 {
			if k := ovenLen - oven; k < 12 || (k-12)/4%2 == 1 {
				out[m] += 2
			}
			oven--
		}
		if washer > 0 {
			switch k := washerLen - washer; {
			case k < heat:
				out[m] += 2
			case k < heat+wash:
				out[m] += 0.25 + 0.1*rng.Float64()
			default:
				out[m] += 0.5
			}
			washer--
		}
	}
	return out
}

// kettleRate is the chance per minute that the kettle is switched on:
// 1.5% in the 90 minutes after waking, 0.6% from 15:00 to 22:00, 0.2%
// otherwise.
func kettleRate(hour, wake float64) float64 {
	switch {
	case hour >= wake && hour < wake+1.5:
		return 0.015
	case hour >= 15 && hour < 22:
		return 0.006
	}
	return 0.002
}

// ovenRate is the chance per minute that the oven is switched on: 0.5%
// from 17:30 to 19:30 (about one dinner in two), and 0.8% from 11:30 to
// 12:30 at weekends.
func ovenRate(hour float64, weekend bool) float64 {
	switch {
	case hour >= 17.5 && hour < 19.5:
		return 0.005
	case weekend && hour >= 11.5 && hour < 12.5:
		return 0.008
	}
	return 0
}

// washerRate is the chance per minute that a wash starts: 0.05% from 08:00
// to 21:00 on weekdays (0.4 washes a day), 0.15% from 09:00 to 20:00 at
// weekends (one a day).
func washerRate(hour float64, weekend bool) float64 {
	switch {
	case weekend && hour >= 9 && hour < 20:
		return 0.0015
	case !weekend && hour >= 8 && hour < 21:
		return 0.0005
	}
	return 0
}

// gaussBump is the Gaussian exp(-(x-c)²/2w²): 1 at c, 0.61 at c±w.
func gaussBump(x, c, w float64) float64 {
	d := (x - c) / w
	return math.Exp(-d * d / 2)
}

// unitRamp clamps x to [0, 1]: a linear ramp's gate.
func unitRamp(x float64) float64 { return math.Min(1, math.Max(0, x)) }

// injected is one fault put into a synthetic minute series, in minutes
// from its first reading: the fault changes the readings in [start, end),
// and its after-effects (a repaired fridge's pull-down run, clients
// retrying after an outage) last until settled. Level is the fault's
// size where it has one (the night load's kW, the storm's factor).
type injected struct {
	kind                string
	start, end, settled int
	level               float64
}

// span is the minutes [from, to) the fault's window covers: from its start
// over everything it visibly changes, and at least minLen minutes, so that
// NAB's scoring, which rewards the earliest detection inside a window,
// leaves a detector some rows to find it in.
func (f injected) span(minLen int) (from, to int) {
	return f.start, max(f.settled, f.start+minLen)
}

// faultsOf returns the faults of one kind.
func faultsOf(faults []injected, kind string) []injected {
	var out []injected
	for _, f := range faults {
		if f.kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// during returns the fault whose [start, settled) holds minute m.
func during(faults []injected, m int) (injected, bool) {
	for _, f := range faults {
		if m >= f.start && m < f.settled {
			return f, true
		}
	}
	return injected{}, false
}

// faultSlots splits a series of n minutes into k equal, disjoint slots,
// one per fault, so that faults and their windows never overlap. The slots
// start at 20% of the series, so that every fault lies after NAB's
// probationary period (the first 15% of rows) even with readings missing,
// and end 6 hours before its last minute.
func faultSlots(n, k int) [][2]int {
	first, last := n/5, n-360
	slots := make([][2]int, k)
	for i := range slots {
		slots[i] = [2]int{first + i*(last-first)/k, first + (i+1)*(last-first)/k}
	}
	return slots
}

// startIn draws the start of something length minutes long that fits in
// slot.
func startIn(slot [2]int, length int, rng *rand.Rand) int {
	return slot[0] + rng.IntN(slot[1]-slot[0]-length+1)
}

// missingMinutes draws count outages of 1 to maxLen minutes whose readings
// are missing (rows absent, not labelled), none inside a fault's window,
// so that a window's readings are all there to detect it by.
func missingMinutes(n, count, maxLen int, faults []injected, minWindow int, rng *rand.Rand) []bool {
	missing := make([]bool, n)
	for placed := 0; placed < count; {
		l := 1 + rng.IntN(maxLen)
		s := rng.IntN(n - l)
		clear := true
		for _, f := range faults {
			from, to := f.span(minWindow)
			if s < to && s+l > from {
				clear = false
			}
		}
		if !clear {
			continue
		}
		for m := s; m < s+l; m++ {
			missing[m] = true
		}
		placed++
	}
	return missing
}

// minuteSeries is the Series of one reading a minute from t0 (Unix ns),
// without the missing minutes, labelled with the faults' windows (faults
// are in time order: one per slot).
func minuteSeries(name string, t0 int64, values []float64, missing []bool, faults []injected, minWindow int) Series {
	s := Series{Name: name}
	minute := int64(time.Minute)
	for m, v := range values {
		if !missing[m] {
			s.Times = append(s.Times, t0+int64(m)*minute)
			s.Values = append(s.Values, v)
		}
	}
	for _, f := range faults {
		from, to := f.span(minWindow)
		s.Windows = append(s.Windows, Window{Start: t0 + int64(from)*minute, End: t0 + int64(to-1)*minute})
	}
	return s
}
