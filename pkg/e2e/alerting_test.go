package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerteval"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/dataplane"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
)

// The alerting chain without Grafana: the provisioned rules are evaluated
// through the plugin as Grafana's alerting does (pkg/alerteval: the request
// an alert rule sends, the data plane check of every frame, reduce and
// threshold), the alerts go to a real Alertmanager configured from the
// provisioned contact point, which posts to the webhook, to Vigil's
// alert-history route (through the host's Grafana resource route, with the
// token) and emails through a real SMTP server.

// evaluate evaluates a provisioned rule now and fails on an evaluation error.
func evaluate(t *testing.T, title string) alerteval.Evaluation {
	t.Helper()
	ev, err := stack.Rules.Evaluate(context.Background(), title, time.Now())
	if err != nil {
		t.Fatalf("%s: %v", title, err)
	}
	if ev.Err != nil {
		t.Fatalf("%s: evaluation error: %v", title, ev.Err)
	}
	return ev
}

// states is field label -> state of an evaluation's instances.
func states(ev alerteval.Evaluation) map[string]alerteval.State {
	out := map[string]alerteval.State{}
	for _, in := range ev.Instances {
		out[in.Labels["field"]] = in.State
	}
	return out
}

// TestPrinterRulesFireOnInjectedAnomaly: the three provisioned printer rules
// (the highest mad score of the last 2 minutes' 2-second windows above 1)
// are Normal on the loaded day (its anomalies are hours old); once the last
// 12 minutes run hot, cold and noisy, each fires for its own field with a
// score above 1, the webhook gets an alert that started after the
// injection, and the email carries the rule's id, message and details.
func TestPrinterRulesFireOnInjectedAnomaly(t *testing.T) {
	needServers(t)
	for _, f := range datagen.PrinterFields {
		name := "Printer " + f + " anomaly"
		if st := states(evaluate(t, name)); st[f] != alerteval.Normal || len(st) != 1 {
			t.Fatalf("%s before the anomaly: %v", name, st)
		}
	}
	injected := time.Now()
	if err := scenario.InjectPrinterAnomaly(context.Background(), influxDB, injected); err != nil {
		t.Fatal(err)
	}
	for _, f := range datagen.PrinterFields {
		name := "Printer " + f + " anomaly"
		ev := evaluate(t, name)
		if st := states(ev); st[f] != alerteval.Alerting || len(st) != 1 {
			t.Fatalf("%s after the anomaly: %v", name, st)
		}
		if score := ev.Instances[0].Values["B"].Value; !(score > 1) {
			t.Fatalf("%s: last anomaly score %v, want above 1", name, score)
		}
		n := scenario.WaitHook(t, stack.Webhook, time.Minute, func(n devenv.Notification) bool {
			return n.Status == "firing" && n.CommonLabels["alertname"] == name
		})
		a := n.Alerts[0]
		if a.Labels["field"] != f || a.Annotations["id"] != f || a.StartsAt.Before(injected) {
			t.Fatalf("%s: notification %+v (injected at %s)", name, a, injected)
		}
		waitEmail(t, name, "id: "+f, a.Annotations["message"], a.Annotations["details"])
	}
}

// waitEmail waits for an email about alertname whose text holds every part.
func waitEmail(t *testing.T, alertname string, parts ...string) {
	t.Helper()
	scenario.WaitFor(t, time.Minute, "an email about "+alertname, func() bool {
		msgs, err := stack.SMTP.Messages()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			ok := strings.Contains(m.Text, alertname)
			for _, p := range parts {
				ok = ok && strings.Contains(m.Text, p)
			}
			if ok {
				return true
			}
		}
		return false
	})
}

// TestPowerAlertWritesHistory: the provisioned power rule (last value > 4 Wh)
// is Normal with no recent data, fires on a spike written now: the webhook
// gets the Kapacitor attributes, the alert-history route writes the CRITICAL
// point, the email carries id, message and details; when a normal point
// follows, the rule resolves, the OK point carries the firing duration, and
// the alerts query returns both.
func TestPowerAlertWritesHistory(t *testing.T) {
	needServers(t)
	const rule = "Power consumption"
	if st := evaluate(t, rule).Instances[0].State; st != alerteval.Normal {
		t.Fatalf("before the spike: %s", st)
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	spike, err := scenario.WritePowerSpike(ctx, influxDB, now)
	if err != nil {
		t.Fatal(err)
	}
	ev := evaluate(t, rule)
	if ev.Instances[0].State != alerteval.Alerting || math.Abs(ev.Instances[0].Values["B"].Value-spike) > 1e-9 {
		t.Fatalf("after the spike: %+v", ev.Instances[0])
	}

	isPower := func(status string) func(devenv.Notification) bool {
		return func(n devenv.Notification) bool {
			return n.CommonLabels["alertname"] == rule && len(n.Alerts) > 0 && n.Alerts[0].Status == status && !n.Alerts[0].StartsAt.Before(now)
		}
	}
	fired := scenario.WaitHook(t, stack.Webhook, time.Minute, isPower("firing")).Alerts[0]
	ann := fired.Annotations
	if ann["id"] != "Power_Consumption_Rule" || ann["message"] != "Alert: power consumption" ||
		ann["details"] != "The error of power consumption is greater than the threshold" ||
		fired.Labels["severity"] != "critical" || math.Abs(scenario.ParseFloat(t, ann["value"])-spike) > 1e-9 {
		t.Fatalf("the webhook JSON lacks the Kapacitor attributes: %+v", fired)
	}
	waitEmail(t, rule, "id: Power_Consumption_Rule", "message: Alert: power consumption", "details: The error of power consumption")

	history := func() []map[string]any { return scenario.PowerHistory(t, influxDB, now) }
	scenario.WaitFor(t, 30*time.Second, "the firing point in InfluxDB", func() bool { return len(history()) >= 1 })
	first := history()[0]
	if first["level"] != "CRITICAL" || first["triggerType"] != "threshold" || first["message"] != "Alert: power consumption" ||
		scenario.Num(first["duration"]) != 0 || math.Abs(scenario.Num(first["value"])-spike) > 1e-9 {
		t.Fatalf("firing point: %v", first)
	}

	// The spike ends: a newer normal point makes the last value 2 Wh.
	if err := scenario.WritePowerNormal(ctx, influxDB, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if st := evaluate(t, rule).Instances; len(st) != 1 || !st[0].Resolved && st[0].State != alerteval.Normal {
		t.Fatalf("after the spike ended: %+v", st)
	}
	resolved := scenario.WaitHook(t, stack.Webhook, time.Minute, isPower("resolved")).Alerts[0]
	firingTime := resolved.EndsAt.Sub(resolved.StartsAt)
	scenario.WaitFor(t, 30*time.Second, "the resolved point in InfluxDB", func() bool { return len(history()) >= 2 })
	last := history()[1]
	if last["level"] != "OK" || int64(scenario.Num(last["duration"])) != firingTime.Nanoseconds() || firingTime <= 0 {
		t.Fatalf("resolved point: %v (firing time %s)", last, firingTime)
	}

	// The alerts query returns both, as a table and as annotations.
	resp := panelQuery(t, dsMain, now, time.Now().Add(time.Minute),
		map[string]any{"refId": "A", "queryType": "alerts", "bucket": "house/autogen", "tags": map[string]string{"alertID": scenario.PowerAlertID}},
		map[string]any{"refId": "B", "queryType": "alerts", "bucket": "house/autogen", "format": "annotations", "tags": map[string]string{"alertID": scenario.PowerAlertID}})
	if a := resp.Responses["A"]; a.Error != nil || len(a.Frames) != 1 || a.Frames[0].Rows() != 2 {
		t.Fatalf("alerts table: %v, %v", a.Error, a.Frames)
	}
	if b := resp.Responses["B"]; b.Error != nil || len(b.Frames) != 1 || b.Frames[0].Rows() != 1 {
		t.Fatalf("alerts annotations (one region from firing to OK): %v, %v", b.Error, b.Frames)
	}
}

// TestAlertFramesFollowDataPlane: a t-test rule over a fleet (two printers,
// two fields) answers frames that satisfy Grafana's data plane contract
// (pkg/dataplane), and one alert instance per field and printer follows from
// their labels; only the anomalous printer's field fires.
func TestAlertFramesFollowDataPlane(t *testing.T) {
	needServers(t)
	now := time.Now().UTC().Truncate(time.Second)
	lines := fleetLines(now, 11, func(ts time.Time) int64 { return ts.Unix() })
	if err := influxDB.WriteLines(context.Background(), "e2e/autogen", len(lines), func(i int) string { return lines[i] }); err != nil {
		t.Fatal(err)
	}
	rule := fleetRule("Fleet hotend", dsMain, map[string]any{"queryType": "ttest"})
	rule.Labels = map[string]string{"team": "print-farm"}
	frames, instances := evalFleetRule(t, rule, now)
	var series []string
	for _, f := range frames {
		v := f.Fields[1]
		series = append(series, v.Labels["printer"]+"/"+v.Labels["field"])
	}
	sort.Strings(series)
	if strings.Join(series, " ") != "mk3/bed mk3/hotend mk4/bed mk4/hotend" {
		t.Fatalf("series %v", series)
	}
	for _, in := range instances {
		if in.Labels["team"] != "print-farm" || in.Labels["alertname"] != "Fleet hotend" {
			t.Fatalf("instance labels %v", in.Labels)
		}
	}
}

// fleetLines are 40 minutes of two printers' hotend and bed at 1 Hz up to
// now, mk4's hotend 4 degrees up for the last 6 minutes, timestamps by stamp.
func fleetLines(now time.Time, seed uint64, stamp func(time.Time) int64) []string {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	var lines []string
	for ts := now.Add(-40 * time.Minute); !ts.After(now); ts = ts.Add(time.Second) {
		for _, printer := range []string{"mk3", "mk4"} {
			hot := 220 + 0.5*rng.NormFloat64()
			if printer == "mk4" && !ts.Before(now.Add(-6*time.Minute)) {
				hot += 4
			}
			lines = append(lines, fmt.Sprintf("fleet,printer=%s hotend=%v,bed=%v %d", printer, hot, 90+rng.NormFloat64(), stamp(ts)))
		}
	}
	return lines
}

// fleetRule alerts when the last p-value of a fleet series is below 0.001;
// query holds the query type's own fields.
func fleetRule(title, dsUID string, query map[string]any) alerteval.Rule {
	model := map[string]any{"refId": "A", "measurement": "fleet", "fields": []string{"hotend", "bed"},
		"window": "1m", "history": 600, "alpha": 0.001, "output": "pvalue"}
	for k, v := range query {
		model[k] = v
	}
	return alerteval.Rule{
		Title: title, Condition: "C",
		Data: []alerteval.Query{
			{RefID: "A", DatasourceUID: dsUID, RelativeTimeRange: alerteval.RelativeTimeRange{From: 1800}, Model: model},
			{RefID: "B", DatasourceUID: alerteval.ExprDatasourceUID, Model: map[string]any{"refId": "B", "type": "reduce", "expression": "A", "reducer": "last", "settings": map[string]any{"mode": "dropNN"}}},
			{RefID: "C", DatasourceUID: alerteval.ExprDatasourceUID, Model: map[string]any{"refId": "C", "type": "threshold", "expression": "B",
				"conditions": []any{map[string]any{"evaluator": map[string]any{"type": "lt", "params": []any{0.001}}}}}},
		},
	}
}

// evalFleetRule checks the frames the rule's query gets against the data
// plane contract, evaluates the rule as Grafana's alerting does, and
// requires one instance per printer and field, only mk4's hotend Alerting.
func evalFleetRule(t *testing.T, rule alerteval.Rule, now time.Time) (data.Frames, []alerteval.Instance) {
	t.Helper()
	reqs, err := alerteval.BuildRequests(rule, now)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("requests: %v %v", reqs, err)
	}
	if reqs[0].Request.Headers["FromAlert"] != "true" {
		t.Fatalf("the alert request lacks Grafana's FromAlert header: %v", reqs[0].Request.Headers)
	}
	resp, err := host.QueryData(context.Background(), reqs[0].DatasourceUID, reqs[0].Request)
	if err != nil {
		t.Fatal(err)
	}
	frames := resp.Responses["A"].Frames
	if err := dataplane.CheckNumeric(frames); err != nil {
		t.Fatalf("the t-test frames break the data plane contract: %v", err)
	}
	ev := alerteval.Evaluate(context.Background(), host, rule, now)
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	got := map[string]alerteval.State{}
	for _, in := range ev.Instances {
		got[in.Labels["printer"]+"/"+in.Labels["field"]] = in.State
	}
	want := map[string]alerteval.State{"mk3/bed": alerteval.Normal, "mk3/hotend": alerteval.Normal, "mk4/bed": alerteval.Normal, "mk4/hotend": alerteval.Alerting}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("instances %v, want %v", got, want)
	}
	return frames, ev.Instances
}

// farmRule is the provisioned fleet rule (the peers detector over the
// measurement farm of the data source's default bucket).
const farmRule = "Fleet hotend leaves its peers"

// TestFleetRuleFiresForTheDriftingPrinter: the provisioned fleet rule,
// evaluated over the farm writeFarm wrote (scenario.FarmLines: six printers,
// p3 10 degrees above its peers for the last 8 minutes), gives one instance per printer, only
// p3's Alerting with a score above 1, and the webhook gets p3's alert with
// the rule's annotations.
func TestFleetRuleFiresForTheDriftingPrinter(t *testing.T) {
	needServers(t)
	began := time.Now()
	writeFarm(t)
	ev := evaluate(t, farmRule)
	got := map[string]alerteval.State{}
	for _, in := range ev.Instances {
		got[in.Labels["printer"]] = in.State
		if in.Labels["field"] != "hotend" || in.Labels["alertname"] != farmRule {
			t.Fatalf("instance labels %v", in.Labels)
		}
		if score := in.Values["B"].Value; (in.Labels["printer"] == scenario.FarmDrifting) != (score > 1) {
			t.Errorf("printer %s: last score %v", in.Labels["printer"], score)
		}
	}
	want := map[string]alerteval.State{}
	for _, p := range scenario.FarmPrinters {
		want[p] = alerteval.Normal
	}
	want[scenario.FarmDrifting] = alerteval.Alerting
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("instances %v, want %v", got, want)
	}
	n := scenario.WaitHook(t, stack.Webhook, time.Minute, func(n devenv.Notification) bool {
		return n.Status == "firing" && n.CommonLabels["alertname"] == farmRule && len(n.Alerts) > 0 && !n.Alerts[0].StartsAt.Before(began.Truncate(time.Second))
	})
	a := n.Alerts[0]
	if len(n.Alerts) != 1 || a.Labels["printer"] != scenario.FarmDrifting || a.Annotations["id"] != "fleet-hotend" || a.Labels["severity"] != "warning" {
		t.Fatalf("notification %+v", n)
	}
}
