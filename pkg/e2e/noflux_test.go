package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// TestFluxDisabledInfluxDB: InfluxDB 1.8 as installed (flux-enabled = false)
// holding the same printer day: Save & test is OK, the t-test in both read
// modes answers exactly what it answers with Flux on, the schema resources
// and Live answer, and only the flux query type fails, with an error that
// names the setting (not the token).
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
	sub, err := host.Subscribe(ctx, dsNoFlux, "ttest/temperatures/air", query)
	if err != nil || sub.Initial == nil || sub.Initial.Rows() == 0 {
		t.Fatalf("Live with Flux off: %v %v", err, sub)
	}
	sub.Close(host)
}
