package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

func postNotification(t *testing.T, ds *Datasource, query, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	ds.newResourceHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/alert-history"+query, strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}

func countAlerts(t *testing.T, ds *Datasource, measurement string) int {
	t.Helper()
	n := 0
	stmt := fmt.Sprintf(`SELECT count("duration") FROM "vigiltest"."autogen".%q`, measurement)
	if err := ds.client.InfluxQL(context.Background(), "vigiltest", stmt, func(s influx.Series) error {
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
	if code, body := postNotification(t, ds, "?measurement=httptest", notification("resolved", start.Format(time.RFC3339), end.Format(time.RFC3339))); code != 200 {
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
		t.Fatalf("measurement parameter: %d points in httptest", n)
	}
}

func TestAlertHistoryReceiverRejects(t *testing.T) {
	seed(t)
	ds := testDatasource(t)
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
		code, body := postNotification(t, ds, "?measurement=rejects", body)
		if code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	if after := countAlerts(t, ds, "rejects"); after != before {
		t.Fatalf("rejected payloads wrote %d points", after-before)
	}
	rec := httptest.NewRecorder()
	ds.newResourceHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/alert-history", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.Code)
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
		query  string
		want   int
		needDB bool
	}{
		{"InfluxDB unreachable", func(t *testing.T) *Datasource {
			return newDatasource(t, dead, `{"defaultBucket":"vigiltest/autogen","timeout":2}`, "")
		}, "", http.StatusServiceUnavailable, false},
		{"invalid data source settings", func(t *testing.T) *Datasource {
			return newDatasource(t, dead, `{}`, "")
		}, "", http.StatusServiceUnavailable, false},
		{"bucket missing (created later, then the retry writes)", func(t *testing.T) *Datasource { return testDatasource(t) },
			"?bucket=vigil_no_such_db/autogen", http.StatusBadGateway, true},
		{"token refused", func(t *testing.T) *Datasource {
			return newDatasource(t, influxDB.URL, `{"defaultBucket":"vigiltest/autogen"}`, "vigil:wrong-password")
		}, "", http.StatusBadGateway, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needDB {
				seed(t)
			}
			code, body := postNotification(t, tt.ds(t), tt.query, fire)
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
	ds := testDatasource(t)
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	body := fmt.Sprintf(`{"receiver":"vigil","status":"firing","alerts":[{"status":"firing",
		"labels":{"alertname":"Power consumption","severity":"critical","triggerType":"threshold"},
		"annotations":{"id":"Power_Consumption_Rule","message":"Alert: power consumption","details":"d","value":"27.97"},
		"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"5f4c1a3d2b1e0f9a"}],
		"groupLabels":{"alertname":"Power consumption"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://127.0.0.1:9093",
		"version":"4","groupKey":"{}:{alertname=\"Power consumption\"}","truncatedAlerts":0}`, start.Format(time.RFC3339))
	for i := 0; i < 2; i++ {
		if code, answer := postNotification(t, ds, "?measurement=amv4", body); code != http.StatusOK || !strings.Contains(answer, `"written":1`) {
			t.Fatalf("delivery %d: %d %s", i, code, answer)
		}
	}
	if n := countAlerts(t, ds, "amv4"); n != 1 {
		t.Fatalf("%d points after two deliveries of one Alertmanager notification", n)
	}
}
