package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// TestHealthWhenInfluxDBStops runs last (its file sorts after the other
// tests' files): with InfluxDB stopped, Save & test names the cause and
// queries fail one by one with a downstream error (the plugin lives on);
// once InfluxDB is back, both answer again.
func TestHealthWhenInfluxDBStops(t *testing.T) {
	needServers(t)
	influxDB.Stop()
	res, err := host.CheckHealth(context.Background(), dsMain)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "cannot reach InfluxDB at "+influxDB.URL) {
		t.Fatalf("health with InfluxDB stopped: %s %q", res.Status, res.Message)
	}
	if strings.Contains(res.Message, influxDB.Password) {
		t.Fatal("the message leaks the password")
	}
	q := map[string]any{"refId": "A", "queryType": "ttest", "bucket": "printer/autogen", "measurement": "temperatures", "fields": []string{"hotend"}}
	r := panelQuery(t, dsMain, dayAgo, dayAgo.Add(time.Hour), q).Responses["A"]
	if r.Error == nil || r.ErrorSource != backend.ErrorSourceDownstream {
		t.Fatalf("a query with InfluxDB stopped: %v (source %q)", r.Error, r.ErrorSource)
	}
	if err := influxDB.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res, err := host.CheckHealth(context.Background(), dsMain); err != nil || res.Status != backend.HealthStatusOk {
		t.Fatalf("health after InfluxDB restarted: %v %v", res, err)
	}
	if r := panelQuery(t, dsMain, dayAgo, dayAgo.Add(time.Hour), q).Responses["A"]; r.Error != nil || rows(r.Frames) == 0 {
		t.Fatalf("a query after InfluxDB restarted: %v", r.Error)
	}
}
