package grafanaprov

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// testDashboard is a schema-valid dashboard with one variable and panels.
func testDashboard(t *testing.T, variable string, panels ...string) *Dashboard {
	t.Helper()
	vars := "[]"
	if variable != "" {
		vars = "[" + variable + "]"
	}
	src := fmt.Sprintf(`{"uid": "d1", "title": "D", "schemaVersion": 38,
		"templating": {"list": %s},
		"annotations": {"list": [{"name": "Anomalies", "enable": true, "iconColor": "red",
			"datasource": {"type": "vigil-anomaly-datasource", "uid": "vigil"},
			"target": {"refId": "Anno", "queryType": "ttest", "fields": ["$field"], "format": "annotations"}}]},
		"panels": [%s]}`, vars, joinComma(panels))
	d, err := ParseDashboard("test.json", []byte(src))
	if err != nil {
		t.Fatalf("test dashboard does not match the schema: %v", err)
	}
	return d
}

func joinComma(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += ","
		}
		out += p
	}
	return out
}

func fieldVar(current string) string {
	return `{"name": "field", "type": "custom", "query": "hotend,bed,air", "multi": true, "includeAll": true,
		"current": {"text": ` + current + `, "value": ` + current + `}}`
}

const ds = `"datasource": {"type": "vigil-anomaly-datasource", "uid": "vigil"}`

func TestDashboardQueries(t *testing.T) {
	type want struct {
		title  string
		fields []any
		text   any // the model's "measurement"
	}
	repeated := `{"id": 2, "type": "timeseries", "title": "p: $field", "repeat": "field", ` + ds + `,
		"targets": [{"refId": "A", "queryType": "ttest", "measurement": "m_$field", "fields": ["$field"]}]}`
	plain := `{"id": 3, "type": "timeseries", "title": "all", ` + ds + `,
		"targets": [{"refId": "A", "queryType": "ttest", "measurement": "m_${field}", "fields": ["$field", "extra,kept"]}]}`
	for _, tc := range []struct {
		name     string
		variable string
		panel    string
		want     []want
		anno     []any
	}{
		{name: "repeat over All", variable: fieldVar(`["$__all"]`), panel: repeated, want: []want{
			{"p: hotend", []any{"hotend"}, "m_hotend"}, {"p: bed", []any{"bed"}, "m_bed"}, {"p: air", []any{"air"}, "m_air"}},
			anno: []any{"hotend", "bed", "air"}},
		{name: "repeat over two selected", variable: fieldVar(`["bed", "air"]`), panel: repeated, want: []want{
			{"p: bed", []any{"bed"}, "m_bed"}, {"p: air", []any{"air"}, "m_air"}},
			anno: []any{"bed", "air"}},
		{name: "repeat over one", variable: fieldVar(`"air"`), panel: repeated, want: []want{
			{"p: air", []any{"air"}, "m_air"}}, anno: []any{"air"}},
		{name: "multi-value in list and string", variable: fieldVar(`["$__all"]`), panel: plain, want: []want{
			{"all", []any{"hotend", "bed", "air", "extra,kept"}, "m_{hotend,bed,air}"}},
			anno: []any{"hotend", "bed", "air"}},
		{name: "custom All value", variable: `{"name": "field", "type": "custom", "query": "a : hotend, b : bed", "multi": true,
			"includeAll": true, "allValue": ".*", "current": {"text": "All", "value": "$__all"}}`, panel: plain, want: []want{
			{"all", []any{".*", "extra,kept"}, "m_.*"}}, anno: []any{".*"}},
		{name: "constant", variable: `{"name": "field", "type": "constant", "query": "bed"}`, panel: plain, want: []want{
			{"all", []any{"bed", "extra,kept"}, "m_bed"}}, anno: []any{"bed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testDashboard(t, tc.variable, tc.panel)
			qs, err := DashboardQueries(d)
			if err != nil {
				t.Fatal(err)
			}
			var panels []PanelQuery
			var annos []PanelQuery
			for _, q := range qs {
				if q.Annotation {
					annos = append(annos, q)
				} else {
					panels = append(panels, q)
				}
			}
			if len(panels) != len(tc.want) || len(annos) != 1 {
				t.Fatalf("%d panel queries and %d annotations, want %d and 1", len(panels), len(annos), len(tc.want))
			}
			for i, w := range tc.want {
				q := panels[i]
				if q.PanelTitle != w.title || !reflect.DeepEqual(q.Model["fields"], w.fields) || q.Model["measurement"] != w.text {
					b, _ := json.Marshal(q.Model)
					t.Errorf("query %d: title %q model %s; want %q fields %v measurement %v", i, q.PanelTitle, b, w.title, w.fields, w.text)
				}
				if q.RefID != "A" || q.Datasource.UID != "vigil" || q.DashboardUID != "d1" || q.PanelType != "timeseries" {
					t.Errorf("query %d: %+v", i, q)
				}
			}
			if a := annos[0]; !reflect.DeepEqual(a.Model["fields"], tc.anno) || a.AnnotationName != "Anomalies" || a.RefID != "Anno" {
				t.Errorf("annotation fields %v name %q; want %v", a.Model["fields"], a.AnnotationName, tc.anno)
			}
		})
	}
}

func TestDashboardQueriesVariableErrors(t *testing.T) {
	for _, tc := range []struct{ name, variable, want string }{
		{"value not an option", fieldVar(`"nozzle"`), `current value "nozzle" is not one of its options`},
		{"query variable", `{"name": "field", "type": "query", "query": "fields"}`, `only [custom constant textbox] variables`},
		{"All without includeAll", `{"name": "field", "type": "custom", "query": "a,b", "multi": true, "current": {"text": "All", "value": "$__all"}}`, "includeAll is false"},
		{"several values, not multi", `{"name": "field", "type": "custom", "query": "a,b", "current": {"text": ["a", "b"], "value": ["a", "b"]}}`, "not multi-value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testDashboard(t, tc.variable)
			_, err := DashboardQueries(d)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test.json: templating.list[0]") {
				t.Errorf("error %v, want one naming test.json: templating.list[0] and %q", err, tc.want)
			}
		})
	}
}
