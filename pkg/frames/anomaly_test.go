package frames

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/dataplane"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// anomalyOutcome: two series, one with an anomalous window, one scoring
// +Inf (a baseline without spread) and one NaN (no verdict).
func anomalyOutcome() *ttest.Outcome {
	end := time.Date(2016, 1, 1, 1, 5, 0, 0, time.UTC)
	nan := math.NaN()
	return &ttest.Outcome{
		Mode: models.ModePoints, Scripts: []string{"probe script", "points script"},
		Lookback: 2 * time.Hour, PointsRead: 1234, State: ttest.StateCold,
		Series: []*ttest.Series{
			{Field: "bed", Ends: []time.Time{end, end.Add(5 * time.Minute), end.Add(10 * time.Minute)},
				Means: []float64{60.5, 71, 60},
				Verdicts: []analysis.Verdict{
					{Score: 0.25, Expected: 60, Lower: 58, Upper: 62, P: nan, T: nan},
					{Score: 5.5, Expected: 60, Lower: 58, Upper: 62, P: nan, T: nan},
					{Score: nan, Expected: 60, Lower: 60, Upper: 60, P: nan, T: nan},
				}},
			{Field: "hotend", Tags: map[string]string{"printer": "mk3", "field": "shadowed"}, Ends: []time.Time{end},
				Means:    []float64{215},
				Verdicts: []analysis.Verdict{{Score: math.Inf(1), Expected: 210, Lower: 210, Upper: 210, P: nan, T: nan}}},
		},
	}
}

// TestAnomalyFramesGolden: every output's frames, as Grafana receives them
// (JSON), against golden files.
func TestAnomalyFramesGolden(t *testing.T) {
	out := anomalyOutcome()
	for _, output := range []models.Output{models.OutputScore, models.OutputAnomaly, models.OutputExpected, models.OutputBand, models.OutputPValue} {
		t.Run(string(output), func(t *testing.T) {
			experimental.CheckGoldenJSONResponse(t, "testdata", "anomaly-"+string(output),
				&backend.DataResponse{Frames: Anomaly(out, output)}, *update)
		})
	}
	t.Run("no data", func(t *testing.T) {
		empty := &ttest.Outcome{Mode: models.ModeWindows, Notices: []string{"no data for measurement \"x\""}}
		experimental.CheckGoldenJSONResponse(t, "testdata", "anomaly-nodata",
			&backend.DataResponse{Frames: Anomaly(empty, models.OutputScore)}, *update)
	})
	t.Run("annotations", func(t *testing.T) {
		experimental.CheckGoldenJSONResponse(t, "testdata", "anomaly-annotations",
			&backend.DataResponse{Frames: AnomalyAnnotations(out, 5*time.Minute, models.DetectorZScore)}, *update)
	})
}

// TestAnomalyFramesShape: per output, one frame per series with the
// t-test's type and labels, the fields the contract names, the values the
// verdicts give, and the preview's counts in meta.custom; the single-valued
// outputs are what alerting reads (the data plane checker).
func TestAnomalyFramesShape(t *testing.T) {
	out := anomalyOutcome()
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		output models.Output
		fields []string
		bed    [][]float64 // per number field, the bed series' rows
		hotend float64     // the first field's value for hotend
	}{
		{models.OutputScore, []string{"score"}, [][]float64{{0.25, 5.5, nan}}, inf},
		{models.OutputAnomaly, []string{"anomaly"}, [][]float64{{0, 1, 0}}, 1},
		{models.OutputExpected, []string{"expected"}, [][]float64{{60, 60, 60}}, 210},
		{models.OutputPValue, []string{"pvalue"}, [][]float64{{nan, nan, nan}}, nan},
		{models.OutputT, []string{"t"}, [][]float64{{nan, nan, nan}}, nan},
		{models.OutputBand, bandFields, [][]float64{{60.5, 71, 60}, {60, 60, 60}, {58, 58, 60}, {62, 62, 60}}, 215},
	} {
		t.Run(string(tc.output), func(t *testing.T) {
			fs := Anomaly(out, tc.output)
			if len(fs) != 2 {
				t.Fatalf("%d frames, want one per series", len(fs))
			}
			for i, f := range fs {
				if f.Meta.Type != data.FrameTypeTimeSeriesMulti || len(f.Fields) != 1+len(tc.fields) || f.Fields[0].Name != "Time" {
					t.Fatalf("frame %d: type %s, %d fields", i, f.Meta.Type, len(f.Fields))
				}
				for j, name := range tc.fields {
					fd := f.Fields[1+j]
					if fd.Name != name || fd.Labels[FieldLabel] != out.Series[i].Field {
						t.Fatalf("frame %d field %d: %s %v, want %s labelled field=%s", i, j, fd.Name, fd.Labels, name, out.Series[i].Field)
					}
				}
			}
			if l := fs[1].Fields[1].Labels; l["printer"] != "mk3" || l[FieldLabel] != "hotend" {
				t.Fatalf("hotend labels %v", l)
			}
			for j, col := range tc.bed {
				for row, want := range col {
					if got := fs[0].Fields[1+j].At(row).(float64); !sameValue(got, want) {
						t.Errorf("bed %s row %d: %v, want %v", tc.fields[j], row, got, want)
					}
				}
			}
			if got := fs[1].Fields[1].At(0).(float64); !sameValue(got, tc.hotend) {
				t.Errorf("hotend %s: %v, want %v", tc.fields[0], got, tc.hotend)
			}
			for i, want := range [][2]int{{3, 1}, {1, 1}} {
				c := fs[i].Meta.Custom.(map[string]any)
				if c["windows"] != want[0] || c["anomalousWindows"] != want[1] || c["pointsRead"] != int64(1234) || c["state"] != ttest.StateCold {
					t.Errorf("frame %d meta.custom %v, want windows %d anomalousWindows %d", i, c, want[0], want[1])
				}
			}
			if tc.output != models.OutputBand {
				if _, err := dataplane.Read(fs); err != nil {
					t.Errorf("alerting cannot read the %s frames: %v", tc.output, err)
				}
			}
		})
	}
}

func sameValue(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// TestAnomalyInfTravels: a +Inf score reaches Grafana as +Inf both ways the
// backend's frames travel: Arrow (plugin to Grafana, what alert rules
// evaluate) keeps the float64 as it is, and the JSON to the browser writes
// null with the row in entities.Inf, which the front end restores.
func TestAnomalyInfTravels(t *testing.T) {
	f := Anomaly(anomalyOutcome(), models.OutputScore)[1]
	b, err := f.MarshalArrow()
	if err != nil {
		t.Fatal(err)
	}
	back, err := data.UnmarshalArrowFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	if v := back.Fields[1].At(0).(float64); !math.IsInf(v, 1) {
		t.Fatalf("through Arrow: %v, want +Inf", v)
	}
	js, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var decoded data.Frame
	if err := json.Unmarshal(js, &decoded); err != nil {
		t.Fatal(err)
	}
	if v := decoded.Fields[1].At(0).(float64); !math.IsInf(v, 1) {
		t.Fatalf("through JSON %s: %v, want +Inf", js, v)
	}
}

// TestAnomalyLiveFrame: a poll's frame holds every series of the channel
// in wide form, null where a series has no window; band gives four fields
// per series.
func TestAnomalyLiveFrame(t *testing.T) {
	out := anomalyOutcome()
	f := AnomalyLive(out.Series, models.OutputScore)
	if f.Meta.Type != data.FrameTypeTimeSeriesWide || len(f.Fields) != 3 || f.Rows() != 3 {
		t.Fatalf("type %s, %d fields, %d rows", f.Meta.Type, len(f.Fields), f.Rows())
	}
	if v := f.Fields[2].At(1).(*float64); v != nil {
		t.Fatalf("hotend has no window at row 1, got %v", *v)
	}
	if v := f.Fields[1].At(1).(*float64); v == nil || *v != 5.5 {
		t.Fatalf("bed row 1: %v, want 5.5", v)
	}
	band := AnomalyLive(out.Series, models.OutputBand)
	if len(band.Fields) != 1+2*len(bandFields) || band.Fields[1].Name != "value" || band.Fields[8].Name != "upper" {
		t.Fatalf("band live: %d fields", len(band.Fields))
	}
}
