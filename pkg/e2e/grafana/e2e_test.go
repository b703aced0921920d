// Package grafana tests Vigil inside a Grafana server the user gives (none
// can be downloaded or built here; see devenv.UserGrafana): with
// VIGIL_GRAFANA (a Grafana binary) it starts that Grafana with the built
// plugin, provisioning/ and a local InfluxDB loaded with the demo data, and
// every test runs; with GRAFANA_URL (a running Grafana with Vigil
// provisioned, e.g. docker compose's) the tests that need the local
// InfluxDB are skipped and the others (health, provisioned dashboards and
// rules, the plugin-e2e browser specs) run against it. With neither, the
// package prints one line saying so and runs nothing.
package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
	"github.com/vigil/vigil-anomaly-datasource/pkg/loader"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

var (
	influxDB *devenv.InfluxDB
	grafana  *devenv.Grafana
	// hook is the listener behind the provisioned webhook contact point.
	hook *devenv.WebhookListener
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	url, binary, reason := devenv.UserGrafana()
	switch {
	case url != "":
		grafana = devenv.ConnectGrafana(url)
		os.Exit(m.Run())
	case binary != "":
		os.Exit(run(m, binary))
	}
	fmt.Println("Grafana-in-the-loop tests not run:", reason)
	os.Exit(0)
}

func run(m *testing.M, binary string) int {
	root, err := scenario.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "vigil-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, sub := range []string{"influxdb", "grafana"} {
		_ = os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	influxDB, err = devenv.StartInfluxDB(ctx, filepath.Join(dir, "influxdb"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer influxDB.Stop()
	for _, db := range []string{"e2e", "house", "printer"} {
		if err := influxDB.CreateDatabase(ctx, db); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	// The demo's data: a day of printer data ending now; two days of household
	// data ending an hour ago, so the power rule (last 10 minutes) starts with
	// no data and only the power test's spike makes it fire.
	dayAgo := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	if err := scenario.Load(influxDB, "printer/autogen", func(w *loader.Writer) error { return loader.Printer(ctx, w, dayAgo, datagen.PrinterPoints, 1) }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := scenario.Load(influxDB, "house/autogen", func(w *loader.Writer) error {
		return loader.Household(ctx, w, time.Now().Add(-49*time.Hour).Truncate(time.Minute), 2*1440, 1)
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	topic, err := scenario.StartPrinterTopic(ctx, filepath.Join(dir, "kafka"), dayAgo)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer topic.Stop()
	hook, err = devenv.StartWebhookListener(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer hook.Stop()
	// Grafana loads dist/ as it is: refuse one older than the sources.
	if err := devenv.CheckFresh(pluginhost.Executable(root)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	grafana, err = devenv.StartGrafana(ctx, devenv.GrafanaOptions{
		Binary:       binary,
		Dir:          filepath.Join(dir, "grafana"),
		PluginID:     vigil.Plugin.ID,
		PluginDist:   filepath.Join(root, "dist"),
		Provisioning: filepath.Join(root, "provisioning"),
		Dashboards:   filepath.Join(root, "dashboards"),
		Env:          devenv.ProvisioningEnv(influxDB, "e2e/autogen", hook.URL, topic.Addr),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer grafana.Stop()
	code := m.Run()
	if code != 0 {
		if log, err := os.ReadFile(grafana.LogPath); err == nil {
			fmt.Fprintf(os.Stderr, "--- Grafana log: the last errors and warnings ---\n%s\n", problems(log, 40))
		}
	}
	return code
}

// problems returns the last n error and warning lines of a Grafana log,
// leaving out the email integration's (no SMTP here).
func problems(log []byte, n int) string {
	var out []string
	for _, l := range strings.Split(string(log), "\n") {
		if (strings.Contains(l, "level=error") || strings.Contains(l, "level=warn")) && !strings.Contains(l, "SMTP not configured") {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

func needServers(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: needs InfluxDB and Grafana (run without -short)")
	}
}

// needLocalInfluxDB skips a test that writes to or stops the InfluxDB behind
// Grafana's data source: only possible with the Grafana this package starts.
func needLocalInfluxDB(t *testing.T) {
	t.Helper()
	needServers(t)
	if influxDB == nil {
		t.Skip("needs the local InfluxDB behind Grafana's data source (run with VIGIL_GRAFANA, not GRAFANA_URL)")
	}
}

type health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func checkHealth(t *testing.T) (health, int) {
	t.Helper()
	var h health
	err := grafana.API(context.Background(), "GET", "/api/datasources/uid/"+devenv.DatasourceUID+"/health", nil, &h)
	var apiErr *devenv.APIError
	if errors.As(err, &apiErr) {
		if jerr := json.Unmarshal([]byte(apiErr.Body), &h); jerr != nil {
			t.Fatalf("health: %v", err)
		}
		return h, apiErr.Status
	}
	if err != nil {
		t.Fatal(err)
	}
	return h, 200
}

func TestPluginIsLoadedAndDataSourceProvisioned(t *testing.T) {
	needLocalInfluxDB(t)
	var p struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Enabled bool   `json:"enabled"`
	}
	if err := grafana.API(context.Background(), "GET", "/api/plugins/vigil-anomaly-datasource/settings", nil, &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != "vigil-anomaly-datasource" || p.Type != "datasource" {
		t.Fatalf("plugin settings: %+v", p)
	}
	var ds struct {
		UID      string          `json:"uid"`
		Type     string          `json:"type"`
		URL      string          `json:"url"`
		JSONData json.RawMessage `json:"jsonData"`
		Secure   map[string]bool `json:"secureJsonFields"`
	}
	if err := grafana.API(context.Background(), "GET", "/api/datasources/uid/"+devenv.DatasourceUID, nil, &ds); err != nil {
		t.Fatal(err)
	}
	if ds.Type != "vigil-anomaly-datasource" || ds.URL != influxDB.URL || !ds.Secure["token"] {
		t.Fatalf("provisioned data source: %+v", ds)
	}
	if strings.Contains(string(ds.JSONData), influxDB.Password) {
		t.Fatal("the token is visible in jsonData")
	}
}

func TestHealthThroughGrafana(t *testing.T) {
	needLocalInfluxDB(t)
	h, status := checkHealth(t)
	if status != 200 || h.Status != "OK" || !strings.Contains(h.Message, `bucket "e2e/autogen" can be read`) {
		t.Fatalf("health: %d %+v", status, h)
	}
}

// dsQuery posts queries to /api/ds/query as a panel would.
func dsQuery(t *testing.T, from, to time.Time, queries ...map[string]any) devenv.QueryResponse {
	t.Helper()
	out, err := grafana.DSQuery(context.Background(), from, to, queries...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFluxQueryThroughGrafana(t *testing.T) {
	needLocalInfluxDB(t)
	t0 := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	want, err := scenario.WriteSensors(context.Background(), influxDB, t0)
	if err != nil {
		t.Fatal(err)
	}
	out := dsQuery(t, t0, t0.Add(time.Minute),
		map[string]any{"refId": "A", "queryType": "flux", "flux": scenario.FluxSensorsScript},
		map[string]any{"refId": "B", "queryType": "flux", "flux": "from(bucket: v.bucket) |> nonsense()"},
	)
	a := out.Results["A"]
	if a.Error != "" || len(a.Frames) != 2 {
		t.Fatalf("A: error %q, %d frames", a.Error, len(a.Frames))
	}
	for _, f := range a.Frames {
		if f.Schema.Meta.Type != "timeseries-multi" || !strings.Contains(f.Schema.Meta.ExecutedQueryString, `"e2e/autogen"`) {
			t.Errorf("meta %+v", f.Schema.Meta)
		}
		value := f.Schema.Fields[1]
		sensor := value.Labels["sensor"]
		if value.Name != "hotend" || len(want[sensor]) == 0 {
			t.Fatalf("unexpected series %q %v", value.Name, value.Labels)
		}
		times, values := f.Data.Values[0], f.Data.Values[1]
		if len(values) != len(want[sensor]) {
			t.Fatalf("%s: %d points, want %d", sensor, len(values), len(want[sensor]))
		}
		for i, v := range values {
			if v.(float64) != want[sensor][i] || int64(times[i].(float64)) != t0.Add(time.Duration(i)*time.Second).UnixMilli() {
				t.Fatalf("%s[%d]: %v at %v, want %v", sensor, i, v, times[i], want[sensor][i])
			}
		}
	}
	if b := out.Results["B"]; b.Error == "" || !strings.Contains(b.Error, "InfluxDB could not run the query") {
		t.Fatalf("B: %+v", b)
	}
}
