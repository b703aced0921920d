package analysis

import (
	"math"
	"testing"
)

func TestUnmeteredWh(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		active float64
		subs   []float64
		want   float64
		ok     bool
	}{
		// Rows of the UCI file: 16/12/2006;17:24:00;4.216;0.418;234.840;18.400;0.000;1.000;17.000
		{"first row of the file", 4.216, []float64{0, 1, 17}, 52.266666666666666, true}, // 4216 Wh/60 = 70.2667, less 18 metered
		{"hand computed", 3.0, []float64{10, 20, 5}, 15, true},
		{"negative when sub-meters exceed", 0.06, []float64{2, 0, 0}, -1, true},
		{"no sub-meters", 1.2, nil, 20, true},
		{"row written with ?", nan, []float64{nan, nan, nan}, 0, false},
		{"one sub-meter missing", 4.216, []float64{0, nan, 17}, 0, false},
		{"active power missing", nan, []float64{0, 1, 17}, 0, false},
	}
	for _, tt := range tests {
		got, ok := UnmeteredWh(tt.active, tt.subs...)
		if ok != tt.ok || (ok && math.Abs(got-tt.want) > 1e-12*math.Max(1, math.Abs(tt.want))) {
			t.Errorf("%s: got %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
