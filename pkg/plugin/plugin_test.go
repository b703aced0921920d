package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
)

var influxDB *devenv.InfluxDB

func TestMain(m *testing.M) {
	os.Exit(devenv.RunWithInfluxDB(m, &influxDB))
}

// t0 is the start of the test data: 2016-01-01, like the reference printer data.
var t0 = time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)

// seedOnce writes the test points once per test binary.
var seeded bool

// testPoints: two fields on two hosts, one point per second for 10 s.
func testPoints() []*write.Point {
	var pts []*write.Point
	for _, host := range []string{"a", "b"} {
		for s := 0; s < 10; s++ {
			pts = append(pts, influxdb2.NewPoint("temperatures",
				map[string]string{"host": host},
				map[string]any{"hotend": 220 + float64(s)/8, "bed": 90 - float64(s)/4},
				t0.Add(time.Duration(s)*time.Second)))
		}
	}
	return pts
}

func seed(t *testing.T) {
	t.Helper()
	devenv.NeedInfluxDB(t)
	if seeded {
		return
	}
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "vigiltest"); err != nil {
		t.Fatal(err)
	}
	c := influxdb2.NewClient(influxDB.URL, influxDB.Token())
	defer c.Close()
	if err := c.WriteAPIBlocking("", "vigiltest/autogen").WritePoint(ctx, testPoints()...); err != nil {
		t.Fatal(err)
	}
	seeded = true
}

func newDatasource(t testing.TB, url, jsonData, token string) *Datasource {
	t.Helper()
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{
		UID:                     "test",
		URL:                     url,
		JSONData:                json.RawMessage(jsonData),
		DecryptedSecureJSONData: map[string]string{"token": token},
	})
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*Datasource)
	t.Cleanup(ds.Dispose)
	return ds
}

func testDatasource(t *testing.T) *Datasource {
	return newDatasource(t, influxDB.URL, `{"defaultBucket":"vigiltest/autogen","maxPoints":1000}`, influxDB.Token())
}

func fluxQuery(refID, script string) backend.DataQuery {
	js, _ := json.Marshal(map[string]string{"queryType": "flux", "flux": script})
	return backend.DataQuery{RefID: refID, QueryType: "flux", JSON: js, Interval: time.Second, MaxDataPoints: 100,
		TimeRange: backend.TimeRange{From: t0, To: t0.Add(time.Minute)}}
}

const allTemperatures = `from(bucket: v.bucket)
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "temperatures")`

func TestFluxQueryReturnsExactlyThePointsWritten(t *testing.T) {
	seed(t)
	ds := testDatasource(t)
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{fluxQuery("A", allTemperatures)}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	// Expected: one series per (field, host), values as written.
	want := map[string][]float64{}
	for _, p := range testPoints() {
		host, _ := p.TagList()[0].Value, 0
		for _, f := range p.FieldList() {
			key := f.Key + "," + host
			want[key] = append(want[key], f.Value.(float64))
		}
	}
	if len(r.Frames) != len(want) {
		t.Fatalf("got %d frames, want %d", len(r.Frames), len(want))
	}
	for _, f := range r.Frames {
		if f.Meta.Type != data.FrameTypeTimeSeriesMulti {
			t.Errorf("frame type %q", f.Meta.Type)
		}
		if !strings.Contains(f.Meta.ExecutedQueryString, `from(bucket: "vigiltest/autogen")`) ||
			!strings.Contains(f.Meta.ExecutedQueryString, "range(start: 2016-01-01T00:00:00Z, stop: 2016-01-01T00:01:00Z)") {
			t.Errorf("executed query not in meta: %q", f.Meta.ExecutedQueryString)
		}
		value := f.Fields[1]
		key := value.Name + "," + value.Labels["host"]
		vals := want[key]
		if value.Len() != len(vals) {
			t.Fatalf("%s: %d points, want %d", key, value.Len(), len(vals))
		}
		for i, v := range vals {
			got := value.At(i).(*float64)
			ts := f.Fields[0].At(i).(time.Time)
			if *got != v || !ts.Equal(t0.Add(time.Duration(i)*time.Second)) {
				t.Errorf("%s[%d] = %v at %v, want %v at %v", key, i, *got, ts, v, t0.Add(time.Duration(i)*time.Second))
			}
		}
		delete(want, key)
	}
	if len(want) != 0 {
		t.Fatalf("series missing: %v", want)
	}
}

func TestEachQueryKeepsItsOwnError(t *testing.T) {
	seed(t)
	ds := newDatasource(t, influxDB.URL, `{"defaultBucket":"vigiltest/autogen","maxPoints":15}`, influxDB.Token())
	badType := fluxQuery("TYPE", "x")
	badType.QueryType = "nope"
	badType.JSON = []byte(`{"queryType":"nope"}`)
	missingBucket := fluxQuery("BUCKET", allTemperatures)
	missingBucket.JSON = []byte(fmt.Sprintf(`{"queryType":"flux","bucket":"nope/autogen","flux":%q}`, allTemperatures))
	queries := []backend.DataQuery{
		fluxQuery("OK", allTemperatures+` |> filter(fn: (r) => r.host == "a" and r._field == "bed")`),
		fluxQuery("SYNTAX", `from(bucket: v.bucket) |> rangex()`),
		fluxQuery("TOO_MANY", allTemperatures),
		badType,
		missingBucket,
	}
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: queries})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Responses["OK"]; r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Rows() != 10 {
		t.Fatalf("OK: %v, %d frames", r.Error, len(r.Frames))
	}
	for _, tt := range []struct {
		refID   string
		status  backend.Status
		message string
	}{
		{"SYNTAX", backend.StatusBadRequest, "InfluxDB could not run the query"},
		{"TOO_MANY", backend.StatusBadRequest, `more than 15 points (the data source's "Max points")`},
		{"TYPE", backend.StatusBadRequest, `query field "queryType": "nope" is not a Vigil query type`},
		{"BUCKET", backend.StatusBadRequest, "bucket does not exist"},
	} {
		r := resp.Responses[tt.refID]
		if r.Error == nil || !strings.Contains(r.Error.Error(), tt.message) {
			t.Errorf("%s: error %v, want %q", tt.refID, r.Error, tt.message)
			continue
		}
		if r.Status != tt.status || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Errorf("%s: status %d source %q", tt.refID, r.Status, r.ErrorSource)
		}
	}
}

func TestQueryWhenInfluxDBIsDown(t *testing.T) {
	devenv.NeedInfluxDB(t)
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ds := newDatasource(t, fmt.Sprintf("http://127.0.0.1:%d", port), `{"defaultBucket":"vigiltest/autogen"}`, "u:p")
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{fluxQuery("A", allTemperatures)}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error == nil || !strings.Contains(r.Error.Error(), "cannot reach InfluxDB") || r.ErrorSource != backend.ErrorSourceDownstream {
		t.Fatalf("got %v (%s)", r.Error, r.ErrorSource)
	}
}

func TestCheckHealth(t *testing.T) {
	seed(t)
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	const secret = "vigil:wrong-password-9731"
	tests := []struct {
		name, url, jsonData, token string
		status                     backend.HealthStatus
		message                    string
	}{
		{"ok", influxDB.URL, `{"defaultBucket":"vigiltest/autogen"}`, influxDB.Token(), backend.HealthStatusOk,
			`InfluxDB 1.8.10 (1.x) is reachable and bucket "vigiltest/autogen" can be read. InfluxQL answers; Flux answers.`},
		{"empty url", "", `{"defaultBucket":"vigiltest/autogen"}`, secret, backend.HealthStatusError, `setting "url": is empty`},
		{"malformed url", "localhost:8086", `{"defaultBucket":"vigiltest/autogen"}`, secret, backend.HealthStatusError, `setting "url": must start with http`},
		{"negative timeout", influxDB.URL, `{"defaultBucket":"vigiltest/autogen","timeout":-5}`, secret, backend.HealthStatusError, `setting "timeout": must be positive`},
		{"negative max points", influxDB.URL, `{"defaultBucket":"vigiltest/autogen","maxPoints":-5}`, secret, backend.HealthStatusError, `setting "maxPoints": must be positive`},
		{"unreachable", fmt.Sprintf("http://127.0.0.1:%d", port), `{"defaultBucket":"vigiltest/autogen"}`, secret, backend.HealthStatusError, "cannot reach InfluxDB"},
		{"wrong token", influxDB.URL, `{"defaultBucket":"vigiltest/autogen"}`, secret, backend.HealthStatusError, "InfluxDB refused the token (HTTP 401"},
		{"missing token", influxDB.URL, `{"defaultBucket":"vigiltest/autogen"}`, "", backend.HealthStatusError, "InfluxDB refused the token (HTTP 401"},
		{"missing database", influxDB.URL, `{"defaultBucket":"nope/autogen"}`, influxDB.Token(), backend.HealthStatusError, `bucket "nope/autogen" does not exist`},
		{"missing retention policy", influxDB.URL, `{"defaultBucket":"vigiltest/nope"}`, influxDB.Token(), backend.HealthStatusError, `bucket "vigiltest/nope" does not exist`},
		{"injection in bucket name", influxDB.URL, `{"defaultBucket":"x\") |> yield() //"}`, influxDB.Token(), backend.HealthStatusError, `bucket "x\") |> yield() //" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := newDatasource(t, tt.url, tt.jsonData, tt.token)
			res, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("got %v %q, want %v containing %q", res.Status, res.Message, tt.status, tt.message)
			}
			if strings.Contains(res.Message, "wrong-password") || strings.Contains(res.Message, influxDB.Password) {
				t.Fatalf("the message leaks the token: %q", res.Message)
			}
		})
	}
}

// TestEveryQueryTypeShowsItsExecutedQuery: the query inspector gets the
// statements each query type ran.
func TestEveryQueryTypeShowsItsExecutedQuery(t *testing.T) {
	seed(t)
	ds := testDatasource(t)
	queries := []backend.DataQuery{fluxQuery("FLUX", allTemperatures)}
	for refID, model := range map[string]string{
		"TTEST":   `{"queryType":"ttest","measurement":"temperatures","fields":["bed"],"window":"2s","history":4}`,
		"ANOMALY": `{"queryType":"anomaly","detector":"zscore","measurement":"temperatures","fields":["bed"],"window":"2s","history":4}`,
		"POWER":   `{"queryType":"power","measurement":"power"}`,
		"ALERTS":  `{"queryType":"alerts"}`,
	} {
		q := fluxQuery(refID, "")
		q.QueryType, q.JSON = "", []byte(model)
		queries = append(queries, q)
	}
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: queries})
	if err != nil {
		t.Fatal(err)
	}
	for refID, want := range map[string]string{"FLUX": "from(bucket:", "TTEST": `SELECT count("bed"::field)`, "ANOMALY": `SELECT count("bed"::field)`, "POWER": "SELECT count(", "ALERTS": "SELECT * FROM"} {
		r := resp.Responses[refID]
		if r.Error != nil || len(r.Frames) == 0 || !strings.Contains(r.Frames[0].Meta.ExecutedQueryString, want) {
			t.Errorf("%s: error %v, frames %v", refID, r.Error, r.Frames)
		}
	}
}
