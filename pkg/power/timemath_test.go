package power

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
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
		want := "time >= -9223372036854775808 AND time < 9223372036854775807"
		if stmt := out.Statements[len(out.Statements)-1]; !strings.Contains(stmt, want) {
			t.Fatalf("%s: %s", agg, stmt)
		}
	}
}
