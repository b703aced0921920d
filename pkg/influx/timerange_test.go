package influx_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// A range from 1600 to 9999 reads InfluxDB's earliest (math.MinInt64 + 2)
// and latest (math.MaxInt64 - 1) points: its ends wrapped around before,
// and an aggregate over "time >= math.MinInt64" answers no rows at all.
func TestTimeRangeAtTheEnds(t *testing.T) {
	from, to := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	devenv.NeedInfluxDB(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "ends"); err != nil {
		t.Fatal(err)
	}
	w := influxdb2.NewClient(influxDB.URL, influxDB.Token()) // nanoseconds
	defer w.Close()
	lines := []string{fmt.Sprintf("m v=1 %d", int64(math.MinInt64)+2), "m v=2 0", fmt.Sprintf("m v=4 %d", int64(math.MaxInt64)-1)}
	if err := w.WriteAPIBlocking("", "ends/autogen").WriteRecord(ctx, lines...); err != nil {
		t.Fatal(err)
	}
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	sel := influx.Selection{Bucket: "ends/autogen", Measurement: "m", Fields: []string{"v"}}
	counts, err := c.SeriesCounts(ctx, sel, from, to)
	if err != nil || len(counts) != 1 || counts[0].N != 3 || counts[0].Sum != 7 {
		t.Fatalf("counts: %v %+v", err, counts)
	}
	var times []int64
	err = c.Points(ctx, sel, from, to, func(b influx.Batch) error { times = append(times, b.Times...); return nil })
	if err != nil || fmt.Sprint(times) != fmt.Sprint([]int64{math.MinInt64 + 2, 0, math.MaxInt64 - 1}) {
		t.Fatalf("points: %v %v", err, times)
	}
	if got, want := influx.TimeRange(from, to), "time >= -9223372036854775806 AND time < 9223372036854775807"; got != want {
		t.Fatalf("TimeRange: %s, want %s", got, want)
	}
}
