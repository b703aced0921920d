package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

// Num is a number that is written to JSON as null when it is not finite
// (a threshold that detects nothing, a precision without detections).
type Num float64

// MarshalJSON writes null for NaN and ±Inf, which JSON cannot hold.
func (n Num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// UnmarshalJSON reads null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(n))
}

// ReadRows reads a table written as JSON (results/eval.json).
func ReadRows(path string) ([]Row, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []Row
	return rows, json.Unmarshal(b, &rows)
}

// Markdown renders rows as one table: detector × corpus × profile, the
// defaults and the best setting.
func Markdown(rows []Row) string {
	var b strings.Builder
	b.WriteString("| Detector | Corpus | Profile | Setting | NAB score | Threshold | Own threshold | Found | False alarms | Precision | Recall | F1 | Mean delay |\n")
	b.WriteString("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		setting := r.Which // defaults
		if r.Which != "defaults" {
			setting += ": " + r.Setting.String()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d/%d | %d | %s | %s | %s | %s |\n",
			r.Detector, r.Corpus, r.Profile, setting, fixed(r.Score, 1), threshold(r.Threshold), fixed(r.OwnScore, 1),
			r.Found, r.Windows, r.FalseAlarms, fixed(r.Precision, 2), fixed(r.Recall, 2), fixed(r.F1, 2), delay(r.DelaySeconds, r.Found))
	}
	return b.String()
}

func fixed(n Num, prec int) string {
	if math.IsNaN(float64(n)) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, float64(n))
}

func threshold(n Num) string {
	switch {
	case math.IsInf(float64(n), 1) || math.IsNaN(float64(n)):
		return "none" // detecting nothing scores best
	case n == math.MaxFloat64:
		return "max" // only the windows that score +Inf
	}
	return fmt.Sprintf("%.3g", float64(n))
}

// delay is the mean delay to a first detection; none without found windows.
func delay(seconds Num, found int) string {
	if math.IsNaN(float64(seconds)) || found == 0 {
		return "–"
	}
	d := time.Duration(float64(seconds) * float64(time.Second)).Round(time.Minute)
	return strings.TrimSuffix(d.String(), "0s")
}
