package ttest

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// anomalyRequest is fakeRequest set to run detector a.
func anomalyRequest(t *testing.T, req Request, a models.Anomaly) Request {
	t.Helper()
	req, err := WithDetector(req, a)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestAnomalyTTestIsTTest: the anomaly query's ttest detector (TTestModel
// through ModelWindows) answers the ttest query bit for bit: the same
// windows, p and t, read mode, lookback and points read, in every read
// mode, over the whole data and mid-range (the warm-up).
func TestAnomalyTTestIsTTest(t *testing.T) {
	fake := printersFake(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		from, to time.Duration
		mode     models.Mode
	}{
		{"points-all", 0, 3 * time.Hour, models.ModePoints},
		{"windows-all", 0, 3 * time.Hour, models.ModeWindows},
		{"points-mid", 80 * time.Minute, 150*time.Minute + 17*time.Second, models.ModePoints},
		{"windows-mid", 80 * time.Minute, 150*time.Minute + 17*time.Second, models.ModeWindows},
		{"auto-mid", 80 * time.Minute, 150*time.Minute + 17*time.Second, models.ModeAuto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := fakeRequest(day0.Add(tc.from), day0.Add(tc.to), tc.mode)
			want, err := Run(ctx, fake, req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Run(ctx, fake, anomalyRequest(t, req, models.Anomaly{Detector: models.DetectorTTest, Direction: analysis.Both}))
			if err != nil {
				t.Fatal(err)
			}
			if got.Mode != want.Mode || got.Lookback != want.Lookback || got.PointsRead != want.PointsRead || len(got.Series) != len(want.Series) {
				t.Fatalf("anomaly: mode %s lookback %s read %d, %d series; ttest: %s %s %d, %d series",
					got.Mode, got.Lookback, got.PointsRead, len(got.Series), want.Mode, want.Lookback, want.PointsRead, len(want.Series))
			}
			windows := 0
			for i, w := range want.Series {
				g := got.Series[i]
				if g.Field != w.Field || fmt.Sprint(g.Tags) != fmt.Sprint(w.Tags) || len(g.Ends) != len(w.Ends) || g.Results != nil {
					t.Fatalf("series %d: %s %v %d windows, want %s %v %d", i, g.Field, g.Tags, len(g.Ends), w.Field, w.Tags, len(w.Ends))
				}
				for j, r := range w.Results {
					v := g.Verdicts[j]
					if !g.Ends[j].Equal(w.Ends[j]) || !sameFloat(v.P, r.P) || !sameFloat(v.T, r.T) {
						t.Fatalf("%s %v %s: p %v t %v, the ttest query p %v t %v", w.Field, w.Tags, w.Ends[j], v.P, v.T, r.P, r.T)
					}
					if want := math.Max(0, math.Log(r.P)/math.Log(req.Config.Alpha)); !sameFloat(v.Score, want) {
						t.Fatalf("%s %s: score %v, log(p)/log(alpha) = %v", w.Field, w.Ends[j], v.Score, want)
					}
					if v.Anomalous() != r.Anomalous(req.Config.Alpha) {
						t.Fatalf("%s %s: anomalous %v, p < alpha %v", w.Field, w.Ends[j], v.Anomalous(), r.Anomalous(req.Config.Alpha))
					}
					windows++
				}
			}
			if windows == 0 {
				t.Fatal("no windows compared")
			}
		})
	}
}

// sameFloat: bit for bit, NaN equal to NaN.
func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}
