package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// TestRawQueriesThatWriteAreNotSent: a raw InfluxQL or Flux query that can
// write gets a per-query error naming its field and the statement or
// function, and nothing reaches InfluxDB; a read alongside it is sent, and
// raw InfluxQL goes by GET with the statement in the URL.
func TestRawQueriesThatWriteAreNotSent(t *testing.T) {
	var sent atomic.Int32
	var method, statement atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		method.Store(r.Method)
		statement.Store(r.URL.Query().Get("q"))
		_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["a"]]}]}]}` + "\n"))
	}))
	defer srv.Close()
	ds := newDatasource(t, srv.URL, `{"defaultBucket":"db/autogen"}`, "")
	query := func(refID, queryType, field, text string) backend.DataQuery {
		js, _ := json.Marshal(map[string]string{"queryType": queryType, field: text})
		return backend.DataQuery{RefID: refID, QueryType: queryType, JSON: js,
			TimeRange: backend.TimeRange{From: t0, To: t0.Add(time.Hour)}, Interval: time.Second, MaxDataPoints: 100}
	}
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		query("A", "influxql", "influxql", `SHOW DATABASES; DROP DATABASE "db"`),
		query("B", "influxql", "influxql", `SELECT * INTO "x" FROM "y" WHERE $timeFilter`),
		query("C", "influxql", "influxql", `CREATE USER eve WITH PASSWORD 'p' WITH ALL PRIVILEGES`),
		query("D", "flux", "flux", `from(bucket: v.bucket) |> range(start: v.timeRangeStart) |> to(bucket: "other")`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for refID, want := range map[string]string{
		"A": "query field \"influxql\": statement 2 (line 1, char 17: `DROP DATABASE \"db\"`) is a DROP, not a read",
		"B": "query field \"influxql\": statement 1 (line 1, char 1: `SELECT * INTO \"x\" FROM \"y\" WHERE time >…`) writes with INTO",
		"C": "query field \"influxql\": statement 1 (line 1, char 1: `CREATE USER eve WITH PASSWORD 'p' WITH …`) is a CREATE",
		"D": `query field "flux": line 1, char 69: to() writes to InfluxDB`,
	} {
		r := resp.Responses[refID]
		if r.Error == nil || !strings.HasPrefix(r.Error.Error(), want) || r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Errorf("%s: %v (%d, %s), want %q", refID, r.Error, r.Status, r.ErrorSource, want)
		}
	}
	if n := sent.Load(); n != 0 {
		t.Fatalf("%d requests reached InfluxDB", n)
	}
	resp, _ = ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		query("E", "influxql", "influxql", `SHOW DATABASES -- ; DROP DATABASE "db"`)}})
	if r := resp.Responses["E"]; r.Error != nil || sent.Load() != 1 || method.Load() != http.MethodGet || statement.Load() != `SHOW DATABASES -- ; DROP DATABASE "db"` {
		t.Fatalf("E: %v, %d requests, %v %q", r.Error, sent.Load(), method.Load(), statement.Load())
	}
}
