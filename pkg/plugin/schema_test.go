package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

func getResource(t *testing.T, ds *Datasource, path string, params url.Values, out any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	ds.newResourceHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path+"?"+params.Encode(), nil))
	if out != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, rec.Body.String())
		}
	}
	return rec.Code
}

// TestSchemaResources: the pickers' endpoints list what InfluxDB holds, with
// names that carry quotes, backslashes, commas and spaces intact.
func TestSchemaResources(t *testing.T) {
	seed(t)
	ctx := context.Background()
	if err := influxDB.CreateDatabase(ctx, "schema"); err != nil {
		t.Fatal(err)
	}
	const (
		meas  = `te"mp\s, 'x'`
		field = `ho"t\end`
		key   = `pr"inter\k`
		value = `m'k"3\v, a`
	)
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	ts := time.Unix(1451606400, 0)
	if err := c.Write(ctx, "schema/autogen",
		influxdb2.NewPoint(meas, map[string]string{key: value}, map[string]any{field: 1.5, "state": "ok"}, ts),
		influxdb2.NewPoint(meas, map[string]string{key: "plain"}, map[string]any{field: 2.5}, ts),
		influxdb2.NewPoint("other", nil, map[string]any{"v": int64(1)}, ts),
	); err != nil {
		t.Fatal(err)
	}
	ds := newDatasource(t, influxDB.URL, `{"defaultBucket":"schema/autogen"}`, influxDB.Token())

	var measurements []string
	if code := getResource(t, ds, "/measurements", nil, &measurements); code != 200 || !reflect.DeepEqual(measurements, []string{"other", meas}) {
		t.Fatalf("measurements: %d %q", code, measurements)
	}
	var fields []influx.FieldKey
	if code := getResource(t, ds, "/fields", url.Values{"measurement": {meas}}, &fields); code != 200 ||
		!reflect.DeepEqual(fields, []influx.FieldKey{{Name: field, Type: "float"}, {Name: "state", Type: "string"}}) {
		t.Fatalf("fields: %d %+v", code, fields)
	}
	var keys []string
	if code := getResource(t, ds, "/tag-keys", url.Values{"measurement": {meas}}, &keys); code != 200 || !reflect.DeepEqual(keys, []string{key}) {
		t.Fatalf("tag keys: %d %q", code, keys)
	}
	var values []string
	if code := getResource(t, ds, "/tag-values", url.Values{"measurement": {meas}, "key": {key}}, &values); code != 200 || !reflect.DeepEqual(values, []string{value, "plain"}) {
		t.Fatalf("tag values: %d %q", code, values)
	}
	// Names that do not exist, newlines included, give empty lists: no
	// injection, no error.
	for _, m := range []string{"nope", "te\"mp\ns", `x" ; DROP DATABASE "schema`} {
		var none []string
		if code := getResource(t, ds, "/tag-keys", url.Values{"measurement": {m}}, &none); code != 200 || len(none) != 0 {
			t.Fatalf("tag keys of %q: %d %q", m, code, none)
		}
	}
	if code := getResource(t, ds, "/measurements", nil, &measurements); code != 200 || len(measurements) != 2 {
		t.Fatalf("the database changed: %q", measurements)
	}
	if code := getResource(t, ds, "/tag-values", url.Values{"measurement": {meas}}, nil); code != http.StatusBadRequest {
		t.Fatalf("tag values without key: %d", code)
	}
}
