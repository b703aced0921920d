package grafanaprov

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secrets are the values of the environment variables that hold credentials:
// no error message may contain them.
var secrets = map[string]string{
	"VIGIL_INFLUXDB_TOKEN": "influx-s3cr3t",
	"VIGIL_RECEIVER_TOKEN": "receiver-s3cr3t",
}

// projectEnv is the environment `go run mage.go run` gives Grafana.
func projectEnv(root string) map[string]string {
	env := map[string]string{
		"VIGIL_INFLUXDB_URL":   "http://127.0.0.1:8086",
		"VIGIL_DEFAULT_BUCKET": "printer/autogen",
		"VIGIL_DASHBOARDS_DIR": filepath.Join(root, "dashboards"),
		"VIGIL_WEBHOOK_URL":    "http://127.0.0.1:9093/hook",
		"VIGIL_ALERT_EMAIL":    "ops@example.com;oncall@example.com",
		"VIGIL_GRAFANA_URL":    "http://127.0.0.1:3000",
		"VIGIL_KAFKA_BROKERS":  "127.0.0.1:9092",
	}
	for k, v := range secrets {
		env[k] = v
	}
	return env
}

// copyProject copies the repository's provisioning/ and dashboards/ into a
// temporary directory, so that a test can break a copy.
func copyProject(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, dir := range []string{"provisioning/datasources", "provisioning/dashboards", "provisioning/alerting", "dashboards"} {
		src := filepath.Join("..", "..", dir)
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		return []string{err.Error()}
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

// TestRealProject: the repository's own files pass every check, and every
// panel and annotation query comes out with its variables expanded.
func TestRealProject(t *testing.T) {
	root := filepath.Join("..", "..")
	abs, _ := filepath.Abs(root)
	p, err := LoadProject(filepath.Join(root, "provisioning"), EnvFrom(projectEnv(abs)))
	for _, l := range errorLines(err) {
		t.Error(l)
	}
	if len(p.Datasources) != 1 || len(p.DashboardProviders) != 1 || len(p.Alerting) != 2 || len(p.Dashboards) != 2 {
		t.Fatalf("loaded %d data source files, %d provider files, %d alerting files, %d dashboards; want 1, 1, 2, 2",
			len(p.Datasources), len(p.DashboardProviders), len(p.Alerting), len(p.Dashboards))
	}
	rules := p.Rules()
	if len(rules) != 5 {
		t.Errorf("%d alert rules, want 5 (power + 3 printer fields + fleet)", len(rules))
	}
	for _, r := range rules {
		if r.Rule.Annotations["value"] != "{{ $values.B.Value }}" || r.Interval == "" {
			t.Errorf("rule %s: annotation value %q, interval %q", r.Rule.UID, r.Rule.Annotations["value"], r.Interval)
		}
	}
	qs, err := p.Queries()
	if err != nil {
		t.Fatal(err)
	}
	// 3 house panels (the seasonal band among them) + house annotation;
	// printer: 1 + 3 repeated + 1 + 1 + 1 (Kafka) + 3 bands + 1 fleet + annotation.
	if len(qs) != 16 {
		t.Errorf("%d queries, want 16", len(qs))
	}
	for _, q := range qs {
		if q.Datasource.UID != "vigil" || q.RefID == "" || q.Model["queryType"] == nil {
			t.Errorf("query %+v: want the vigil data source, a refId and a queryType", q)
		}
		if !q.Annotation && (len(q.FieldConfig) == 0 || len(q.Options) == 0) {
			t.Errorf("panel %d %q: fieldConfig/options missing", q.PanelID, q.PanelTitle)
		}
		b, _ := json.Marshal(q.Model)
		if strings.Contains(string(b), "$field") || strings.Contains(q.PanelTitle, "$") {
			t.Errorf("panel %d %q: variable left unexpanded: %s", q.PanelID, q.PanelTitle, b)
		}
	}
}

type mutation struct {
	name string
	// file (relative to the project copy) and a text replacement in it, done once
	file, old, new string
	// or a change to a dashboard's JSON
	dash func(d map[string]any)
	// or a change to the environment
	env map[string]string
	// want are substrings of one error line: file base name, field path, reason.
	want []string
}

func panel(d map[string]any, i int) map[string]any {
	return d["panels"].([]any)[i].(map[string]any)
}

func mutations() []mutation {
	return []mutation{
		// Data source file.
		{name: "ds apiVersion", file: "provisioning/datasources/vigil.yaml", old: "apiVersion: 1", new: "apiVersion: 2",
			want: []string{"datasources/vigil.yaml", "apiVersion", "must be 1"}},
		{name: "ds unknown field", file: "provisioning/datasources/vigil.yaml", old: "    editable: true", new: "    editable: true\n    colour: red",
			want: []string{"datasources/vigil.yaml:", "datasources[0].colour", "unknown field"}},
		{name: "ds jsonData typo", file: "provisioning/datasources/vigil.yaml", old: "      timeout: 30", new: "      timeOut: 30",
			want: []string{"datasources/vigil.yaml", "datasources[0].jsonData.timeOut", "not a Vigil setting"}},
		{name: "ds user and token", file: "provisioning/datasources/vigil.yaml", old: "# user: vigil", new: "user: vigil",
			want: []string{"datasources/vigil.yaml", "datasources[0].secureJsonData.token", `"user"/"password": use either the token`}},
		{name: "ds defaultBucket empty", env: map[string]string{"VIGIL_DEFAULT_BUCKET": ""},
			want: []string{"datasources/vigil.yaml", "datasources[0].jsonData.defaultBucket", "is empty"}},
		{name: "ds url not http", env: map[string]string{"VIGIL_INFLUXDB_URL": "localhost:8086"},
			want: []string{"datasources/vigil.yaml", "datasources[0].url", "http://"}},
		{name: "ds maxPoints wrong", file: "provisioning/datasources/vigil.yaml", old: "maxPoints: 1000000", new: "maxPoints: lots",
			want: []string{"datasources/vigil.yaml", "datasources[0].jsonData.maxPoints", "must be a number"}},
		{name: "ds uid malformed", file: "provisioning/datasources/vigil.yaml", old: "uid: vigil", new: "uid: vigil/main",
			want: []string{"datasources/vigil.yaml", "datasources[0].uid", "letters, digits"}},
		{name: "ds access", file: "provisioning/datasources/vigil.yaml", old: "access: proxy", new: "access: server",
			want: []string{"datasources/vigil.yaml", "datasources[0].access", "proxy or direct"}},
		{name: "ds isDefault not bool", file: "provisioning/datasources/vigil.yaml", old: "isDefault: true", new: "isDefault: yes please",
			want: []string{"datasources/vigil.yaml", "datasources[0].isDefault", "true or false"}},
		// Dashboard provider file.
		{name: "provider path unset", env: map[string]string{"VIGIL_DASHBOARDS_DIR": ""},
			want: []string{"dashboards/vigil.yaml", "providers[0].options.path", "is required"}},
		{name: "provider type", file: "provisioning/dashboards/vigil.yaml", old: "type: file", new: "type: git",
			want: []string{"dashboards/vigil.yaml", "providers[0].type", "must be file"}},
		{name: "provider unknown option", file: "provisioning/dashboards/vigil.yaml", old: "      path:", new: "      recursive: true\n      path:",
			want: []string{"dashboards/vigil.yaml", "providers[0].options.recursive", "unknown field"}},
		// Alert rules.
		{name: "rule unknown field", file: "provisioning/alerting/house.yaml", old: "        for: 0s", new: "        for: 0s\n        colour: red",
			want: []string{"alerting/house.yaml:", "groups[0].rules[0].colour", "unknown field"}},
		{name: "rule condition missing refId", file: "provisioning/alerting/house.yaml", old: "condition: C", new: "condition: D",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].condition", `"D" names no query`}},
		{name: "rule refId duplicate", file: "provisioning/alerting/house.yaml", old: "- refId: B", new: "- refId: A",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[1].refId", "used by another query"}},
		{name: "rule datasourceUid not provisioned", file: "provisioning/alerting/printer.yaml", old: "datasourceUid: vigil", new: "datasourceUid: influxdb",
			want: []string{"alerting/printer.yaml", "groups[0].rules[0].data[0].datasourceUid", "not a data source provisioned"}},
		{name: "rule relative range", file: "provisioning/alerting/house.yaml", old: "from: 600", new: "from: 0",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[0].relativeTimeRange", "greater than to"}},
		{name: "rule interval not multiple of 10s", file: "provisioning/alerting/house.yaml", old: "interval: 10s", new: "interval: 15s",
			want: []string{"alerting/house.yaml", "groups[0].interval", "multiple of the scheduler's base interval"}},
		{name: "rule interval unparsable", file: "provisioning/alerting/printer.yaml", old: "interval: 30s", new: "interval: half a minute",
			want: []string{"alerting/printer.yaml", "groups[0].interval", "not a duration"}},
		{name: "rule for unparsable", file: "provisioning/alerting/house.yaml", old: "for: 0s", new: "for: 5 min",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].for", "not a duration"}},
		{name: "rule noDataState", file: "provisioning/alerting/house.yaml", old: "noDataState: OK", new: "noDataState: Fine",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].noDataState", "not one of"}},
		{name: "rule execErrState", file: "provisioning/alerting/house.yaml", old: "execErrState: Error", new: "execErrState: Panic",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].execErrState", "not one of"}},
		{name: "rule uid malformed", file: "provisioning/alerting/house.yaml", old: "uid: vigil-power-consumption", new: "uid: vigil power consumption",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].uid", "letters, digits"}},
		{name: "rule uid duplicate across files", file: "provisioning/alerting/printer.yaml", old: "uid: vigil-printer-bed", new: "uid: vigil-power-consumption",
			want: []string{"alerting/printer.yaml", "groups[0].rules[1].uid", "also used by"}},
		{name: "rule folder missing", file: "provisioning/alerting/house.yaml", old: "folder: Vigil", new: "folder: ''",
			want: []string{"alerting/house.yaml", "groups[0].folder", "is required"}},
		{name: "expression type", file: "provisioning/alerting/house.yaml", old: "type: reduce", new: "type: reducer",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[1].model.type", "not an expression type"}},
		{name: "reduce reads missing refId", file: "provisioning/alerting/house.yaml", old: "expression: A", new: "expression: Z",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[1].model.expression", `"Z" names no query`}},
		{name: "reduce mode", file: "provisioning/alerting/house.yaml", old: "mode: dropNN", new: "mode: dropNaN",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[1].model.settings.mode", "not one of"}},
		{name: "threshold reads itself", file: "provisioning/alerting/house.yaml", old: "expression: B", new: "expression: C",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[2].model.expression", "itself"}},
		{name: "threshold evaluator type", file: "provisioning/alerting/house.yaml", old: "type: gt", new: "type: greater",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[2].model.conditions[0].evaluator.type", "not one of"}},
		{name: "threshold evaluator params", file: "provisioning/alerting/house.yaml", old: "params: [4]", new: "params: [four]",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[2].model.conditions[0].evaluator.params", "number"}},
		{name: "threshold without operator", file: "provisioning/alerting/house.yaml", old: "                  operator:\n                    type: and\n", new: "",
			want: []string{"alerting/house.yaml", "groups[0].rules[0].data[2].model.conditions[0].operator.type", "not one of"}},
		{name: "vigil model refused", file: "provisioning/alerting/printer.yaml", old: "threshold: 4", new: "threshold: -1",
			want: []string{"alerting/printer.yaml", "groups[0].rules[0].data[0].model", "threshold"}},
		// Contact points and policies.
		{name: "receiver type", file: "provisioning/alerting/house.yaml", old: "type: webhook", new: "type: web-hook",
			want: []string{"alerting/house.yaml", "contactPoints[0].receivers[0].type", "not a contact point type"}},
		{name: "webhook url unset", env: map[string]string{"VIGIL_WEBHOOK_URL": ""},
			want: []string{"alerting/house.yaml", "contactPoints[0].receivers[0].settings.url", "is required for webhook"}},
		{name: "webhook url not http", env: map[string]string{"VIGIL_GRAFANA_URL": "ftp://user:receiver-s3cr3t@grafana"},
			want: []string{"alerting/house.yaml", "contactPoints[0].receivers[2].settings.url", "absolute http(s) URL"}},
		{name: "email addresses unset", env: map[string]string{"VIGIL_ALERT_EMAIL": ""},
			want: []string{"alerting/house.yaml", "contactPoints[0].receivers[1].settings.addresses", "is required for email"}},
		{name: "email address invalid", env: map[string]string{"VIGIL_ALERT_EMAIL": "ops at example"},
			want: []string{"alerting/house.yaml", "contactPoints[0].receivers[1].settings.addresses", "not an email address"}},
		{name: "receiver uid duplicate", file: "provisioning/alerting/house.yaml", old: "uid: vigil-email", new: "uid: vigil-webhook",
			want: []string{"alerting/house.yaml", "contactPoints[0].receivers[1].uid", "also used by"}},
		{name: "policy receiver missing", file: "provisioning/alerting/house.yaml", old: "    receiver: vigil", new: "    receiver: nobody",
			want: []string{"alerting/house.yaml", "policies[0].receiver", `"nobody" is not a contact point`}},
		{name: "policy duration", file: "provisioning/alerting/house.yaml", old: "repeat_interval: 4h", new: "repeat_interval: 4 hours",
			want: []string{"alerting/house.yaml", "policies[0].repeat_interval", "not a duration"}},
		{name: "policy unknown field", file: "provisioning/alerting/house.yaml", old: "    group_wait: 1s", new: "    group_wait: 1s\n    group_delay: 1s",
			want: []string{"alerting/house.yaml", "policies[0].group_delay", "unknown field"}},
		// Dashboards.
		{name: "dashboard wrong type", dash: func(d map[string]any) { d["schemaVersion"] = "38" },
			want: []string{"printer.json", "schemaVersion", "does not match Grafana's dashboard schema"}},
		{name: "dashboard unknown field", dash: func(d map[string]any) { d["refreshEvery"] = "30s" },
			want: []string{"printer.json", "unexpected field 'refreshEvery'"}},
		{name: "panel unknown field", dash: func(d map[string]any) { panel(d, 1)["maxPerRows"] = 3 },
			want: []string{"printer.json", "panels[1]", "unexpected field 'maxPerRows'"}},
		{name: "panel options wrong type", dash: func(d map[string]any) {
			panel(d, 0)["options"].(map[string]any)["legend"].(map[string]any)["showLegend"] = "yes"
		}, want: []string{"printer.json", "panels[0].options.legend.showLegend", "schema"}},
		{name: "panel custom field config unknown", dash: func(d map[string]any) {
			panel(d, 0)["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["custom"].(map[string]any)["lineWidthh"] = 1
		}, want: []string{"printer.json", "panels[0].fieldConfig.defaults.custom", "lineWidthh"}},
		{name: "panel field config wrong type", dash: func(d map[string]any) {
			panel(d, 1)["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["min"] = "tiny"
		}, want: []string{"printer.json", "panels[1].fieldConfig", "schema"}},
		{name: "panel type without schema", dash: func(d map[string]any) { panel(d, 2)["type"] = "graph" },
			want: []string{"printer.json", "panels[2].type", "no published panel schema"}},
		{name: "panel datasource not provisioned", dash: func(d map[string]any) {
			panel(d, 0)["datasource"] = map[string]any{"type": "influxdb", "uid": "influx"}
		},
			want: []string{"printer.json", "panels[0].datasource.uid", "not a provisioned data source"}},
		{name: "panel without targets", dash: func(d map[string]any) { delete(panel(d, 2), "targets") },
			want: []string{"printer.json", "panels[2].targets", "is empty"}},
		{name: "target unknown variable", dash: func(d map[string]any) {
			panel(d, 1)["targets"].([]any)[0].(map[string]any)["fields"] = []any{"$fields"}
		}, want: []string{"printer.json", "panels[1].targets[0].fields[0]", "$fields, which is not a variable"}},
		{name: "target refused by vigil", dash: func(d map[string]any) {
			panel(d, 3)["targets"].([]any)[0].(map[string]any)["output"] = "p"
		}, want: []string{"printer.json", "panel 4 (Live p-values) target A", "Vigil refuses the query"}},
		{name: "annotation without target", dash: func(d map[string]any) {
			delete(d["annotations"].(map[string]any)["list"].([]any)[1].(map[string]any), "target")
		}, want: []string{"printer.json", "annotations.list[1].target", "is required"}},
		{name: "repeat names no variable", dash: func(d map[string]any) { panel(d, 1)["repeat"] = "fields" },
			want: []string{"printer.json", "panels[1].repeat", "names no variable"}},
	}
}

// TestBrokenCopies breaks one thing in a copy of the project and checks that
// exactly the expected message appears: naming the file, the field and the
// problem; a message the unbroken copy does not already give. No message may
// contain a secret.
func TestBrokenCopies(t *testing.T) {
	baseRoot := copyProject(t)
	_, baseErr := LoadProject(filepath.Join(baseRoot, "provisioning"), EnvFrom(projectEnv(baseRoot)))
	base := map[string]bool{}
	for _, l := range errorLines(baseErr) {
		base[strings.ReplaceAll(l, baseRoot, "")] = true
	}
	for _, m := range mutations() {
		t.Run(m.name, func(t *testing.T) {
			root := copyProject(t)
			env := projectEnv(root)
			for k, v := range m.env {
				env[k] = v
			}
			if m.file != "" {
				path := filepath.Join(root, m.file)
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), m.old) {
					t.Fatalf("%s does not contain %q", m.file, m.old)
				}
				if err := os.WriteFile(path, []byte(strings.Replace(string(b), m.old, m.new, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if m.dash != nil {
				path := filepath.Join(root, "dashboards", "printer.json")
				b, _ := os.ReadFile(path)
				var d map[string]any
				if err := json.Unmarshal(b, &d); err != nil {
					t.Fatal(err)
				}
				m.dash(d)
				b, _ = json.MarshalIndent(d, "", "  ")
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadProject(filepath.Join(root, "provisioning"), EnvFrom(env))
			lines := errorLines(err)
			found := false
			for _, l := range lines {
				for _, s := range secrets {
					if strings.Contains(l, s) {
						t.Errorf("error message reveals a secret: %s", l)
					}
				}
				if base[strings.ReplaceAll(l, root, "")] {
					continue
				}
				ok := true
				for _, w := range m.want {
					ok = ok && strings.Contains(l, w)
				}
				found = found || ok
			}
			if !found {
				t.Errorf("no new error containing %q; got:\n%s", m.want, strings.Join(lines, "\n"))
			}
		})
	}
}
