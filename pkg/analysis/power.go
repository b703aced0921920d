package analysis

import "math"

// UnmeteredWh is the energy, in Wh, consumed during one minute by equipment
// that no sub-meter measures (reference.md, section 1):
//
//	activePower · 1000 / 60 − Σ subMeters
//
// activePower is the minute's average power in kW, each sub-meter the
// minute's energy in Wh. A missing input (NaN) makes the point missing:
// ok is false, and it is never read as 0.
func UnmeteredWh(activePower float64, subMeters ...float64) (wh float64, ok bool) {
	if math.IsNaN(activePower) {
		return 0, false
	}
	wh = activePower * 1000 / 60
	for _, s := range subMeters {
		if math.IsNaN(s) {
			return 0, false
		}
		wh -= s
	}
	return wh, true
}
