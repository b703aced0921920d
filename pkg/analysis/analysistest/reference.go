// Package analysistest holds the scipy reference for Vigil's t-test and the
// error measures its tests use; tests in several packages share it.
package analysistest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

// ReferencePath is testdata/reference_ttest.json, wherever the test runs.
func ReferencePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "reference_ttest.json")
}

// Tol is the agreement required with scipy and between Vigil's own paths.
const Tol = 1e-9

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

// RelErr is |a-b|/|b| (|a-b| when b is 0). Equal values, equal infinities
// and two NaNs agree (0); a NaN against a number, or an infinity against
// anything else, is +Inf, so that every tolerance check fails on it (the
// plain formula gives NaN there, and NaN > tol is false).
func RelErr(a, b float64) float64 {
	switch {
	case math.IsNaN(a) && math.IsNaN(b), a == b:
		return 0
	case math.IsNaN(a), math.IsNaN(b), math.IsInf(a, 0), math.IsInf(b, 0):
		return math.Inf(1)
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

// Between is the reference's windows that end in (from, to].
func Between(windows []ReferenceWindow, from, to time.Time) []ReferenceWindow {
	var sel []ReferenceWindow
	for _, w := range windows {
		if w.End > from.Unix() && w.End <= to.Unix() {
			sel = append(sel, w)
		}
	}
	return sel
}
