package frames

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// chunks decodes InfluxQL series as the chunked /query answer carries them.
func chunks(t *testing.T, raw string) []influx.Series {
	t.Helper()
	dec := json.NewDecoder(stringsReader(raw))
	dec.UseNumber()
	var out []influx.Series
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInfluxQLGolden: a GROUP BY time, * answer split over two chunks (the
// second continues the first series), with two value columns and a null,
// gives one timeseries-multi frame per column and tag set; a SHOW answer
// gives a table.
func TestInfluxQLGolden(t *testing.T) {
	for name, raw := range map[string]string{
		"influxql-series": `[
			{"Name":"temperatures","Tags":{"printer":"mk3"},"Columns":["time","mean","max"],"Values":[[1451606400000000000,200.5,201],[1451606460000000000,null,202.25]]},
			{"Name":"temperatures","Tags":{"printer":"mk3"},"Columns":["time","mean","max"],"Values":[[1451606520000000000,199.75,200]]},
			{"Name":"temperatures","Tags":{"printer":"mk4"},"Columns":["time","mean","max"],"Values":[[1451606400000000000,180,181.5]]}]`,
		"influxql-table": `[
			{"Name":"measurements","Columns":["name"],"Values":[["power"],["temperatures"]]},
			{"Name":"temperatures","Columns":["fieldKey","fieldType"],"Values":[["air","float"],["on","boolean"]]}]`,
	} {
		t.Run(name, func(t *testing.T) {
			b := &InfluxQL{MaxPoints: 100}
			for _, s := range chunks(t, raw) {
				if err := b.Add(s); err != nil {
					t.Fatal(err)
				}
			}
			fr, err := b.Frames("SELECT ...")
			if err != nil {
				t.Fatal(err)
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", name, &backend.DataResponse{Frames: fr}, *update)
		})
	}
}

func TestInfluxQLMaxPoints(t *testing.T) {
	b := &InfluxQL{MaxPoints: 3}
	s := chunks(t, `[{"Name":"m","Columns":["time","v"],"Values":[[1,1],[2,2]]}]`)[0]
	if err := b.Add(s); err != nil {
		t.Fatal(err)
	}
	var tooMany *models.TooManyPointsError
	if err := b.Add(s); !errors.As(err, &tooMany) {
		t.Fatalf("4 values over a guard of 3: %v", err)
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
