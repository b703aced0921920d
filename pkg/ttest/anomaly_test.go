package ttest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx/influxtest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// anomalyRequest is fakeRequest set to run detector a.
func anomalyRequest(t *testing.T, req Request, a models.Anomaly) Request {
	t.Helper()
	req, err := WithDetector(req, a)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestAnomalyTTestIsTTest: the anomaly query's ttest detector (TTestModel
// through ModelWindows) answers the ttest query bit for bit: the same
// windows, p and t, read mode, lookback and points read, in every read
// mode, over the whole data and mid-range (the warm-up).
func TestAnomalyTTestIsTTest(t *testing.T) {
	fake := printersFake(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		from, to time.Duration
		mode     models.Mode
	}{
		{"points-all", 0, 3 * time.Hour, models.ModePoints},
		{"windows-all", 0, 3 * time.Hour, models.ModeWindows},
		{"points-mid", 80 * time.Minute, 150*time.Minute + 17*time.Second, models.ModePoints},
		{"windows-mid", 80 * time.Minute, 150*time.Minute + 17*time.Second, models.ModeWindows},
		{"auto-mid", 80 * time.Minute, 150*time.Minute + 17*time.Second, models.ModeAuto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := fakeRequest(day0.Add(tc.from), day0.Add(tc.to), tc.mode)
			want, err := Run(ctx, fake, req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Run(ctx, fake, anomalyRequest(t, req, models.Anomaly{Detector: models.DetectorTTest, Direction: analysis.Both}))
			if err != nil {
				t.Fatal(err)
			}
			if got.Mode != want.Mode || got.Lookback != want.Lookback || got.PointsRead != want.PointsRead || len(got.Series) != len(want.Series) {
				t.Fatalf("anomaly: mode %s lookback %s read %d, %d series; ttest: %s %s %d, %d series",
					got.Mode, got.Lookback, got.PointsRead, len(got.Series), want.Mode, want.Lookback, want.PointsRead, len(want.Series))
			}
			windows := 0
			for i, w := range want.Series {
				g := got.Series[i]
				if g.Field != w.Field || fmt.Sprint(g.Tags) != fmt.Sprint(w.Tags) || len(g.Ends) != len(w.Ends) || g.Results != nil {
					t.Fatalf("series %d: %s %v %d windows, want %s %v %d", i, g.Field, g.Tags, len(g.Ends), w.Field, w.Tags, len(w.Ends))
				}
				for j, r := range w.Results {
					v := g.Verdicts[j]
					if !g.Ends[j].Equal(w.Ends[j]) || !sameFloat(v.P, r.P) || !sameFloat(v.T, r.T) {
						t.Fatalf("%s %v %s: p %v t %v, the ttest query p %v t %v", w.Field, w.Tags, w.Ends[j], v.P, v.T, r.P, r.T)
					}
					if want := math.Max(0, math.Log(r.P)/math.Log(req.Config.Alpha)); !sameFloat(v.Score, want) {
						t.Fatalf("%s %s: score %v, log(p)/log(alpha) = %v", w.Field, w.Ends[j], v.Score, want)
					}
					if v.Anomalous() != r.Anomalous(req.Config.Alpha) {
						t.Fatalf("%s %s: anomalous %v, p < alpha %v", w.Field, w.Ends[j], v.Anomalous(), r.Anomalous(req.Config.Alpha))
					}
					windows++
				}
			}
			if windows == 0 {
				t.Fatal("no windows compared")
			}
		})
	}
}

// sameFloat: bit for bit, NaN equal to NaN.
func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// renderVerdicts prints an outcome's windows, one per line, every float
// exactly.
func renderVerdicts(out *Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode %s, lookback %s, points read %d\n", out.Mode, out.Lookback, out.PointsRead)
	for _, n := range out.Notices {
		fmt.Fprintf(&b, "notice: %s\n", n)
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, s := range out.Series {
		for i, end := range s.Ends {
			v := s.Verdicts[i]
			fmt.Fprintf(&b, "%s %v %s mean=%s score=%s expected=%s band=[%s %s]\n", s.Field, s.Tags, end.Format(time.RFC3339),
				g(s.Means[i]), g(v.Score), g(v.Expected), g(v.Lower), g(v.Upper))
		}
	}
	return b.String()
}

// seasonalFake holds five days of one sensor at one point a minute: a daily
// cycle (UTC), noise, and at day 4 12:00 an hour 8 units high.
func seasonalFake() *influxtest.Fake {
	f := influxtest.New()
	rng := rand.New(rand.NewPCG(23, 4))
	for m := int64(0); m < 5*24*60; m++ {
		ts := day0.Add(time.Duration(m) * time.Minute)
		x := 20 + 5*math.Sin(2*math.Pi*float64(m%1440)/1440) + rng.NormFloat64()*0.5
		if m >= 4*1440+12*60 && m < 4*1440+13*60 {
			x += 8
		}
		f.Write("b/autogen", "room", map[string]string{"sensor": "s1"}, ts.UnixNano(), map[string]any{"temp": x})
	}
	return f
}

// peersFake holds two hours of five hosts' load at one point every 10 s,
// 50 with noise of standard deviation 2; h3 drifts upwards by 0.2 a minute from the end of the first hour.
func peersFake() *influxtest.Fake {
	f := influxtest.New()
	rng := rand.New(rand.NewPCG(23, 5))
	for s := int64(0); s < 2*3600; s += 10 {
		for h := 1; h <= 5; h++ {
			x := 50 + 2*rng.NormFloat64()
			if h == 3 && s > 3600 {
				x += 0.2 * float64(s-3600) / 60
			}
			f.Write("b/autogen", "hosts", map[string]string{"host": fmt.Sprintf("h%d", h)}, day0.Add(time.Duration(s)*time.Second).UnixNano(), map[string]any{"load": x})
		}
	}
	return f
}

// detectorCase is one detector over its data, for the golden runs.
type detectorCase struct {
	name     string
	fake     func(t *testing.T) *influxtest.Fake
	req      func(from, to time.Time, mode models.Mode) Request
	a        models.Anomaly
	from, to time.Duration // the full data
	mid      [2]time.Duration
}

func detectorCases() []detectorCase {
	printers := func(from, to time.Time, mode models.Mode) Request { return fakeRequest(from, to, mode) }
	seasonal := func(from, to time.Time, mode models.Mode) Request {
		return Request{Selection: influx.Selection{Bucket: "b/autogen", Measurement: "room", Fields: []string{"temp"}},
			Window: 15 * time.Minute, Config: analysis.Config{History: 3600, Alpha: 0.001},
			From: from, To: to, Mode: mode, MaxPoints: 10_000_000}
	}
	peers := func(from, to time.Time, mode models.Mode) Request {
		return Request{Selection: influx.Selection{Bucket: "b/autogen", Measurement: "hosts", Fields: []string{"load"}},
			Window: 5 * time.Minute, Config: analysis.Config{History: 3600, Alpha: 0.001},
			From: from, To: to, Mode: mode, MaxPoints: 10_000_000}
	}
	printersFake := func(t *testing.T) *influxtest.Fake { return printersFake(t) }
	both := analysis.Both
	return []detectorCase{
		{"ttest", printersFake, printers, models.Anomaly{Detector: models.DetectorTTest, Direction: both}, 0, 3 * time.Hour, [2]time.Duration{80 * time.Minute, 150*time.Minute + 17*time.Second}},
		{"zscore", printersFake, printers, models.Anomaly{Detector: models.DetectorZScore, Threshold: 3, Direction: both}, 0, 3 * time.Hour, [2]time.Duration{80 * time.Minute, 150*time.Minute + 17*time.Second}},
		{"zscore-filtered", printersFake, printers, models.Anomaly{Detector: models.DetectorZScore, Threshold: 3, MinDeviation: 0.5, Direction: analysis.Above}, 0, 3 * time.Hour, [2]time.Duration{80 * time.Minute, 150*time.Minute + 17*time.Second}},
		{"mad", printersFake, printers, models.Anomaly{Detector: models.DetectorMAD, Threshold: 3.5, Direction: both}, 0, 3 * time.Hour, [2]time.Duration{80 * time.Minute, 150*time.Minute + 17*time.Second}},
		{"seasonal", func(*testing.T) *influxtest.Fake { return seasonalFake() }, seasonal,
			models.Anomaly{Detector: models.DetectorSeasonal, Threshold: 3.5, Season: 24 * time.Hour, Seasons: 2, Direction: both}, 0, 5 * 24 * time.Hour, [2]time.Duration{4 * 24 * time.Hour, 5 * 24 * time.Hour}},
		{"holtwinters", func(*testing.T) *influxtest.Fake { return seasonalFake() }, seasonal,
			models.Anomaly{Detector: models.DetectorHoltWinters, Threshold: 3, Season: 24 * time.Hour, Direction: both}, 0, 5 * 24 * time.Hour, [2]time.Duration{4 * 24 * time.Hour, 5 * 24 * time.Hour}},
		{"peers", func(*testing.T) *influxtest.Fake { return peersFake() }, peers, models.Anomaly{Detector: models.DetectorPeers, Threshold: 3.5, MinDeviation: 2, Direction: both}, 0, 2 * time.Hour, [2]time.Duration{70 * time.Minute, 100 * time.Minute}},
	}
}

// TestAnomalyGolden: each detector through Run in both read modes, over
// all of its data and mid-range (the warm-up), against golden answers.
func TestAnomalyGolden(t *testing.T) {
	ctx := context.Background()
	for _, dc := range detectorCases() {
		fake := dc.fake(t)
		for _, mode := range []models.Mode{models.ModePoints, models.ModeWindows} {
			for _, r := range []struct {
				name     string
				from, to time.Duration
			}{{"all", dc.from, dc.to}, {"mid", dc.mid[0], dc.mid[1]}} {
				t.Run(dc.name+"-"+string(mode)+"-"+r.name, func(t *testing.T) {
					req := anomalyRequest(t, dc.req(day0.Add(r.from), day0.Add(r.to), mode), dc.a)
					out, err := Run(ctx, fake, req)
					if err != nil {
						t.Fatal(err)
					}
					checkGolden(t, "anomaly-"+dc.name+"-"+string(mode)+"-"+r.name, renderVerdicts(out))
				})
			}
		}
	}
}

// closeVerdict: score, expected and band to 1e-9 relative (absolute below
// 1: a score near 0 is a difference of nearly equal numbers), the mean to
// 1e-12.
func closeVerdict(got, want analysis.Verdict, gotMean, wantMean float64) bool {
	near := func(a, b, tol float64) bool {
		return sameFloat(a, b) || math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
	}
	return near(got.Score, want.Score, 1e-9) && near(got.Expected, want.Expected, 1e-9) &&
		near(got.Lower, want.Lower, 1e-9) && near(got.Upper, want.Upper, 1e-9) && near(gotMean, wantMean, 1e-12)
}

type verdictAt struct {
	v    analysis.Verdict
	mean float64
}

func verdictsByWindow(out *Outcome) map[window]verdictAt {
	m := map[window]verdictAt{}
	for _, s := range out.Series {
		for i, end := range s.Ends {
			m[window{s.Field + fmt.Sprint(s.Tags), end}] = verdictAt{s.Verdicts[i], s.Means[i]}
		}
	}
	return m
}

// TestAnomalyWarmupMatchesFullRun: for every detector, a mid-range query,
// warmed from its lookback, judges each window as the run over all the
// data does (the contract's warm-up promise), in both read modes, and the
// two modes agree (mad in points mode only: the query reads points for it).
func TestAnomalyWarmupMatchesFullRun(t *testing.T) {
	ctx := context.Background()
	for _, dc := range detectorCases() {
		fake := dc.fake(t)
		modes := []models.Mode{models.ModePoints, models.ModeWindows}
		if dc.a.Detector == models.DetectorMAD {
			modes = modes[:1]
		}
		full, err := Run(ctx, fake, anomalyRequest(t, dc.req(day0.Add(dc.from), day0.Add(dc.to), models.ModePoints), dc.a))
		if err != nil {
			t.Fatal(err)
		}
		want := verdictsByWindow(full)
		for _, mode := range modes {
			t.Run(dc.name+"-"+string(mode), func(t *testing.T) {
				mid, err := Run(ctx, fake, anomalyRequest(t, dc.req(day0.Add(dc.mid[0]), day0.Add(dc.mid[1]), mode), dc.a))
				if err != nil {
					t.Fatal(err)
				}
				got := verdictsByWindow(mid)
				if len(got) < 10 {
					t.Fatalf("%d windows", len(got))
				}
				for w, g := range got {
					ref, ok := want[w]
					if !ok || !closeVerdict(g.v, ref.v, g.mean, ref.mean) {
						t.Errorf("%s %s: %+v mean %v, the full run %+v mean %v", w.key, w.end, g.v, g.mean, ref.v, ref.mean)
					}
				}
				for w := range want {
					if _, ok := got[w]; !ok && w.end.After(day0.Add(dc.mid[0])) && !w.end.After(day0.Add(dc.mid[1])) {
						t.Errorf("%s %s: judged by the full run, not by the mid-range query", w.key, w.end)
					}
				}
			})
		}
	}
}

// TestAnomalyPeersDrift: five hosts, h3 drifting away from the others from
// the end of the first hour: only h3 is ever anomalous, and it is in every
// window once it is 2 units off (minDeviation 2: from 01:15 on, given the
// noise), in both read modes.
func TestAnomalyPeersDrift(t *testing.T) {
	ctx := context.Background()
	dc := detectorCases()[6]
	if dc.name != "peers" {
		t.Fatal("the peers case moved")
	}
	for _, mode := range []models.Mode{models.ModePoints, models.ModeWindows} {
		out, err := Run(ctx, peersFake(), anomalyRequest(t, dc.req(day0, day0.Add(2*time.Hour), mode), dc.a))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Series) != 5 {
			t.Fatalf("%s: %d series, want 5", mode, len(out.Series))
		}
		for _, s := range out.Series {
			if len(s.Ends) != 24 {
				t.Errorf("%s %v: %d windows, want 24", mode, s.Tags, len(s.Ends))
			}
			for i, end := range s.Ends {
				drifted := s.Tags["host"] == "h3" && end.After(day0.Add(70*time.Minute))
				if s.Verdicts[i].Anomalous() != drifted {
					t.Errorf("%s %v %s: score %v (mean %v, expected %v)", mode, s.Tags, end.Format(time.TimeOnly), s.Verdicts[i].Score, s.Means[i], s.Verdicts[i].Expected)
				}
			}
		}
	}
}

// TestAnomalyPeersNeedThree: a window end that fewer than three series have
// gets no verdict and is not returned.
func TestAnomalyPeersNeedThree(t *testing.T) {
	f := influxtest.New()
	for s := int64(0); s < 3600; s += 10 {
		for h := 1; h <= 3; h++ {
			if h == 3 && s >= 1800 {
				continue // h3 stops at 30 min: h1 and h2 alone after it
			}
			f.Write("b/autogen", "hosts", map[string]string{"host": fmt.Sprintf("h%d", h)}, day0.Add(time.Duration(s)*time.Second).UnixNano(), map[string]any{"load": float64(h + int(s%7))})
		}
	}
	req := anomalyRequest(t, detectorCases()[6].req(day0, day0.Add(time.Hour), models.ModePoints), models.Anomaly{Detector: models.DetectorPeers, Threshold: 3.5, Direction: analysis.Both})
	out, err := Run(context.Background(), f, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out.Series {
		if len(s.Ends) != 6 || !s.Ends[5].Equal(day0.Add(30*time.Minute)) {
			t.Errorf("%v: %d windows ending %v, want the 6 up to 00:30", s.Tags, len(s.Ends), s.Ends)
		}
	}
}

// TestAnomalyCacheReadsOnlyNew: an alert rule over now-30m evaluated every
// minute through the Cache, with a model-based detector (zscore, in points
// and windows mode) and with peers: every answer equals the stateless
// run's, and from the second evaluation on it is warm and reads about only
// the new points (as TestCacheMatchesStateless checks for the t-test).
func TestAnomalyCacheReadsOnlyNew(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		dc   detectorCase
		mode models.Mode
	}{
		{"zscore-points", detectorCases()[1], models.ModePoints},
		{"zscore-windows", detectorCases()[1], models.ModeWindows},
		{"seasonal-points", detectorCases()[4], models.ModePoints},
		{"peers-points", detectorCases()[6], models.ModePoints},
		{"holtwinters-windows", detectorCases()[5], models.ModeWindows},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := tc.dc.fake(t)
			cache := &Cache{MaxBytes: 64 << 20}
			start := day0.Add(tc.dc.mid[0])
			for m := 0; m <= 15; m++ {
				to := start.Add(time.Duration(m)*time.Minute + 7*time.Second)
				req := anomalyRequest(t, tc.dc.req(to.Add(-30*time.Minute), to, tc.mode), tc.dc.a)
				got, err := cache.Run(ctx, fake, req)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Run(ctx, fake, req)
				if err != nil {
					t.Fatal(err)
				}
				g, w := verdictsByWindow(got), verdictsByWindow(want)
				if len(g) != len(w) || len(w) == 0 {
					t.Fatalf("minute %d: %d windows, stateless %d", m, len(g), len(w))
				}
				for k, x := range w {
					if y, ok := g[k]; !ok || !closeVerdict(y.v, x.v, y.mean, x.mean) {
						t.Fatalf("minute %d: %s %s: cached %+v, stateless %+v", m, k.key, k.end, y, x)
					}
				}
				if wantState := map[bool]string{true: StateWarm, false: StateCold}[m > 0]; got.State != wantState {
					t.Fatalf("minute %d: state %s, want %s", m, got.State, wantState)
				}
				if m == 0 {
					continue
				}
				// The new points since the previous evaluation (twice: the
				// first warm read starts where the cold run's last window
				// ended, before its range's end), plus one count row per
				// series (points mode), or the window rows from the settled
				// time on (windows mode: a few per series).
				counts, err := fake.SeriesCounts(ctx, req.Selection, to.Add(-time.Minute), to)
				if err != nil {
					t.Fatal(err)
				}
				var fresh int64
				for _, c := range counts {
					fresh += c.N
				}
				limit := 2*fresh + int64(len(counts))
				if tc.mode == models.ModeWindows {
					limit = 4 * int64(len(counts))
				}
				if got.PointsRead > limit || got.PointsRead*3 > want.PointsRead {
					t.Fatalf("minute %d: the warm query read %d points (rows), %d new, the stateless run %d", m, got.PointsRead, fresh, want.PointsRead)
				}
			}
		})
	}
}

// TestAnomalyCacheKeys: each detector and its settings has its own kept
// state, apart from the ttest query's (which keeps its key as before).
func TestAnomalyCacheKeys(t *testing.T) {
	base := fakeRequest(day0, day0.Add(time.Hour), models.ModePoints)
	plain, err := Key(base)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain, "detector") {
		t.Fatalf("the ttest query's key changed: %s", plain)
	}
	seen := map[string]string{plain: "ttest query"}
	for _, a := range []models.Anomaly{
		{Detector: models.DetectorTTest, Direction: analysis.Both},
		{Detector: models.DetectorZScore, Threshold: 3, Direction: analysis.Both},
		{Detector: models.DetectorZScore, Threshold: 4, Direction: analysis.Both},
		{Detector: models.DetectorZScore, Threshold: 3, Direction: analysis.Above},
		{Detector: models.DetectorZScore, Threshold: 3, MinDeviation: 1, Direction: analysis.Both},
		{Detector: models.DetectorMAD, Threshold: 3, Direction: analysis.Both},
		{Detector: models.DetectorSeasonal, Threshold: 3, Season: 24 * time.Hour, Seasons: 2, Direction: analysis.Both},
		{Detector: models.DetectorSeasonal, Threshold: 3, Season: 24 * time.Hour, Seasons: 3, Direction: analysis.Both},
		{Detector: models.DetectorPeers, Threshold: 3, Direction: analysis.Both},
	} {
		k, err := Key(anomalyRequest(t, base, a))
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[k]; dup {
			t.Fatalf("%+v shares its kept state with %s", a, other)
		}
		seen[k] = fmt.Sprintf("%+v", a)
	}
}

// TestAnomalyLookbackCap: a weekly season of 1-minute windows with four
// past seasons needs 50,400 windows of warm-up: the warm-up reads the cap
// and says so.
func TestAnomalyLookbackCap(t *testing.T) {
	req := detectorCases()[4].req(day0.Add(4*24*time.Hour), day0.Add(5*24*time.Hour), models.ModeWindows)
	req.Window = time.Minute
	req = anomalyRequest(t, req, models.Anomaly{Detector: models.DetectorSeasonal, Threshold: 3.5, Season: 7 * 24 * time.Hour, Seasons: 4, Direction: analysis.Both})
	if req.LookbackWindows != 5*7*1440 {
		t.Fatalf("LookbackWindows %d, want %d", req.LookbackWindows, 5*7*1440)
	}
	out, err := Run(context.Background(), seasonalFake(), req)
	if err != nil {
		t.Fatal(err)
	}
	if out.Lookback != MaxModelLookbackWindows*time.Minute {
		t.Errorf("lookback %s, want the cap, %s", out.Lookback, MaxModelLookbackWindows*time.Minute)
	}
	if len(out.Notices) != 1 || !strings.Contains(out.Notices[0], "50400 windows") {
		t.Errorf("notices %q", out.Notices)
	}
	cache := &Cache{MaxBytes: 64 << 20}
	for i := 0; i < 2; i++ { // cold, then warm from kept state: both say so
		req.From, req.To = req.From.Add(time.Minute), req.To.Add(time.Minute)
		out, err := cache.Run(context.Background(), seasonalFake(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Notices) != 1 || !strings.Contains(out.Notices[0], "50400 windows") || out.State != []string{StateCold, StateWarm}[i] {
			t.Errorf("cache run %d (%s): notices %q", i, out.State, out.Notices)
		}
	}
	short := anomalyRequest(t, detectorCases()[4].req(day0.Add(4*24*time.Hour), day0.Add(5*24*time.Hour), models.ModeWindows), detectorCases()[4].a)
	if out, err := Run(context.Background(), seasonalFake(), short); err != nil || len(out.Notices) != 0 || out.Lookback != 3*24*time.Hour {
		t.Errorf("a daily season of 15m windows, 2 seasons: %v, notices %q, lookback %s (want 72h)", err, out.Notices, out.Lookback)
	}
}

// TestAnomalyLiveMatchesFullRun: Live with a model-based detector (zscore)
// started after 1 h and fed the rest of the data a minute at a time sends
// each window once, judged as the full run judges it.
func TestAnomalyLiveMatchesFullRun(t *testing.T) {
	a := models.Anomaly{Detector: models.DetectorZScore, Threshold: 2, Direction: analysis.Both}
	ctx := context.Background()
	full, err := Run(ctx, printersFake(t), anomalyRequest(t, fakeRequest(day0, day0.Add(3*time.Hour), models.ModePoints), a))
	if err != nil {
		t.Fatal(err)
	}
	want := verdictsByWindow(full)
	f := newFeeder(t)
	start := day0.Add(time.Hour)
	f.until(start)
	l, initial, err := StartLive(ctx, f.fake, &Cache{MaxBytes: 64 << 20}, anomalyRequest(t, fakeRequest(day0.Add(30*time.Minute), start, models.ModePoints), a))
	if err != nil {
		t.Fatal(err)
	}
	l.Settle = 0
	got := map[window]verdictAt{}
	collect := func(series []*Series) {
		for _, s := range series {
			for i, end := range s.Ends {
				w := window{s.Field + fmt.Sprint(s.Tags), end}
				if _, dup := got[w]; dup {
					t.Errorf("window %v %s sent twice", w.key, end)
				}
				got[w] = verdictAt{s.Verdicts[i], s.Means[i]}
			}
		}
	}
	collect(initial.Series)
	for now := start.Add(time.Minute); !now.After(day0.Add(3 * time.Hour)); now = now.Add(time.Minute) {
		f.until(now)
		series, err := l.Poll(ctx, f.fake, now)
		if err != nil {
			t.Fatal(err)
		}
		collect(series)
	}
	n := 0
	for w, ref := range want {
		if !w.end.After(day0.Add(30 * time.Minute)) {
			continue
		}
		n++
		if g, ok := got[w]; !ok || !closeVerdict(g.v, ref.v, g.mean, ref.mean) {
			t.Errorf("%s %s: live %+v (sent %v), full run %+v", w.key, w.end.Format(time.TimeOnly), g, ok, ref)
		}
	}
	if n < 50 || len(got) != n {
		t.Errorf("%d windows sent, the full run has %d in range", len(got), n)
	}
}

// TestRequestFor: a parsed ttest query becomes the t-test's request (no
// detector), an anomaly query its detector's, with the settings the query
// gives.
func TestRequestFor(t *testing.T) {
	base := models.Query{Bucket: "b/autogen", Measurement: "m", TTest: models.TTest{Fields: []string{"f"}, Window: time.Minute, History: 60, Alpha: 0.01, Mode: models.ModePoints}}
	tt := base
	tt.Type = models.QueryTypeTTest
	req, err := RequestFor(tt, 99)
	if err != nil || req.modelled() || req.Detector != "" || req.Config != (analysis.Config{History: 60, Alpha: 0.01}) || req.MaxPoints != 99 || req.Window != time.Minute {
		t.Fatalf("ttest: %+v, %v", req, err)
	}
	an := base
	an.Type = models.QueryTypeAnomaly
	an.Anomaly = models.Anomaly{Detector: models.DetectorSeasonal, Threshold: 3, Season: time.Hour, Seasons: 2, MinDeviation: 0.5, Direction: analysis.Below}
	req, err = RequestFor(an, 99)
	if err != nil || req.Model == nil || req.Peers || req.LookbackWindows != 180 || req.Filter != (analysis.Filter{MinDeviation: 0.5, Direction: analysis.Below}) || !strings.Contains(req.Detector, `"seasonal"`) {
		t.Fatalf("seasonal: %+v, %v", req, err)
	}
	an.Anomaly = models.Anomaly{Detector: models.DetectorHoltWinters, Threshold: 3, Season: time.Hour, HWAlpha: 0.5, Direction: analysis.Both}
	if _, err := RequestFor(an, 99); err == nil || !strings.Contains(err.Error(), "hwAlpha") {
		t.Fatalf("holtwinters with hwAlpha alone: %v", err)
	}
	an.Anomaly = models.Anomaly{Detector: models.DetectorPeers, Threshold: 3, Direction: analysis.Both}
	if req, err := RequestFor(an, 99); err != nil || !req.Peers || req.PeersThreshold != 3 || req.Model != nil {
		t.Fatalf("peers: %+v, %v", req, err)
	}
}
