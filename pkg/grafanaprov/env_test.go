package grafanaprov

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "token")
	if err := os.WriteFile(secretFile, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := EnvFrom(map[string]string{"HOST": "influx", "PORT": "8086", "A": "x"})
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "http://$HOST:$PORT", want: "http://influx:8086"},
		{in: "http://${HOST}:${PORT}/", want: "http://influx:8086/"},
		{in: "plain text, no dollar", want: "plain text, no dollar"},
		{in: "$UNSET", want: ""},
		{in: "pa$$word", want: "pa$word"},    // $$ is a literal $
		{in: "$$HOST", want: "$HOST"},        // and stops expansion
		{in: "$$$HOST", want: "$influx"},     // $$ then $HOST
		{in: "$__env{HOST}", want: "influx"}, // Grafana's expander syntax
		{in: "$__file{" + secretFile + "}", want: "from-file"},
		{in: "$__file{" + filepath.Join(dir, "missing") + "}", err: "cannot read the file"},
		{in: "$__vault{kv:x}", err: "not available"},
		// Why rule annotations must not be expanded: Grafana would eat the template's variables.
		{in: "{{ $values.B.Value }}", want: "{{ .B.Value }}"},
	} {
		got, err := Expand(tc.in, env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: "10s", want: 10 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "1d", want: 24 * time.Hour},
		{in: "1w2d", want: 9 * 24 * time.Hour},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "", bad: true},
		{in: "10", bad: true},
		{in: "1.5h", bad: true},
		{in: "30m1h", bad: true}, // units out of order
		{in: "-10s", bad: true},
	} {
		got, err := ParseDuration(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// TestAlertingExpansion: Grafana expands variables in rule fields, labels and
// contact point settings, but not in annotations, query models or policies.
func TestAlertingExpansion(t *testing.T) {
	const file = `apiVersion: 1
groups:
  - orgId: 1
    name: $GROUP
    folder: ${FOLDER}
    interval: 1m
    rules:
      - uid: r1
        title: Rule $$1
        condition: B
        labels:
          team: $TEAM
          literal: "$$TEAM"
        annotations:
          summary: "{{ $values.B.Value }} on $TEAM"
        data:
          - refId: A
            datasourceUid: ds1
            relativeTimeRange: {from: 600, to: 0}
            model: {refId: A, flux: "$TEAM |> $__interval"}
          - refId: B
            datasourceUid: __expr__
            model: {refId: B, type: math, expression: "$A > 1"}
contactPoints:
  - name: cp
    receivers:
      - uid: w1
        type: webhook
        settings: {url: "$HOOK", httpMethod: POST}
policies:
  - receiver: cp
    group_by: ["$TEAM"]
`
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	env := EnvFrom(map[string]string{"GROUP": "g", "FOLDER": "f", "TEAM": "sre", "HOOK": "http://127.0.0.1:1/x"})
	f, err := LoadAlerting(path, env)
	if err != nil {
		t.Fatal(err)
	}
	g := f.Groups[0]
	r := g.Rules[0]
	for _, c := range []struct{ name, got, want string }{
		{"group name", g.Name, "g"},
		{"folder", g.Folder, "f"},
		{"title ($$ escape)", r.Title, "Rule $1"},
		{"label", r.Labels["team"], "sre"},
		{"label $$", r.Labels["literal"], "$TEAM"},
		{"annotation (raw)", r.Annotations["summary"], "{{ $values.B.Value }} on $TEAM"},
		{"model (raw)", r.Data[0].Model["flux"].(string), "$TEAM |> $__interval"},
		{"math model (raw)", r.Data[1].Model["expression"].(string), "$A > 1"},
		{"webhook url", f.ContactPoints[0].Receivers[0].Settings["url"].(string), "http://127.0.0.1:1/x"},
		{"policy group_by (raw)", f.Policies[0].GroupBy[0], "$TEAM"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if r.Data[0].RelativeTimeRange.From != 600 || f.Policies[0].Receiver != "cp" {
		t.Errorf("decoded %+v %+v", r.Data[0].RelativeTimeRange, f.Policies[0].Route)
	}
}
