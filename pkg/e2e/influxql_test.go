package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// TestInfluxQLQueryAsPanel: a raw InfluxQL panel query with Grafana's macros
// answers, on InfluxDB with Flux on and with Flux off, one timeseries-multi
// frame per column and series whose values are exactly what InfluxDB
// computes for the expanded statement; a SHOW statement gives a table; a
// broken statement fails alone with a downstream error.
func TestInfluxQLQueryAsPanel(t *testing.T) {
	needServers(t)
	from, to := dayAgo.Add(2*time.Hour), dayAgo.Add(4*time.Hour)
	stmt := `SELECT mean("hotend") AS "hotend", max("bed") FROM "temperatures" WHERE $timeFilter GROUP BY time($__interval) fill(none)`
	// 2 h over 1,000 points: Grafana's interval is 5 s (7.2 s, rounded down to its step).
	expanded := fmt.Sprintf(`SELECT mean("hotend") AS "hotend", max("bed") FROM "temperatures" WHERE time >= %dms and time <= %dms GROUP BY time(5s) fill(none)`,
		from.UnixMilli(), to.UnixMilli())
	var want [][]any
	if err := scenario.QueryInfluxQL(context.Background(), influxDB, "printer", expanded, func(_ []string, v []any) { want = append(want, v) }); err != nil {
		t.Fatal(err)
	}
	if len(want) < 1400 {
		t.Fatalf("only %d rows from InfluxDB", len(want))
	}
	for _, ds := range []string{dsMain, dsNoFlux} {
		resp := panelQuery(t, ds, from, to,
			map[string]any{"refId": "A", "queryType": "influxql", "bucket": "printer/autogen", "influxql": stmt},
			map[string]any{"refId": "B", "queryType": "influxql", "bucket": "printer/autogen", "influxql": `SHOW FIELD KEYS FROM "temperatures"`},
			map[string]any{"refId": "C", "queryType": "influxql", "bucket": "printer/autogen", "influxql": `SELECT nonsense( FROM x`})
		a := resp.Responses["A"]
		if a.Error != nil || len(a.Frames) != 2 {
			t.Fatalf("%s A: %v, %d frames", ds, a.Error, len(a.Frames))
		}
		for c, f := range a.Frames {
			if f.Meta.Type != "timeseries-multi" || f.Meta.ExecutedQueryString != expanded || f.Fields[1].Name != []string{"hotend", "max"}[c] {
				t.Fatalf("%s A frame %d: %s %q %q", ds, c, f.Meta.Type, f.Meta.ExecutedQueryString, f.Fields[1].Name)
			}
			if f.Rows() != len(want) {
				t.Fatalf("%s A frame %d: %d rows, InfluxDB has %d", ds, c, f.Rows(), len(want))
			}
			for i := range f.Rows() {
				ns, _ := influx.Number(want[i][0])
				x, _ := influx.Number(want[i][c+1])
				got, _ := f.Fields[1].ConcreteAt(i)
				if !f.Fields[0].At(i).(time.Time).Equal(time.Unix(0, int64(ns))) || got != x {
					t.Fatalf("%s A frame %d row %d: %v %v, want %v %v", ds, c, i, f.Fields[0].At(i), got, ns, x)
				}
			}
		}
		if b := resp.Responses["B"]; b.Error != nil || len(b.Frames) != 1 || b.Frames[0].Meta.Type != "table" || b.Frames[0].Rows() != 3 {
			t.Fatalf("%s B: %v %v", ds, b.Error, b.Frames)
		}
		if c := resp.Responses["C"]; c.Error == nil || !strings.Contains(c.Error.Error(), "InfluxDB rejected the query") || c.ErrorSource != backend.ErrorSourceDownstream {
			t.Fatalf("%s C: %v (%s)", ds, c.Error, c.ErrorSource)
		}
	}
}

// TestRawQueriesCannotWrite: through the built plugin, with a data source
// whose InfluxDB user is an admin, raw queries that would drop or create a
// database, drop a measurement, create an admin user, write with SELECT
// INTO, hide a DROP after a SELECT, or write with Flux's to() each get a
// per-query error naming the field, while the reads beside them answer; and
// InfluxDB shows afterwards that nothing changed.
func TestRawQueriesCannotWrite(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	const db = "readonly_canary"
	if err := influxDB.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = influxDB.Exec(ctx, `DROP DATABASE "`+db+`"`) }()
	if err := writeNs(ctx, db+"/autogen", "m,host=a v=1 1000000000", "m,host=a v=2 2000000000"); err != nil {
		t.Fatal(err)
	}
	ql := func(refID, statement string) map[string]any {
		return map[string]any{"refId": refID, "queryType": "influxql", "bucket": db + "/autogen", "influxql": statement}
	}
	resp := panelQuery(t, dsMain, time.Unix(0, 0), time.Unix(3, 0),
		ql("A", `DROP DATABASE "`+db+`"`),
		ql("B", `CREATE DATABASE "readonly_created"`),
		ql("C", `DROP MEASUREMENT "m"`),
		ql("D", `CREATE USER eve WITH PASSWORD 'eve-secret-1' WITH ALL PRIVILEGES`),
		ql("E", `SELECT * INTO "copy" FROM "m" GROUP BY *`),
		ql("F", "SELECT * FROM \"m\" WHERE $timeFilter;\n\tdrop /* hidden */ database \""+db+"\""),
		map[string]any{"refId": "G", "queryType": "flux", "flux": `from(bucket: "` + db + `/autogen") |> range(start: 0) |> set(key: "_measurement", value: "copied") |> to(bucket: "` + db + `/autogen")`},
		ql("R", `SELECT count("v") FROM "m"; SHOW DATABASES`),
	)
	for refID, want := range map[string]string{
		"A": `query field "influxql": statement 1 (line 1, char 1: ` + "`DROP DATABASE \"" + db + "\"`) is a DROP, not a read",
		"B": `query field "influxql": statement 1 (line 1, char 1: ` + "`CREATE DATABASE \"readonly_created\"`) is a CREATE",
		"C": `query field "influxql": statement 1 (line 1, char 1: ` + "`DROP MEASUREMENT \"m\"`) is a DROP",
		"D": `query field "influxql": statement 1 (line 1, char 1: ` + "`CREATE USER eve WITH PASSWORD 'eve-secr…`) is a CREATE",
		"E": `query field "influxql": statement 1 (line 1, char 1: ` + "`SELECT * INTO \"copy\" FROM \"m\" GROUP BY *`) writes with INTO",
		"F": `query field "influxql": statement 2 (line 2, char 2: ` + "`drop /* hidden */ database \"readonly_ca…`) is a DROP",
		"G": `query field "flux": line 1, char 108: to() writes to InfluxDB`,
	} {
		r := resp.Responses[refID]
		if r.Error == nil || !strings.HasPrefix(r.Error.Error(), want) || r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Errorf("%s: %v (%d %s), want %q", refID, r.Error, r.Status, r.ErrorSource, want)
		}
	}
	if r := resp.Responses["R"]; r.Error != nil || len(r.Frames) != 2 {
		t.Errorf("R: %v, %d frames", r.Error, len(r.Frames))
	}

	// InfluxDB itself, asked directly: nothing changed.
	names := func(database, statement string) map[string]bool {
		got := map[string]bool{}
		if err := scenario.QueryInfluxQL(ctx, influxDB, database, statement, func(_ []string, v []any) {
			got[fmt.Sprint(v[0])] = true
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if dbs := names("", "SHOW DATABASES"); !dbs[db] || dbs["readonly_created"] {
		t.Errorf("databases: %v", dbs)
	}
	if ms := names(db, "SHOW MEASUREMENTS"); len(ms) != 1 || !ms["m"] {
		t.Errorf("measurements of %s: %v", db, ms)
	}
	if users := names("", "SHOW USERS"); users["eve"] {
		t.Errorf("users: %v", users)
	}
	var n any
	if err := scenario.QueryInfluxQL(ctx, influxDB, db, `SELECT count("v") FROM "m"`, func(_ []string, v []any) { n = v[1] }); err != nil || fmt.Sprint(n) != "2" {
		t.Errorf("points of m: %v %v", n, err)
	}
}

// TestGETAloneDoesNotStopWrites: Vigil sends raw InfluxQL by GET, as
// Grafana does, but InfluxDB 1.8 still runs a write sent so (it only adds a
// "deprecated use ... in a read only context" warning to the answer): the
// client path, which has no read-only check of its own, creates a database
// by GET. Vigil's check before sending is what refuses writes; a read-only
// InfluxDB user is the guard behind it.
func TestGETAloneDoesNotStopWrites(t *testing.T) {
	needServers(t)
	ctx := context.Background()
	const db = "readonly_by_get"
	defer func() { _ = influxDB.Exec(ctx, `DROP DATABASE "`+db+`"`) }()
	var methods []string
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token(), HTTPClient: &http.Client{
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			methods = append(methods, r.Method+" "+r.URL.Query().Get("q"))
			return http.DefaultTransport.RoundTrip(r)
		})}})
	defer c.Close()
	if err := c.InfluxQL(ctx, "", `CREATE DATABASE "`+db+`"`, func(influx.Series) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(methods) != 1 || methods[0] != `GET CREATE DATABASE "`+db+`"` {
		t.Fatalf("sent %q, want one GET with the statement in the URL", methods)
	}
	found := false
	if err := scenario.QueryInfluxQL(ctx, influxDB, "", "SHOW DATABASES", func(_ []string, v []any) { found = found || v[0] == db }); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("InfluxDB refused a CREATE DATABASE sent by GET: update the README's Security section (GET would then guard too)")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
