package grafana

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
)

// TestTTestAlertRuleFiresPerField: a Grafana alert rule on the t-test query
// (p-value, reduce last, below alpha) over data written around now with an
// anomaly on hotend fires for hotend only, and a webhook contact point on
// 127.0.0.1 receives it.
func TestTTestAlertRuleFiresPerField(t *testing.T) {
	needLocalInfluxDB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	writeAlertData(t, now)

	api := func(method, path string, body, out any) {
		t.Helper()
		if err := grafana.API(ctx, method, path, body, out); err != nil {
			t.Fatal(err)
		}
	}
	var folder struct{ UID string }
	api("POST", "/api/folders", map[string]any{"title": "Vigil e2e"}, &folder)

	rule := map[string]any{
		"title": "Printer temperature anomaly", "ruleGroup": "vigil-e2e", "folderUID": folder.UID, "orgID": 1,
		"condition": "C", "for": "0s", "noDataState": "NoData", "execErrState": "Error",
		"data": []map[string]any{
			{"refId": "A", "datasourceUid": devenv.DatasourceUID, "relativeTimeRange": map[string]int{"from": 1800, "to": 0},
				"model": map[string]any{"refId": "A", "queryType": "ttest", "measurement": "alertprinter",
					"fields": []string{"hotend", "bed"}, "window": "1m", "history": 600, "alpha": 0.001, "output": "pvalue"}},
			{"refId": "B", "datasourceUid": "__expr__", "relativeTimeRange": map[string]int{"from": 0, "to": 0},
				"model": map[string]any{"refId": "B", "type": "reduce", "expression": "A", "reducer": "last",
					"settings": map[string]any{"mode": "dropNN"}}},
			{"refId": "C", "datasourceUid": "__expr__", "relativeTimeRange": map[string]int{"from": 0, "to": 0},
				"model": map[string]any{"refId": "C", "type": "threshold", "expression": "B",
					"conditions": []map[string]any{{"evaluator": map[string]any{"type": "lt", "params": []float64{0.001}}}}}},
		},
	}
	api("POST", "/api/v1/provisioning/alert-rules", rule, nil)
	api("PUT", fmt.Sprintf("/api/v1/provisioning/folder/%s/rule-groups/vigil-e2e", folder.UID),
		map[string]any{"interval": 10}, nil)

	// The provisioned policy routes it to the provisioned webhook (hook).
	p := scenario.WaitHook(t, hook, 2*time.Minute, func(p devenv.Notification) bool {
		return p.Status == "firing" && p.CommonLabels["alertname"] == "Printer temperature anomaly"
	})
	fields := map[string]bool{}
	for _, a := range p.Alerts {
		if a.Status == "firing" {
			fields[a.Labels["field"]] = true
		}
	}
	if !fields["hotend"] || fields["bed"] || len(fields) != 1 {
		t.Fatalf("firing for fields %v, want hotend only: %+v", fields, p)
	}
}

// writeAlertData writes 1 Hz hotend and bed temperatures from 40 minutes
// before now to 10 minutes after; hotend runs 4 degrees hot from 3 minutes
// before now, so the last complete windows at any evaluation are anomalous.
func writeAlertData(t *testing.T, now time.Time) {
	t.Helper()
	c := influxdb2.NewClientWithOptions(influxDB.URL, influxDB.Token(), influxdb2.DefaultOptions().SetPrecision(time.Second))
	defer c.Close()
	rng := rand.New(rand.NewPCG(11, 12))
	var lines []string
	for ts := now.Add(-40 * time.Minute); ts.Before(now.Add(10 * time.Minute)); ts = ts.Add(time.Second) {
		hot := 220 + 0.5*rng.NormFloat64()
		if !ts.Before(now.Add(-3 * time.Minute)) {
			hot += 4
		}
		lines = append(lines, write.PointToLineProtocol(influxdb2.NewPoint("alertprinter", map[string]string{"printer": "mk3"},
			map[string]any{"hotend": hot, "bed": 90 + rng.NormFloat64()}, ts), time.Second))
	}
	if err := c.WriteAPIBlocking("", "e2e/autogen").WriteRecord(context.Background(), lines...); err != nil {
		t.Fatal(err)
	}
}
