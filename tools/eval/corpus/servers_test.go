package corpus

import (
	"math"
	"strings"
	"testing"
	"time"
)

// hsWeekAway returns the readings of s in [from, to] shifted a week later,
// or earlier when that runs past the series' end: the same hours of the
// same weekday, a fault's baseline.
func hsWeekAway(s Series, from, to int64) []float64 {
	week := int64(7 * 24 * time.Hour)
	if to+week <= s.Times[len(s.Times)-1] {
		return hsRows(s, from+week, to+week)
	}
	return hsRows(s, from-week, to-week)
}

func hsMedian(xs []float64) float64 { return hsQuantile(xs, 0.5) }

// hsBurstOnsets counts the rows outside s's windows where the requests
// rise above 1.8 times their median over the 31 minutes around them.
func hsBurstOnsets(s Series) int {
	onsets, above := 0, false
	for i := 15; i+15 < len(s.Values); i++ {
		high := s.Values[i] > 1.8*hsMedian(s.Values[i-15:i+16])
		if high && !above && !hsInWindow(s, s.Times[i]) {
			onsets++
		}
		above = high
	}
	return onsets
}

func TestServersFaultsAreVisible(t *testing.T) {
	equal := func(v float64) func(a, b float64) bool {
		return func(a, b float64) bool { return a == v && b == v }
	}
	for _, seed := range hsSeeds {
		c, faults := servers(seed)
		for i, s := range c.Series {
			field := s.Name[strings.Index(s.Name, "/")+1:]
			outside := func(t int64) bool { return !hsInWindow(s, t) }
			switch field {
			case "cpu":
				for k, v := range s.Values {
					if outside(s.Times[k]) && (v <= 0 || v > 100) {
						t.Fatalf("%s seed %d: cpu %v outside the windows", s.Name, seed, v)
					}
				}
				if run := hsLongestRun(s, outside, func(a, b float64) bool { return a >= 99.5 && b >= 99.5 }); run >= 10 {
					t.Errorf("%s seed %d: %d minutes pinned outside the windows", s.Name, seed, run)
				}
			case "requests":
				for k, v := range s.Values {
					if outside(s.Times[k]) && v == 0 {
						t.Fatalf("%s seed %d: no requests outside the windows", s.Name, seed)
					}
				}
				if n := hsBurstOnsets(s); n < 2*serverDays {
					t.Errorf("%s seed %d: %d normal bursts outside the windows", s.Name, seed, n)
				}
			}
			for _, f := range faults[i] {
				from, to := hsMinute(serverStart, f.start), hsMinute(serverStart, f.end-1)
				in := func(t int64) bool { return t >= from && t <= to }
				got, base := hsRows(s, from, to), hsWeekAway(s, from, to)
				d := f.end - f.start
				switch {
				case f.kind == faultTrafficStorm && field == "requests":
					if r := hsMean(got) / hsMedian(base); r < 4 {
						t.Errorf("%s seed %d: a storm at %.1f times the traffic", s.Name, seed, r)
					}
				case f.kind == faultTrafficStorm && field == "cpu":
					if m, u := hsMean(got), hsMean(base); m < min(u+20, 85) {
						t.Errorf("%s seed %d: cpu %.1f%% in a storm, %.1f%% usually", s.Name, seed, m, u)
					}
				case f.kind == faultTrafficStorm:
					if r := hsMedian(got) / hsMedian(base); r < 1.5 {
						t.Errorf("%s seed %d: latency at %.2f times its usual in a storm", s.Name, seed, r)
					}
				case f.kind == faultLatencyShift:
					if r := hsMedian(got) / hsMedian(base); r < 0.8*f.level {
						t.Errorf("%s seed %d: latency at %.2f times its usual, shifted by %.2f", s.Name, seed, r, f.level)
					}
				case f.kind == faultOutage && field == "requests":
					if run := hsLongestRun(s, in, equal(0)); run != d {
						t.Errorf("%s seed %d: %d minutes of outage, %d without requests", s.Name, seed, d, run)
					}
					surge := hsRows(s, hsMinute(serverStart, f.end), hsMinute(serverStart, f.end+4))
					usual := hsWeekAway(s, hsMinute(serverStart, f.end-30), hsMinute(serverStart, f.end+30))
					if r := hsMean(surge) / hsMedian(usual); r < 1.8 {
						t.Errorf("%s seed %d: retries at %.2f times the traffic", s.Name, seed, r)
					}
				case f.kind == faultOutage && field == "latency_ms":
					if len(got) != 0 {
						t.Errorf("%s seed %d: %d latency readings in an outage", s.Name, seed, len(got))
					}
				case f.kind == faultOutage:
					if m := hsMean(got); m > 8 {
						t.Errorf("%s seed %d: cpu %.1f%% with the service down", s.Name, seed, m)
					}
				case f.kind == faultRunaway:
					if run := hsLongestRun(s, in, equal(100)); run != d {
						t.Errorf("%s seed %d: %d minutes of runaway, %d at 100%%", s.Name, seed, d, run)
					}
					if h := f.start % 1440; h >= 180 {
						t.Errorf("%s seed %d: the runaway starts at minute %d of the day", s.Name, seed, h)
					}
				case f.kind == faultCPUStuck:
					if run := hsLongestRun(s, in, equal(0)); run != d {
						t.Errorf("%s seed %d: %d minutes stuck, %d at 0", s.Name, seed, d, run)
					}
				default:
					t.Errorf("%s: %s labelled", s.Name, f.kind)
				}
			}
		}
	}
}

// TestServersRhythm: weekday business hours busier than nights and than
// weekend afternoons, on every server's cpu, requests and latency.
func TestServersRhythm(t *testing.T) {
	c := Servers(5)
	for _, s := range c.Series {
		var night, office, weekend []float64
		for k, tm := range s.Times {
			m := int((tm - serverStart) / int64(time.Minute))
			hour, sat := m%1440/60, m/1440%7 >= 5
			switch {
			case hsInWindow(s, tm):
			case hour >= 1 && hour < 5:
				night = append(night, s.Values[k])
			case hour >= 10 && hour < 16 && sat:
				weekend = append(weekend, s.Values[k])
			case hour >= 10 && hour < 16:
				office = append(office, s.Values[k])
			}
		}
		o, n, w := hsMedian(office), hsMedian(night), hsMedian(weekend)
		if o < 1.3*w || w < 1.05*n {
			t.Errorf("%s: medians office %.1f, weekend %.1f, night %.1f", s.Name, o, w, n)
		}
		if strings.HasSuffix(s.Name, "/latency_ms") && hsQuantile(s.Values, 0.9999) < 3*o {
			t.Errorf("%s: no heavy tail, 99.99th percentile %.1f for a median of %.1f", s.Name, hsQuantile(s.Values, 0.9999), o)
		}
		for _, v := range s.Values {
			if v < 0 || math.IsInf(v, 0) {
				t.Fatalf("%s: reading %v", s.Name, v)
			}
		}
	}
}

func BenchmarkServers(b *testing.B) {
	for b.Loop() {
		Servers(1)
	}
}
