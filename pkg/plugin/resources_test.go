package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// callAs makes a resource call as Grafana does for a caller: user is the
// plugin context's user (nil: none).
func callAs(t *testing.T, ds *Datasource, user *backend.User, method, url, body string) (int, string) {
	t.Helper()
	path, _, _ := strings.Cut(url, "?")
	var resp *backend.CallResourceResponse
	err := ds.CallResource(context.Background(), &backend.CallResourceRequest{
		PluginContext: backend.PluginContext{User: user}, Method: method, Path: path, URL: url, Body: []byte(body),
		Headers: map[string][]string{"Content-Type": {"application/json"}},
	}, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
		if resp == nil {
			resp = r
		} else {
			resp.Body = append(resp.Body, r.Body...)
		}
		return nil
	}))
	if err != nil || resp == nil {
		t.Fatalf("%s %s: %v (no response: %t)", method, url, err, resp == nil)
	}
	return resp.Status, string(resp.Body)
}

// editor is the contact point's caller: a service account with the Editor role.
var editor = &backend.User{Login: "sa-1-vigil-alert-history", Name: "vigil-alert-history", Role: "Editor"}

// postNotification posts to the receiver as the contact point does.
func postNotification(t *testing.T, ds *Datasource, query, body string) (int, string) {
	t.Helper()
	return callAs(t, ds, editor, http.MethodPost, "alert-history"+query, body)
}

// receiverDatasource is the test data source with its alert-history target
// in measurement (of vigiltest/autogen, the default bucket).
func receiverDatasource(t *testing.T, measurement string) *Datasource {
	return newDatasource(t, influxDB.URL, fmt.Sprintf(`{"defaultBucket":"vigiltest/autogen","maxPoints":1000,"alertHistoryMeasurement":%q}`, measurement), influxDB.Token())
}

func countAlerts(t *testing.T, ds *Datasource, measurement string) int {
	t.Helper()
	return countPoints(t, ds, "vigiltest", measurement)
}

// countPoints counts the alert-history points of db's measurement.
func countPoints(t *testing.T, ds *Datasource, db, measurement string) int {
	t.Helper()
	n := 0
	stmt := fmt.Sprintf(`SELECT count("duration") FROM %q."autogen".%q`, db, measurement)
	if err := ds.client.InfluxQL(context.Background(), db, stmt, func(s influx.Series) error {
		for _, row := range s.Values {
			c, _ := row[1].(json.Number).Int64()
			n += int(c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func notification(status, startsAt, endsAt string) string {
	return fmt.Sprintf(`{"receiver":"vigil","status":%q,"alerts":[{"status":%q,
		"labels":{"alertname":"Power consumption","house":"paris"},
		"annotations":{"message":"Alert: power consumption"},
		"startsAt":%q,"endsAt":%q,"values":{"B":18.4,"C":1}}]}`, status, status, startsAt, endsAt)
}

func TestAlertHistoryReceiver(t *testing.T) {
	seed(t)
	ds := testDatasource(t)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	end := start.Add(12 * time.Second)
	fire := notification("firing", start.Format(time.RFC3339), "0001-01-01T00:00:00Z")

	for i := 0; i < 3; i++ { // Grafana retries: the same point, never a duplicate
		if code, body := postNotification(t, ds, "", fire); code != 200 || !strings.Contains(body, `"written":1`) {
			t.Fatalf("firing: %d %s", code, body)
		}
	}
	if n := countAlerts(t, ds, "alerts"); n != 1 {
		t.Fatalf("%d points after 3 deliveries of one notification", n)
	}
	if code, body := postNotification(t, receiverDatasource(t, "httptest"), "", notification("resolved", start.Format(time.RFC3339), end.Format(time.RFC3339))); code != 200 {
		t.Fatalf("resolved: %d %s", code, body)
	}
	if code, _ := postNotification(t, ds, "", notification("resolved", start.Format(time.RFC3339), end.Format(time.RFC3339))); code != 200 {
		t.Fatal("resolved")
	}

	// The alerts query returns both, as a table and as one region.
	q := func(format string) backend.DataResponse {
		js, _ := json.Marshal(map[string]any{"queryType": "alerts", "format": format})
		resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
			RefID: "A", QueryType: "alerts", JSON: js, TimeRange: backend.TimeRange{From: start.Add(-time.Minute), To: end.Add(time.Minute)}}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Responses["A"]
	}
	table := q("table")
	if table.Error != nil || len(table.Frames) != 1 || table.Frames[0].Rows() != 2 {
		t.Fatalf("table: %v %v", table.Error, table.Frames)
	}
	f := table.Frames[0]
	level, _ := f.FieldByName("level")
	duration, _ := f.FieldByName("duration")
	value, _ := f.FieldByName("value")
	alertID, _ := f.FieldByName("alertID")
	house, _ := f.FieldByName("house")
	if level.At(0) != "CRITICAL" || level.At(1) != "OK" || duration.At(0) != int64(0) || duration.At(1) != int64(12*time.Second) ||
		*value.At(0).(*float64) != 18.4 || alertID.At(0) != "Power consumption:house=paris" || house.At(1) != "paris" {
		t.Fatalf("table rows: %v %v %v %v", level, duration, value, alertID)
	}
	ann := q("annotations")
	if ann.Error != nil || ann.Frames[0].Rows() != 1 {
		t.Fatalf("annotations: %v %v", ann.Error, ann.Frames)
	}
	a := ann.Frames[0]
	if !a.Fields[0].At(0).(time.Time).Equal(start) || !a.Fields[1].At(0).(time.Time).Equal(end) || a.Fields[3].At(0) != "CRITICAL: Alert: power consumption: value 18.4" {
		t.Fatalf("annotation: %v", a)
	}
	if n := countAlerts(t, ds, "httptest"); n != 1 {
		t.Fatalf("alertHistoryMeasurement: %d points in httptest", n)
	}
}

func TestAlertHistoryReceiverRejects(t *testing.T) {
	seed(t)
	ds := receiverDatasource(t, "rejects")
	before := countAlerts(t, ds, "rejects")
	huge := `{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"a","pad":"` + strings.Repeat("x", 2<<20) + `"},"startsAt":"2026-01-01T00:00:00Z"}]}`
	for name, body := range map[string]string{
		"not JSON":           "hello",
		"wrong shape":        `{"title":"x","state":"alerting"}`,
		"missing labels":     `{"status":"firing","alerts":[{"status":"firing","startsAt":"2026-01-01T00:00:00Z"}]}`,
		"one bad of two":     `{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"},{"status":"firing","labels":{}}]}`,
		"huge body":          huge,
		"resolved no endsAt": `{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"}]}`,
	} {
		code, body := postNotification(t, ds, "", body)
		if code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	if after := countAlerts(t, ds, "rejects"); after != before {
		t.Fatalf("rejected payloads wrote %d points", after-before)
	}
	if code, _ := callAs(t, ds, editor, http.MethodGet, "alert-history", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", code)
	}
}

// A write the receiver could not make answers 5xx, so the sender (Grafana,
// Alertmanager) retries; 4xx would make it drop the notification.
func TestAlertHistoryWriteFailuresAnswer5xx(t *testing.T) {
	deadPort, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("http://127.0.0.1:%d", deadPort)
	fire := notification("firing", "2026-01-01T00:00:00Z", "0001-01-01T00:00:00Z")
	tests := []struct {
		name   string
		ds     func(t *testing.T) *Datasource
		want   int
		needDB bool
	}{
		{"InfluxDB unreachable", func(t *testing.T) *Datasource {
			return newDatasource(t, dead, `{"defaultBucket":"vigiltest/autogen","timeout":2}`, "")
		}, http.StatusServiceUnavailable, false},
		{"invalid data source settings", func(t *testing.T) *Datasource {
			return newDatasource(t, dead, `{}`, "")
		}, http.StatusServiceUnavailable, false},
		{"bucket missing (created later, then the retry writes)", func(t *testing.T) *Datasource {
			return newDatasource(t, influxDB.URL, `{"defaultBucket":"vigiltest/autogen","alertHistoryBucket":"vigil_no_such_db/autogen"}`, influxDB.Token())
		}, http.StatusBadGateway, true},
		{"token refused", func(t *testing.T) *Datasource {
			return newDatasource(t, influxDB.URL, `{"defaultBucket":"vigiltest/autogen"}`, "vigil:wrong-password")
		}, http.StatusBadGateway, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needDB {
				seed(t)
			}
			code, body := postNotification(t, tt.ds(t), "", fire)
			if code != tt.want || !strings.Contains(body, "cannot write the alert history") {
				t.Fatalf("got %d %s, want %d", code, body, tt.want)
			}
			if strings.Contains(body, "wrong-password") {
				t.Fatalf("the answer holds the token: %s", body)
			}
		})
	}
}

// Alertmanager's webhook payload (version 4: firing alerts with endsAt the
// zero time and no values) is written as Grafana's is.
func TestAlertHistoryReceiverTakesAlertmanagerPayload(t *testing.T) {
	seed(t)
	ds := receiverDatasource(t, "amv4")
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	body := fmt.Sprintf(`{"receiver":"vigil","status":"firing","alerts":[{"status":"firing",
		"labels":{"alertname":"Power consumption","severity":"critical","triggerType":"threshold"},
		"annotations":{"id":"Power_Consumption_Rule","message":"Alert: power consumption","details":"d","value":"27.97"},
		"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"5f4c1a3d2b1e0f9a"}],
		"groupLabels":{"alertname":"Power consumption"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://127.0.0.1:9093",
		"version":"4","groupKey":"{}:{alertname=\"Power consumption\"}","truncatedAlerts":0}`, start.Format(time.RFC3339))
	for i := 0; i < 2; i++ {
		if code, answer := postNotification(t, ds, "", body); code != http.StatusOK || !strings.Contains(answer, `"written":1`) {
			t.Fatalf("delivery %d: %d %s", i, code, answer)
		}
	}
	if n := countAlerts(t, ds, "amv4"); n != 1 {
		t.Fatalf("%d points after two deliveries of one Alertmanager notification", n)
	}
}

// Only an Editor or an Admin may write (Grafana passes the caller's org
// role in the plugin context; a Viewer may call the resource route): the
// others get 403, before the body is read. Without InfluxDB: an allowed
// caller goes on to the write, which fails with 503.
func TestAlertHistoryReceiverNeedsTheEditorRole(t *testing.T) {
	deadPort, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ds := newDatasource(t, fmt.Sprintf("http://127.0.0.1:%d", deadPort), `{"defaultBucket":"vigiltest/autogen","timeout":2}`, "")
	fire := notification("firing", "2026-01-01T00:00:00Z", "0001-01-01T00:00:00Z")
	for _, tt := range []struct {
		name string
		user *backend.User
		body string
		want int
		msg  string
	}{
		{"Viewer", &backend.User{Login: "eve", Role: "Viewer"}, fire, http.StatusForbidden, "this caller's role is Viewer"},
		{"Viewer with a body it cannot use", &backend.User{Login: "eve", Role: "Viewer"}, "hello", http.StatusForbidden, "needs the Editor or Admin role"},
		{"no basic role", &backend.User{Login: "sa-1-nobody", Role: "None"}, fire, http.StatusForbidden, "this caller's role is None"},
		{"empty role", &backend.User{Login: "eve"}, fire, http.StatusForbidden, "this caller's role is none"},
		{"lower-case editor", &backend.User{Login: "eve", Role: "editor"}, fire, http.StatusForbidden, "this caller's role is editor"},
		{"no user", nil, fire, http.StatusForbidden, "this call has no user"},
		{"Editor", editor, fire, http.StatusServiceUnavailable, "cannot write the alert history"},
		{"Admin", &backend.User{Login: "admin", Role: "Admin"}, fire, http.StatusServiceUnavailable, "cannot write the alert history"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := callAs(t, ds, tt.user, http.MethodPost, "alert-history", tt.body)
			if code != tt.want || !strings.Contains(body, tt.msg) {
				t.Fatalf("got %d %s, want %d with %q", code, body, tt.want, tt.msg)
			}
		})
	}
}

// Against InfluxDB: a Viewer's notification writes nothing; an Editor's and
// an Admin's are written.
func TestAlertHistoryReceiverViewerWritesNothing(t *testing.T) {
	seed(t)
	measurement := fmt.Sprintf("roles%d", time.Now().UnixNano())
	ds := receiverDatasource(t, measurement)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
	post := func(user *backend.User, alertname string) int {
		body := strings.Replace(notification("firing", start, "0001-01-01T00:00:00Z"), "Power consumption", alertname, 1)
		code, _ := callAs(t, ds, user, http.MethodPost, "alert-history", body)
		return code
	}
	if code := post(&backend.User{Login: "eve", Role: "Viewer"}, "by a Viewer"); code != http.StatusForbidden {
		t.Fatalf("Viewer: %d", code)
	}
	if n := countAlerts(t, ds, measurement); n != 0 {
		t.Fatalf("a Viewer's notification wrote %d points", n)
	}
	for i, user := range []*backend.User{editor, {Login: "admin", Role: "Admin"}} {
		if code := post(user, "by an "+user.Role); code != http.StatusOK {
			t.Fatalf("%s: %d", user.Role, code)
		}
		if n := countAlerts(t, ds, measurement); n != i+1 {
			t.Fatalf("after the %s's notification: %d points, want %d", user.Role, n, i+1)
		}
	}
}

// The receiver writes only to the alert-history target: a request naming
// another bucket or measurement is refused (400, saying where it writes)
// and nothing is written there or anywhere; naming the target itself, or
// an empty parameter, is fine; alertHistoryBucket moves the target.
func TestAlertHistoryReceiverWritesOnlyToItsTarget(t *testing.T) {
	seed(t)
	if err := influxDB.CreateDatabase(context.Background(), "vigilother"); err != nil {
		t.Fatal(err)
	}
	measurement := fmt.Sprintf("target%d", time.Now().UnixNano())
	ds := receiverDatasource(t, measurement)
	admin := &backend.User{Login: "admin", Role: "Admin"}
	fire := notification("firing", time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339), "0001-01-01T00:00:00Z")
	for _, tt := range []struct{ query, names string }{
		{"?bucket=vigilother/autogen", `the bucket "vigilother/autogen"`},
		{"?bucket=vigilother", `the bucket "vigilother"`},
		{"?measurement=" + measurement + "x", `the measurement "` + measurement + `x"`},
		{"?bucket=vigiltest/autogen&bucket=vigilother/autogen", `the bucket "vigilother/autogen"`},
		{"?bucket=vigilother/autogen&measurement=" + measurement, `the bucket "vigilother/autogen"`},
	} {
		code, body := callAs(t, ds, admin, http.MethodPost, "alert-history"+tt.query, fire)
		where := fmt.Sprintf(`written only to bucket \"vigiltest/autogen\", measurement \"%s\"`, measurement)
		if code != http.StatusBadRequest || !strings.Contains(body, where) || !strings.Contains(body, strings.ReplaceAll(tt.names, `"`, `\"`)) {
			t.Errorf("%s: got %d %s", tt.query, code, body)
		}
	}
	for _, m := range []string{measurement, measurement + "x"} {
		if n := countPoints(t, ds, "vigilother", m) + countAlerts(t, ds, m); n != 0 {
			t.Fatalf("refused requests wrote %d points to %s", n, m)
		}
	}
	for _, query := range []string{"?bucket=vigiltest/autogen&measurement=" + measurement, "?bucket=&measurement=", ""} {
		if code, body := callAs(t, ds, admin, http.MethodPost, "alert-history"+query, fire); code != http.StatusOK {
			t.Fatalf("%s: %d %s", query, code, body)
		}
	}
	if n := countAlerts(t, ds, measurement); n != 1 {
		t.Fatalf("%d points in the target, want 1", n)
	}

	// alertHistoryBucket set: the target is there, not in the default bucket.
	moved := newDatasource(t, influxDB.URL, fmt.Sprintf(`{"defaultBucket":"vigiltest/autogen","alertHistoryBucket":"vigilother/autogen","alertHistoryMeasurement":%q}`, measurement), influxDB.Token())
	if code, body := callAs(t, moved, admin, http.MethodPost, "alert-history", fire); code != http.StatusOK || !strings.Contains(body, `"bucket":"vigilother/autogen"`) {
		t.Fatalf("moved target: %d %s", code, body)
	}
	if code, _ := callAs(t, moved, admin, http.MethodPost, "alert-history?bucket=vigiltest/autogen", fire); code != http.StatusBadRequest {
		t.Fatalf("the default bucket named while the target is elsewhere: %d", code)
	}
	if in, other := countAlerts(t, ds, measurement), countPoints(t, ds, "vigilother", measurement); in != 1 || other != 1 {
		t.Fatalf("vigiltest has %d points, vigilother %d; want 1 and 1", in, other)
	}
}
