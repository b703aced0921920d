// Package scenario is what the end-to-end suites share: the data they write
// into InfluxDB (a printer anomaly, a power spike, two sensors' series), how
// they read results back (the alert history, InfluxQL rows) and small test
// helpers. The suite through the plugin host (pkg/e2e) and the one through a
// Grafana the user gives (pkg/e2e/grafana) run the same scenarios.
package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/loader"
)

// RepoRoot is the directory holding plugin.json and dist/, above the test's.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "plugin.json")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("plugin.json not found above the test directory")
		}
		dir = parent
	}
}

// WaitFor polls ok until it holds, failing the test after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitHook returns the first notification hook received for which match
// holds, failing the test after timeout.
func WaitHook(t testing.TB, hook *devenv.WebhookListener, timeout time.Duration, match func(devenv.Notification) bool) devenv.Notification {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	n, err := hook.Wait(ctx, match)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Load writes data into bucket through a loader.Writer.
func Load(db *devenv.InfluxDB, bucket string, fill func(*loader.Writer) error) error {
	w := loader.NewWriter(db.URL, db.Token(), bucket)
	if err := fill(w); err != nil {
		return err
	}
	return w.Close(context.Background())
}

// QueryInfluxQL reads InfluxDB directly, as a check independent of the plugin.
func QueryInfluxQL(ctx context.Context, db *devenv.InfluxDB, database, statement string, row func(columns []string, values []any)) error {
	c := influx.NewClient(influx.Config{URL: db.URL, Token: db.Token()})
	defer c.Close()
	return c.InfluxQL(ctx, database, statement, func(s influx.Series) error {
		for _, v := range s.Values {
			row(s.Columns, v)
		}
		return nil
	})
}

// Num reads a number InfluxQL answered (json.Number), NaN otherwise.
func Num(v any) float64 {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	return math.NaN()
}

// ParseFloat reads a number written as text (an annotation's value).
func ParseFloat(t testing.TB, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return f
}

// InjectPrinterAnomaly writes printer points for the 12 minutes up to until
// (and one more minute past it) into printer/autogen, every field off its
// baseline: hotend 4 degrees low, bed 6 high, air 20 high.
func InjectPrinterAnomaly(ctx context.Context, db *devenv.InfluxDB, until time.Time) error {
	gen := datagen.NewPrinter(until, 99)
	var lines []string
	for ts := until.Add(-12 * time.Minute).Truncate(time.Second); !ts.After(until.Add(time.Minute)); ts = ts.Add(time.Second) {
		p := gen.Next()
		p.Time = ts
		p.Values[0] -= 4  // hotend drops
		p.Values[1] += 6  // bed rises
		p.Values[2] += 20 // air jumps
		lines = append(lines, p.LineProtocol())
	}
	return db.WriteLines(ctx, "printer/autogen", len(lines), func(i int) string { return lines[i] })
}

// PowerAlertID is the alert-history alertID of the provisioned power rule.
const PowerAlertID = "Power consumption:severity=critical,triggerType=threshold"

func powerLine(ts time.Time, active float64, s1, s2, s3 int) string {
	return fmt.Sprintf("power Global_active_power=%g,Sub_metering_1=%d,Sub_metering_2=%d,Sub_metering_3=%d %d", active, s1, s2, s3, ts.Unix())
}

// WritePowerSpike writes 20 normal minutes (2 Wh each) before now and, at
// now, the first row of the UCI file (52.27 Wh) into house/autogen, and
// returns that row's unmetered energy.
func WritePowerSpike(ctx context.Context, db *devenv.InfluxDB, now time.Time) (float64, error) {
	var lines []string
	for m := 20; m > 0; m-- {
		lines = append(lines, powerLine(now.Add(-time.Duration(m)*time.Minute), 0.18, 0, 1, 0))
	}
	lines = append(lines, powerLine(now, 4.216, 0, 1, 17))
	spike, _ := analysis.UnmeteredWh(4.216, 0, 1, 17)
	return spike, db.WriteLines(ctx, "house/autogen", len(lines), func(i int) string { return lines[i] })
}

// WritePowerNormal writes one normal minute (2 Wh) at ts, which ends a spike.
func WritePowerNormal(ctx context.Context, db *devenv.InfluxDB, ts time.Time) error {
	line := powerLine(ts, 0.18, 0, 1, 0)
	return db.WriteLines(ctx, "house/autogen", 1, func(int) string { return line })
}

// PowerHistory is the power rule's alert-history points since since, oldest
// first, as column -> value.
func PowerHistory(t testing.TB, db *devenv.InfluxDB, since time.Time) []map[string]any {
	t.Helper()
	var rows []map[string]any
	stmt := fmt.Sprintf(`SELECT * FROM "house"."autogen"."alerts" WHERE "alertID" = %s AND time >= %d`, influx.Literal(PowerAlertID), since.UnixNano())
	if err := QueryInfluxQL(context.Background(), db, "house", stmt, func(cols []string, vals []any) {
		row := map[string]any{}
		for i, c := range cols {
			row[c] = vals[i]
		}
		rows = append(rows, row)
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

// WriteSensors writes 30 s of hotend values for two sensors (left and right)
// into e2e/autogen from t0, and returns each sensor's values in time order.
func WriteSensors(ctx context.Context, db *devenv.InfluxDB, t0 time.Time) (map[string][]float64, error) {
	want := map[string][]float64{}
	var lines []string
	for s := 0; s < 30; s++ {
		for _, sensor := range []string{"left", "right"} {
			v := 200 + float64(s)*0.25
			if sensor == "right" {
				v += 0.125
			}
			lines = append(lines, fmt.Sprintf("temperatures,sensor=%s hotend=%v %d", sensor, v, t0.Add(time.Duration(s)*time.Second).Unix()))
			want[sensor] = append(want[sensor], v)
		}
	}
	return want, db.WriteLines(ctx, "e2e/autogen", len(lines), func(i int) string { return lines[i] })
}

// FluxSensorsScript reads WriteSensors' points for the panel's range.
const FluxSensorsScript = `from(bucket: v.bucket)
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "temperatures" and r._field == "hotend")`

// StartPrinterTopic starts a kfake broker (state in dir) whose topic
// printer (three partitions) holds the printer day from dayAgo, produced by
// kcat: the data written to printer/autogen, one message per point.
func StartPrinterTopic(ctx context.Context, dir string, dayAgo time.Time) (*devenv.Kafka, error) {
	k, err := devenv.StartKafka(dir, 3, datagen.PrinterTopic)
	if err != nil {
		return nil, err
	}
	gen := datagen.NewPrinter(dayAgo, 1)
	lines := make([]string, datagen.PrinterPoints)
	for i := range lines {
		lines[i] = gen.Next().LineProtocolNs()
	}
	if err := devenv.Kcat(ctx, k.Addr, datagen.PrinterTopic, -1, lines); err != nil {
		k.Stop()
		return nil, err
	}
	return k, nil
}
