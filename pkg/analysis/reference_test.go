package analysis

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis/analysistest"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

const relTol = analysistest.Tol

var (
	RelErr = analysistest.RelErr
	TErr   = analysistest.TErr
	PErr   = analysistest.PErr
)

type ReferenceWindow = analysistest.ReferenceWindow

func TestWelchAgainstScipy(t *testing.T) {
	ref := analysistest.LoadReference(t, analysistest.ReferencePath())
	for _, c := range ref.Welch {
		wantT, _ := strconv.ParseFloat(c.T, 64)
		wantP, _ := strconv.ParseFloat(c.P, 64)
		gotT, gotP := Welch(c.Mean1, c.Std1, c.N1, c.Mean2, c.Std2, c.N2)
		if RelErr(gotT, wantT) > relTol || RelErr(gotP, wantP) > relTol {
			t.Errorf("Welch(%v, %v, %d, %v, %v, %d) = (%v, %v), scipy (%v, %v)",
				c.Mean1, c.Std1, c.N1, c.Mean2, c.Std2, c.N2, gotT, gotP, wantT, wantP)
		}
	}
}

// TestDetectorAgainstReference replays the full reference day through the
// point detector and compares every emitted window with scipy's.
func TestDetectorAgainstReference(t *testing.T) {
	ref := analysistest.LoadReference(t, analysistest.ReferencePath())
	all := runPrinter(t, ref)
	worst := 0.0
	for _, field := range datagen.PrinterFields {
		got, want := all[field], ref.Fields[field]
		if len(got) != len(want) {
			t.Fatalf("%s: %d windows, reference %d", field, len(got), len(want))
		}
		for i := range want {
			g, r := got[i], want[i]
			e := math.Max(RelErr(g.T, r.T), RelErr(g.P, r.P))
			worst = math.Max(worst, e)
			if g.End != r.End || g.N != r.N || g.Anomalous != r.Anomalous || e > relTol {
				t.Fatalf("%s window %d: got %+v, reference %+v (rel err %.3g)", field, i, g, r, e)
			}
		}
	}
	t.Logf("worst relative error against scipy over %d points x 3 fields: %.3g", ref.Points, worst)
}

// runPrinter runs the point detector over the reference data, per field.
func runPrinter(t *testing.T, ref analysistest.Reference) map[string][]ReferenceWindow {
	pts := analysistest.ReferencePrinter(t, ref)
	width := ref.WindowSeconds * int64(time.Second)
	out := map[string][]ReferenceWindow{}
	for fi, field := range datagen.PrinterFields {
		w := Windows{Detector: NewDetector(Config{History: ref.History, Alpha: ref.Alpha}), Width: width}
		for _, p := range pts {
			if r, end, ok := w.Add(p.Time.UnixNano(), p.Values[fi]); ok {
				out[field] = append(out[field], ReferenceWindow{End: end / int64(time.Second), N: r.N, T: r.T, P: r.P, Anomalous: r.Anomalous(ref.Alpha)})
			}
		}
	}
	return out
}

// TestSeededAnomaliesAreFound checks the alerts reference.md expects.
func TestSeededAnomaliesAreFound(t *testing.T) {
	ref := analysistest.LoadReference(t, analysistest.ReferencePath())
	all := runPrinter(t, ref)
	day := int64(1451606400)
	for field, hour := range map[string]int64{"hotend": 1, "bed": 8, "air": 12} {
		found := false
		for _, w := range all[field] {
			if w.Anomalous && w.End > day+hour*3600 && w.End <= day+hour*3600+3600 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no anomaly in hour %d", field, hour)
		}
	}
}
