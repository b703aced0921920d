package e2e

import (
	"context"
	"fmt"
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
