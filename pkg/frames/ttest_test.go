package frames

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis/analysistest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
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

// TestTTestFramesFollowReference: every output and the annotations of the
// scipy reference's windows (the reference day, and Welch's edge cases with
// NaN and infinite t) carry exactly scipy's t, p and anomaly decision
// (p < alpha, NaN never anomalous, as Python decides), independently of the
// golden files above, which the code wrote.
func TestTTestFramesFollowReference(t *testing.T) {
	ref := analysistest.LoadReference(t, analysistest.ReferencePath())
	window := time.Duration(ref.WindowSeconds) * time.Second
	out := &ttest.Outcome{}
	var want []analysistest.ReferenceWindow
	for _, field := range datagen.PrinterFields {
		s := &ttest.Series{Field: field}
		for _, w := range ref.Fields[field] {
			s.Ends = append(s.Ends, time.Unix(w.End, 0).UTC())
			s.Results = append(s.Results, analysis.Result{T: w.T, P: w.P, N: w.N})
			want = append(want, w)
		}
		out.Series = append(out.Series, s)
	}
	edge := &ttest.Series{Field: "edge"}
	for i, c := range ref.Welch {
		tv, _ := strconv.ParseFloat(c.T, 64)
		p, _ := strconv.ParseFloat(c.P, 64)
		end := int64(1451606400 + 300*(i+1))
		edge.Ends = append(edge.Ends, time.Unix(end, 0).UTC())
		edge.Results = append(edge.Results, analysis.Result{T: tv, P: p, N: c.N1})
		want = append(want, analysistest.ReferenceWindow{End: end, N: c.N1, T: tv, P: p, Anomalous: p < ref.Alpha})
	}
	out.Series = append(out.Series, edge)

	for _, output := range []models.Output{models.OutputPValue, models.OutputT, models.OutputAnomaly} {
		var i int
		for _, f := range TTest(out, output, ref.Alpha) {
			for row := range f.Rows() {
				w := want[i]
				i++
				wantV := map[models.Output]float64{models.OutputPValue: w.P, models.OutputT: w.T, models.OutputAnomaly: 0}[output]
				if output == models.OutputAnomaly && w.Anomalous {
					wantV = 1
				}
				got := f.Fields[1].At(row).(float64)
				if f.Fields[0].At(row).(time.Time).Unix() != w.End || analysistest.RelErr(got, wantV) != 0 {
					t.Fatalf("%s row %d: %v at %v, scipy %v at %d", output, i, got, f.Fields[0].At(row), wantV, w.End)
				}
			}
		}
		if i != len(want) {
			t.Fatalf("%s: %d rows, scipy %d windows", output, i, len(want))
		}
	}

	ann := TTestAnnotations(out, window, ref.Alpha)[0]
	var regions int
	for _, w := range want {
		if !w.Anomalous {
			continue
		}
		if regions >= ann.Rows() {
			t.Fatalf("only %d annotation regions", ann.Rows())
		}
		start, end := ann.Fields[0].At(regions).(time.Time), ann.Fields[1].At(regions).(time.Time)
		if end.Unix() != w.End || end.Sub(start) != window {
			t.Fatalf("region %d: %s to %s, scipy's anomalous window ends %d", regions, start, end, w.End)
		}
		regions++
	}
	if regions != ann.Rows() || regions < 11 {
		t.Fatalf("%d annotation regions, scipy has %d anomalous windows", ann.Rows(), regions)
	}
}
