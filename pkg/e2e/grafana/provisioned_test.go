package grafana

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
)

type dashboard struct {
	Dashboard struct {
		UID         string `json:"uid"`
		Title       string `json:"title"`
		Annotations struct {
			List []struct {
				Name   string         `json:"name"`
				Target map[string]any `json:"target"`
			} `json:"list"`
		} `json:"annotations"`
		Panels []struct {
			Title   string           `json:"title"`
			Repeat  string           `json:"repeat"`
			Targets []map[string]any `json:"targets"`
		} `json:"panels"`
	} `json:"dashboard"`
}

// expand replaces $field as the dashboard would (the field variable's values).
func expand(target map[string]any, field string) map[string]any {
	raw, _ := json.Marshal(target)
	var out map[string]any
	_ = json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "$field", field)), &out)
	return out
}

// TestProvisionedDashboards: every provisioned dashboard is listed, and every
// panel's and annotation's query, sent as the dashboard sends it, returns
// data without error for the loaded data. The fleet panel reads the farm
// (scenario.WriteFarm), written here when the InfluxDB is the local one; a
// Grafana the user runs may have no farm, and the panel may then be empty.
func TestProvisionedDashboards(t *testing.T) {
	needServers(t)
	haveFarm := influxDB != nil
	if haveFarm {
		if err := scenario.WriteFarm(context.Background(), influxDB, "e2e/autogen", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	uids := uidsAt(t, "/api/search?type=dash-db&query=")
	for _, uid := range []string{"vigil-printer", "vigil-house"} {
		if !uids[uid] {
			t.Fatalf("dashboard %s not provisioned (have %v)", uid, uids)
		}
		var d dashboard
		if err := grafana.API(context.Background(), "GET", "/api/dashboards/uid/"+uid, nil, &d); err != nil {
			t.Fatal(err)
		}
		ranges := map[string]time.Duration{"vigil-printer": 24 * time.Hour, "vigil-house": 7 * 24 * time.Hour}
		to := time.Now()
		from := to.Add(-ranges[uid])
		check := func(what string, target map[string]any, allowEmpty bool) {
			out := dsQuery(t, from, to, target)
			r := out.Results[target["refId"].(string)]
			rows := 0
			for _, f := range r.Frames {
				if len(f.Data.Values) > 0 {
					rows += len(f.Data.Values[0])
				}
			}
			if r.Error != "" || (rows == 0 && !allowEmpty) {
				t.Errorf("%s / %s: error %q, %d rows", d.Dashboard.Title, what, r.Error, rows)
			}
		}
		for _, p := range d.Dashboard.Panels {
			fields := []string{""}
			if p.Repeat == "field" {
				fields = datagen.PrinterFields
			}
			for _, field := range fields {
				for _, target := range p.Targets {
					q := expand(target, field)
					check(fmt.Sprintf("panel %q %s", p.Title, field), q, q["queryType"] == "alerts" || (q["detector"] == "peers" && !haveFarm))
				}
			}
		}
		for _, a := range d.Dashboard.Annotations.List {
			if a.Target != nil {
				// Anomaly and alert annotations may be empty; they must not fail.
				check("annotation "+a.Name, a.Target, true)
			}
		}
	}
}

// TestProvisionedAlertRules: the provisioned rules exist and evaluate
// without error.
func TestProvisionedAlertRules(t *testing.T) {
	needServers(t)
	have := uidsAt(t, "/api/v1/provisioning/alert-rules")
	want := []string{"vigil-power-consumption", "vigil-printer-hotend", "vigil-printer-bed", "vigil-printer-air", "vigil-fleet-hotend"}
	for _, uid := range want {
		if !have[uid] {
			t.Fatalf("rule %s not provisioned (have %v)", uid, have)
		}
	}
	scenario.WaitFor(t, 90*time.Second, "every provisioned rule evaluated without error", func() bool {
		var resp struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name           string `json:"name"`
						Health         string `json:"health"`
						LastError      string `json:"lastError"`
						LastEvaluation string `json:"lastEvaluation"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := grafana.API(context.Background(), "GET", "/api/prometheus/grafana/api/v1/rules", nil, &resp); err != nil {
			t.Fatal(err)
		}
		provisioned := map[string]bool{"Power consumption": true, "Printer hotend anomaly": true, "Printer bed anomaly": true, "Printer air anomaly": true,
			"Fleet hotend leaves its peers": true}
		ok := 0
		for _, g := range resp.Data.Groups {
			for _, r := range g.Rules {
				if provisioned[r.Name] {
					if r.Health == "error" {
						t.Fatalf("rule %q: %s", r.Name, r.LastError)
					}
					if r.Health == "ok" && !strings.HasPrefix(r.LastEvaluation, "0001") {
						ok++
					}
				}
			}
		}
		return ok == len(want)
	})
}

// TestPrinterRulesFireOnAnomalies: when the writer injects an anomaly in
// every field (the last 12 minutes run hot, cold and noisy), the hotend, bed
// and air rules fire.
func TestPrinterRulesFireOnAnomalies(t *testing.T) {
	needLocalInfluxDB(t)
	if err := scenario.InjectPrinterAnomaly(context.Background(), influxDB, time.Now().Truncate(time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, f := range datagen.PrinterFields {
		name := "Printer " + f + " anomaly"
		p := scenario.WaitHook(t, hook, 2*time.Minute, func(p devenv.Notification) bool {
			return p.Status == "firing" && p.CommonLabels["alertname"] == name && p.Alerts[0].Labels["datasource_uid"] == ""
		})
		if p.Alerts[0].Annotations["id"] != f || p.Alerts[0].Labels["field"] != f {
			t.Fatalf("%s: %+v", name, p.Alerts[0])
		}
	}
}

// uidsAt is the set of uids in the list Grafana's API returns at path.
func uidsAt(t *testing.T, path string) map[string]bool {
	t.Helper()
	var items []struct {
		UID string `json:"uid"`
	}
	if err := grafana.API(context.Background(), "GET", path, nil, &items); err != nil {
		t.Fatal(err)
	}
	uids := map[string]bool{}
	for _, it := range items {
		uids[it.UID] = true
	}
	return uids
}
