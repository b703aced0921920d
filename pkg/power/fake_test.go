package power

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx/influxtest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// Four minutes as the UCI file has them, by hand: 3 kW is 50 Wh a minute.
// Minute 1 lacks a sub-meter and minute 2 the active power: both skipped.
const fourMinutes = `measurement,time,Global_active_power,Sub_metering_1,Sub_metering_2,Sub_metering_3
power,2007-01-01T00:00:00Z,3,10,5,5
power,2007-01-01T00:01:00Z,6,1,,1
power,2007-01-01T00:02:00Z,,0,0,0
power,2007-01-01T00:03:00Z,1.2,0,1,17
power,2007-01-01T00:04:00Z,0.6,0,0,0
`

// TestPowerOverFake: the value per point, the skip rule and each aggregate,
// against values worked out by hand; auto aggregates only when the points
// outnumber the panel's.
func TestPowerOverFake(t *testing.T) {
	fake := influxtest.New()
	if err := fake.Load("house/autogen", strings.NewReader(fourMinutes)); err != nil {
		t.Fatal(err)
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	for _, tc := range []struct {
		aggregate string
		interval  time.Duration
		maxPoints int64
		want      string
	}{
		// 3 kW - 20 Wh = 30; 1.2 kW = 20 Wh - 18 = 2; 0.6 kW = 10 Wh.
		{"none", 0, 1000, "00:00=30 00:03=2 00:04=10"},
		{"mean", 2 * time.Minute, 1000, "00:00=30 00:02=2 00:04=10"},
		{"sum", 4 * time.Minute, 1000, "00:00=32 00:04=10"},
		{"max", 4 * time.Minute, 1000, "00:00=30 00:04=10"},
		{models.AggregateAuto, time.Minute, 1000, "00:00=30 00:03=2 00:04=10"}, // 4 points, 1000 pixels: every point
		{models.AggregateAuto, 4 * time.Minute, 2, "00:00=16 00:04=10"},        // 4 points, 2 pixels: means
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.aggregate, tc.interval), func(t *testing.T) {
			out, err := Run(context.Background(), fake, Request{
				Selection:   influx.Selection{Bucket: "house/autogen", Measurement: "power"},
				ActivePower: "Global_active_power", SubMeters: subs, Aggregate: tc.aggregate,
				From: at(0), To: at(5), Interval: tc.interval, MaxDataPoints: tc.maxPoints, MaxPoints: 100,
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, ts := range out.Times {
				got = append(got, fmt.Sprintf("%s=%v", ts.Format("15:04"), out.Values[i]))
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("got %s, want %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}
