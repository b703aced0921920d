package alerteval

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

func TestRender(t *testing.T) {
	labels := map[string]string{"field": "hotend", "alertname": "Printer"}
	values := map[string]Value{"B": {Labels: map[string]string{"field": "hotend"}, Value: 0.00012}, "N": {Value: math.NaN()}}
	tests := []struct{ text, want string }{
		{"plain text", "plain text"},
		{"{{ $values.B.Value }}", "0.00012"},
		{"{{ $values.B }}", "0.00012"},
		{"{{ $values.N }}", "NaN"},
		{"{{ $values.B.Labels.field }} / {{ $labels.field }}", "hotend / hotend"},
		{"{{ $labels.missing }}", "[no value]"},
		{"{{ $value }}", "[ var='B' ]"},
		{"{{ humanize 1234567.0 }} {{ humanize $values.B.Value }} {{ humanize 0 }}", "1.235M 120u 0"},
		{"{{ $labels.field | toUpper }}", "HOTEND"},
		{"{{ $labels. }} broken", "{{ $labels. }} broken"},
		{"{{ humanize \"x\" }}", "{{ humanize \"x\" }}"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			if got := render("a", tc.text, labels, values, "[ var='B' ]"); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTrackerAndPostableAlerts follows one instance through firing,
// firing again, resolved and quiet, checking what Grafana's sender posts.
func TestTrackerAndPostableAlerts(t *testing.T) {
	rule := printerRule(ModeDropNN, thresholdQuery("lt", 0.001))
	q := &fakeQuerier{frames: map[string]data.Frames{}}
	tr := NewTracker()
	interval := 10 * time.Second
	step := func(at time.Time, ps ...float64) []PostableAlert {
		q.frames["A"] = ttestFrames(pseries("hotend", nil, ps...))
		ev := Evaluate(context.Background(), q, rule, at)
		if ev.Err != nil {
			t.Fatal(ev.Err)
		}
		return PostableAlerts(tr.Apply(ev), at, interval, "http://grafana.example/alerting/grafana/vigil-printer/view")
	}
	t1 := now
	t2 := t1.Add(interval)
	t3 := t2.Add(interval)
	t4 := t3.Add(interval)
	type want struct {
		n              int
		startsAt       time.Time
		endsAt         time.Time
		valueAnnotated string
	}
	tests := []struct {
		name string
		at   time.Time
		ps   []float64
		want want
	}{
		{"starts firing", t1, []float64{1e-9}, want{1, t1, t1.Add(4 * ResendDelay), "1e-09"}},
		{"keeps firing: same startsAt, endsAt moves", t2, []float64{1e-10}, want{1, t1, t2.Add(4 * ResendDelay), "1e-10"}},
		{"resolves: original startsAt, endsAt now", t3, []float64{0.5}, want{1, t1, t3, "0.5"}},
		{"stays normal: nothing sent", t4, []float64{0.5}, want{0, time.Time{}, time.Time{}, ""}},
	}
	for _, tc := range tests {
		alerts := step(tc.at, tc.ps...)
		if len(alerts) != tc.want.n {
			t.Fatalf("%s: %d alerts %+v, want %d", tc.name, len(alerts), alerts, tc.want.n)
		}
		if tc.want.n == 0 {
			continue
		}
		a := alerts[0]
		if !a.StartsAt.Equal(tc.want.startsAt) || !a.EndsAt.Equal(tc.want.endsAt) {
			t.Errorf("%s: startsAt %s endsAt %s, want %s %s", tc.name, a.StartsAt, a.EndsAt, tc.want.startsAt, tc.want.endsAt)
		}
		if a.Labels["alertname"] != "Printer anomaly" || a.Labels["field"] != "hotend" || a.Annotations["value"] != tc.want.valueAnnotated {
			t.Errorf("%s: labels %v annotations %v", tc.name, a.Labels, a.Annotations)
		}
	}

	// A longer interval than the resend delay sets the validity.
	got := PostableAlerts([]Instance{{Labels: map[string]string{"alertname": "x"}, State: Alerting}}, t1, 2*time.Minute, "")
	if !got[0].EndsAt.Equal(t1.Add(8 * time.Minute)) {
		t.Errorf("endsAt with a 2m interval: %s", got[0].EndsAt)
	}
}

func TestNoDataAndErrorAlerts(t *testing.T) {
	rule := printerRule(ModeDropNN, thresholdQuery("lt", 0.001))
	tr := NewTracker()
	// NoData fires as DatasourceNoData, then resolves under the same name
	// when data comes back normal.
	ev := Evaluate(context.Background(), &fakeQuerier{}, rule, now)
	alerts := PostableAlerts(tr.Apply(ev), now, 10*time.Second, "")
	if len(alerts) != 1 || alerts[0].Labels["alertname"] != "DatasourceNoData" || alerts[0].Labels["rulename"] != "Printer anomaly" {
		t.Fatalf("NoData alerts %+v", alerts)
	}
	later := now.Add(time.Minute)
	ev = Evaluate(context.Background(), &fakeQuerier{frames: map[string]data.Frames{"A": ttestFrames(pseries("hotend", nil, 0.5))}}, rule, later)
	alerts = PostableAlerts(tr.Apply(ev), later, 10*time.Second, "")
	if len(alerts) != 1 || alerts[0].Labels["alertname"] != "DatasourceNoData" || !alerts[0].EndsAt.Equal(later) || !alerts[0].StartsAt.Equal(now) {
		t.Fatalf("resolved NoData alerts %+v", alerts)
	}
	// Error fires as DatasourceError with the message.
	ev = Evaluate(context.Background(), &fakeQuerier{callErr: context.DeadlineExceeded}, rule, now)
	alerts = PostableAlerts(NewTracker().Apply(ev), now, 10*time.Second, "")
	if len(alerts) != 1 || alerts[0].Labels["alertname"] != "DatasourceError" || alerts[0].Annotations["Error"] == "" {
		t.Fatalf("Error alerts %+v", alerts)
	}
	// With noDataState OK nothing is sent.
	rule.NoDataState = "OK"
	ev = Evaluate(context.Background(), &fakeQuerier{}, rule, now)
	if alerts := PostableAlerts(NewTracker().Apply(ev), now, 10*time.Second, ""); len(alerts) != 0 {
		t.Fatalf("noDataState OK sent %+v", alerts)
	}
}

// TestPostableAlertJSON checks the wire shape of POST /api/v2/alerts items.
func TestPostableAlertJSON(t *testing.T) {
	a := PostableAlert{Labels: map[string]string{"alertname": "x"}, Annotations: map[string]string{"value": "1"},
		StartsAt: now, EndsAt: now.Add(time.Minute), GeneratorURL: "http://g/x"}
	raw, err := json.Marshal([]PostableAlert{a})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"labels":{"alertname":"x"},"annotations":{"value":"1"},"startsAt":"2026-03-04T05:06:07Z","endsAt":"2026-03-04T05:07:07Z","generatorURL":"http://g/x"}]`
	if string(raw) != want {
		t.Fatalf("got %s\nwant %s", raw, want)
	}
}
