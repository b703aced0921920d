package corpus

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The servers corpus: one reading a minute for two weeks of three fields
// per server, all driven by one request load with a business-hours rhythm
// (weekdays 08:30–17:30 at full load, a lunch dip, a quarter of it in the
// weekend afternoons, an eighth at night):
//
//   - requests: requests served in the minute, Poisson around the load,
//     with short bursts (2–10 minutes at 2–4 times the load, about four a
//     day) that are normal traffic and never labelled;
//   - cpu: percent busy, idle + (95-idle)·(1-e^(-r/rc)), a saturating curve
//     in the requests r with rc set for 60% at the weekday peak, plus
//     N(0, 1.5) noise;
//   - latency_ms: mean response time, base/(1-ρ) with ρ = 0.8·cpu/100 (the
//     M/M/1 queue's response time, damped so that a busy server slows by
//     1.9 times at 60% and 5 times at 100%), times lognormal noise
//     e^(0.15·N(0,1)), plus rare Pareto (α = 1.2) spikes: heavy tails.
const (
	serverDays = 14
	// serverMinWindow is the shortest labelled window, in minutes: it
	// lengthens the windows of the shortest outages.
	serverMinWindow = 60
)

// serverStart is the first reading's time: Monday 2026-02-02 00:00 UTC,
// so that day d (from 0) is a weekend day when d%7 >= 5.
var serverStart = time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC).UnixNano()

// The servers corpus's fault kinds.
const (
	// faultTrafficStorm: 6–10 times the load for 1–3 hours; the CPU
	// saturates and latency climbs. Labelled on all three series.
	faultTrafficStorm = "traffic-storm"
	// faultOutage: the service stops for 20–90 minutes: no requests, an
	// idle CPU and no latency readings at all, then clients' retries
	// surge for 10–20 minutes. Labelled on all three series.
	faultOutage = "outage"
	// faultLatencyShift: latency moves to 2–3 times its level for 3–8
	// hours (a slow dependency). Labelled on latency_ms only.
	faultLatencyShift = "latency-shift"
	// faultRunaway: a runaway process pins the CPU at 100% for 2–5 hours,
	// starting between midnight and 03:00. Labelled on cpu only: the
	// service, on other cores, barely notices.
	faultRunaway = "runaway-process"
	// faultCPUStuck: the CPU metric reads 0 for 2–8 hours (a broken
	// agent). Labelled on cpu only.
	faultCPUStuck = "cpu-stuck-zero"
)

// serverFields are each server's series, in Corpus order.
var serverFields = []string{"cpu", "requests", "latency_ms"}

// serverFaultFields lists the series each kind of fault is labelled on:
// those where it is visible.
var serverFaultFields = map[string][]string{
	faultTrafficStorm: serverFields,
	faultOutage:       serverFields,
	faultLatencyShift: {"latency_ms"},
	faultRunaway:      {"cpu"},
	faultCPUStuck:     {"cpu"},
}

// serverPlans lists each server's faults (in an order the seed shuffles);
// server 3 has none.
var serverPlans = [][]string{
	{faultTrafficStorm, faultLatencyShift},
	{faultOutage, faultRunaway},
	nil,
	{faultCPUStuck, faultLatencyShift},
}

// Servers returns the servers corpus for seed: series "server-<i>/cpu",
// "server-<i>/requests" and "server-<i>/latency_ms" for each server.
func Servers(seed uint64) Corpus {
	c, _ := servers(seed)
	return c
}

// servers returns the corpus and, per series, the faults labelled on it
// (for the tests).
func servers(seed uint64) (Corpus, [][]injected) {
	c := Corpus{Name: "servers"}
	var faults [][]injected
	for i, plan := range serverPlans {
		rng := rand.New(rand.NewPCG(seed, 0x736572766572<<8|uint64(i)))
		series, fs := server(fmt.Sprintf("server-%d", i+1), plan, rng)
		for k, s := range series {
			c.Series = append(c.Series, s)
			faults = append(faults, labelledOn(fs, serverFields[k]))
		}
	}
	return c, faults
}

// labelledOn returns the faults labelled on field, in time order.
func labelledOn(faults []injected, field string) []injected {
	var out []injected
	for _, f := range faults {
		for _, g := range serverFaultFields[f.kind] {
			if g == field {
				out = append(out, f)
			}
		}
	}
	return out
}

// server simulates one server's three series, in serverFields order.
func server(name string, plan []string, rng *rand.Rand) ([]Series, []injected) {
	n := serverDays * 24 * 60
	peak := 600 + 900*rng.Float64()               // requests a minute at the weekday peak
	idle := 2 + 3*rng.Float64()                   // percent
	rc := peak / -math.Log(1-(60-idle)/(95-idle)) // cpu(peak) = 60%
	base := 25 + 35*rng.Float64()                 // ms
	plan = append([]string(nil), plan...)
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	var faults []injected
	for i, slot := range faultSlots(n, len(plan)) {
		faults = append(faults, placeServerFault(plan[i], slot, rng))
	}
	req := requestsPerMinute(n, peak, faults, rng)
	cpu := make([]float64, n)
	lat := make([]float64, n)
	for m := range n {
		busy := idle + (95-idle)*(1-math.Exp(-req[m]/rc)) + 1.5*rng.NormFloat64()
		busy = math.Min(100, math.Max(0.1, busy))
		lat[m] = latency(base, busy, faults, m, rng)
		cpu[m] = math.Round(cpuReading(busy, faults, m)*10) / 10
	}
	out := make([]Series, len(serverFields))
	for k, field := range serverFields {
		missing := missingMinutes(n, 2+rng.IntN(4), 15, faults, serverMinWindow, rng)
		values := cpu
		switch field {
		case "requests":
			values = req
		case "latency_ms":
			values = lat
			for _, f := range faultsOf(faults, faultOutage) {
				for m := f.start; m < f.end; m++ {
					missing[m] = true // nothing served, nothing timed
				}
			}
		}
		out[k] = minuteSeries(name+"/"+field, serverStart, values, missing, labelledOn(faults, field), serverMinWindow)
	}
	return out, faults
}

// placeServerFault draws one fault of kind inside slot [a, b) (minutes).
func placeServerFault(kind string, slot [2]int, rng *rand.Rand) injected {
	var d, after int
	var level float64
	switch kind {
	case faultTrafficStorm:
		d, level = 60+rng.IntN(121), 6+4*rng.Float64()
	case faultOutage:
		d, after = 20+rng.IntN(71), 10+rng.IntN(11)
	case faultLatencyShift:
		d, level = 180+rng.IntN(301), 2+rng.Float64()
	case faultCPUStuck:
		d = 120 + rng.IntN(361)
	case faultRunaway:
		d = 120 + rng.IntN(181)
		first := (slot[0] + 1439) / 1440
		last := (slot[1] - 180 - d) / 1440
		s := (first+rng.IntN(last-first+1))*1440 + rng.IntN(181)
		return injected{kind: kind, start: s, end: s + d, settled: s + d}
	default:
		panic("corpus: unknown server fault " + kind)
	}
	s := startIn(slot, max(d+after, serverMinWindow), rng)
	return injected{kind: kind, start: s, end: s + d, settled: s + d + after, level: level}
}

// serverLoad is the share of the weekday peak's traffic at minute m: 0.12
// at night, up to 1 on weekdays from 08:30 to 17:30 (ramping over 90
// minutes either side, with a lunch dip at 12:30), and 0.12 + 0.25 around
// 14:00 at weekends.
func serverLoad(m int) float64 {
	hour := float64(m%1440) / 60
	if m/1440%7 >= 5 {
		return 0.12 + 0.25*gaussBump(hour, 14, 3)
	}
	office := unitRamp((hour-7)/1.5) * unitRamp((19-hour)/1.5)
	return 0.12 + 0.88*office*(1-0.15*gaussBump(hour, 12.5, 0.5))
}

// requestsPerMinute draws the requests served each minute: Poisson around
// peak·load, times the day's own factor (0.9–1.1), times a normal burst's
// factor when one is on, times a storm's; none during an outage, and
// after it the retries' surge, 1+2e^(-k/5) in its k-th minute.
func requestsPerMinute(n int, peak float64, faults []injected, rng *rand.Rand) []float64 {
	out := make([]float64, n)
	var burst int
	var burstFactor, dayFactor float64
	for m := range out {
		if m%1440 == 0 {
			dayFactor = 0.9 + 0.2*rng.Float64()
		}
		if burst == 0 && rng.Float64() < 4.0/1440 {
			burst, burstFactor = 2+rng.IntN(9), 2+2*rng.Float64()
		}
		lambda := peak * serverLoad(m) * dayFactor
		if burst > 0 {
			burst--
			lambda *= burstFactor
		}
		if f, ok := during(faults, m); ok {
			switch {
			case f.kind == faultTrafficStorm:
				lambda *= f.level
			case f.kind == faultOutage && m < f.end:
				lambda = 0
			case f.kind == faultOutage:
				lambda *= 1 + 2*math.Exp(-float64(m-f.end)/5)
			}
		}
		out[m] = poissonDraw(lambda, rng)
	}
	return out
}

// poissonDraw draws a Poisson count of mean lambda: Knuth's product of
// uniforms below 30, the normal approximation N(λ, λ) rounded above (its
// error there is far below the series' other noise).
func poissonDraw(lambda float64, rng *rand.Rand) float64 {
	if lambda < 30 {
		k, p, limit := 0.0, rng.Float64(), math.Exp(-lambda)
		for p > limit {
			k++
			p *= rng.Float64()
		}
		return k
	}
	return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
}

// cpuReading is what the CPU metric reports when the service keeps it
// busy percent: 100 under a runaway process, 0 while the metric is stuck.
func cpuReading(busy float64, faults []injected, m int) float64 {
	if f, ok := during(faults, m); ok {
		switch f.kind {
		case faultRunaway:
			return 100
		case faultCPUStuck:
			return 0
		}
	}
	return busy
}

// latency is the minute's mean response time in ms (0.1 ms resolution,
// at most 10 s): base/(1-0.8·busy/100) times e^(0.15·N(0,1)), times a
// latency shift's level, plus, one minute in 200, a spike of
// 2·base·(U^(-1/1.2)-1), a Pareto tail with infinite variance.
func latency(base, busy float64, faults []injected, m int, rng *rand.Rand) float64 {
	v := base / (1 - 0.8*busy/100) * math.Exp(0.15*rng.NormFloat64())
	if f, ok := during(faults, m); ok && f.kind == faultLatencyShift {
		v *= f.level
	}
	if rng.Float64() < 0.005 {
		v += 2 * base * (math.Pow(1-rng.Float64(), -1/1.2) - 1)
	}
	return math.Round(math.Min(v, 10000)*10) / 10
}
