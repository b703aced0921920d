package grafana

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
)

// TestPowerAlertWritesHistory: the provisioned power rule (value > 4 Wh)
// fires on a spike written near now; the webhook gets the Kapacitor
// attributes; Vigil's receiver (a second integration of the same contact
// point, with a service-account token) writes the alert point; when the
// spike ends, the resolved notification writes level=OK with the firing
// duration; the alerts query returns both.
func TestPowerAlertWritesHistory(t *testing.T) {
	needLocalInfluxDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	line := func(ts time.Time, active float64, s1, s2, s3 int) string {
		return fmt.Sprintf("power Global_active_power=%g,Sub_metering_1=%d,Sub_metering_2=%d,Sub_metering_3=%d %d", active, s1, s2, s3, ts.Unix())
	}
	var lines []string
	for m := 20; m > 0; m-- {
		lines = append(lines, line(now.Add(-time.Duration(m)*time.Minute), 0.18, 0, 1, 0)) // 2 Wh: normal
	}
	lines = append(lines, line(now, 4.216, 0, 1, 17)) // the first row of the UCI file: 52.27 Wh
	if err := influxDB.WriteLines(ctx, "house/autogen", len(lines), func(i int) string { return lines[i] }); err != nil {
		t.Fatal(err)
	}
	spike, _ := analysis.UnmeteredWh(4.216, 0, 1, 17)

	isPower := func(status string) func(devenv.Notification) bool {
		return func(p devenv.Notification) bool {
			return p.CommonLabels["alertname"] == "Power consumption" && len(p.Alerts) > 0 && p.Alerts[0].Status == status &&
				p.Alerts[0].Labels["datasource_uid"] == "" && // not the rule's error alert
				!p.Alerts[0].StartsAt.Before(now) // this spike's, not the loaded data's
		}
	}
	fired := waitHook(t, 90*time.Second, isPower("firing")).Alerts[0]
	ann := fired.Annotations
	if ann["id"] != "Power_Consumption_Rule" || ann["message"] != "Alert: power consumption" ||
		ann["details"] != "The error of power consumption is greater than the threshold" ||
		fired.Labels["severity"] != "critical" || fired.StartsAt.IsZero() || math.Abs(parseFloat(t, ann["value"])-spike) > 1e-9 {
		t.Fatalf("the webhook JSON lacks the Kapacitor attributes: %+v", fired)
	}

	// The receiver wrote the firing point. Only this alert's points count:
	// while another test stops InfluxDB, the rule is in Error state and its
	// error alert (labels datasource_uid, ref_id) is recorded too.
	const alertID = "Power consumption:severity=critical,triggerType=threshold"
	history := func() []map[string]any {
		var rows []map[string]any
		stmt := fmt.Sprintf(`SELECT * FROM "house"."autogen"."alerts" WHERE "alertID" = '%s' AND time >= %d`, alertID, now.UnixNano())
		if err := queryInfluxQL(ctx, "house", stmt, func(cols []string, vals []any) {
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
	waitFor(t, 30*time.Second, "the firing point in InfluxDB", func() bool { return len(history()) >= 1 })
	first := history()[0]
	if first["level"] != "CRITICAL" ||
		first["triggerType"] != "threshold" || first["message"] != "Alert: power consumption" ||
		num(first["duration"]) != 0 || math.Abs(num(first["value"])-spike) > 1e-9 {
		t.Fatalf("firing point: %v", first)
	}

	// The spike ends: a newer normal point makes the last value 2 Wh.
	normal := line(now.Add(time.Second), 0.18, 0, 1, 0)
	if err := influxDB.WriteLines(ctx, "house/autogen", 1, func(int) string { return normal }); err != nil {
		t.Fatal(err)
	}
	resolved := waitHook(t, 90*time.Second, isPower("resolved")).Alerts[0]
	firingTime := resolved.EndsAt.Sub(resolved.StartsAt)
	waitFor(t, 30*time.Second, "the resolved point in InfluxDB", func() bool { return len(history()) >= 2 })
	last := history()[1]
	if last["level"] != "OK" || int64(num(last["duration"])) != firingTime.Nanoseconds() || firingTime <= 0 {
		t.Fatalf("resolved point: %v (firing time %s)", last, firingTime)
	}

	// The alerts query returns both, through Grafana.
	out := dsQuery(t, now, time.Now().Add(time.Minute),
		map[string]any{"refId": "A", "queryType": "alerts", "bucket": "house/autogen", "tags": map[string]string{"alertID": alertID}},
		map[string]any{"refId": "B", "queryType": "alerts", "bucket": "house/autogen", "format": "annotations"})
	if a := out.Results["A"]; a.Error != "" || len(a.Frames) != 1 || len(a.Frames[0].Data.Values[0]) != 2 {
		t.Fatalf("alerts table: %+v", a)
	}
	if b := out.Results["B"]; b.Error != "" || len(b.Frames[0].Data.Values[0]) < 1 {
		t.Fatalf("alerts annotations: %+v", b)
	}
}

func parseFloat(t *testing.T, s string) float64 {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return f
}

func num(v any) float64 {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	return math.NaN()
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
