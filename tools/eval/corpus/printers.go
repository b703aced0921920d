package corpus

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// The printers corpus: a small farm of 3D printers as they really run,
// read every 10 s (hotend, bed and chamber air temperature), with labelled
// faults. Everything a printer does that is not a fault (idle time at a
// room temperature that swings with the day, a job's heat-up ramp, the
// PID controller's ripple at the setpoint, a job's cool-down, a new
// setpoint for the next job's material, a reading missing for a few
// minutes) is left unlabelled, so that a detector pays for flagging it.
//
// Window choice. NAB centres each window on its anomaly and sizes it at 10%
// of the series divided by the number of anomalies; here a fault's start
// is known to the row, so a window starts at the fault's first altered row
// and ends at its last visible one: one row past the last altered reading
// for a sensor fault (the reading's jump back is part of the fault), and,
// for a fault that heats something (runaway, fan failure), when the excess
// over the fault-free printer has decayed below 0.4 °C, a reading's noise
// level. A window is at least 10 minutes long, so a short burst is not a
// needle a detector can only hit by luck. Faults start after the first 20%
// of each series (NAB's probationary period is the first 15%), at least 15
// minutes from any job's start or end, and 30 minutes clear of the
// printer's other faults, so a printer's windows are disjoint on every
// field.

// PrinterFault is one labelled fault on one series of Printers. Kind is
// one of:
//   - "runaway": a heater stuck on (hotend, or bed and with it the
//     chamber air), the reading climbing steadily past the setpoint until
//     the firmware's thermal protection cuts the heaters and ends the job
//     (the other fields' early cool-down is a job's end: unlabelled);
//   - "flatline": a heater's or sensor's failure freezing the reading at
//     its last value;
//   - "dropout": a loose or open thermistor, readings dropping to the open
//     circuit's value (-14 °C or 0 °C; 0 °C for the air sensor's failed
//     read) on and off;
//   - "fan": the enclosure fan stopped during a job, the air climbing
//     several degrees above its usual rise;
//   - "shift": the bed reading a constant offset of 4–8 °C for hours;
//   - "drift": a reading drifting by 0.4–0.8 °C an hour for hours;
//   - "noise": a burst of noise ten times the sensor's usual for minutes.
type PrinterFault struct {
	Kind, Series string
	Window
}

// Printers generates the printers corpus from seed: six printers over four
// days, one series per printer and field named like "printer-03/hotend",
// with each fault's window on the series it alters. One printer, chosen
// by the seed, never fails; the other five share twelve to fourteen
// faults, every kind at least once.
func Printers(seed uint64) Corpus {
	return printersCorpus(printerPlans(seed), seed, true)
}

// PrinterFaults lists the faults Printers(seed) labels, by series and then
// time: one entry per series a fault alters.
func PrinterFaults(seed uint64) []PrinterFault {
	var out []PrinterFault
	for i, p := range printerPlans(seed) {
		for fi := range prFields {
			for _, f := range p.faults {
				if f.alters(fi) {
					out = append(out, PrinterFault{Kind: f.kind, Series: prSeriesName(i, fi), Window: prWindow(f)})
				}
			}
		}
	}
	return out
}

const (
	printerCount = 6
	printerDays  = 4
	printerStep  = 10 * time.Second
	printerRows  = int(printerDays * 24 * time.Hour / printerStep)
	// prStreamBase is the PCG stream of the plans ("printers" in ASCII);
	// printer i's readings use stream prStreamBase+1+i.
	prStreamBase = 0x7072696e74657273
)

// printerEpoch is the corpus' first reading, a Monday at midnight UTC.
var printerEpoch = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).UnixNano()

// The fields, in series order.
const (
	prHotend = iota
	prBed
	prAir
	prFields
)

var prFieldNames = [prFields]string{"hotend", "bed", "air"}

// The fault kinds (see PrinterFault).
const (
	prRunaway  = "runaway"
	prFlatline = "flatline"
	prDropout  = "dropout"
	prFan      = "fan"
	prShift    = "shift"
	prDrift    = "drift"
	prNoise    = "noise"
)

var prKinds = []string{prRunaway, prFlatline, prDropout, prFan, prShift, prDrift, prNoise}

// Time constants of the first-order thermal model, T += (target − T)·(1 −
// e^(−Δt/τ)) per reading (Newton's law of heating and cooling, exact for a
// constant target). A hotend (a few grams of aluminium and a 40 W heater)
// reaches its setpoint in about five minutes and, with its heatsink fan,
// cools in ten; a bed (a plate of several hundred grams) heats in about ten
// minutes and cools over an hour; the enclosure's air follows the bed with
// a quarter-hour lag.
const (
	prHotHeatTau = 60 * time.Second
	prHotCoolTau = 150 * time.Second
	prBedHeatTau = 120 * time.Second
	prBedCoolTau = 900 * time.Second
	prAirTau     = 900 * time.Second
	// prVisible is the excess over the fault-free reading below which a
	// heating fault is no longer visible: about a reading's noise.
	prVisible = 0.4
)

// Sensor noise (standard deviations, °C): the air reads steadier when still
// than when the enclosure fan stirs it during a job.
const (
	prHotSigma     = 0.25
	prBedSigma     = 0.15
	prAirIdleSigma = 0.1
	prAirFanSigma  = 0.25
)

// prJob is one print: heaters on for rows start <= k < end.
type prJob struct {
	start, end int
	hot, bed   float64 // setpoints, °C
	phase      float64 // the PID ripple's phase, rad
}

// prFault is one fault as planned, in rows; start and end bound its window
// (both included).
type prFault struct {
	kind       string
	fields     []int
	start, end int
	// effectEnd is the last row a sensor fault alters; stop is the row
	// at which a heating fault stops heating (a runaway's heaters cut, a
	// fan failure's job over: the fan is seen to after it); job is a
	// runaway's job.
	effectEnd, stop, job int
	// size: a runaway's equilibrium excess over the setpoint, a fan
	// failure's excess air temperature, a shift's offset, a drift's °C
	// per row, a dropout's reading (°C).
	size float64
	// tau is a runaway's time constant; prob a dropout's share of
	// dropped readings.
	tau  time.Duration
	prob float64
}

func (f *prFault) alters(field int) bool {
	for _, g := range f.fields {
		if g == field {
			return true
		}
	}
	return false
}

// prPlan is one printer: its room, controller, jobs, faults and gaps.
type prPlan struct {
	ambient, swing float64 // room: mean and daily half-swing, °C
	gain           float64 // air rise per °C of bed above the room
	hotAmp, bedAmp float64 // PID ripple amplitudes, °C
	hotPer, bedPer float64 // PID ripple periods, s
	jobs           []prJob
	faults         []prFault // in time order
	gaps           [][2]int  // rows from <= k < to are missing
}

func prSeriesName(printer, field int) string {
	return fmt.Sprintf("printer-%02d/%s", printer+1, prFieldNames[field])
}

func prTime(row int) int64 { return printerEpoch + int64(row)*int64(printerStep) }

func prWindow(f prFault) Window { return Window{prTime(f.start), prTime(f.end)} }

// prRows is d in readings, rounded up.
func prRows(d time.Duration) int { return int((d + printerStep - 1) / printerStep) }

// prAlpha is the share of the way to its target a first-order system with
// time constant tau covers in one reading: 1 − e^(−Δt/τ).
func prAlpha(tau time.Duration) float64 { return 1 - math.Exp(-float64(printerStep)/float64(tau)) }

// prDecayRows is how many readings an excess takes to decay from size to
// prVisible with time constant tau: τ·ln(size/prVisible), none if it is
// already below.
func prDecayRows(size float64, tau time.Duration) int {
	if size <= prVisible {
		return 0
	}
	return prRows(time.Duration(float64(tau) * math.Log(size/prVisible)))
}

func prUniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

func prDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
}

// prLogDuration draws a duration whose logarithm is uniform: as many
// 20–40 minute jobs as 4–8 hour ones.
func prLogDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return time.Duration(float64(lo) * math.Exp(rng.Float64()*math.Log(float64(hi)/float64(lo))))
}

func prSign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// prMaterial draws a job's setpoints from the usual ranges of its
// filament, in the 5 °C steps slicer profiles use: PLA (half the jobs)
// 200–215 °C on a 55–65 °C bed, PETG 230–245 °C on 70–85 °C, ABS
// 240–250 °C on 95–110 °C.
func prMaterial(rng *rand.Rand) (hot, bed float64) {
	step := func(lo, hi float64) float64 { return lo + 5*float64(rng.IntN(int((hi-lo)/5)+1)) }
	switch r := rng.Float64(); {
	case r < 0.5:
		return step(200, 215), step(55, 65)
	case r < 0.8:
		return step(230, 245), step(70, 85)
	default:
		return step(240, 250), step(95, 110)
	}
}

// prSchedule draws a printer's jobs: idle 20 minutes to 10 hours, then a
// job of 20 minutes to 8 hours, until the series ends (a job may run past
// it).
func prSchedule(rng *rand.Rand) []prJob {
	var jobs []prJob
	for k := 0; ; {
		k += prRows(prLogDuration(rng, 20*time.Minute, 10*time.Hour))
		if k >= printerRows-prRows(10*time.Minute) {
			return jobs
		}
		hot, bed := prMaterial(rng)
		end := k + prRows(prLogDuration(rng, 20*time.Minute, 8*time.Hour))
		jobs = append(jobs, prJob{start: k, end: end, hot: hot, bed: bed, phase: 2 * math.Pi * rng.Float64()})
		k = end
	}
}

// printerPlans draws every printer's plan from seed: rooms, controllers and
// jobs first, then faults, then gaps, all from one PCG stream.
func printerPlans(seed uint64) []prPlan {
	rng := rand.New(rand.NewPCG(seed, prStreamBase))
	plans := make([]prPlan, printerCount)
	for i := range plans {
		plans[i] = prPlan{
			ambient: prUniform(rng, 21, 24),
			swing:   prUniform(rng, 0.7, 1.3),
			gain:    prUniform(rng, 0.08, 0.12),
			hotAmp:  prUniform(rng, 0.6, 1.2),
			hotPer:  prUniform(rng, 25, 70),
			bedAmp:  prUniform(rng, 0.2, 0.5),
			bedPer:  prUniform(rng, 40, 120),
			jobs:    prSchedule(rng),
		}
	}
	prPlaceFaults(rng, plans)
	for i := range plans {
		plans[i].gaps = prGaps(rng, &plans[i])
	}
	return plans
}

// prPlaceFaults gives each kind one fault and five to seven more of random
// kinds, spread over every printer but one, which stays healthy. Faults
// tied to a job (runaway, fan) are placed first, while the jobs are free.
func prPlaceFaults(rng *rand.Rand, plans []prPlan) {
	healthy := rng.IntN(len(plans))
	kinds := append([]string(nil), prKinds...)
	for range 5 + rng.IntN(3) {
		kinds = append(kinds, prKinds[rng.IntN(len(prKinds))])
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	sort.SliceStable(kinds, func(i, j int) bool { return prJobBound(kinds[i]) && !prJobBound(kinds[j]) })
	others := len(plans) - 1
	for i, kind := range kinds {
		for j := range others {
			p := &plans[(healthy+1+(i+j)%others)%len(plans)]
			if f, ok := prTryFault(rng, kind, p); ok {
				p.faults = append(p.faults, f)
				if f.kind == prRunaway {
					p.jobs[f.job].end = f.stop // the firmware ends the job
				}
				break
			}
		}
	}
	for i := range plans {
		sort.Slice(plans[i].faults, func(a, b int) bool { return plans[i].faults[a].start < plans[i].faults[b].start })
	}
}

func prJobBound(kind string) bool { return kind == prRunaway || kind == prFan }

// prTryFault draws faults of kind on p until one fits (see prFits).
func prTryFault(rng *rand.Rand, kind string, p *prPlan) (prFault, bool) {
	for range 200 {
		if f, ok := prDrawFault(rng, kind, p); ok && prFits(f, p) {
			return f, true
		}
	}
	return prFault{}, false
}

// prFits reports whether f keeps the corpus' rules on p: after the
// probationary period with room to spare (20% of the series), ending over
// 30 minutes before the series does, 30 minutes clear of p's other
// faults, and starting at least 15
// minutes from any job's start or end (a job starting or ending is not an
// anomaly, so it must not coincide with a window's start).
func prFits(f prFault, p *prPlan) bool {
	margin, clear := prRows(30*time.Minute), prRows(15*time.Minute)
	if f.start < printerRows/5 || f.end > printerRows-1-margin {
		return false
	}
	for _, g := range p.faults {
		if f.start <= g.end+margin && g.start <= f.end+margin {
			return false
		}
	}
	for _, j := range p.jobs {
		if prAbs(f.start-j.start) < clear || prAbs(f.start-j.end) < clear {
			return false
		}
	}
	return true
}

func prAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// prDrawFault draws one fault of kind on p, with its window; ok is false
// when the draw cannot work (no job long enough).
func prDrawFault(rng *rand.Rand, kind string, p *prPlan) (f prFault, ok bool) {
	f.kind = kind
	minWindow := prRows(10 * time.Minute)
	anywhere := func(d time.Duration) {
		f.start = rng.IntN(printerRows)
		f.effectEnd = f.start + prRows(d)
		f.end = max(f.effectEnd+1, f.start+minWindow)
	}
	anyField := []int{rng.IntN(prFields)}
	switch kind {
	case prRunaway:
		if len(p.jobs) == 0 {
			return f, false
		}
		f.job = rng.IntN(len(p.jobs))
		j := p.jobs[f.job]
		settled := j.start + prRows(30*time.Minute)
		if j.end-settled < 1 {
			return f, false
		}
		f.start = settled + rng.IntN(j.end-settled)
		// Stuck on, the heater drives the reading towards setpoint + size
		// with time constant tau; the firmware trips at trip over it.
		var trip float64
		var cool time.Duration
		if rng.Float64() < 0.6 {
			f.fields = []int{prHotend}
			f.size, f.tau, trip, cool = prUniform(rng, 60, 120), prDuration(rng, 15*time.Minute, 30*time.Minute), prUniform(rng, 25, 40), prHotCoolTau
		} else {
			f.fields = []int{prBed, prAir}
			f.size, f.tau, trip, cool = prUniform(rng, 30, 50), prDuration(rng, 20*time.Minute, 40*time.Minute), prUniform(rng, 15, 25), prBedCoolTau
		}
		n := prRows(time.Duration(-float64(f.tau) * math.Log(1-trip/f.size)))
		f.stop = f.start + n
		if f.stop >= j.end {
			return f, false
		}
		over := f.size * (1 - math.Pow(1-prAlpha(f.tau), float64(n)))
		f.end = max(f.stop+prDecayRows(over, cool), f.start+minWindow)
		if f.alters(prAir) {
			// The air follows the bed's excess with its own lag.
			f.end += prRows(prAirTau)
		}
	case prFan:
		if len(p.jobs) == 0 {
			return f, false
		}
		j := p.jobs[rng.IntN(len(p.jobs))]
		lo, hi := j.start+prRows(20*time.Minute), j.end-prRows(40*time.Minute)
		if hi <= lo {
			return f, false
		}
		f.fields = []int{prAir}
		f.start, f.stop = lo+rng.IntN(hi-lo), j.end
		f.size = prUniform(rng, 5, 9)
		over := f.size * (1 - math.Pow(1-prAlpha(prAirTau), float64(j.end-f.start)))
		f.end = max(j.end+prDecayRows(over, prAirTau), f.start+minWindow)
	case prShift:
		f.fields = []int{prBed}
		f.size = prSign(rng) * prUniform(rng, 4, 8)
		anywhere(prDuration(rng, 2*time.Hour, 8*time.Hour))
	case prDrift:
		f.fields = anyField
		f.size = prSign(rng) * prUniform(rng, 0.4, 0.8) / float64(time.Hour/printerStep)
		anywhere(prDuration(rng, 3*time.Hour, 8*time.Hour))
	case prNoise:
		f.fields = anyField
		anywhere(prDuration(rng, 5*time.Minute, 30*time.Minute))
	case prFlatline:
		f.fields = anyField
		anywhere(prDuration(rng, 20*time.Minute, 3*time.Hour))
	case prDropout:
		f.fields = anyField
		f.size = -14
		if f.fields[0] == prAir || rng.Float64() < 0.3 {
			f.size = 0
		}
		f.prob = prUniform(rng, 0.1, 0.5)
		anywhere(prDuration(rng, 5*time.Minute, 30*time.Minute))
	}
	return f, true
}

// prGaps draws two to four gaps of 2–6 minutes (a printer off the network:
// all its fields miss the rows), 20 minutes clear of its faults' windows so
// that every window keeps its evidence, and of each other.
func prGaps(rng *rand.Rand, p *prPlan) [][2]int {
	clear := prRows(20 * time.Minute)
	var gaps [][2]int
	for range 2 + rng.IntN(3) {
	draw:
		for range 100 {
			n := prRows(prDuration(rng, 2*time.Minute, 6*time.Minute))
			from := 1 + rng.IntN(printerRows-n-2)
			to := from + n
			for _, f := range p.faults {
				if from <= f.end+clear && f.start <= to+clear {
					continue draw
				}
			}
			for _, g := range gaps {
				if from <= g[1]+clear && g[0] <= to+clear {
					continue draw
				}
			}
			gaps = append(gaps, [2]int{from, to})
			break
		}
	}
	sort.Slice(gaps, func(a, b int) bool { return gaps[a][0] < gaps[b][0] })
	return gaps
}

// printersCorpus simulates every printer of plans; withFaults false gives
// the same printers with none of their faults (the same jobs, noise and
// gaps), the twin the tests compare against.
func printersCorpus(plans []prPlan, seed uint64, withFaults bool) Corpus {
	c := Corpus{Name: "printers"}
	for i := range plans {
		p := &plans[i]
		noise := rand.New(rand.NewPCG(seed, prStreamBase+1+uint64(i)))
		readings := prSimulate(p, noise, withFaults)
		keep := prKept(p.gaps)
		for fi := range prFields {
			s := Series{Name: prSeriesName(i, fi), Times: make([]int64, 0, keep), Values: make([]float64, 0, keep)}
			g := 0
			for k, v := range readings[fi] {
				for g < len(p.gaps) && p.gaps[g][1] <= k {
					g++
				}
				if g < len(p.gaps) && p.gaps[g][0] <= k {
					continue
				}
				s.Times = append(s.Times, prTime(k))
				s.Values = append(s.Values, v)
			}
			for _, f := range p.faults {
				if f.alters(fi) {
					s.Windows = append(s.Windows, prWindow(f))
				}
			}
			c.Series = append(c.Series, s)
		}
	}
	return c
}

func prKept(gaps [][2]int) int {
	n := printerRows
	for _, g := range gaps {
		n -= g[1] - g[0]
	}
	return n
}

// prSimulate returns every row's reading of each field (rows in gaps
// included). Per reading:
//
//	room  = ambient + swing·sin(2π(t/1 d − 9/24)) + OU  (warmest at 15:00;
//	        an Ornstein–Uhlenbeck weather term, σ 0.3 °C, τ 3 h)
//	T    += (target − T)·α   (target the setpoint while a job runs, else
//	        the room; see the time constants)
//	air  += (room + gain·(bed − room) − air)·α_air
//	read  = T + ripple·e^(−|T − setpoint|/2) + σ·z,  rounded to 0.01 °C
//
// the ripple being the PID controller's limit cycle, amp·sin(2πt/period +
// φ), φ drawn per job, once the reading is near its setpoint. The noise
// draws are the same whether or not faults are simulated, so a fault-free
// twin differs from the corpus only where a fault acts.
func prSimulate(p *prPlan, noise *rand.Rand, withFaults bool) [prFields][]float64 {
	var out [prFields][]float64
	for fi := range out {
		out[fi] = make([]float64, printerRows)
	}
	dt := printerStep.Seconds()
	const ouTau, ouSigma = 3 * 3600.0, 0.3
	ouPhi := math.Exp(-dt / ouTau)
	ouKick := ouSigma * math.Sqrt(1-ouPhi*ouPhi)
	room := func(k int, ou float64) float64 {
		day := float64(k) * dt / 86400
		return p.ambient + p.swing*math.Sin(2*math.Pi*(day-9.0/24)) + ou
	}
	ou := 0.0
	hot, bed, air := room(0, 0), room(0, 0), room(0, 0)
	excess := 0.0 // the air's excess while the fan is out
	hotHeat, hotCool := prAlpha(prHotHeatTau), prAlpha(prHotCoolTau)
	bedHeat, bedCool := prAlpha(prBedHeatTau), prAlpha(prBedCoolTau)
	airA := prAlpha(prAirTau)
	var last [prFields]float64
	jobAt, faultAt := 0, 0
	for k := range printerRows {
		ou = ou*ouPhi + ouKick*noise.NormFloat64()
		var z, u [prFields]float64
		for fi := range prFields {
			z[fi], u[fi] = noise.NormFloat64(), noise.Float64()
		}
		amb := room(k, ou)

		for jobAt < len(p.jobs) && p.jobs[jobAt].end <= k {
			jobAt++
		}
		on := jobAt < len(p.jobs) && p.jobs[jobAt].start <= k
		var job prJob
		if on {
			job = p.jobs[jobAt]
		}
		var f *prFault
		if withFaults {
			for faultAt < len(p.faults) && p.faults[faultAt].end < k {
				faultAt++
			}
			if faultAt < len(p.faults) && p.faults[faultAt].start <= k {
				f = &p.faults[faultAt]
			}
		}

		// The heaters, one of them perhaps stuck on.
		stuck := -1
		if f != nil && f.kind == prRunaway && k < f.stop {
			stuck = f.fields[0]
		}
		hotT, hotA := amb, hotCool
		bedT, bedA := amb, bedCool
		if on {
			hotT, hotA = job.hot, hotHeat
			bedT, bedA = job.bed, bedHeat
		}
		switch stuck {
		case prHotend:
			hotT, hotA = job.hot+f.size, prAlpha(f.tau)
		case prBed:
			bedT, bedA = job.bed+f.size, prAlpha(f.tau)
		}
		hot += (hotT - hot) * hotA
		bed += (bedT - bed) * bedA
		air += (amb + p.gain*(bed-amb) - air) * airA
		fanOut := f != nil && f.kind == prFan && k < f.stop
		target := 0.0
		if fanOut {
			target = f.size
		}
		excess += (target - excess) * airA

		r := [prFields]float64{hot, bed, air + excess}
		sigma := [prFields]float64{prHotSigma, prBedSigma, prAirIdleSigma}
		if on {
			t := float64(k) * dt
			if stuck != prHotend {
				r[prHotend] += p.hotAmp * math.Sin(2*math.Pi*t/p.hotPer+job.phase) * math.Exp(-math.Abs(hot-job.hot)/2)
			}
			if stuck != prBed {
				r[prBed] += p.bedAmp * math.Sin(2*math.Pi*t/p.bedPer+job.phase) * math.Exp(-math.Abs(bed-job.bed)/2)
			}
			if !fanOut {
				sigma[prAir] = prAirFanSigma
			}
		}
		for fi := range prFields {
			sensor := f != nil && f.alters(fi) && k <= f.effectEnd && !prJobBound(f.kind)
			if sensor && f.kind == prNoise {
				sigma[fi] *= 10
			}
			v := r[fi] + sigma[fi]*z[fi]
			if sensor {
				switch f.kind {
				case prShift:
					v += f.size
				case prDrift:
					v += f.size * float64(k-f.start)
				case prFlatline:
					v = last[fi]
				case prDropout:
					if k == f.start || k == f.effectEnd || u[fi] < f.prob {
						v = f.size
					}
				}
			}
			v = math.Round(v*100) / 100
			out[fi][k], last[fi] = v, v
		}
	}
	return out
}
