package ttest

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"sync"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx/influxtest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// rangeSource is the in-memory fake, recording the ranges read.
type rangeSource struct {
	*influxtest.Fake
	mu     sync.Mutex
	ranges [][2]time.Time
}

func (s *rangeSource) record(start, stop time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ranges = append(s.ranges, [2]time.Time{start, stop})
}

func (s *rangeSource) SeriesCounts(ctx context.Context, sel influx.Selection, start, stop time.Time) ([]influx.SeriesCount, error) {
	s.record(start, stop)
	return s.Fake.SeriesCounts(ctx, sel, start, stop)
}

func (s *rangeSource) Points(ctx context.Context, sel influx.Selection, start, stop time.Time, fn func(influx.Batch) error) error {
	s.record(start, stop)
	return s.Fake.Points(ctx, sel, start, stop, fn)
}

func (s *rangeSource) WindowStats(ctx context.Context, sel influx.Selection, start, stop time.Time, every time.Duration, fn func(influx.WindowStat) error) error {
	s.record(start, stop)
	return s.Fake.WindowStats(ctx, sel, start, stop, every, fn)
}

// earliest is the earliest instant read.
func (s *rangeSource) earliest() time.Time {
	first := s.ranges[0][0]
	for _, r := range s.ranges {
		if r[0].Before(first) {
			first = r[0]
		}
	}
	return first
}

// inRange fails unless every range read lies, in order, within the
// instants a time.Time's UnixNano holds.
func (s *rangeSource) inRange(t *testing.T, label string) {
	t.Helper()
	for _, r := range s.ranges {
		if r[0].Before(analysis.MinTime) || r[1].After(analysis.MaxTime) || r[1].Before(r[0]) {
			t.Errorf("%s: read [%v, %v)", label, r[0], r[1])
		}
	}
}

// timeSource holds field v of measurement m at the given times (ns), the
// values cycling so that every window has a spread.
func timeSource(times []int64) *rangeSource {
	f := influxtest.New()
	for i, ts := range times {
		f.Write("b", "m", nil, ts, map[string]any{"v": float64(i % 5)})
	}
	return &rangeSource{Fake: f}
}

func timeRequest(window time.Duration, history int, from, to time.Time, mode models.Mode) Request {
	return Request{Selection: influx.Selection{Bucket: "b", Measurement: "m", Fields: []string{"v"}},
		Window: window, Config: analysis.Config{History: history, Alpha: 0.001},
		From: from, To: to, Mode: mode, MaxPoints: 1_000_000}
}

// The warm-up lookback is (maxLookbackWindows + 1) windows at most,
// whatever the history (the lookback in windows is capped): for the
// longest window a query may have it fits in a time.Duration. The exact
// bound is MaxInt64 / 2049 ns, 52 days; one nanosecond more saturates.
func TestLongestWindowLookbackFits(t *testing.T) {
	exact := func(w time.Duration) *big.Int {
		return new(big.Int).Mul(big.NewInt(maxLookbackWindows+1), big.NewInt(int64(w)))
	}
	if got := MaxLookback(models.MaxWindow); got <= 0 || exact(models.MaxWindow).Cmp(big.NewInt(int64(got))) != 0 {
		t.Fatalf("MaxLookback(%v) = %v, want %v ns", models.MaxWindow, got, exact(models.MaxWindow))
	}
	bound := time.Duration(math.MaxInt64 / (maxLookbackWindows + 1))
	if got := MaxLookback(bound); got <= 0 || exact(bound).Cmp(big.NewInt(int64(got))) != 0 {
		t.Fatalf("MaxLookback(%v) = %v", bound, got)
	}
	if got := MaxLookback(bound + 1); got != math.MaxInt64 {
		t.Fatalf("MaxLookback(%v) = %v, want saturated", bound+1, got)
	}
	if models.MaxWindow > bound {
		t.Fatalf("window.max %v is beyond the lookback's bound %v", models.MaxWindow, bound)
	}
}

// The longest window with the largest history over sparse data: the
// lookback is capped at maxLookbackWindows windows (168 years for 30d),
// positive and exact, and the warm-up reads from there.
func TestLongestWindowLargestHistory(t *testing.T) {
	w := models.MaxWindow
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(40 * w)
	var times []int64
	for ts := from.Add(-300 * w); ts.Before(to); ts = ts.Add(w / 3) {
		times = append(times, ts.UnixNano())
	}
	for _, mode := range []models.Mode{models.ModePoints, models.ModeWindows} {
		src := timeSource(times)
		out, err := Run(context.Background(), src, timeRequest(w, vigil.Rule.History.Max, from, to, mode))
		if err != nil {
			t.Fatal(err)
		}
		want := time.Duration(maxLookbackWindows) * w
		if out.Lookback != want || out.Lookback <= 0 {
			t.Fatalf("%s: lookback %v, want %v", mode, out.Lookback, want)
		}
		if first, want := src.earliest(), alignDown(from, w).Add(-want); !first.Equal(want) {
			t.Fatalf("%s: warm-up read from %v, want %v", mode, first, want)
		}
		src.inRange(t, string(mode))
		if len(out.Series) != 1 || len(out.Series[0].Ends) == 0 {
			t.Fatalf("%s: %+v", mode, out)
		}
	}
}

// A window beyond the limit (60d, refused by models.ParseQuery) still
// gets a positive lookback here, saturated at the longest duration (292
// years), and reads no earlier than the first representable instant; it
// wrapped to a negative lookback and read no warm-up before.
func TestOverlongWindowLookbackSaturates(t *testing.T) {
	w := 60 * 24 * time.Hour
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	src := timeSource([]int64{from.Add(-3 * w).UnixNano(), from.Add(-w).UnixNano(), from.Add(w).UnixNano()})
	out, err := Run(context.Background(), src, timeRequest(w, vigil.Rule.History.Max, from, from.Add(10*w), models.ModePoints))
	if err != nil {
		t.Fatal(err)
	}
	if out.Lookback != math.MaxInt64 {
		t.Fatalf("lookback %v, want the longest duration", out.Lookback)
	}
	if first, want := src.earliest(), alignDown(from, w).Add(-math.MaxInt64); !first.Equal(want) {
		t.Fatalf("warm-up read from %v, want %v", first, want)
	}
	src.inRange(t, "60d")
	// From 1800 the saturated lookback reaches before 1677: clamped.
	from = time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
	src = timeSource([]int64{from.Add(-3 * w).UnixNano(), from.Add(-w).UnixNano(), from.Add(w).UnixNano()})
	if _, err := Run(context.Background(), src, timeRequest(w, vigil.Rule.History.Max, from, from.Add(10*w), models.ModePoints)); err != nil {
		t.Fatal(err)
	}
	if first := src.earliest(); !first.Equal(analysis.MinTime) {
		t.Fatalf("from 1800: warm-up read from %v, want %v", first, analysis.MinTime)
	}
	src.inRange(t, "60d from 1800")
}

// Ranges at and beyond the ends of the UnixNano range (1677 to 2262)
// answer the windows inside it, in order, and read nothing beyond: the
// ends were wrapped around to the other end of the range before (1600
// read as 2185, so no window ended in range).
func TestRangesAtTheEndsOfTime(t *testing.T) {
	day := 24 * time.Hour
	minNs, maxNs := int64(math.MinInt64), int64(math.MaxInt64)
	var low, high []int64
	for i := int64(0); i < 60; i++ {
		low = append(low, minNs+2+i*int64(day)/2)
		high = append(high, maxNs-1-i*int64(day)/2)
	}
	cases := []struct {
		name     string
		times    []int64
		from, to time.Time
		window   time.Duration
	}{
		{"from 1600", low, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC), day},
		{"from the first instant", low, analysis.MinTime, analysis.MinTime.Add(40 * day), day},
		{"to 9999", high, time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), day},
		{"to the last instant", high, analysis.MaxTime.Add(-40 * day), analysis.MaxTime, 7 * time.Hour},
		{"everything", append(append([]int64{}, low...), high...), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), models.MaxWindow},
	}
	for _, c := range cases {
		for _, mode := range []models.Mode{models.ModePoints, models.ModeWindows, models.ModeAuto} {
			label := fmt.Sprintf("%s (%s)", c.name, mode)
			src := timeSource(c.times)
			req := timeRequest(c.window, 10, c.from, c.to, mode)
			out, err := Run(context.Background(), src, req)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			src.inRange(t, label)
			if len(out.Series) != 1 || len(out.Series[0].Ends) == 0 {
				t.Fatalf("%s: no windows: %+v", label, out)
			}
			ends := out.Series[0].Ends
			for i, end := range ends {
				if !end.After(analysis.ClampTime(c.from)) || end.After(analysis.ClampTime(c.to)) || (i > 0 && !end.After(ends[i-1])) {
					t.Fatalf("%s: window ends %v", label, ends)
				}
			}
			// The kept-state path answers the same.
			cached, err := (&Cache{}).Run(context.Background(), src, req)
			if err != nil || len(cached.Series) != 1 || len(cached.Series[0].Ends) != len(ends) {
				t.Fatalf("%s: through a cache: %v %+v", label, err, cached)
			}
		}
	}
}

// endsOfTime writes 60 points, 12 hours apart, from InfluxDB's earliest
// time (math.MinInt64 + 2) and 60 up to its latest (math.MaxInt64 - 1)
// into database "ends" once.
var endsOnce = sync.OnceValue(func() error {
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "ends"); err != nil {
		return err
	}
	var lines []string
	for i := range 120 {
		ts := int64(math.MinInt64) + 2 + int64(i)*int64(12*time.Hour)
		if i >= 60 {
			ts = int64(math.MaxInt64) - 1 - int64(i-60)*int64(12*time.Hour)
		}
		lines = append(lines, fmt.Sprintf("m v=%d %d", i%5, ts))
	}
	w := influxdb2.NewClient(influxDB.URL, influxDB.Token()) // nanoseconds
	defer w.Close()
	return w.WriteAPIBlocking("", "ends/autogen").WriteRecord(ctx, lines...)
})

// Through InfluxDB itself: ranges beyond 1677 and 2262 read its earliest
// and latest points, and windows mode answers the windows points mode
// answers (but the first one, which begins before 1677-09-21 and which
// InfluxDB cannot place: it stamped it 1970 before, and an aggregate from
// math.MinInt64 answered nothing).
func TestEndsOfTimeOnInfluxDB(t *testing.T) {
	devenv.NeedInfluxDB(t)
	if err := endsOnce(); err != nil {
		t.Fatal(err)
	}
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	t.Cleanup(c.Close)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name     string
		from, to time.Time
		skip     int // windows mode leaves out the first, partial window
	}{
		{"from 1600", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC), 1},
		{"to 9999", time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0},
	} {
		req := Request{Selection: influx.Selection{Bucket: "ends/autogen", Measurement: "m", Fields: []string{"v"}},
			Window: day, Config: analysis.Config{History: 10, Alpha: 0.001}, From: tc.from, To: tc.to, MaxPoints: 1_000_000}
		ends := map[models.Mode][]time.Time{}
		for _, mode := range []models.Mode{models.ModePoints, models.ModeWindows} {
			req.Mode = mode
			out, err := Run(context.Background(), c, req)
			if err != nil {
				t.Fatalf("%s, %s: %v", tc.name, mode, err)
			}
			if len(out.Series) != 1 {
				t.Fatalf("%s, %s: %+v", tc.name, mode, out)
			}
			ends[mode] = out.Series[0].Ends
			for i, end := range ends[mode] {
				if !end.After(tc.from) || end.After(analysis.MaxTime) || (i > 0 && !end.After(ends[mode][i-1])) {
					t.Fatalf("%s, %s: window ends %v", tc.name, mode, ends[mode])
				}
			}
		}
		p, w := ends[models.ModePoints], ends[models.ModeWindows]
		if len(p) < 20 || fmt.Sprint(p[tc.skip:]) != fmt.Sprint(w) {
			t.Fatalf("%s: points mode ends %v\nwindows mode ends %v", tc.name, p, w)
		}
	}
}
