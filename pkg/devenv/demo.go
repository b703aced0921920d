package devenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Summary prints what the demo shows, read from Grafana's own API: the
// anomalies the t-test finds per field over the last 24 hours (with their
// window times), the alert rules and their states, and the dashboards.
func (g *Grafana) Summary(ctx context.Context, out io.Writer) error {
	now := time.Now()
	resp, err := g.DSQuery(ctx, now.Add(-24*time.Hour), now, map[string]any{
		"refId": "A", "queryType": "ttest", "bucket": "printer/autogen", "measurement": "temperatures",
		"fields": []string{"hotend", "bed", "air"}, "output": "anomaly",
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Anomalous 5-minute windows in the last 24 hours (t-test, alpha 0.001):")
	for _, f := range resp.Results["A"].Frames {
		if len(f.Schema.Fields) < 2 || len(f.Data.Values) < 2 {
			continue
		}
		var times []string
		for i, v := range f.Data.Values[1] {
			if x, ok := v.(float64); ok && x == 1 {
				ms, _ := f.Data.Values[0][i].(float64)
				times = append(times, time.UnixMilli(int64(ms)).Format("15:04"))
			}
		}
		fmt.Fprintf(out, "  %-7s %d: %s\n", f.Schema.Fields[1].Labels["field"], len(times), strings.Join(times, " "))
	}
	var rules struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name   string `json:"name"`
					State  string `json:"state"`
					Health string `json:"health"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := g.API(ctx, "GET", "/api/prometheus/grafana/api/v1/rules", nil, &rules); err != nil {
		return err
	}
	fmt.Fprintln(out, "Alert rules:")
	for _, gr := range rules.Data.Groups {
		for _, r := range gr.Rules {
			fmt.Fprintf(out, "  %-26s %-9s (health %s)\n", r.Name, r.State, r.Health)
		}
	}
	var dashboards []struct{ Title, URL string }
	if err := g.API(ctx, "GET", "/api/search?type=dash-db", nil, &dashboards); err != nil {
		return err
	}
	sort.Slice(dashboards, func(i, j int) bool { return dashboards[i].Title < dashboards[j].Title })
	fmt.Fprintln(out, "Dashboards:")
	for _, d := range dashboards {
		fmt.Fprintf(out, "  %-12s %s%s\n", d.Title, g.URL, d.URL)
	}
	return nil
}

// WaitForRules waits until every alert rule has been evaluated once, so a
// summary shows real states.
func (g *Grafana) WaitForRules(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var raw json.RawMessage
		if err := g.API(ctx, "GET", "/api/prometheus/grafana/api/v1/rules", nil, &raw); err == nil && !strings.Contains(string(raw), `"lastEvaluation":"0001`) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}
