//go:build !mage

// Package vigil holds the facts that the Go backend and the front end share:
// the plugin manifest (plugin.json), the defaults (src/defaults.json) and
// the validation rules (src/validation.json). The files are embedded so
// that each fact has exactly one source.
package vigil

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed plugin.json
var pluginJSON []byte

//go:embed src/defaults.json
var defaultsJSON []byte

//go:embed src/validation.json
var validationJSON []byte

// Manifest is the part of plugin.json that the backend reads.
type Manifest struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Executable string `json:"executable"`
}

// SettingsDefaults are the data source settings used when jsonData leaves them unset.
type SettingsDefaults struct {
	TimeoutSeconds      float64 `json:"timeout"`
	MaxPoints           int64   `json:"maxPoints"`
	StateMaxMB          float64 `json:"stateMaxMB"`
	StateHorizonWindows int     `json:"stateHorizonWindows"`
	// KafkaLiveIdleSeconds: a Kafka Live series silent this long (event time) is forgotten.
	KafkaLiveIdleSeconds float64 `json:"kafkaLiveIdleSeconds"`
	// KafkaFutureToleranceSeconds: Kafka points further ahead of the clock are left out.
	KafkaFutureToleranceSeconds float64 `json:"kafkaFutureToleranceSeconds"`
	// AlertHistoryMeasurement is where the alert-history receiver writes
	// (alertHistoryBucket has no constant default: it is the default bucket).
	AlertHistoryMeasurement string `json:"alertHistoryMeasurement"`
}

// QueryDefaults are the values a query gets for the fields it leaves unset.
type QueryDefaults struct {
	QueryType string  `json:"queryType"`
	Window    string  `json:"window"`
	History   int     `json:"history"`
	Alpha     float64 `json:"alpha"`
	Output    string  `json:"output"`
	Mode      string  `json:"mode"`
	Power     struct {
		ActivePower string   `json:"activePower"`
		SubMeters   []string `json:"subMeters"`
		Aggregate   string   `json:"aggregate"`
	} `json:"power"`
	Kafka struct {
		Format   string `json:"format"`
		TimePath string `json:"timePath"`
	} `json:"kafka"`
	Anomaly AnomalyDefaults `json:"anomaly"`
}

// AnomalyDefaults are the anomaly query's own defaults (its window, history,
// alpha and mode are the t-test's, in QueryDefaults).
type AnomalyDefaults struct {
	Detector string `json:"detector"`
	Output   string `json:"output"`
	// Threshold is each detector's default threshold (the t-test has none:
	// alpha sets its cut), to be retuned from the evaluation.
	Threshold    map[string]float64 `json:"threshold"`
	Season       string             `json:"season"`
	Seasons      int                `json:"seasons"`
	MinDeviation float64            `json:"minDeviation"`
	Direction    string             `json:"direction"`
	// HWAlpha, HWBeta and HWGamma are Holt-Winters' smoothing parameters;
	// 0 means fitted on the warm-up.
	HWAlpha float64 `json:"hwAlpha"`
	HWBeta  float64 `json:"hwBeta"`
	HWGamma float64 `json:"hwGamma"`
}

// Defaults mirrors src/defaults.json.
type Defaults struct {
	Settings SettingsDefaults `json:"settings"`
	Query    QueryDefaults    `json:"query"`
}

// Rules mirrors src/validation.json: what a query field may hold.
type Rules struct {
	Duration struct {
		// UnitsNs is each duration unit's length in nanoseconds.
		UnitsNs           map[string]int64 `json:"unitsNs"`
		MaxFractionDigits int              `json:"maxFractionDigits"`
	} `json:"duration"`
	// Window.Max is the longest window, a duration (see its "about").
	Window struct {
		Max string `json:"max"`
	} `json:"window"`
	History struct {
		Min int `json:"min"`
		Max int `json:"max"`
	} `json:"history"`
	// Alpha lies strictly between Above and Below.
	Alpha struct {
		Above float64 `json:"above"`
		Below float64 `json:"below"`
	} `json:"alpha"`
	// Options are the values each choice field accepts.
	Options struct {
		Output    []string `json:"output"`
		Mode      []string `json:"mode"`
		Aggregate []string `json:"aggregate"`
		// KafkaFormat is how a kafka query's messages are encoded.
		KafkaFormat []string `json:"kafkaFormat"`
		// KafkaSaslMechanism is the data source's Kafka SASL mechanism ("" for none).
		KafkaSaslMechanism []string `json:"kafkaSaslMechanism"`
		// Detector, AnomalyOutput, Direction and Season are the anomaly
		// query's choices (seasons are durations: see Anomaly's "about").
		Detector      []string `json:"detector"`
		AnomalyOutput []string `json:"anomalyOutput"`
		Direction     []string `json:"direction"`
		Season        []string `json:"season"`
	} `json:"options"`
	// Anomaly holds the anomaly query's rules (see its "about").
	Anomaly AnomalyRules `json:"anomaly"`
	// LiveChannel is how a Live channel path identifies its query.
	LiveChannel struct {
		Identity []string `json:"identity"`
		LabelMax int      `json:"labelMax"`
	} `json:"liveChannel"`
}

// AnomalyRules mirrors validation.json's "anomaly": which detector reads
// which setting, and the ranges of the settings.
type AnomalyRules struct {
	// Uses lists, per setting, the detectors that read it.
	Uses map[string][]string `json:"uses"`
	// Outputs lists, for an output only some detectors give, those detectors.
	Outputs map[string][]string `json:"outputs"`
	// PointsOnly are the detectors that need every point, never window summaries.
	PointsOnly []string `json:"pointsOnly"`
	// ThresholdAbove: a threshold must be finite and above it.
	ThresholdAbove float64 `json:"thresholdAbove"`
	// MinDeviationMin: minDeviation must be finite and at least it.
	MinDeviationMin float64 `json:"minDeviationMin"`
	Seasons         struct {
		Min int `json:"min"`
		Max int `json:"max"`
	} `json:"seasons"`
	// MinSeasonPositions and MaxSeasonPositions bound season / window.
	MinSeasonPositions int64 `json:"minSeasonPositions"`
	MaxSeasonPositions int64 `json:"maxSeasonPositions"`
	// MaxSeasonalValues bounds (season / window) x seasons, the window
	// means a seasonal baseline keeps per series.
	MaxSeasonalValues int64 `json:"maxSeasonalValues"`
	// Smoothing: hwAlpha, hwBeta, hwGamma are 0 or strictly between Above and Below.
	Smoothing struct {
		Above float64 `json:"above"`
		Below float64 `json:"below"`
	} `json:"smoothing"`
}

var (
	// Plugin is the parsed plugin.json.
	Plugin = mustDecode[Manifest]("plugin.json", pluginJSON)
	// Default holds the defaults shared with the front end.
	Default = mustDecode[Defaults]("src/defaults.json", defaultsJSON)
	// Rule holds the validation rules shared with the front end.
	Rule = mustDecode[Rules]("src/validation.json", validationJSON)
)

func mustDecode[T any](name string, raw []byte) T {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		panic(fmt.Sprintf("vigil: embedded %s is not valid JSON: %v", name, err))
	}
	return v
}
