package models

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
)

// QueryType selects what a query computes.
type QueryType string

// The query types Vigil answers.
const (
	QueryTypeTTest  QueryType = "ttest"
	QueryTypePower  QueryType = "power"
	QueryTypeAlerts QueryType = "alerts"
	QueryTypeFlux   QueryType = "flux"
	// QueryTypeInfluxQL is a raw InfluxQL statement (Grafana's macros allowed).
	QueryTypeInfluxQL QueryType = "influxql"
	// QueryTypeKafka is the t-test over a Kafka topic's messages.
	QueryTypeKafka QueryType = "kafka"
	// QueryTypeAnomaly is anomaly detection with a choice of detector, over
	// InfluxDB or a Kafka topic.
	QueryTypeAnomaly QueryType = "anomaly"
)

// supportedQueryTypes lists the query types this build answers, for messages.
var supportedQueryTypes = []QueryType{QueryTypeTTest, QueryTypePower, QueryTypeAlerts, QueryTypeFlux, QueryTypeInfluxQL, QueryTypeKafka, QueryTypeAnomaly}

// Alerts query formats.
const (
	FormatTable       = "table"
	FormatAnnotations = "annotations"
)

// DefaultAlertMeasurement is where the alert-history receiver writes unless
// the data source's alertHistoryMeasurement says otherwise (src/defaults.json).
var DefaultAlertMeasurement = vigil.Default.Settings.AlertHistoryMeasurement

// AggregateAuto lets the power query aggregate (mean) only when the panel's
// interval is coarser than the data.
const AggregateAuto = "auto"

// Power are the fields of a power query.
type Power struct {
	ActivePower string
	SubMeters   []string
	// Aggregate is auto, none, mean, max or sum.
	Aggregate string
	// MaxDataPoints is the panel's width in points (auto aggregation).
	MaxDataPoints int64
}

// Output is what a t-test or anomaly query returns per window.
type Output string

// The t-test outputs (the anomaly query gives them too: pvalue and t with
// the ttest detector only).
const (
	OutputPValue  Output = "pvalue"
	OutputT       Output = "t"
	OutputAnomaly Output = "anomaly"
)

// The anomaly query's own outputs.
const (
	// OutputScore is the deviation in units of the threshold: >= 0, above 1
	// anomalous, for every detector.
	OutputScore Output = "score"
	// OutputExpected is the baseline's expected window mean.
	OutputExpected Output = "expected"
	// OutputBand is one frame per series with the window mean, the expected
	// value and the band of means that score at most 1.
	OutputBand Output = "band"
)

// Mode is how a t-test query reads InfluxDB.
type Mode string

// The t-test read modes.
const (
	// ModeAuto reads points when they fit comfortably under maxPoints, else windows.
	ModeAuto Mode = "auto"
	// ModePoints reads every point: exact parity with the reference UDF.
	ModePoints Mode = "points"
	// ModeWindows reads one row per window (count, mean, standard deviation
	// computed by InfluxDB) and combines windows exactly.
	ModeWindows Mode = "windows"
)

// TTest are the fields of a ttest query.
type TTest struct {
	Fields  []string
	Window  time.Duration
	History int
	Alpha   float64
	Output  Output
	Mode    Mode
}

// Kafka message formats.
const (
	// KafkaLine is InfluxDB line protocol (nanosecond timestamps).
	KafkaLine = "line"
	// KafkaJSON is one JSON object per message.
	KafkaJSON = "json"
)

// Kafka are the topic and message format of a kafka query; its t-test
// fields are in TTest.
type Kafka struct {
	Topic  string
	Format string
	// TimePath and KeyPath (json) are dot-separated paths to the time (an
	// RFC 3339 string or Unix milliseconds) and to the series key (empty:
	// the message key); Fields are paths to numbers.
	TimePath string
	KeyPath  string
}

// Detector names an anomaly query's detector (validation.json options.detector).
type Detector string

// The detectors of the anomaly query.
const (
	DetectorTTest       Detector = "ttest"
	DetectorZScore      Detector = "zscore"
	DetectorMAD         Detector = "mad"
	DetectorSeasonal    Detector = "seasonal"
	DetectorHoltWinters Detector = "holtwinters"
	DetectorPeers       Detector = "peers"
)

// Anomaly are an anomaly query's detector settings. Its fields, window,
// history, alpha and mode are in Query.TTest (TTest.Output is Output too),
// so that the t-test's runner reads them as for a ttest query; its topic,
// when Kafka is the source, is in Query.Kafka (Kafka.Topic is then set and
// TTest.Mode is points).
//
// A setting that the detector does not read (validation.json anomaly.uses)
// is checked when given, then left zero here, so that it neither reaches
// the detector nor splits the kept-state cache (Identity). A detector that
// needs every point (anomaly.pointsOnly: mad, which reads the window's
// values, analysis.Window.Values, not only its summary) has TTest.Mode
// points: mode windows is refused, and auto reads points, failing with
// TooManyPointsError rather than falling back to window summaries.
type Anomaly struct {
	Detector Detector
	Output   Output
	// Threshold is the deviation, in the detector's own scale, at which the
	// score reaches 1 (0 for ttest, whose cut is alpha).
	Threshold float64
	// Season is 1d or 1w (seasonal, holtwinters); Seasons is the number of
	// past seasons in the baseline (seasonal).
	Season  time.Duration
	Seasons int
	// MinDeviation and Direction are the filters every detector shares.
	MinDeviation float64
	Direction    analysis.Direction
	// HWAlpha, HWBeta and HWGamma are Holt-Winters' level, trend and season
	// smoothing (holtwinters); 0 is fitted on the warm-up.
	HWAlpha, HWBeta, HWGamma float64
}

// Filter is the anomaly query's effect-size filter for analysis.Step.
func (a Anomaly) Filter() analysis.Filter {
	return analysis.Filter{MinDeviation: a.MinDeviation, Direction: a.Direction}
}

// Query is one validated query. Fields that do not apply to its type are empty.
type Query struct {
	RefID       string
	Type        QueryType
	Bucket      string
	Measurement string
	Tags        map[string]string
	Flux        string
	InfluxQL    string
	TTest       TTest
	Power       Power
	Kafka       Kafka
	Anomaly     Anomaly
	// Format is the alerts query's shape: table or annotations.
	Format    string
	TimeRange backend.TimeRange
	// Interval is Grafana's suggested step for the panel (v.windowPeriod).
	Interval time.Duration
}

// queryJSON is the query as the front end, dashboards and alert rules send it.
type queryJSON struct {
	QueryType   string            `json:"queryType"`
	Bucket      string            `json:"bucket"`
	Measurement string            `json:"measurement"`
	Tags        map[string]string `json:"tags"`
	Flux        string            `json:"flux"`
	InfluxQL    string            `json:"influxql"`
	Fields      []string          `json:"fields"`
	Window      json.RawMessage   `json:"window"`
	History     json.RawMessage   `json:"history"`
	Alpha       json.RawMessage   `json:"alpha"`
	Output      string            `json:"output"`
	Mode        string            `json:"mode"`
	ActivePower string            `json:"activePower"`
	SubMeters   *[]string         `json:"subMeters"`
	Aggregate   string            `json:"aggregate"`
	Format      string            `json:"format"`
	Field       string            `json:"field"`
	Topic       string            `json:"topic"`
	TimePath    string            `json:"timePath"`
	KeyPath     string            `json:"keyPath"`
	// The anomaly query's settings.
	Detector     string          `json:"detector"`
	Threshold    json.RawMessage `json:"threshold"`
	Season       json.RawMessage `json:"season"`
	Seasons      json.RawMessage `json:"seasons"`
	MinDeviation json.RawMessage `json:"minDeviation"`
	Direction    string          `json:"direction"`
	HWAlpha      json.RawMessage `json:"hwAlpha"`
	HWBeta       json.RawMessage `json:"hwBeta"`
	HWGamma      json.RawMessage `json:"hwGamma"`
}

// hasAnomalySettings reports whether the query gives a setting that only
// the anomaly query has.
func hasAnomalySettings(raw queryJSON) bool {
	return raw.Detector != "" || raw.Direction != "" || len(raw.Threshold) > 0 || len(raw.Season) > 0 ||
		len(raw.Seasons) > 0 || len(raw.MinDeviation) > 0 || len(raw.HWAlpha) > 0 || len(raw.HWBeta) > 0 || len(raw.HWGamma) > 0
}

// inferType gives a query saved without queryType the type its fields say,
// else the default type.
func inferType(raw queryJSON) QueryType {
	switch {
	case strings.TrimSpace(raw.Flux) != "":
		return QueryTypeFlux
	case strings.TrimSpace(raw.InfluxQL) != "":
		return QueryTypeInfluxQL
	case hasAnomalySettings(raw):
		return QueryTypeAnomaly
	case strings.TrimSpace(raw.Topic) != "":
		return QueryTypeKafka
	case len(raw.Fields) > 0 || raw.Field != "" || len(raw.Window) > 0 || len(raw.Alpha) > 0:
		return QueryTypeTTest
	case raw.ActivePower != "" || raw.SubMeters != nil || raw.Aggregate != "":
		return QueryTypePower
	}
	return QueryType(vigil.Default.Query.QueryType)
}

// QueryError is a query field that cannot be used; the message names the field.
type QueryError struct {
	Field  string
	Reason string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("query field %q: %s", e.Field, e.Reason)
}

// ParseQuery decodes and validates one data query against the data source settings.
func ParseQuery(q backend.DataQuery, s Settings) (Query, error) {
	var raw queryJSON
	if err := json.Unmarshal(q.JSON, &raw); err != nil {
		return Query{}, &QueryError{"query", "is not valid JSON: " + err.Error()}
	}
	qt := q.QueryType
	if qt == "" {
		qt = raw.QueryType
	}
	if strings.TrimSpace(qt) == "" {
		qt = string(inferType(raw)) // an old or partial saved query
	}
	if len(raw.Fields) == 0 && strings.TrimSpace(raw.Field) != "" {
		raw.Fields = []string{raw.Field} // the single-field form
	}
	out := Query{
		RefID:       q.RefID,
		Type:        QueryType(strings.TrimSpace(qt)),
		Bucket:      strings.TrimSpace(raw.Bucket),
		Measurement: strings.TrimSpace(raw.Measurement),
		Tags:        raw.Tags,
		TimeRange:   q.TimeRange,
		Interval:    q.Interval,
	}
	if out.Bucket == "" {
		out.Bucket = s.DefaultBucket
	}
	if err := checkPrintable("bucket", out.Bucket); err != nil {
		return Query{}, &QueryError{"bucket", err.(*SettingsError).Reason}
	}
	if !q.TimeRange.To.After(q.TimeRange.From) {
		return Query{}, &QueryError{"timeRange", fmt.Sprintf("the end (%s) must be after the start (%s)", q.TimeRange.To.UTC().Format(time.RFC3339), q.TimeRange.From.UTC().Format(time.RFC3339))}
	}
	for k := range out.Tags {
		if strings.TrimSpace(k) == "" {
			return Query{}, &QueryError{"tags", "has an empty tag name"}
		}
	}
	var err error
	switch out.Type {
	case QueryTypeFlux:
		out.Flux = raw.Flux
		if strings.TrimSpace(out.Flux) == "" {
			return Query{}, &QueryError{"flux", "is empty: write a Flux script, e.g. from(bucket: v.bucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)"}
		}
	case QueryTypeInfluxQL:
		out.InfluxQL = raw.InfluxQL
		if strings.TrimSpace(out.InfluxQL) == "" {
			return Query{}, &QueryError{"influxql", "is empty: write an InfluxQL statement, e.g. SELECT mean(\"value\") FROM \"measurement\" WHERE $timeFilter GROUP BY time($__interval)"}
		}
	case QueryTypeTTest:
		out.TTest, err = parseTTest(raw, out)
		if out.Measurement == "" {
			err = errNoMeasurement
		}
		out.Format = strings.TrimSpace(raw.Format)
		if err == nil && out.Format != "" && out.Format != FormatAnnotations {
			err = &QueryError{"format", fmt.Sprintf("%q is not a t-test format: leave it empty for time series, or use annotations", out.Format)}
		}
	case QueryTypeKafka:
		out.Kafka, err = parseKafka(raw, out, s)
		if err == nil {
			out.TTest, err = parseTTest(raw, out)
			out.TTest.Mode = ModePoints // every message is read
		}
	case QueryTypeAnomaly:
		err = parseAnomalyQuery(raw, &out, s)
	case QueryTypePower:
		out.Power, err = parsePower(raw, out)
		out.Power.MaxDataPoints = q.MaxDataPoints
	case QueryTypeAlerts:
		// By default it reads where the receiver writes.
		if strings.TrimSpace(raw.Bucket) == "" && s.AlertHistoryBucket != "" {
			out.Bucket = s.AlertHistoryBucket
		}
		if out.Measurement == "" {
			out.Measurement = cmp.Or(s.AlertHistoryMeasurement, DefaultAlertMeasurement)
		}
		out.Format = strings.TrimSpace(raw.Format)
		if out.Format == "" {
			out.Format = FormatTable
		}
		if out.Format != FormatTable && out.Format != FormatAnnotations {
			err = &QueryError{"format", fmt.Sprintf("%q is not a format: use table or annotations", out.Format)}
		}
	case "":
		err = &QueryError{"queryType", "is missing: use one of " + typeList()}
	default:
		err = &QueryError{"queryType", fmt.Sprintf("%q is not a Vigil query type: use one of %s", out.Type, typeList())}
	}
	if err != nil {
		return Query{}, err
	}
	return out, nil
}

var errNoMeasurement = &QueryError{"measurement", "is empty: name the measurement that holds the fields, e.g. temperatures"}

// parseKafka checks the topic and the message format, and that the data
// source has brokers.
func parseKafka(raw queryJSON, q Query, s Settings) (Kafka, error) {
	d := vigil.Default.Query.Kafka
	k := Kafka{Topic: strings.TrimSpace(raw.Topic), Format: strings.TrimSpace(raw.Format),
		TimePath: strings.TrimSpace(raw.TimePath), KeyPath: strings.TrimSpace(raw.KeyPath)}
	if len(s.Kafka.Brokers) == 0 {
		return Kafka{}, &QueryError{"queryType", `kafka needs the data source's Kafka brokers: set "kafkaBrokers" in its settings`}
	}
	if k.Topic == "" {
		return Kafka{}, &QueryError{"topic", "is empty: name the Kafka topic that holds the messages, e.g. printer"}
	}
	// Kafka's own rule for topic names.
	for _, r := range k.Topic {
		if !(r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return Kafka{}, &QueryError{"topic", fmt.Sprintf("%q is not a Kafka topic name: use letters, digits, '.', '_' and '-'", k.Topic)}
		}
	}
	if len(k.Topic) > 249 {
		return Kafka{}, &QueryError{"topic", "is longer than Kafka's 249 characters"}
	}
	if k.Format == "" {
		k.Format = d.Format
	}
	if err := oneOf("format", k.Format, vigil.Rule.Options.KafkaFormat); err != nil {
		return Kafka{}, err
	}
	switch {
	case k.Format == KafkaLine && q.Measurement == "":
		return Kafka{}, errNoMeasurement
	case k.Format == KafkaLine && k.TimePath != "":
		return Kafka{}, &QueryError{"timePath", "applies only to the json format: line protocol carries its own time"}
	case k.Format == KafkaLine && k.KeyPath != "":
		return Kafka{}, &QueryError{"keyPath", "applies only to the json format: line protocol carries its own tags"}
	case k.Format == KafkaJSON && q.Measurement != "":
		return Kafka{}, &QueryError{"measurement", "applies only to the line format: a JSON message's series is its key"}
	case k.Format == KafkaJSON && k.TimePath == "":
		k.TimePath = d.TimePath
	}
	for _, p := range []struct{ name, path string }{{"timePath", k.TimePath}, {"keyPath", k.KeyPath}} {
		if strings.HasPrefix(p.path, ".") || strings.HasSuffix(p.path, ".") || strings.Contains(p.path, "..") {
			return Kafka{}, &QueryError{p.name, fmt.Sprintf("%q is not a dot-separated path such as time or sensor.id", p.path)}
		}
	}
	return k, nil
}

func parseTTest(raw queryJSON, q Query) (TTest, error) {
	return parseWindowed(raw, vigil.Rule.Options.Output, vigil.Default.Query.Output)
}

// parseWindowed reads the settings the t-test and anomaly queries share:
// fields, window, history, alpha, output (one of outputs, default
// defOutput) and mode.
func parseWindowed(raw queryJSON, outputs []string, defOutput string) (TTest, error) {
	d := vigil.Default.Query
	t := TTest{Output: Output(strings.TrimSpace(raw.Output)), Mode: Mode(strings.TrimSpace(raw.Mode))}
	seen := map[string]bool{}
	for _, f := range raw.Fields {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		t.Fields = append(t.Fields, f)
	}
	if len(t.Fields) == 0 {
		return TTest{}, &QueryError{"fields", "is empty: name at least one numeric field, e.g. [\"hotend\"]"}
	}

	window := d.Window
	if text, ok, err := stringOrEmpty(raw.Window); err != nil {
		return TTest{}, &QueryError{"window", "must be a duration such as \"5m\""}
	} else if ok {
		window = text
	}
	dur, err := ParseDuration(window)
	if err != nil {
		return TTest{}, &QueryError{"window", fmt.Sprintf("%q is not a duration: it %v; write e.g. 30s, 5m, 1h30m or 1.5d", window, err)}
	}
	if dur <= 0 {
		return TTest{}, &QueryError{"window", fmt.Sprintf("must be longer than zero, got %q", window)}
	}
	if dur > MaxWindow {
		return TTest{}, &QueryError{"window", fmt.Sprintf("must be at most %s, got %q", vigil.Rule.Window.Max, window)}
	}
	t.Window = dur

	history, err := numberOr("history", raw.History, float64(d.History))
	if err != nil {
		return TTest{}, err
	}
	if h := vigil.Rule.History; history != math.Trunc(history) || history < float64(h.Min) || history > float64(h.Max) {
		return TTest{}, &QueryError{"history", fmt.Sprintf("must be a whole number of points from %d to %d, got %v", h.Min, h.Max, history)}
	}
	t.History = int(history)

	t.Alpha, err = numberOr("alpha", raw.Alpha, d.Alpha)
	if err != nil {
		return TTest{}, err
	}
	if a := vigil.Rule.Alpha; !(t.Alpha > a.Above && t.Alpha < a.Below) {
		return TTest{}, &QueryError{"alpha", fmt.Sprintf("must be between %v and %v (exclusive), got %v", a.Above, a.Below, t.Alpha)}
	}

	if t.Output == "" {
		t.Output = Output(defOutput)
	}
	if err := oneOf("output", string(t.Output), outputs); err != nil {
		return TTest{}, err
	}
	if t.Mode == "" {
		t.Mode = Mode(d.Mode)
	}
	if err := oneOf("mode", string(t.Mode), vigil.Rule.Options.Mode); err != nil {
		return TTest{}, err
	}
	return t, nil
}

func parsePower(raw queryJSON, q Query) (Power, error) {
	d := vigil.Default.Query.Power
	if q.Measurement == "" {
		return Power{}, &QueryError{"measurement", "is empty: name the measurement that holds the meter readings, e.g. power"}
	}
	p := Power{ActivePower: strings.TrimSpace(raw.ActivePower), Aggregate: strings.TrimSpace(raw.Aggregate)}
	if p.ActivePower == "" {
		p.ActivePower = d.ActivePower
	}
	p.SubMeters = d.SubMeters
	if raw.SubMeters != nil {
		p.SubMeters = nil
		for i, m := range *raw.SubMeters {
			m = strings.TrimSpace(m)
			if m == "" {
				return Power{}, &QueryError{"subMeters", fmt.Sprintf("entry %d is empty", i+1)}
			}
			p.SubMeters = append(p.SubMeters, m)
		}
	}
	if p.Aggregate == "" {
		p.Aggregate = d.Aggregate
	}
	if err := oneOf("aggregate", p.Aggregate, vigil.Rule.Options.Aggregate); err != nil {
		return Power{}, err
	}
	return p, nil
}

// stringOrEmpty reads an optional JSON string; ok is false when it is absent or empty.
func stringOrEmpty(raw json.RawMessage) (string, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, err
	}
	s = strings.TrimSpace(s)
	return s, s != "", nil
}

// numberOr reads an optional number written as a JSON number or a string
// (dashboard variables arrive as strings); absent or empty means def.
func numberOr(field string, raw json.RawMessage, def float64) (float64, error) {
	v, text, err := parseNumber(raw)
	switch {
	case err != nil:
		return 0, &QueryError{field, fmt.Sprintf("must be a number, got %s", text)}
	case text == "":
		return def, nil
	}
	return v, nil
}

// oneOf checks a choice field against its options in src/validation.json.
func oneOf(field, value string, options []string) error {
	if slices.Contains(options, value) {
		return nil
	}
	return &QueryError{field, fmt.Sprintf("%q is not a valid %s: use %s", value, field, strings.Join(options, ", "))}
}

func typeList() string {
	names := make([]string, len(supportedQueryTypes))
	for i, t := range supportedQueryTypes {
		names[i] = string(t)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// TooManyPointsError says that a query would read more points than the data
// source's maxPoints allows.
type TooManyPointsError struct {
	MaxPoints int64
	// Hint says what to change for this kind of query.
	Hint string
}

func (e *TooManyPointsError) Error() string {
	return fmt.Sprintf("the query reads more than %d points (the data source's \"Max points\"): %s, "+
		"or raise \"Max points\" in the data source settings", e.MaxPoints, e.Hint)
}

// parseAnomalyQuery reads an anomaly query into q: the source (a Kafka
// topic when topic is set, else InfluxDB's measurement), the settings it
// shares with the t-test (q.TTest) and the detector's own (q.Anomaly).
func parseAnomalyQuery(raw queryJSON, q *Query, s Settings) error {
	var err error
	fromKafka := strings.TrimSpace(raw.Topic) != ""
	if fromKafka {
		if q.Kafka, err = parseKafka(raw, *q, s); err != nil {
			return err
		}
	}
	a := Anomaly{Detector: Detector(strings.TrimSpace(raw.Detector))}
	if a.Detector == "" {
		a.Detector = Detector(vigil.Default.Query.Anomaly.Detector)
	}
	if err := oneOf("detector", string(a.Detector), vigil.Rule.Options.Detector); err != nil {
		return err
	}
	if q.TTest, err = parseWindowed(raw, vigil.Rule.Options.AnomalyOutput, vigil.Default.Query.Anomaly.Output); err != nil {
		return err
	}
	a.Output = q.TTest.Output
	if a, err = parseAnomaly(raw, a, &q.TTest); err != nil {
		return err
	}
	q.Anomaly = a
	if fromKafka {
		q.TTest.Mode = ModePoints // every message is read
		return nil
	}
	if q.Measurement == "" {
		return errNoMeasurement
	}
	q.Format = strings.TrimSpace(raw.Format)
	if q.Format != "" && q.Format != FormatAnnotations {
		return &QueryError{"format", fmt.Sprintf("%q is not an anomaly query format: leave it empty for time series, or use annotations (a topic's message format applies only with topic)", q.Format)}
	}
	return nil
}

// parseAnomaly checks the detector's settings (validation.json "anomaly")
// against the detector a names and the shared settings in t, which it
// adjusts for detectors that need points. A setting the detector does not
// use is checked when given and then left zero.
func parseAnomaly(raw queryJSON, a Anomaly, t *TTest) (Anomaly, error) {
	r, d := vigil.Rule.Anomaly, vigil.Default.Query.Anomaly
	uses := func(setting string) bool { return slices.Contains(r.Uses[setting], string(a.Detector)) }
	if only, ok := r.Outputs[string(a.Output)]; ok && !slices.Contains(only, string(a.Detector)) {
		return Anomaly{}, &QueryError{"output", fmt.Sprintf("%s is given only by the %s detector: use score, anomaly, expected or band with %s", a.Output, strings.Join(only, ", "), a.Detector)}
	}
	if slices.Contains(r.PointsOnly, string(a.Detector)) {
		if t.Mode == ModeWindows {
			return Anomaly{}, &QueryError{"mode", fmt.Sprintf("windows does not apply to the %s detector, which needs every point: use auto or points", a.Detector)}
		}
		t.Mode = ModePoints
	}

	threshold, err := numberOr("threshold", raw.Threshold, d.Threshold[string(a.Detector)])
	if err != nil {
		return Anomaly{}, err
	}
	if present(raw.Threshold) || uses("threshold") {
		if !(threshold > r.ThresholdAbove) {
			return Anomaly{}, &QueryError{"threshold", fmt.Sprintf("must be a number above %v, got %v; leave it empty for the %s detector's default", r.ThresholdAbove, threshold, a.Detector)}
		}
	}
	if uses("threshold") {
		a.Threshold = threshold
	}

	season, err := parseSeason(raw.Season, t.Window, uses("season"))
	if err != nil {
		return Anomaly{}, err
	}
	if uses("season") {
		a.Season = season
	}
	seasons, err := numberOr("seasons", raw.Seasons, float64(d.Seasons))
	if err != nil {
		return Anomaly{}, err
	}
	if n := r.Seasons; seasons != math.Trunc(seasons) || seasons < float64(n.Min) || seasons > float64(n.Max) {
		return Anomaly{}, &QueryError{"seasons", fmt.Sprintf("must be a whole number of seasons from %d to %d, got %v", n.Min, n.Max, seasons)}
	}
	if uses("seasons") {
		a.Seasons = int(seasons)
		if n := int64(a.Season/t.Window) * int64(a.Seasons); a.Season > 0 && n > r.MaxSeasonalValues {
			return Anomaly{}, &QueryError{"seasons", fmt.Sprintf("%d seasons of %d windows are %d window means per series, more than %d: use at most %d seasons, or a longer window",
				a.Seasons, a.Season/t.Window, n, r.MaxSeasonalValues, r.MaxSeasonalValues/int64(a.Season/t.Window))}
		}
	}

	if a.MinDeviation, err = numberOr("minDeviation", raw.MinDeviation, d.MinDeviation); err != nil {
		return Anomaly{}, err
	}
	if a.MinDeviation < r.MinDeviationMin {
		return Anomaly{}, &QueryError{"minDeviation", fmt.Sprintf("must be at least %v (in the series' own units), got %v", r.MinDeviationMin, a.MinDeviation)}
	}
	a.Direction = analysis.Direction(strings.TrimSpace(raw.Direction))
	if a.Direction == "" {
		a.Direction = analysis.Direction(d.Direction)
	}
	if err := oneOf("direction", string(a.Direction), vigil.Rule.Options.Direction); err != nil {
		return Anomaly{}, err
	}

	for _, p := range []struct {
		name string
		raw  json.RawMessage
		def  float64
		to   *float64
	}{{"hwAlpha", raw.HWAlpha, d.HWAlpha, &a.HWAlpha}, {"hwBeta", raw.HWBeta, d.HWBeta, &a.HWBeta}, {"hwGamma", raw.HWGamma, d.HWGamma, &a.HWGamma}} {
		v, err := numberOr(p.name, p.raw, p.def)
		if err != nil {
			return Anomaly{}, err
		}
		if sm := r.Smoothing; v != 0 && !(v > sm.Above && v < sm.Below) {
			return Anomaly{}, &QueryError{p.name, fmt.Sprintf("must be between %v and %v (exclusive), or 0 to fit it on the warm-up, got %v", sm.Above, sm.Below, v)}
		}
		if uses(p.name) {
			*p.to = v
		}
	}
	// Holt-Winters fits the three together: all given, or none. The error
	// names the first one given.
	names, values := []string{"hwAlpha", "hwBeta", "hwGamma"}, []float64{a.HWAlpha, a.HWBeta, a.HWGamma}
	if first := slices.IndexFunc(values, func(v float64) bool { return v != 0 }); first >= 0 && slices.Contains(values, 0) {
		var missing []string
		for i, v := range values {
			if v == 0 {
				missing = append(missing, names[i])
			}
		}
		return Anomaly{}, &QueryError{names[first], fmt.Sprintf("is fitted together with the other two: give %s too, or leave all three empty to fit them on the warm-up", strings.Join(missing, " and "))}
	}
	return a, nil
}

// parseSeason reads the season, one of validation.json's options.season
// compared as durations (24h is 1d). For a detector that uses it (check),
// the windows must tile the season, each window a fixed position in it
// (season mod window = 0, so a position recurs at the same phase every
// season: windows are aligned to the Unix epoch, and so are days and
// weeks), and a season must hold from minSeasonPositions (Holt-Winters'
// period is at least 2) to maxSeasonPositions windows, which bounds the
// baseline a seasonal detector keeps per series.
func parseSeason(raw json.RawMessage, window time.Duration, check bool) (time.Duration, error) {
	options := vigil.Rule.Options.Season
	text := vigil.Default.Query.Anomaly.Season
	if s, ok, err := stringOrEmpty(raw); err != nil {
		return 0, &QueryError{"season", fmt.Sprintf("must be a duration: use %s", strings.Join(options, " or "))}
	} else if ok {
		text = s
	}
	season, err := ParseDuration(text)
	if err == nil && !slices.ContainsFunc(options, func(o string) bool { return mustDuration("options.season", o) == season }) {
		err = errors.New("is not a season")
	}
	if err != nil {
		return 0, &QueryError{"season", fmt.Sprintf("%q is not a season: use %s", text, strings.Join(options, " or "))}
	}
	if !check {
		return season, nil
	}
	minPositions, maxPositions := vigil.Rule.Anomaly.MinSeasonPositions, vigil.Rule.Anomaly.MaxSeasonPositions
	if n := int64(season / window); n < minPositions {
		return 0, &QueryError{"window", fmt.Sprintf("gives %d windows per season (%s), fewer than %d: use a shorter window that divides the season, e.g. 5m or 1h", n, text, minPositions)}
	}
	if season%window != 0 {
		return 0, &QueryError{"window", fmt.Sprintf("%s does not divide the season (%s) into whole windows: use a window that does, e.g. 5m, 15m or 1h", shortDuration(window), text)}
	}
	if n := int64(season / window); n > maxPositions {
		return 0, &QueryError{"window", fmt.Sprintf("gives %d windows per season (%s), more than %d: use a window of at least %s that divides the season", n, text, maxPositions, shortDuration(minSeasonWindow(season, maxPositions)))}
	}
	return season, nil
}

// minSeasonWindow is the shortest window, in whole seconds, that divides
// season into at most maxPositions windows (for the message: 1m for 1w).
func minSeasonWindow(season time.Duration, maxPositions int64) time.Duration {
	for w := time.Second * time.Duration(math.Ceil(float64(season)/float64(maxPositions)/float64(time.Second))); w < season; w += time.Second {
		if season%w == 0 {
			return w
		}
	}
	return season
}

// shortDuration writes d as time.Duration does, less its zero minutes and
// seconds (1m, not 1m0s).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// present reports whether an optional JSON value is given (not absent, null
// or an empty or blank string).
func present(raw json.RawMessage) bool {
	_, text, _ := parseNumber(raw)
	return text != ""
}
