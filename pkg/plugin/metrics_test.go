package plugin

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestKeptStateAndItsMetrics: the same t-test query twice is answered
// cold, then warm from kept state, with the same windows, and the state's
// requests and bytes reach the Prometheus registry the SDK serves Grafana.
func TestKeptStateAndItsMetrics(t *testing.T) {
	seed(t)
	ds := newDatasource(t, influxDB.URL, `{"defaultBucket":"vigiltest/autogen"}`, influxDB.Token())
	model, _ := json.Marshal(map[string]any{"queryType": "ttest", "measurement": "temperatures", "fields": []string{"hotend"}, "window": "2s", "history": 4})
	var answers []string
	for _, want := range []string{"cold", "warm"} {
		resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
			RefID: "A", QueryType: "ttest", JSON: model, TimeRange: backend.TimeRange{From: t0, To: t0.Add(10 * time.Second)},
		}}})
		if err != nil || resp.Responses["A"].Error != nil {
			t.Fatal(err, resp.Responses["A"].Error)
		}
		frames := resp.Responses["A"].Frames
		if got := frames[0].Meta.Custom.(map[string]any)["state"]; got != want {
			t.Fatalf("state %v, want %s", got, want)
		}
		js, _ := json.Marshal(frames[0].Fields)
		answers = append(answers, string(js))
	}
	if answers[0] != answers[1] {
		t.Fatalf("the warm answer differs:\n%s\n%s", answers[0], answers[1])
	}
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["datasource_uid"] == "test" {
				got[f.GetName()+"/"+labels["result"]] += value(m)
			}
		}
	}
	if got["vigil_ttest_state_requests_total/hit"] < 1 || got["vigil_ttest_state_requests_total/miss"] < 1 || got["vigil_ttest_state_bytes/"] <= 0 {
		t.Fatalf("metrics: %v", got)
	}
}

func value(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}
