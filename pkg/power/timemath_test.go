package power

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx/influxtest"
)

// The aggregation interval stays a positive whole number of milliseconds
// at the ends of time.Duration; rounding up wrapped to a negative one
// there, which became 1 ms over centuries.
func TestEveryAtTheEnds(t *testing.T) {
	top := time.Duration(math.MaxInt64).Truncate(time.Millisecond)
	for _, c := range []struct {
		name string
		req  Request
		want time.Duration
	}{
		{"whole range, one point", Request{From: analysis.MinTime, To: analysis.MaxTime, MaxDataPoints: 1}, top},
		{"longest interval", Request{From: t0, To: t0.Add(time.Hour), Interval: math.MaxInt64}, top},
		{"rounded up", Request{From: t0, To: t0.Add(time.Hour), Interval: 1500 * time.Microsecond, MaxDataPoints: 1e9}, 2 * time.Millisecond},
		{"range / points", Request{From: t0, To: t0.Add(time.Hour), MaxDataPoints: 1000}, 3600 * time.Millisecond},
		{"reversed range", Request{From: t0.Add(time.Hour), To: t0}, time.Millisecond},
	} {
		if got := every(c.req); got != c.want {
			t.Errorf("%s: every %v, want %v", c.name, got, c.want)
		}
	}
}

// A range from before 1677 to after 2262 reads the whole representable
// range: its ends wrapped around before (1600 read as 2185), and it read
// nothing.
func TestPowerRangeBeyondTheEnds(t *testing.T) {
	fake := influxtest.New()
	if err := fake.Load("house/autogen", strings.NewReader(fourMinutes)); err != nil {
		t.Fatal(err)
	}
	for _, agg := range []string{"none", "mean"} {
		out, err := Run(context.Background(), fake, Request{
			Selection:   influx.Selection{Bucket: "house/autogen", Measurement: "power"},
			ActivePower: "Global_active_power", SubMeters: subs, Aggregate: agg,
			From: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
			MaxDataPoints: 1000, MaxPoints: 100,
		})
		if err != nil {
			t.Fatal(err)
		}
		if agg == "none" && len(out.Times) != 3 || agg == "mean" && len(out.Times) != 1 {
			t.Fatalf("%s: %v %v", agg, out.Times, out.Values)
		}
		want := "time >= -9223372036854775806 AND time < 9223372036854775807" // InfluxDB's earliest
		if agg == "mean" {
			// from the first whole interval
			want = fmt.Sprintf("time >= %d AND time < 9223372036854775807", analysis.FirstWindowStart(int64(out.Every)))
		}
		if stmt := out.Statements[len(out.Statements)-1]; !strings.Contains(stmt, want) {
			t.Fatalf("%s: %s", agg, stmt)
		}
	}
}

// Through InfluxDB: an aggregated range from 1600 to 9999 answers rows at
// the data's intervals only. InfluxDB stamps an interval that begins before
// 1677-09-21 in 1970, so aggregates start at the first whole interval (the
// points before it are read unaggregated only); an aggregate over
// "time >= math.MinInt64" answered nothing. (InfluxDB 1.8 leaves its
// last instant, math.MaxInt64 - 1, out of every GROUP BY time aggregate:
// the points here stop a minute before.)
func TestPowerAtTheEndsOnInfluxDB(t *testing.T) {
	devenv.NeedInfluxDB(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "powerends"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range 3 {
		for _, ts := range []int64{math.MinInt64 + 2 + int64(i)*int64(time.Minute), t0.Add(time.Duration(i) * time.Minute).UnixNano(), math.MaxInt64 - 1 - int64(i+1)*int64(time.Minute)} {
			lines = append(lines, fmt.Sprintf("power Global_active_power=3,Sub_metering_1=10,Sub_metering_2=5,Sub_metering_3=5 %d", ts))
		}
	}
	w := influxdb2.NewClient(influxDB.URL, influxDB.Token()) // nanoseconds
	defer w.Close()
	if err := w.WriteAPIBlocking("", "powerends/autogen").WriteRecord(ctx, lines...); err != nil {
		t.Fatal(err)
	}
	c := client()
	defer c.Close()
	from, to := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, agg := range []string{"none", "mean", "sum"} {
		req := request("powerends", agg, from, to)
		out, err := Run(ctx, c, req)
		if err != nil {
			t.Fatal(err)
		}
		n := 9 // every point
		if agg != "none" {
			n = 2 // the intervals of 2007 and of 2262 (years long: MaxDataPoints 100 over 584 years)
		}
		if len(out.Times) != n {
			t.Fatalf("%s: %v %v", agg, out.Times, out.Values)
		}
		for i, ts := range out.Times {
			if ts.Year() == 1970 || (i > 0 && !ts.After(out.Times[i-1])) || out.Values[i] != 30*map[string]float64{"none": 1, "mean": 1, "sum": 3}[agg] {
				t.Fatalf("%s: %v %v", agg, out.Times, out.Values)
			}
		}
	}
}
