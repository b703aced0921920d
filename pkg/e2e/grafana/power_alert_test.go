package grafana

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
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
	spike, err := scenario.WritePowerSpike(ctx, influxDB, now)
	if err != nil {
		t.Fatal(err)
	}

	isPower := func(status string) func(devenv.Notification) bool {
		return func(p devenv.Notification) bool {
			return p.CommonLabels["alertname"] == "Power consumption" && len(p.Alerts) > 0 && p.Alerts[0].Status == status &&
				p.Alerts[0].Labels["datasource_uid"] == "" && // not the rule's error alert
				!p.Alerts[0].StartsAt.Before(now) // this spike's, not the loaded data's
		}
	}
	fired := scenario.WaitHook(t, hook, 90*time.Second, isPower("firing")).Alerts[0]
	ann := fired.Annotations
	if ann["id"] != "Power_Consumption_Rule" || ann["message"] != "Alert: power consumption" ||
		ann["details"] != "The error of power consumption is greater than the threshold" ||
		fired.Labels["severity"] != "critical" || fired.StartsAt.IsZero() || math.Abs(scenario.ParseFloat(t, ann["value"])-spike) > 1e-9 {
		t.Fatalf("the webhook JSON lacks the Kapacitor attributes: %+v", fired)
	}

	// The receiver wrote the firing point. Only this alert's points count:
	// while another test stops InfluxDB, the rule is in Error state and its
	// error alert (labels datasource_uid, ref_id) is recorded too.
	history := func() []map[string]any { return scenario.PowerHistory(t, influxDB, now) }
	scenario.WaitFor(t, 30*time.Second, "the firing point in InfluxDB", func() bool { return len(history()) >= 1 })
	first := history()[0]
	if first["level"] != "CRITICAL" ||
		first["triggerType"] != "threshold" || first["message"] != "Alert: power consumption" ||
		scenario.Num(first["duration"]) != 0 || math.Abs(scenario.Num(first["value"])-spike) > 1e-9 {
		t.Fatalf("firing point: %v", first)
	}

	// The spike ends: a newer normal point makes the last value 2 Wh.
	if err := scenario.WritePowerNormal(ctx, influxDB, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	resolved := scenario.WaitHook(t, hook, 90*time.Second, isPower("resolved")).Alerts[0]
	firingTime := resolved.EndsAt.Sub(resolved.StartsAt)
	scenario.WaitFor(t, 30*time.Second, "the resolved point in InfluxDB", func() bool { return len(history()) >= 2 })
	last := history()[1]
	if last["level"] != "OK" || int64(scenario.Num(last["duration"])) != firingTime.Nanoseconds() || firingTime <= 0 {
		t.Fatalf("resolved point: %v (firing time %s)", last, firingTime)
	}

	// The alerts query returns both, through Grafana.
	out := dsQuery(t, now, time.Now().Add(time.Minute),
		map[string]any{"refId": "A", "queryType": "alerts", "bucket": "house/autogen", "tags": map[string]string{"alertID": scenario.PowerAlertID}},
		map[string]any{"refId": "B", "queryType": "alerts", "bucket": "house/autogen", "format": "annotations"})
	if a := out.Results["A"]; a.Error != "" || len(a.Frames) != 1 || len(a.Frames[0].Data.Values[0]) != 2 {
		t.Fatalf("alerts table: %+v", a)
	}
	if b := out.Results["B"]; b.Error != "" || len(b.Frames[0].Data.Values[0]) < 1 {
		t.Fatalf("alerts annotations: %+v", b)
	}
}
