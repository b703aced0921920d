package frames

import (
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

func TestTTestGolden(t *testing.T) {
	end := time.Date(2016, 1, 1, 1, 5, 0, 0, time.UTC)
	out := &ttest.Outcome{
		Mode:       models.ModePoints,
		Scripts:    []string{"probe script", "points script"},
		Lookback:   2 * time.Hour,
		PointsRead: 1234,
		Series: []*ttest.Series{
			{Field: "bed", Ends: []time.Time{end, end.Add(5 * time.Minute)},
				Results: []analysis.Result{{T: 1.5, P: 0.2, N: 300}, {T: math.NaN(), P: math.NaN(), N: 300}}},
			{Field: "hotend", Tags: map[string]string{"printer": "mk3", "field": "shadowed"}, Ends: []time.Time{end},
				Results: []analysis.Result{{T: 12.25, P: 1e-21, N: 300}}},
		},
	}
	for _, output := range []models.Output{models.OutputPValue, models.OutputT, models.OutputAnomaly} {
		t.Run(string(output), func(t *testing.T) {
			experimental.CheckGoldenJSONResponse(t, "testdata", "ttest-"+string(output),
				&backend.DataResponse{Frames: TTest(out, output, 0.001)}, *update)
		})
	}
	t.Run("no data", func(t *testing.T) {
		empty := &ttest.Outcome{Mode: models.ModeWindows, Notices: []string{"no data for measurement \"x\""}}
		experimental.CheckGoldenJSONResponse(t, "testdata", "ttest-nodata",
			&backend.DataResponse{Frames: TTest(empty, models.OutputPValue, 0.001)}, *update)
	})
}

func TestTTestAnnotationsGolden(t *testing.T) {
	end := time.Date(2016, 1, 1, 1, 5, 0, 0, time.UTC)
	out := &ttest.Outcome{Scripts: []string{"s"}, Series: []*ttest.Series{
		{Field: "hotend", Ends: []time.Time{end, end.Add(5 * time.Minute)},
			Results: []analysis.Result{{T: 12.25, P: 1e-21, N: 300}, {T: 0.5, P: 0.6, N: 300}}},
	}}
	experimental.CheckGoldenJSONResponse(t, "testdata", "ttest-annotations",
		&backend.DataResponse{Frames: TTestAnnotations(out, 5*time.Minute, 0.001)}, *update)
}
