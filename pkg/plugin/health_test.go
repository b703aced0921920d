package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// newDatasourceSecure is newDatasource with any secureJsonData.
func newDatasourceSecure(t *testing.T, url, jsonData string, secure map[string]string) *Datasource {
	t.Helper()
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{
		UID: "test", URL: url, JSONData: json.RawMessage(jsonData), DecryptedSecureJSONData: secure,
	})
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*Datasource)
	t.Cleanup(ds.Dispose)
	return ds
}

func checkHealth(t *testing.T, ds *Datasource) *backend.CheckHealthResult {
	t.Helper()
	res, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// influxDB2WithoutDBRP fakes InfluxDB 2.x for a database that has no DBRP
// mapping. What it answers follows InfluxDB 2.x's v1 statement executor
// (influxdata/influxdb, v1/coordinator/statement_executor.go): SHOW
// RETENTION POLICIES lists the database's DBRP mappings, so HTTP 200 with
// an empty list (a series with columns, no values); a SELECT fails in
// normalizeMeasurement with query.ErrDatabaseNotFound, "database not found:
// <db>", as the statement's error in an HTTP 200 answer. /ping answers 204
// with the version header, as 2.x's ping handler does.
func influxDB2WithoutDBRP(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Influxdb-Version", "v2.7.10")
		switch r.URL.Path {
		case "/ping":
			w.WriteHeader(http.StatusNoContent)
		case "/query":
			w.Header().Set("Content-Type", "application/json")
			if strings.HasPrefix(r.FormValue("q"), "SHOW RETENTION POLICIES") {
				_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"series":[{"columns":["name","duration","shardGroupDuration","replicaN","default"]}]}]}` + "\n"))
				return
			}
			_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"error":"database not found: ` + r.FormValue("db") + `"}]}` + "\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCheckHealthInfluxDB2WithoutDBRPMapping(t *testing.T) {
	srv := influxDB2WithoutDBRP(t)
	tests := []struct{ bucket, hint string }{
		{"printer/autogen", `influx v1 dbrp create --db "printer" --rp "autogen" --bucket-id <bucket-id> --default`},
		{"printer", `influx v1 dbrp create --db "printer" --rp "autogen" --bucket-id <bucket-id> --default`},
		{`house"/one`, `influx v1 dbrp create --db "house\"" --rp "one" --bucket-id <bucket-id> --default`},
	}
	for _, tt := range tests {
		t.Run(tt.bucket, func(t *testing.T) {
			jd, _ := json.Marshal(map[string]string{"defaultBucket": tt.bucket, "user": "vigil"})
			ds := newDatasourceSecure(t, srv.URL, string(jd), map[string]string{"password": "v1-pass-1234"})
			res := checkHealth(t, ds)
			if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "InfluxDB 2.x has no DBRP mapping") ||
				!strings.Contains(res.Message, tt.hint) {
				t.Fatalf("got %v %q, want the DBRP hint %q", res.Status, res.Message, tt.hint)
			}
			if strings.Contains(res.Message, "v1-pass-1234") {
				t.Fatalf("the message leaks the password: %q", res.Message)
			}
		})
	}
}

// TestQueryInfluxDB2WithoutDBRPMapping: a query on a bucket InfluxDB 2.x
// has no DBRP mapping for says so, with the command, as Save & test does.
func TestQueryInfluxDB2WithoutDBRPMapping(t *testing.T) {
	srv := influxDB2WithoutDBRP(t)
	ds := newDatasourceSecure(t, srv.URL, `{"defaultBucket":"printer/autogen"}`, nil)
	for _, model := range []string{
		`{"queryType":"ttest","measurement":"temperatures","fields":["hotend"]}`,
		`{"queryType":"power","measurement":"power"}`,
		`{"queryType":"influxql","influxql":"SELECT * FROM \"m\" WHERE $timeFilter"}`,
	} {
		var q struct{ QueryType string }
		_ = json.Unmarshal([]byte(model), &q)
		resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
			RefID: "A", QueryType: q.QueryType, JSON: json.RawMessage(model),
			TimeRange: backend.TimeRange{From: time.Unix(0, 0), To: time.Unix(3600, 0)}, Interval: time.Minute, MaxDataPoints: 100,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Responses["A"]
		if r.Error == nil || !strings.Contains(r.Error.Error(), "no DBRP mapping") ||
			!strings.Contains(r.Error.Error(), `influx v1 dbrp create --db "printer" --rp "autogen"`) || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Fatalf("%s: got %v (%s), want the DBRP hint", q.QueryType, r.Error, r.ErrorSource)
		}
	}
}

// TestUserPassword: Save & test and a t-test query with v1 user/password
// and no token, against InfluxDB 1.8 with auth on.
func TestUserPassword(t *testing.T) {
	seed(t)
	const jd = `{"defaultBucket":"vigiltest/autogen","user":"vigil"}`
	ds := newDatasourceSecure(t, influxDB.URL, jd, map[string]string{"password": influxDB.Password})
	res := checkHealth(t, ds)
	const ok = `InfluxDB 1.8.10 (1.x) is reachable and bucket "vigiltest/autogen" can be read. InfluxQL answers; Flux answers.`
	if res.Status != backend.HealthStatusOk || res.Message != ok {
		t.Fatalf("got %v %q, want %q", res.Status, res.Message, ok)
	}
	q := fluxQuery("A", "")
	q.QueryType, q.JSON = "", []byte(`{"queryType":"ttest","measurement":"temperatures","fields":["bed"],"window":"2s","history":4}`)
	q.TimeRange = backend.TimeRange{From: t0, To: t0.Add(10 * time.Second)}
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q}})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Responses["A"]; r.Error != nil || len(r.Frames) == 0 || r.Frames[0].Rows() == 0 {
		t.Fatalf("t-test with user/password: error %v, frames %v", r.Error, r.Frames)
	}
}

func TestWrongPassword(t *testing.T) {
	seed(t)
	const wrong = "not-the-password-5521"
	ds := newDatasourceSecure(t, influxDB.URL, `{"defaultBucket":"vigiltest/autogen","user":"vigil"}`, map[string]string{"password": wrong})
	res := checkHealth(t, ds)
	const want = `InfluxDB refused the user/password (HTTP 401: authorization failed): check "user" and "password" in the data source settings`
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, want) {
		t.Fatalf("got %v %q, want %q", res.Status, res.Message, want)
	}
	q := fluxQuery("A", "")
	q.QueryType, q.JSON = "", []byte(`{"queryType":"ttest","measurement":"temperatures","fields":["bed"],"window":"2s","history":4}`)
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q, fluxQuery("F", allTemperatures)}})
	if err != nil {
		t.Fatal(err)
	}
	for refID, r := range resp.Responses {
		if r.Error == nil || !strings.Contains(r.Error.Error(), "InfluxDB refused the user/password") || r.Status != backend.StatusUnauthorized {
			t.Errorf("%s: got %v (status %d)", refID, r.Error, r.Status)
		}
	}
	for _, msg := range []string{res.Message, resp.Responses["A"].Error.Error(), resp.Responses["F"].Error.Error()} {
		if strings.Contains(msg, wrong) || strings.Contains(msg, influxDB.Password) {
			t.Fatalf("the message leaks a password: %q", msg)
		}
	}
}
