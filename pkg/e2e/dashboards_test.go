package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
	"github.com/vigil/vigil-anomaly-datasource/pkg/grafanaprov"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// dashboardRange is each provisioned dashboard's default time range (its
// "time" setting: now-24h and now-7d).
var dashboardRange = map[string]time.Duration{"vigil-printer": 24 * time.Hour, "vigil-house": 7 * 24 * time.Hour}

// panelResult is one provisioned panel query's answer, as the browser
// harness renders it (playwright/panels.spec.ts reads a list of these).
type panelResult struct {
	Dashboard   string          `json:"dashboard"`
	Title       string          `json:"title"`
	Type        string          `json:"type"`
	FieldConfig json.RawMessage `json:"fieldConfig"`
	Options     json.RawMessage `json:"options"`
	// Frames as Grafana's /api/ds/query carries them ({schema, data}).
	Frames []json.RawMessage `json:"frames"`
	Expect panelExpect       `json:"expect"`
}

type panelExpect struct {
	Series  []string `json:"series"`
	MinRows int      `json:"minRows"`
	// Bands are the band output's series (legend names), one per frame:
	// the harness checks the fill between lower and upper and the value
	// and expected lines inside it.
	Bands []panelBand `json:"bands,omitempty"`
}

// panelBand names one anomaly band's four series as the legend shows them.
type panelBand struct {
	Value    string `json:"value"`
	Expected string `json:"expected"`
	Lower    string `json:"lower"`
	Upper    string `json:"upper"`
}

// answered is a provisioned query and its answer.
type answered struct {
	q *grafanaprov.PanelQuery
	r backend.DataResponse
}

// runProvisioned runs every panel and annotation query of the provisioned
// dashboards, with their variables expanded, as the dashboard sends them:
// its time range ending now, 1,000 points (a panel about 1,000 pixels wide)
// unless the panel sets maxDataPoints, and the interval Grafana derives.
func runProvisioned(t *testing.T) []answered {
	t.Helper()
	queries, err := stack.Project.Queries()
	if err != nil {
		t.Fatal(err)
	}
	var out []answered
	to := time.Now()
	for i := range queries {
		q := &queries[i]
		span, ok := dashboardRange[q.DashboardUID]
		if !ok {
			t.Fatalf("dashboard %s: no time range known", q.DashboardUID)
		}
		maxPoints := int64(1000)
		if q.MaxDataPoints > 0 {
			maxPoints = q.MaxDataPoints
		}
		var minInterval time.Duration
		if q.Interval != "" {
			if minInterval, err = gtime.ParseInterval(q.Interval); err != nil {
				t.Fatalf("%s / %s: min interval: %v", q.DashboardUID, q.PanelTitle, err)
			}
		}
		req, err := pluginhost.PanelRequest(to.Add(-span), to, maxPoints, minInterval, q.Model)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := host.QueryData(context.Background(), q.Datasource.UID, req)
		if err != nil {
			t.Fatalf("%s / %s: %v", q.DashboardUID, q.PanelTitle, err)
		}
		out = append(out, answered{q, resp.Responses[q.RefID]})
	}
	return out
}

// TestProvisionedDashboards: every panel of the provisioned dashboards
// answers data (no "No data": each series has rows), the alert-history panel
// shows the alert the test wrote through the receiver, the anomaly
// annotation marks each of the three anomalies seeded in the printer day,
// and each band panel's frames hold a window mean inside its band. The
// fleet panel reads the farm writeFarm writes.
func TestProvisionedDashboards(t *testing.T) {
	needServers(t)
	firedAt := writeAlertHistory(t)
	writeFarm(t)

	results := runProvisioned(t)
	var panels []panelResult
	for _, a := range results {
		q, r := a.q, a.r
		name := fmt.Sprintf("%s / %s (%s)", q.DashboardUID, q.PanelTitle, q.RefID)
		if q.Annotation {
			name = fmt.Sprintf("%s / annotation %s", q.DashboardUID, q.AnnotationName)
		}
		if r.Error != nil {
			t.Errorf("%s: %v", name, r.Error)
			continue
		}
		if len(r.Frames) == 0 || rows(r.Frames) == 0 {
			t.Errorf("%s: no data", name)
			continue
		}
		for _, f := range r.Frames {
			if f.Rows() == 0 {
				t.Errorf("%s: series %s has no rows", name, f.Name)
			}
		}
		switch {
		case q.Annotation && (q.Model["queryType"] == "ttest" || q.Model["queryType"] == "anomaly"):
			checkAnomalyRegions(t, name, r.Frames)
		case q.Model["queryType"] == "alerts":
			checkHasTime(t, name, r.Frames, firedAt)
		}
		if !q.Annotation {
			p := panelResult{
				Dashboard: q.DashboardUID, Title: q.PanelTitle, Type: q.PanelType,
				FieldConfig: q.FieldConfig, Options: q.Options,
				Expect: panelExpect{Series: seriesNames(r.Frames), MinRows: 1},
			}
			if q.Model["output"] == "band" {
				p.Expect.Bands = bandsOf(t, name, r.Frames)
			}
			for _, f := range r.Frames {
				raw, err := data.FrameToJSON(f, data.IncludeAll)
				if err != nil {
					t.Fatal(err)
				}
				p.Frames = append(p.Frames, raw)
			}
			panels = append(panels, p)
		}
	}
	if t.Failed() {
		return
	}
	renderInBrowser(t, panels)
}

// checkAnomalyRegions: the printer day's anomalies start 1 h, 8 h and 12 h
// into it (datagen); each must fall in one of the annotation's regions.
func checkAnomalyRegions(t *testing.T, name string, frames data.Frames) {
	t.Helper()
	f := frames[0]
	start, end := fieldByName(f, "time"), fieldByName(f, "timeEnd")
	if start == nil || end == nil {
		t.Fatalf("%s: no time/timeEnd fields: %v", name, f.Fields)
	}
	for _, h := range []time.Duration{time.Hour, 8 * time.Hour, 12 * time.Hour} {
		at := dayAgo.Add(h + 2*time.Minute)
		found := false
		for i := range f.Rows() {
			s, e := start.At(i).(time.Time), end.At(i).(time.Time)
			if !at.Before(s.Add(-5*time.Minute)) && !at.After(e.Add(5*time.Minute)) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no region near the anomaly seeded at %s (%d regions)", name, h, f.Rows())
		}
	}
}

// bandsOf names each band frame's four series and requires what the
// harness then checks in pixels: lower <= expected <= upper in every window,
// and most window means inside the band (only anomalous windows leave it).
func bandsOf(t *testing.T, name string, frames data.Frames) []panelBand {
	t.Helper()
	var out []panelBand
	for _, f := range frames {
		cols := map[string]*data.Field{}
		for _, c := range []string{"value", "expected", "lower", "upper"} {
			if cols[c] = fieldByName(f, c); cols[c] == nil || cols[c].Config == nil {
				t.Fatalf("%s: band frame without a named %s field: %v", name, c, f.Fields)
			}
		}
		inside := 0
		for i := range f.Rows() {
			v, e := cols["value"].At(i).(float64), cols["expected"].At(i).(float64)
			lo, hi := cols["lower"].At(i).(float64), cols["upper"].At(i).(float64)
			if !(lo <= e && e <= hi) {
				t.Errorf("%s: row %d: expected %v outside its band [%v, %v]", name, i, e, lo, hi)
			}
			if lo <= v && v <= hi {
				inside++
			}
		}
		if 10*inside < 9*f.Rows() {
			t.Errorf("%s: %d of %d window means inside the band, want 90%%", name, inside, f.Rows())
		}
		out = append(out, panelBand{Value: cols["value"].Config.DisplayNameFromDS, Expected: cols["expected"].Config.DisplayNameFromDS,
			Lower: cols["lower"].Config.DisplayNameFromDS, Upper: cols["upper"].Config.DisplayNameFromDS})
	}
	return out
}

func checkHasTime(t *testing.T, name string, frames data.Frames, at time.Time) {
	t.Helper()
	f := frames[0]
	tf := fieldByName(f, "time")
	if tf == nil {
		tf = f.Fields[0]
	}
	for i := range f.Rows() {
		if ts, ok := tf.At(i).(time.Time); ok && ts.Equal(at) {
			return
		}
	}
	t.Errorf("%s: the alert written at %s is not shown", name, at)
}

func fieldByName(f *data.Frame, name string) *data.Field {
	for _, fd := range f.Fields {
		if strings.EqualFold(fd.Name, name) {
			return fd
		}
	}
	return nil
}

// seriesNames is what a legend shows for each value field: the name the
// data source gives it (displayNameFromDS), else its field label (Vigil
// labels t-test series field=<name>), else its name.
func seriesNames(frames data.Frames) []string {
	var out []string
	for _, f := range frames {
		for _, fd := range f.Fields[1:] {
			if fd.Type().Numeric() {
				if fd.Config != nil && fd.Config.DisplayNameFromDS != "" {
					out = append(out, fd.Config.DisplayNameFromDS)
				} else if l := fd.Labels["field"]; l != "" {
					out = append(out, l)
				} else {
					out = append(out, fd.Name)
				}
			}
		}
	}
	return out
}

// writeAlertHistory posts one firing alert for the house dashboard's history
// panel through the receiver resource and returns its time.
func writeAlertHistory(t *testing.T) time.Time {
	t.Helper()
	at := time.Now().Add(-30 * time.Minute).Truncate(time.Second).UTC()
	body := fmt.Sprintf(`{"receiver":"vigil","status":"firing","alerts":[{"status":"firing",
		"labels":{"alertname":"Dashboard check","severity":"warning"},
		"annotations":{"message":"written by TestProvisionedDashboards"},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z"}]}`, at.Format(time.RFC3339))
	resp, err := host.CallResource(context.Background(), dsMain, &backend.CallResourceRequest{
		Method: "POST", Path: "alert-history", URL: "alert-history?bucket=house/autogen", Body: []byte(body),
		Headers: map[string][]string{"Content-Type": {"application/json"}},
	})
	if err != nil || resp.Status/100 != 2 {
		t.Fatalf("alert-history: %v %+v", err, resp)
	}
	return at
}

// renderInBrowser hands the panels and their frames to the browser harness
// (playwright.panels.config.ts), which draws each with @grafana/ui's own
// visualizations and the panel's field config and checks what it drew.
func renderInBrowser(t *testing.T, panels []panelResult) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "panels.json")
	raw, err := json.Marshal(map[string]any{"panels": panels})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npx", "playwright", "test", "-c", "playwright.panels.config.ts")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VIGIL_PANELS_JSON="+file)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the panels did not render as expected (screenshots in %s): %v", filepath.Join(root, "test-results", "panels"), err)
	}
}

// The farm (scenario.FarmLines) is written once per test run, into the
// data source's default bucket e2e/autogen, for the printer dashboard's
// fleet panel and the fleet rule.
var (
	farmOnce sync.Once
	farmErr  error
)

// writeFarm writes the farm once per test run (up to the first caller's now).
func writeFarm(t *testing.T) {
	t.Helper()
	farmOnce.Do(func() { farmErr = scenario.WriteFarm(context.Background(), influxDB, "e2e/autogen", time.Now()) })
	if farmErr != nil {
		t.Fatal(farmErr)
	}
}
