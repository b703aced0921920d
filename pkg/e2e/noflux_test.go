package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
)

// TestFluxDisabledInfluxDB: InfluxDB 1.8 as installed (flux-enabled = false)
// holding the same printer day: Save & test is OK, the t-test in both read
// modes answers exactly what it answers with Flux on, every other query
// type, the schema resources, the alert-history receiver and Live answer,
// and only the flux query type fails, with an error that names the setting
// (not the token).
func TestFluxDisabledInfluxDB(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	res, err := host.CheckHealth(ctx, dsNoFlux)
	if err != nil || res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "InfluxDB 1.8.10 (1.x)") ||
		!strings.Contains(res.Message, "Flux off: flux-enabled = false in [http] (only flux queries need it)") {
		t.Fatalf("health: %v %v", res, err)
	}
	from, to := dayAgo.Add(7*time.Hour), dayAgo.Add(13*time.Hour)
	for _, mode := range []string{"points", "windows"} {
		q := map[string]any{"refId": "A", "queryType": "ttest", "bucket": "printer/autogen", "measurement": "temperatures",
			"fields": []string{"hotend", "bed", "air"}, "mode": mode}
		off := panelQuery(t, dsNoFlux, from, to, q).Responses["A"]
		on := panelQuery(t, dsMain, from, to, q).Responses["A"]
		if off.Error != nil || on.Error != nil || rows(off.Frames) == 0 {
			t.Fatalf("%s: Flux off %v, Flux on %v", mode, off.Error, on.Error)
		}
		for i := range on.Frames {
			a, _ := json.Marshal(on.Frames[i].Fields)
			b, _ := json.Marshal(off.Frames[i].Fields)
			if string(a) != string(b) {
				t.Fatalf("%s: frame %d differs between Flux on and off", mode, i)
			}
		}
	}
	flux := panelQuery(t, dsNoFlux, from, to, map[string]any{"refId": "A", "queryType": "flux", "flux": "from(bucket: v.bucket) |> range(start: -1h)"}).Responses["A"]
	if flux.Error == nil || !strings.Contains(flux.Error.Error(), "flux-enabled = true") || strings.Contains(flux.Error.Error(), "token") {
		t.Fatalf("a flux query with Flux off: %v", flux.Error)
	}
	resp, err := host.CallResource(ctx, dsNoFlux, &backend.CallResourceRequest{Method: "GET", Path: "fields", URL: "fields?measurement=temperatures"})
	if err != nil || resp.Status != 200 || !strings.Contains(string(resp.Body), `"hotend"`) {
		t.Fatalf("fields resource: %v %+v", err, resp)
	}
	query, _ := json.Marshal(map[string]any{"queryType": "ttest", "measurement": "temperatures", "fields": []string{"air"}})
	sub, err := host.Subscribe(ctx, dsNoFlux, liveChannel(t, "ttest", query), query)
	if err != nil || sub.Initial == nil || sub.Initial.Rows() == 0 {
		t.Fatalf("Live with Flux off: %v %v", err, sub)
	}
	sub.Close(host)
	fluxOffHouse(t)
}

// fluxOffHouse: with Flux off, the power query (every point and
// aggregated) and its Live stream, the alert-history receiver and the
// alerts query, and every schema resource answer too.
func fluxOffHouse(t *testing.T) {
	ctx := context.Background()
	if err := influxNoFlux.CreateDatabase(ctx, "house"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Minute)
	if _, err := scenario.WritePowerSpike(ctx, influxNoFlux, now); err != nil {
		t.Fatal(err)
	}
	from, to := now.Add(-time.Hour), now.Add(time.Minute)
	for _, aggregate := range []string{"none", "mean"} {
		r := panelQuery(t, dsNoFlux, from, to, map[string]any{"refId": "A", "queryType": "power", "bucket": "house/autogen", "measurement": "power", "aggregate": aggregate}).Responses["A"]
		if r.Error != nil || rows(r.Frames) == 0 {
			t.Fatalf("power (%s) with Flux off: %v, %d rows", aggregate, r.Error, rows(r.Frames))
		}
	}
	live, _ := json.Marshal(map[string]any{"queryType": "power", "bucket": "house/autogen", "measurement": "power"})
	sub, err := host.Subscribe(ctx, dsNoFlux, liveChannel(t, "power", live), live)
	if err != nil || sub.Initial == nil || sub.Initial.Rows() == 0 {
		t.Fatalf("power Live with Flux off: %v %v", err, sub)
	}
	sub.Close(host)

	at := now.Add(-10 * time.Minute).UTC()
	body := fmt.Sprintf(`{"receiver":"vigil","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Flux off"},
		"annotations":{"message":"written with Flux off"},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z"}]}`, at.Format(time.RFC3339))
	resp, err := host.CallResource(ctx, dsNoFlux, &backend.CallResourceRequest{Method: "POST", Path: "alert-history",
		URL: "alert-history?bucket=house/autogen", Body: []byte(body), Headers: map[string][]string{"Content-Type": {"application/json"}}})
	if err != nil || resp.Status/100 != 2 {
		t.Fatalf("alert-history receiver with Flux off: %v %+v", err, resp)
	}
	alerts := panelQuery(t, dsNoFlux, from, to, map[string]any{"refId": "A", "queryType": "alerts", "bucket": "house/autogen", "measurement": "alerts"}).Responses["A"]
	if alerts.Error != nil || rows(alerts.Frames) != 1 {
		t.Fatalf("alerts query with Flux off: %v, %d rows", alerts.Error, rows(alerts.Frames))
	}

	for _, r := range []struct{ url, want string }{
		{"measurements?bucket=house/autogen", `"power"`},
		{"tag-keys?bucket=house/autogen&measurement=alerts", `"alertID"`},
		{"tag-values?bucket=house/autogen&measurement=alerts&key=alertname", `"Flux off"`},
		{"fields?bucket=house/autogen&measurement=power", `"Global_active_power"`},
	} {
		path, _, _ := strings.Cut(r.url, "?")
		resp, err := host.CallResource(ctx, dsNoFlux, &backend.CallResourceRequest{Method: "GET", Path: path, URL: r.url})
		if err != nil || resp.Status != 200 || !strings.Contains(string(resp.Body), r.want) {
			t.Fatalf("%s with Flux off: %v %d %s", r.url, err, resp.Status, resp.Body)
		}
	}
}
