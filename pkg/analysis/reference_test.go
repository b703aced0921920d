package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

// relTol is the agreement required with scipy and between Vigil's own paths.
const relTol = 1e-9

// Reference is testdata/reference_ttest.json, written by reference_ttest.py.
type Reference struct {
	InputSHA256   string                       `json:"input_sha256"`
	Points        int                          `json:"points"`
	WindowSeconds int64                        `json:"window_seconds"`
	History       int                          `json:"history"`
	Alpha         float64                      `json:"alpha"`
	Fields        map[string][]ReferenceWindow `json:"fields"`
	Welch         []struct {
		Mean1 float64 `json:"mean1"`
		Std1  float64 `json:"std1"`
		N1    int     `json:"n1"`
		Mean2 float64 `json:"mean2"`
		Std2  float64 `json:"std2"`
		N2    int     `json:"n2"`
		T     string  `json:"t"`
		P     string  `json:"p"`
	} `json:"welch"`
}

// ReferenceWindow is one window the reference UDF emitted.
type ReferenceWindow struct {
	End       int64   `json:"end"`
	N         int     `json:"n"`
	T         float64 `json:"t"`
	P         float64 `json:"p"`
	Anomalous bool    `json:"anomalous"`
}

// LoadReference reads the scipy reference; other packages' tests use it too.
func LoadReference(t testing.TB, path string) Reference {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ref Reference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// RelErr is |a-b|/|b| (|a-b| when b is 0); equal infinities and NaNs agree.
func RelErr(a, b float64) float64 {
	switch {
	case math.IsNaN(a) && math.IsNaN(b), a == b:
		return 0
	case b == 0:
		return math.Abs(a)
	}
	return math.Abs(a-b) / math.Abs(b)
}

// TErr is the error of a t statistic: relative, or absolute when |t| < 1.
func TErr(a, b float64) float64 {
	if math.Abs(b) < 1 && !math.IsNaN(a) && !math.IsNaN(b) {
		return math.Abs(a - b)
	}
	return RelErr(a, b)
}

// PErr is the error of a p-value: relative, or the relative error of ln p when
// p < 1e-30. Two computations of the same window that round the history
// mean differently by ε give t's that differ by ~t·ε and p's whose relative
// difference is ~t²·ε, which passes 1e-9 near p = 1e-200 even at ε = 1e-13;
// ln p keeps the agreement measurable in that range.
func PErr(a, b float64) float64 {
	if b < 1e-30 && a > 0 && b > 0 {
		return RelErr(math.Log(a), math.Log(b))
	}
	return RelErr(a, b)
}

// ReferencePrinter regenerates the reference data set and checks that it is
// byte for byte the one the reference was computed from.
func ReferencePrinter(t testing.TB, ref Reference) []datagen.PrinterPoint {
	t.Helper()
	gen := datagen.NewPrinter(time.Unix(1451606400, 0).UTC(), 1)
	pts := make([]datagen.PrinterPoint, ref.Points)
	h := sha256.New()
	for i := range pts {
		pts[i] = gen.Next()
		h.Write([]byte(pts[i].CSV() + "\n"))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != ref.InputSHA256 {
		t.Fatalf("the generated printer data (sha256 %s) is not the data the reference used (%s): rerun reference_ttest.py", got, ref.InputSHA256)
	}
	return pts
}

func TestWelchAgainstScipy(t *testing.T) {
	ref := LoadReference(t, "testdata/reference_ttest.json")
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
	ref := LoadReference(t, "testdata/reference_ttest.json")
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
func runPrinter(t *testing.T, ref Reference) map[string][]ReferenceWindow {
	pts := ReferencePrinter(t, ref)
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
	ref := LoadReference(t, "testdata/reference_ttest.json")
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
