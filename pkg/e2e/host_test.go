package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// TestHealthPerInstance: Save & test on three instances at once, each with
// its own settings: the provisioned one is OK and names its bucket, the
// household one names its own, the wrong password is refused; the password
// never appears.
func TestHealthPerInstance(t *testing.T) {
	needServers(t)
	for _, c := range []struct {
		uid, status, message string
	}{
		{dsMain, "OK", `bucket "e2e/autogen" can be read. InfluxQL answers; Flux answers.`},
		{dsHouse, "OK", `bucket "house/autogen" can be read`},
		{dsWrongAuth, "ERROR", "refused the token"},
	} {
		res, err := host.CheckHealth(context.Background(), c.uid)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.String() != c.status || !strings.Contains(res.Message, c.message) {
			t.Errorf("%s: %s %q, want %s containing %q", c.uid, res.Status, res.Message, c.status, c.message)
		}
		if strings.Contains(res.Message, influxDB.Password) || strings.Contains(res.Message, wrongPassword) {
			t.Errorf("%s: the message leaks the password: %q", c.uid, res.Message)
		}
	}
}

// TestFluxQueryAsPanel: a raw Flux panel query returns one frame per series
// with every point exact; a broken script in the same request fails alone
// with a downstream error.
func TestFluxQueryAsPanel(t *testing.T) {
	needServers(t)
	t0 := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	want, err := scenario.WriteSensors(context.Background(), influxDB, t0)
	if err != nil {
		t.Fatal(err)
	}
	resp := panelQuery(t, dsMain, t0, t0.Add(time.Minute),
		map[string]any{"refId": "A", "queryType": "flux", "flux": scenario.FluxSensorsScript},
		map[string]any{"refId": "B", "queryType": "flux", "flux": "from(bucket: v.bucket) |> nonsense()"})
	a := resp.Responses["A"]
	if a.Error != nil || len(a.Frames) != 2 {
		t.Fatalf("A: error %v, %d frames", a.Error, len(a.Frames))
	}
	for _, f := range a.Frames {
		if f.Meta == nil || f.Meta.Type != "timeseries-multi" || !strings.Contains(f.Meta.ExecutedQueryString, `"e2e/autogen"`) {
			t.Errorf("meta %+v", f.Meta)
		}
		value := f.Fields[1]
		sensor := value.Labels["sensor"]
		if value.Name != "hotend" || len(want[sensor]) == 0 || value.Len() != len(want[sensor]) {
			t.Fatalf("unexpected series %q %v with %d points", value.Name, value.Labels, value.Len())
		}
		for i := range value.Len() {
			v, _ := value.ConcreteAt(i)
			ts := f.Fields[0].At(i).(time.Time)
			if v.(float64) != want[sensor][i] || !ts.Equal(t0.Add(time.Duration(i)*time.Second)) {
				t.Fatalf("%s[%d]: %v at %v, want %v", sensor, i, v, ts, want[sensor][i])
			}
		}
	}
	b := resp.Responses["B"]
	if b.Error == nil || !strings.Contains(b.Error.Error(), "InfluxDB could not run the query") || b.ErrorSource != backend.ErrorSourceDownstream {
		t.Fatalf("B: %v (source %q)", b.Error, b.ErrorSource)
	}
}

// TestResourcesOverGrafanasRoute: every schema resource answers through
// Grafana's HTTP resource route (bearer token required) with what InfluxDB
// holds, per data source instance; bad parameters get 400 naming them.
func TestResourcesOverGrafanasRoute(t *testing.T) {
	needServers(t)
	base, token := stack.ResourcesURL, receiverToken
	get := func(uid, path string, q url.Values, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/datasources/uid/"+uid+"/resources/"+path+"?"+q.Encode(), nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	printer := url.Values{"bucket": {"printer/autogen"}, "measurement": {"temperatures"}}
	for _, c := range []struct {
		uid, path string
		q         url.Values
		status    int
		want      string
	}{
		{dsMain, "measurements", url.Values{"bucket": {"printer/autogen"}}, 200, `["temperatures"]`},
		{dsHouse, "measurements", nil, 200, `"power"`},
		{dsMain, "fields", printer, 200, `[{"name":"air","type":"float"},{"name":"bed","type":"float"},{"name":"hotend","type":"float"}]`},
		{dsMain, "tag-keys", printer, 200, `[]`},
		{dsMain, "tag-values", url.Values{"bucket": {"printer/autogen"}, "measurement": {"temperatures"}, "key": {"printer"}}, 200, `[]`},
		{dsMain, "fields", url.Values{"bucket": {"printer/autogen"}}, 400, `the \"measurement\" parameter is required`},
		{dsWrongAuth, "measurements", nil, 502, `refused the token`},
		{"no-such-uid", "measurements", nil, 404, `Failed to call resource`},
	} {
		status, body := get(c.uid, c.path, c.q, token)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s?%s: %d %s, want %d with %s", c.uid, c.path, c.q.Encode(), status, body, c.status, c.want)
		}
	}
	if status, _ := get(dsMain, "measurements", nil, ""); status != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", status)
	}
	if status, _ := get(dsMain, "measurements", nil, "wrong"); status != http.StatusUnauthorized {
		t.Errorf("with a wrong token: %d, want 401", status)
	}
}

// TestPluginCrashAndRestart: when the plugin process dies, queries fail
// (Grafana shows a plugin error, nothing hangs); once it is started again,
// as Grafana restarts it, every instance answers as before.
func TestPluginCrashAndRestart(t *testing.T) {
	needServers(t)
	query := map[string]any{"refId": "A", "queryType": "ttest", "bucket": "printer/autogen", "measurement": "temperatures", "fields": []string{"hotend"}}
	from, to := dayAgo, dayAgo.Add(2*time.Hour)
	before := panelQuery(t, dsMain, from, to, query).Responses["A"]
	if before.Error != nil || rows(before.Frames) == 0 {
		t.Fatalf("before: %v, %d rows", before.Error, rows(before.Frames))
	}
	pid := host.Pid()
	if err := host.Kill(); err != nil {
		t.Fatal(err)
	}
	scenario.WaitFor(t, 10*time.Second, "the plugin to exit", host.Exited)
	req, _ := pluginhost.PanelRequest(from, to, 1000, time.Second, query)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := host.QueryData(ctx, dsMain, req); err == nil {
		t.Fatal("a query to the dead plugin succeeded")
	}
	if err := host.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if host.Pid() == pid {
		t.Fatal("the same process after a restart")
	}
	after := panelQuery(t, dsMain, from, to, query).Responses["A"]
	if after.Error != nil {
		t.Fatal(after.Error)
	}
	b, _ := json.Marshal(before.Frames)
	a, _ := json.Marshal(after.Frames)
	if string(a) != string(b) {
		t.Fatal("the restarted plugin answers differently")
	}
	if res, err := host.CheckHealth(context.Background(), dsHouse); err != nil || res.Status != backend.HealthStatusOk {
		t.Fatalf("health after the restart: %v %v", res, err)
	}
}
