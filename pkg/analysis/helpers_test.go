package analysis

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// loadReference decodes testdata/name, a reference written by one of the
// testdata/reference_*.py scripts, into v; any failure stops the test.
func loadReference(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// parseFloat reads a float the references store as a string (so that
// +Inf, NaN and every bit of a double survive JSON); a bad string stops
// the test.
func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// parseFloats is parseFloat over several strings.
func parseFloats(t *testing.T, ss ...string) []float64 {
	t.Helper()
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = parseFloat(t, s)
	}
	return out
}
