package power

import (
	"context"
	"errors"
	"math"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis/analysistest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

var influxDB *devenv.InfluxDB

func TestMain(m *testing.M) {
	os.Exit(devenv.RunWithInfluxDB(m, &influxDB))
}

var (
	t0   = time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC)
	subs = []string{"Sub_metering_1", "Sub_metering_2", "Sub_metering_3"}
)

// house loads 3 days of synthetic household minutes, with some rows missing
// only one input, into database db and returns the rows written.
func house(t *testing.T, db string) []datagen.HouseholdRow {
	t.Helper()
	devenv.NeedInfluxDB(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	gen := datagen.NewHousehold(t0, 7)
	var rows []datagen.HouseholdRow
	var lines []string
	for i := 0; i < 3*1440; i++ {
		r := gen.Next()
		switch i % 97 {
		case 5:
			r.Values[5] = math.NaN() // Sub_metering_2 missing alone
		case 11:
			r.Values[0] = math.NaN() // active power missing alone
		}
		rows = append(rows, r)
		if lp := r.LineProtocol(); lp != "" {
			lines = append(lines, lp)
		}
	}
	if err := influxDB.WriteLines(ctx, db+"/autogen", len(lines), func(i int) string { return lines[i] }); err != nil {
		t.Fatal(err)
	}
	return rows
}

func client() *influx.Client {
	return influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
}

func request(db, agg string, from, to time.Time) Request {
	return Request{
		Selection:   influx.Selection{Bucket: db + "/autogen", Measurement: datagen.HouseholdMeasurement},
		ActivePower: "Global_active_power", SubMeters: subs, Aggregate: agg,
		From: from, To: to, Interval: time.Hour, MaxDataPoints: 100, MaxPoints: 1_000_000,
	}
}

// expected computes every point in Go and aggregates per interval: an
// independent computation of what InfluxDB computes for Vigil.
func expected(rows []datagen.HouseholdRow, agg string, from, to time.Time, every time.Duration) ([]time.Time, []float64) {
	type acc struct {
		n        int
		sum, max float64
	}
	byStart := map[int64]*acc{}
	var ts []time.Time
	var vs []float64
	for _, r := range rows {
		if r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		// The contract's formula, written out here rather than Vigil's
		// analysis.UnmeteredWh: active kW x 1000/60 minus the sub-meters' Wh.
		v := r.Values[0]*1000/60 - (r.Values[4] + r.Values[5] + r.Values[6])
		if math.IsNaN(v) {
			continue
		}
		if agg == "none" {
			ts, vs = append(ts, r.Time), append(vs, v)
			continue
		}
		k := r.Time.UnixNano() / int64(every) * int64(every)
		a := byStart[k]
		if a == nil {
			a = &acc{max: math.Inf(-1)}
			byStart[k] = a
		}
		a.n++
		a.sum += v
		a.max = math.Max(a.max, v)
	}
	if agg == "none" {
		return ts, vs
	}
	keys := make([]int64, 0, len(byStart))
	for k := range byStart {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		a := byStart[k]
		ts = append(ts, time.Unix(0, k).UTC())
		switch agg {
		case "mean":
			vs = append(vs, a.sum/float64(a.n))
		case "sum":
			vs = append(vs, a.sum)
		default:
			vs = append(vs, a.max)
		}
	}
	return ts, vs
}

func TestPowerMatchesEveryPointComputedInGo(t *testing.T) {
	rows := house(t, "house1")
	from, to := t0.Add(90*time.Minute), t0.Add(50*time.Hour+7*time.Minute)
	for _, agg := range []string{"none", "mean", "sum", "max"} {
		t.Run(agg, func(t *testing.T) {
			out, err := Run(context.Background(), client(), request("house1", agg, from, to))
			if err != nil {
				t.Fatal(err)
			}
			wantT, wantV := expected(rows, agg, from, to, out.Every)
			if len(out.Times) != len(wantT) {
				t.Fatalf("%d rows, want %d", len(out.Times), len(wantT))
			}
			worst := 0.0
			for i := range wantT {
				e := analysistest.RelErr(out.Values[i], wantV[i])
				worst = math.Max(worst, e)
				if !out.Times[i].Equal(wantT[i]) || e > 1e-9 {
					t.Fatalf("row %d: %v %v, want %v %v", i, out.Times[i], out.Values[i], wantT[i], wantV[i])
				}
			}
			t.Logf("%s: %d rows (interval %s), worst relative error %.3g", agg, len(wantT), out.Every, worst)
		})
	}
}

func TestPowerAutoAggregate(t *testing.T) {
	house(t, "house2")
	c := client()
	req := request("house2", models.AggregateAuto, t0, t0.Add(time.Hour))
	req.MaxDataPoints = 1000
	out, err := Run(context.Background(), c, req)
	if err != nil || out.Aggregate != influx.AggregateNone || len(out.Times) < 50 {
		t.Fatalf("an hour on 1000 points: %v %s %d rows", err, out.Aggregate, len(out.Times))
	}
	req = request("house2", models.AggregateAuto, t0, t0.Add(72*time.Hour))
	req.MaxDataPoints, req.Interval = 100, 0
	out, err = Run(context.Background(), c, req)
	if err != nil || out.Aggregate != influx.AggregateMean || len(out.Times) > 100 || len(out.Times) < 90 || out.Every != 43*time.Minute+12*time.Second {
		t.Fatalf("3 days on 100 points: %v %s %d rows every %s", err, out.Aggregate, len(out.Times), out.Every)
	}
}

func TestPowerMaxPoints(t *testing.T) {
	house(t, "house3")
	req := request("house3", "none", t0, t0.Add(72*time.Hour))
	req.MaxPoints = 500
	_, err := Run(context.Background(), client(), req)
	var tooMany *models.TooManyPointsError
	if !errors.As(err, &tooMany) {
		t.Fatalf("got %v", err)
	}
}
