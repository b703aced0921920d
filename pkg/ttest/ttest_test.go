package ttest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis/analysistest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

var influxDB *devenv.InfluxDB

// The t-test reads through InfluxQL only, so its integration tests (the scipy
// reference included, both read modes) run on InfluxDB as most installations
// run it: with Flux disabled.
func TestMain(m *testing.M) {
	os.Exit(devenv.RunWithInfluxDBFlux(m, &influxDB, false))
}

var (
	day0       = time.Unix(1451606400, 0).UTC() // 2016-01-01, where the reference data starts
	loadOnce   sync.Once
	loadErr    error
	reference  analysistest.Reference
	testClient *influx.Client
)

// printer loads the reference day into database "printer" once and returns
// the scipy reference and a client.
func printer(t testing.TB) (analysistest.Reference, *influx.Client) {
	t.Helper()
	devenv.NeedInfluxDB(t)
	loadOnce.Do(func() {
		reference = analysistest.LoadReference(t, analysistest.ReferencePath())
		pts := analysistest.ReferencePrinter(t, reference)
		ctx := context.Background()
		if loadErr = influxDB.CreateDatabase(ctx, "printer"); loadErr != nil {
			return
		}
		loadErr = influxDB.WriteLines(ctx, "printer/autogen", len(pts), func(i int) string { return pts[i].LineProtocol() })
		testClient = influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return reference, testClient
}

func request(ref analysistest.Reference, from, to time.Time, mode models.Mode, fields ...string) Request {
	return Request{
		Selection: influx.Selection{Bucket: "printer/autogen", Measurement: "temperatures", Fields: fields},
		Window:    time.Duration(ref.WindowSeconds) * time.Second,
		Config:    analysis.Config{History: ref.History, Alpha: ref.Alpha},
		From:      from, To: to,
		Mode:      mode,
		MaxPoints: 1_000_000,
	}
}

func bySeries(out *Outcome) map[string]*Series {
	m := map[string]*Series{}
	for _, s := range out.Series {
		m[s.Field] = s
	}
	return m
}

// compare checks got's windows against the reference's windows that end in (from, to].
func compare(t *testing.T, label string, got *Series, want []analysistest.ReferenceWindow, from, to time.Time,
	tErr, pErr func(a, b float64) float64) float64 {
	t.Helper()
	sel := analysistest.Between(want, from, to)
	if got == nil || len(got.Ends) != len(sel) {
		n := 0
		if got != nil {
			n = len(got.Ends)
		}
		t.Fatalf("%s: %d windows, reference %d", label, n, len(sel))
	}
	worst := 0.0
	for i, w := range sel {
		r := got.Results[i]
		e := math.Max(tErr(r.T, w.T), pErr(r.P, w.P))
		worst = math.Max(worst, e)
		if got.Ends[i].Unix() != w.End || r.N != w.N || r.Anomalous(reference.Alpha) != w.Anomalous || e > analysistest.Tol {
			t.Fatalf("%s window ending %s: got t=%v p=%v n=%d, reference %+v (err %.3g)",
				label, got.Ends[i], r.T, r.P, r.N, w, e)
		}
	}
	return worst
}

// TestFullDayMatchesScipy: the plugin's t-test over the whole reference day,
// read from a real InfluxDB, equals scipy's for every window of every field.
func TestFullDayMatchesScipy(t *testing.T) {
	ref, c := printer(t)
	from, to := day0, day0.Add(24*time.Hour+2*time.Second)
	out, err := Run(context.Background(), c, request(ref, from, to, models.ModePoints, "hotend", "bed", "air"))
	if err != nil {
		t.Fatal(err)
	}
	if out.Mode != models.ModePoints || out.PointsRead != int64(3*ref.Points-6) {
		// the two points after the last complete window are not read
		t.Fatalf("mode %s, %d points read", out.Mode, out.PointsRead)
	}
	got := bySeries(out)
	for _, f := range []string{"hotend", "bed", "air"} {
		worst := compare(t, f, got[f], ref.Fields[f], from, to, analysistest.RelErr, analysistest.RelErr)
		t.Logf("%s: %d windows, worst relative error vs scipy %.3g", f, len(got[f].Ends), worst)
		if len(got[f].Tags) != 0 {
			t.Fatalf("unexpected tags %v", got[f].Tags)
		}
	}
}

// TestMidDayRangeIsWarmedUp: a range that starts mid-day gives the p-values of
// the full-day run, because the history is warmed from earlier data.
func TestMidDayRangeIsWarmedUp(t *testing.T) {
	ref, c := printer(t)
	for _, tt := range []struct {
		name     string
		from, to time.Time
	}{
		{"07:57 to 13:02", day0.Add(7*time.Hour + 57*time.Minute), day0.Add(13*time.Hour + 2*time.Minute)},
		{"00:20 to 01:30", day0.Add(20 * time.Minute), day0.Add(90 * time.Minute)},
		{"one window", day0.Add(12 * time.Hour), day0.Add(12*time.Hour + 5*time.Minute)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Run(context.Background(), c, request(ref, tt.from, tt.to, models.ModePoints, "hotend", "bed", "air"))
			if err != nil {
				t.Fatal(err)
			}
			got := bySeries(out)
			for _, f := range []string{"hotend", "bed", "air"} {
				worst := compare(t, f, got[f], ref.Fields[f], tt.from, tt.to, analysistest.TErr, analysistest.PErr)
				t.Logf("%s: lookback %s, worst error vs the full-day reference %.3g", f, out.Lookback, worst)
			}
		})
	}
}

// TestWindowsModeMatchesPoints: every reference window holds 300 points and
// history is 12 windows, so the per-window path agrees with scipy to 1e-9.
func TestWindowsModeMatchesPoints(t *testing.T) {
	ref, c := printer(t)
	for _, r := range []struct{ from, to time.Time }{
		{day0, day0.Add(24 * time.Hour)},
		{day0.Add(10 * time.Hour), day0.Add(14 * time.Hour)},
	} {
		out, err := Run(context.Background(), c, request(ref, r.from, r.to, models.ModeWindows, "hotend", "bed", "air"))
		if err != nil {
			t.Fatal(err)
		}
		if out.Mode != models.ModeWindows || out.PointsRead > 3*int64((r.to.Sub(r.from)+out.Lookback)/(5*time.Minute)) {
			t.Fatalf("mode %s read %d rows", out.Mode, out.PointsRead)
		}
		got := bySeries(out)
		for _, f := range []string{"hotend", "bed", "air"} {
			worst := compare(t, f, got[f], ref.Fields[f], r.from, r.to, analysistest.TErr, analysistest.PErr)
			t.Logf("windows mode %s %s..%s: worst error vs scipy %.3g", f, r.from.Format("15:04"), r.to.Format("15:04"), worst)
		}
	}
}

func TestAutoModeSwitchesToWindows(t *testing.T) {
	ref, c := printer(t)
	req := request(ref, day0, day0.Add(24*time.Hour), models.ModeAuto, "hotend", "bed", "air")
	out, err := Run(context.Background(), c, req)
	if err != nil || out.Mode != models.ModePoints {
		t.Fatalf("1M max points: %v, mode %s", err, out.Mode)
	}
	req.MaxPoints = 100_000
	out, err = Run(context.Background(), c, req)
	if err != nil || out.Mode != models.ModeWindows {
		t.Fatalf("100k max points: %v, mode %s", err, out.Mode)
	}
	req.Mode = models.ModePoints
	_, err = Run(context.Background(), c, req)
	var tooMany *models.TooManyPointsError
	if !errors.As(err, &tooMany) || !strings.Contains(err.Error(), `"mode": "windows"`) {
		t.Fatalf("points mode over max points: %v", err)
	}
}

func TestEmptyAndInvalid(t *testing.T) {
	ref, c := printer(t)
	ctx := context.Background()

	out, err := Run(ctx, c, request(ref, day0.Add(time.Hour), day0.Add(time.Hour+2*time.Minute), models.ModeAuto, "hotend"))
	if err != nil || len(out.Series) != 0 || len(out.Notices) != 1 || !strings.Contains(out.Notices[0], "no 5m0s window ends inside the time range") {
		t.Fatalf("range shorter than a window: %v %+v", err, out)
	}

	for _, mode := range []models.Mode{models.ModePoints, models.ModeWindows} {
		req := request(ref, day0, day0.Add(time.Hour), mode, "hotend", `b"ed`)
		req.Selection.Measurement = `temp"eratures`
		req.Selection.Tags = map[string]string{`h'o"st`: "a'\n\"b"}
		out, err = Run(ctx, c, req)
		if err != nil || len(out.Series) != 0 || !strings.Contains(strings.Join(out.Notices, ""), `no data for measurement "temp\"eratures"`) {
			t.Fatalf("unknown measurement (%s): %v %+v", mode, err, out)
		}
	}

	out, err = Run(ctx, c, request(ref, day0.AddDate(1, 0, 0), day0.AddDate(1, 0, 1), models.ModeAuto, "hotend"))
	if err != nil || len(out.Series) != 0 {
		t.Fatalf("range without data: %v %+v", err, out)
	}
}

func TestTagsAndTypes(t *testing.T) {
	_, c := printer(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "tagged"); err != nil {
		t.Fatal(err)
	}
	// Two printers; printer b runs hot from 01:00. Plus a string field.
	var lines []string
	for s := 0; s < 2*3600; s++ {
		ts := day0.Add(time.Duration(s) * time.Second)
		for _, host := range []string{"a", "b"} {
			v := 220 + 0.5*math.Sin(float64(s)*0.7+float64(len(host)))
			if host == "b" && s >= 3600 {
				v += 5
			}
			lines = append(lines, write.PointToLineProtocol(influxdb2.NewPoint("temperatures", map[string]string{"printer": host},
				map[string]any{"hotend": v, "state": "printing"}, ts), time.Second))
		}
	}
	if err := influxDB.WriteLines(ctx, "tagged/autogen", len(lines), func(i int) string { return lines[i] }); err != nil {
		t.Fatal(err)
	}
	req := Request{
		Selection: influx.Selection{Bucket: "tagged/autogen", Measurement: "temperatures", Fields: []string{"hotend"}},
		Window:    5 * time.Minute, Config: analysis.Config{History: 600, Alpha: 0.001},
		From: day0.Add(30 * time.Minute), To: day0.Add(2 * time.Hour), Mode: models.ModePoints, MaxPoints: 1_000_000,
	}
	out, err := Run(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Series) != 2 {
		t.Fatalf("%d series", len(out.Series))
	}
	for _, s := range out.Series {
		anomalies := 0
		for _, r := range s.Results {
			if r.Anomalous(req.Config.Alpha) {
				anomalies++
			}
		}
		switch s.Tags["printer"] {
		case "a":
			if anomalies != 0 {
				t.Errorf("printer a: %d anomalies", anomalies)
			}
		case "b":
			if anomalies == 0 {
				t.Errorf("printer b: no anomaly")
			}
		default:
			t.Errorf("tags %v", s.Tags)
		}
	}

	req.Selection.Tags = map[string]string{"printer": "b"}
	out, err = Run(ctx, c, req)
	if err != nil || len(out.Series) != 1 || out.Series[0].Tags["printer"] != "b" {
		t.Fatalf("tag filter: %v %+v", err, out)
	}

	req.Selection.Fields = []string{"hotend", "state"}
	_, err = Run(ctx, c, req)
	var qe *models.QueryError
	if !errors.As(err, &qe) || qe.Field != "fields" || !strings.Contains(qe.Error(), `field "state" holds string values`) {
		t.Fatalf("string field: %v", err)
	}
}

// TestFieldsMissingInATagSet: a field that one tag set never has gives no
// series for it (InfluxQL answers both fields' columns for every tag set,
// with nulls).
func TestFieldsMissingInATagSet(t *testing.T) {
	_, c := printer(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "sparse"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for s := 0; s < 3600; s++ {
		ts := day0.Add(time.Duration(s) * time.Second).Unix()
		lines = append(lines, fmt.Sprintf("temperatures,printer=a hotend=%v %d", 220+math.Sin(float64(s)), ts),
			fmt.Sprintf("temperatures,printer=b bed=%v %d", 90+math.Cos(float64(s)), ts))
	}
	if err := influxDB.WriteLines(ctx, "sparse/autogen", len(lines), func(i int) string { return lines[i] }); err != nil {
		t.Fatal(err)
	}
	out, err := Run(ctx, c, Request{
		Selection: influx.Selection{Bucket: "sparse/autogen", Measurement: "temperatures", Fields: []string{"hotend", "bed"}},
		Window:    5 * time.Minute, Config: analysis.Config{History: 600, Alpha: 0.001},
		From: day0, To: day0.Add(time.Hour), Mode: models.ModePoints, MaxPoints: 1_000_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range out.Series {
		got = append(got, s.Tags["printer"]+"/"+s.Field)
	}
	if strings.Join(got, " ") != "b/bed a/hotend" { // sorted by field, then tags
		t.Fatalf("series %v, want b/bed and a/hotend only", got)
	}
}
