package dataplane_test

import (
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/dataplane"
	"github.com/vigil/vigil-anomaly-datasource/pkg/frames"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/power"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// TestVigilFrames runs the checker over the frames Vigil's own builders make
// for the t-test and power queries, which alert rules read.
func TestVigilFrames(t *testing.T) {
	end := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	ends := []time.Time{end.Add(-10 * time.Minute), end.Add(-5 * time.Minute), end}
	results := []analysis.Result{{T: 0.1, P: 0.5, N: 300}, {T: 9, P: 1e-12, N: 300}, {T: 0.2, P: 0.4, N: 300}}
	ttestOut := &ttest.Outcome{Series: []*ttest.Series{
		{Field: "hotend", Ends: ends, Results: results},
		{Field: "bed", Ends: ends, Results: results},
		{Field: "bed", Tags: map[string]string{"printer": "b"}, Ends: ends[:2], Results: results[:2]},
	}}
	tests := []struct {
		name   string
		frames func() data.Frames
		series []string // the label sets, in order
	}{
		{"ttest pvalue", func() data.Frames { return frames.TTest(ttestOut, models.OutputPValue, 0.001) }, []string{"field=hotend", "field=bed", "field=bed, printer=b"}},
		{"ttest anomaly", func() data.Frames { return frames.TTest(ttestOut, models.OutputAnomaly, 0.001) }, []string{"field=hotend", "field=bed", "field=bed, printer=b"}},
		{"ttest without data", func() data.Frames {
			return frames.TTest(&ttest.Outcome{Notices: []string{"no data"}}, models.OutputPValue, 0.001)
		}, []string{""}},
		{"power", func() data.Frames {
			return frames.Power(&power.Outcome{Times: ends, Values: []float64{1, 5, 2}, Every: time.Minute})
		}, []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := tc.frames()
			resp, err := dataplane.Read(fs)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Series) != len(tc.series) {
				t.Fatalf("%d series, want %d", len(resp.Series), len(tc.series))
			}
			for i, s := range resp.Series {
				if got := s.Labels.String(); got != tc.series[i] {
					t.Errorf("series %d labels {%s}, want {%s}", i, got, tc.series[i])
				}
			}
		})
	}
}
