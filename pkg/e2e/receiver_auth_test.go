package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// TestReceiverAuthority: the provisioned alert-history contact point's URL,
// called through Grafana's resource route on the plugin host, which puts
// the token's user in the plugin context as Grafana does. A Viewer's token
// (and one of a service account without a role) is refused with 403 and
// nothing reaches InfluxDB; the provisioned contact point's token (a
// service account with the Editor role) is refused with 400 when the
// request names another bucket or measurement, and leaves those untouched;
// the same notification without them is written to the data source's
// alert-history target (house/autogen, alerts), once.
func TestReceiverAuthority(t *testing.T) {
	needServers(t)
	const viewerToken, noRoleToken = "e2e-viewer-token", "e2e-no-role-token"
	base, err := host.ServeResources(receiverToken,
		pluginhost.Caller{Token: viewerToken, User: pluginhost.ServiceAccount("e2e-viewer", "Viewer")},
		pluginhost.Caller{Token: noRoleToken, User: pluginhost.ServiceAccount("e2e-no-role", "None")})
	if err != nil {
		t.Fatal(err)
	}
	// The provisioned contact point's URL, on this route.
	path, ok := strings.CutPrefix(stack.AlertmanagerConfig.WebhookURL, stack.ResourcesURL)
	if !ok || strings.Contains(path, "?") {
		t.Fatalf("the provisioned contact point posts to %q: want the resource route without parameters", stack.AlertmanagerConfig.WebhookURL)
	}
	alertname := fmt.Sprintf("Receiver authority %d", time.Now().UnixNano())
	body := fmt.Sprintf(`{"receiver":"vigil","status":"firing","alerts":[{"status":"firing","labels":{"alertname":%q},
		"annotations":{"message":"written by TestReceiverAuthority"},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z"}]}`,
		alertname, time.Now().Add(-10*time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339))
	post := func(token, query string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path+query, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(answer)
	}
	// written counts the alert's points in db's measurement.
	written := func(db, measurement string) int {
		t.Helper()
		n := 0
		stmt := fmt.Sprintf(`SELECT count("duration") FROM %q."autogen".%q WHERE "alertName" = %s`, db, measurement, influx.Literal(alertname))
		if err := scenario.QueryInfluxQL(context.Background(), influxDB, db, stmt, func(_ []string, vals []any) {
			n += int(scenario.Num(vals[1]))
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	nowhere := func(when string) {
		t.Helper()
		for _, target := range [][2]string{{"house", "alerts"}, {"house", "history"}, {"e2e", "alerts"}, {"printer", "alerts"}} {
			if n := written(target[0], target[1]); n != 0 {
				t.Fatalf("%s: %d points in %s/autogen %s", when, n, target[0], target[1])
			}
		}
	}

	for _, c := range []struct {
		name, token, query string
		status             int
		says               string
	}{
		{"Viewer", viewerToken, "", http.StatusForbidden, "this caller's role is Viewer"},
		{"Viewer naming another database", viewerToken, "?bucket=printer/autogen", http.StatusForbidden, "needs the Editor or Admin role"},
		{"no role", noRoleToken, "", http.StatusForbidden, "this caller's role is None"},
		{"Editor naming another database", receiverToken, "?bucket=printer/autogen", http.StatusBadRequest,
			`written only to bucket \"house/autogen\", measurement \"alerts\"`},
		{"Editor naming the default bucket", receiverToken, "?bucket=e2e/autogen", http.StatusBadRequest, `not to the bucket \"e2e/autogen\"`},
		{"Editor naming another measurement", receiverToken, "?measurement=history", http.StatusBadRequest, `change the data source's \"alertHistoryMeasurement\"`},
	} {
		if status, answer := post(c.token, c.query); status != c.status || !strings.Contains(answer, c.says) {
			t.Errorf("%s: %d %s, want %d saying %s", c.name, status, answer, c.status, c.says)
		}
		nowhere("after " + c.name)
	}

	if status, answer := post(receiverToken, ""); status != http.StatusOK || !strings.Contains(answer, `"bucket":"house/autogen","measurement":"alerts"`) {
		t.Fatalf("the contact point's notification: %d %s", status, answer)
	}
	if n := written("house", "alerts"); n != 1 {
		t.Fatalf("%d points in house/autogen alerts, want 1", n)
	}
	for _, target := range [][2]string{{"house", "history"}, {"e2e", "alerts"}, {"printer", "alerts"}} {
		if n := written(target[0], target[1]); n != 0 {
			t.Fatalf("%d points in %s/autogen %s", n, target[0], target[1])
		}
	}
}
