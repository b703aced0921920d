package models

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
)

var testSettings = Settings{URL: "http://influx:8086", DefaultBucket: "printer/autogen", Timeout: time.Second, MaxPoints: 10}

func dataQuery(queryType, js string) backend.DataQuery {
	from := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	return backend.DataQuery{RefID: "A", QueryType: queryType, JSON: []byte(js),
		TimeRange: backend.TimeRange{From: from, To: from.Add(time.Hour)}, Interval: time.Minute}
}

func TestParseQueryFlux(t *testing.T) {
	q, err := ParseQuery(dataQuery("", `{"queryType":"flux","flux":"buckets()"}`), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	if q.Type != QueryTypeFlux || q.Flux != "buckets()" || q.Bucket != "printer/autogen" || q.RefID != "A" {
		t.Fatalf("unexpected query %+v", q)
	}
	q, err = ParseQuery(dataQuery("flux", `{"bucket":" house/autogen ","flux":"x"}`), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	if q.Bucket != "house/autogen" {
		t.Fatalf("bucket %q", q.Bucket)
	}
}

func TestParseQueryErrors(t *testing.T) {
	backwards := dataQuery("flux", `{"flux":"x"}`)
	backwards.TimeRange.From, backwards.TimeRange.To = backwards.TimeRange.To, backwards.TimeRange.From
	tests := []struct {
		name    string
		q       backend.DataQuery
		field   string
		message string
	}{
		{"not json", dataQuery("flux", `{`), "query", "not valid JSON"},
		{"missing type defaults to ttest", dataQuery("", `{}`), "measurement", "is empty"},
		{"unknown type", dataQuery("sql", `{}`), "queryType", `"sql" is not a Vigil query type`},
		{"empty flux", dataQuery("flux", `{"flux":"  "}`), "flux", "is empty"},
		{"empty influxql", dataQuery("influxql", `{"influxql":" "}`), "influxql", "is empty"},
		{"control char in bucket", dataQuery("flux", `{"flux":"x","bucket":"a\u0000b"}`), "bucket", "control character"},
		{"backwards range", backwards, "timeRange", "must be after the start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseQuery(tt.q, testSettings)
			qe, ok := err.(*QueryError)
			if !ok {
				t.Fatalf("got %v (%T), want *QueryError", err, err)
			}
			if qe.Field != tt.field || !strings.Contains(qe.Error(), tt.message) || !strings.Contains(qe.Error(), `"`+tt.field+`"`) {
				t.Fatalf("got %q, want field %q and %q", qe.Error(), tt.field, tt.message)
			}
		})
	}
}

func TestParseQueryTTest(t *testing.T) {
	q, err := ParseQuery(dataQuery("ttest", `{"measurement":"temperatures","fields":["hotend"," bed ","hotend",""]}`), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	want := TTest{Fields: []string{"hotend", "bed"}, Window: 5 * time.Minute, History: 3600, Alpha: 0.001, Output: OutputPValue, Mode: ModeAuto}
	if q.Type != QueryTypeTTest || q.Measurement != "temperatures" || !reflect.DeepEqual(q.TTest, want) {
		t.Fatalf("got %+v", q)
	}
	q, err = ParseQuery(dataQuery("", `{"queryType":"ttest","measurement":"m","fields":["a"],"tags":{"host":"x"},
		"window":"1h","history":"120","alpha":"0.05","output":"anomaly","mode":"windows"}`), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	want = TTest{Fields: []string{"a"}, Window: time.Hour, History: 120, Alpha: 0.05, Output: OutputAnomaly, Mode: ModeWindows}
	if !reflect.DeepEqual(q.TTest, want) || q.Tags["host"] != "x" {
		t.Fatalf("got %+v", q)
	}
}

func TestParseQueryTTestErrors(t *testing.T) {
	base := `"measurement":"m","fields":["a"]`
	tests := []struct {
		json, field, message string
	}{
		{`{"fields":["a"]}`, "measurement", "is empty"},
		{`{"measurement":"m"}`, "fields", "is empty"},
		{`{"measurement":"m","fields":[" "]}`, "fields", "is empty"},
		{`{` + base + `,"alpha":0}`, "alpha", "between 0 and 1 (exclusive), got 0"},
		{`{` + base + `,"alpha":1}`, "alpha", "got 1"},
		{`{` + base + `,"alpha":-0.5}`, "alpha", "got -0.5"},
		{`{` + base + `,"alpha":"often"}`, "alpha", "must be a number, got often"},
		{`{` + base + `,"history":1}`, "history", "from 2 to 10000000, got 1"},
		{`{` + base + `,"history":0}`, "history", "got 0"},
		{`{` + base + `,"history":10.5}`, "history", "got 10.5"},
		{`{` + base + `,"window":"0s"}`, "window", "longer than zero"},
		{`{` + base + `,"window":"-5m"}`, "window", "must start each part with a number"},
		{`{` + base + `,"window":"soon"}`, "window", `"soon" is not a duration`},
		{`{` + base + `,"window":300}`, "window", "must be a duration"},
		// Accepted before, with a warm-up lookback of 2049 windows that
		// wrapped to a negative duration.
		{`{` + base + `,"window":"60d"}`, "window", `must be at most 30d, got "60d"`},
		{`{` + base + `,"window":"30d1ns"}`, "window", `must be at most 30d, got "30d1ns"`},
		{`{` + base + `,"window":"292y"}`, "window", "must be at most 30d"},
		{`{` + base + `,"output":"z"}`, "output", `"z" is not a valid output: use pvalue, t, anomaly`},
		{`{` + base + `,"mode":"fast"}`, "mode", `"fast" is not a valid mode`},
		{`{` + base + `,"tags":{"":"x"}}`, "tags", "empty tag name"},
	}
	for _, tt := range tests {
		_, err := ParseQuery(dataQuery("ttest", tt.json), testSettings)
		qe, ok := err.(*QueryError)
		if !ok || qe.Field != tt.field || !strings.Contains(qe.Error(), tt.message) {
			t.Errorf("%s: got %v, want field %q with %q", tt.json, err, tt.field, tt.message)
		}
	}
}

func TestParseQueryMigratesOldQueries(t *testing.T) {
	for js, want := range map[string]QueryType{
		`{"flux":"buckets()"}`:                       QueryTypeFlux,
		`{"influxql":"SHOW DATABASES"}`:              QueryTypeInfluxQL,
		`{"measurement":"m","field":"hotend"}`:       QueryTypeTTest,
		`{"measurement":"m","fields":["a"]}`:         QueryTypeTTest,
		`{"measurement":"power","aggregate":"mean"}`: QueryTypePower,
		`{"measurement":"power","activePower":"P"}`:  QueryTypePower,
	} {
		q, err := ParseQuery(dataQuery("", js), testSettings)
		if err != nil || q.Type != want {
			t.Errorf("%s: %v %s, want %s", js, err, q.Type, want)
		}
	}
	q, _ := ParseQuery(dataQuery("", `{"measurement":"m","field":"hotend"}`), testSettings)
	if !reflect.DeepEqual(q.TTest.Fields, []string{"hotend"}) {
		t.Fatalf("single field: %v", q.TTest.Fields)
	}
}

func TestParseQueryKafka(t *testing.T) {
	s := testSettings
	s.Kafka.Brokers = []string{"127.0.0.1:9092"}
	q, err := ParseQuery(dataQuery("", `{"topic":" printer ","measurement":"temperatures","fields":["hotend"],"window":"1m","mode":"windows"}`), s)
	if err != nil {
		t.Fatal(err)
	}
	want := Kafka{Topic: "printer", Format: KafkaLine}
	if q.Type != QueryTypeKafka || q.Kafka != want || q.TTest.Window != time.Minute || q.TTest.Mode != ModePoints || q.TTest.History != 3600 {
		t.Fatalf("got %+v", q)
	}
	q, err = ParseQuery(dataQuery("kafka", `{"topic":"t","format":"json","keyPath":"meta.printer","fields":["temp"]}`), s)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Kafka{Topic: "t", Format: KafkaJSON, TimePath: "time", KeyPath: "meta.printer"}); q.Kafka != want {
		t.Fatalf("got %+v, want %+v", q.Kafka, want)
	}

	tests := []struct{ js, field, message string }{
		{`{"topic":"t","measurement":"m","fields":["f"]}`, "queryType", `needs the data source's Kafka brokers`},
		{`{"measurement":"m","fields":["f"]}`, "topic", "is empty"},
		{`{"topic":"a b","measurement":"m","fields":["f"]}`, "topic", `"a b" is not a Kafka topic name`},
		{`{"topic":"t","format":"avro","measurement":"m","fields":["f"]}`, "format", `"avro" is not a valid format: use line, json`},
		{`{"topic":"t","fields":["f"]}`, "measurement", "is empty"},
		{`{"topic":"t","measurement":"m","timePath":"ts","fields":["f"]}`, "timePath", "applies only to the json format"},
		{`{"topic":"t","format":"json","keyPath":"a..b","fields":["f"]}`, "keyPath", "is not a dot-separated path"},
		{`{"topic":"t","measurement":"m","keyPath":"k","fields":["f"]}`, "keyPath", "applies only to the json format"},
		{`{"topic":"t","format":"json","measurement":"m","fields":["f"]}`, "measurement", "applies only to the line format"},
		{`{"topic":"t","measurement":"m","fields":[]}`, "fields", "is empty"},
		{`{"topic":"t","measurement":"m","fields":["f"],"window":"60d"}`, "window", `must be at most 30d, got "60d"`},
		{`{"topic":"t","measurement":"m","fields":["f"],"alpha":2}`, "alpha", "must be between"},
	}
	for _, tt := range tests {
		settings := s
		if tt.field == "queryType" {
			settings = testSettings
		}
		_, err := ParseQuery(dataQuery("kafka", tt.js), settings)
		qe, ok := err.(*QueryError)
		if !ok || qe.Field != tt.field || !strings.Contains(qe.Error(), tt.message) {
			t.Errorf("%s: got %v, want field %q with %q", tt.js, err, tt.field, tt.message)
		}
	}
}

func TestParseQueryAnomaly(t *testing.T) {
	kafka := testSettings
	kafka.Kafka.Brokers = []string{"127.0.0.1:9092"}
	for _, tt := range []struct {
		name     string
		js       string
		settings Settings
		ttest    TTest
		anomaly  Anomaly
		topic    string
	}{
		{"defaults: the t-test's settings, score", `{"measurement":"m","fields":["a"]}`, testSettings,
			TTest{Fields: []string{"a"}, Window: 5 * time.Minute, History: 3600, Alpha: 0.001, Output: OutputScore, Mode: ModeAuto},
			Anomaly{Detector: DetectorTTest, Output: OutputScore, Direction: analysis.Both}, ""},
		{"zscore: its default threshold; season and smoothing unused", `{"measurement":"m","fields":["a"],"detector":"zscore","season":"1w","hwAlpha":0.5,"output":"band"}`, testSettings,
			TTest{Fields: []string{"a"}, Window: 5 * time.Minute, History: 3600, Alpha: 0.001, Output: OutputBand, Mode: ModeAuto},
			Anomaly{Detector: DetectorZScore, Output: OutputBand, Threshold: 3, Direction: analysis.Both}, ""},
		{"mad reads points in auto", `{"measurement":"m","fields":["a"],"detector":"mad","threshold":"4.5","minDeviation":0.25,"direction":"below"}`, testSettings,
			TTest{Fields: []string{"a"}, Window: 5 * time.Minute, History: 3600, Alpha: 0.001, Output: OutputScore, Mode: ModePoints},
			Anomaly{Detector: DetectorMAD, Output: OutputScore, Threshold: 4.5, MinDeviation: 0.25, Direction: analysis.Below}, ""},
		{"seasonal, a season written in hours", `{"measurement":"m","fields":["a"],"detector":"seasonal","season":"24h","seasons":"7","window":"1h","mode":"windows"}`, testSettings,
			TTest{Fields: []string{"a"}, Window: time.Hour, History: 3600, Alpha: 0.001, Output: OutputScore, Mode: ModeWindows},
			Anomaly{Detector: DetectorSeasonal, Output: OutputScore, Threshold: 3.5, Season: 24 * time.Hour, Seasons: 7, Direction: analysis.Both}, ""},
		{"holtwinters, weekly, smoothing given", `{"measurement":"m","fields":["a"],"detector":"holtwinters","season":"1w","window":"1m","hwAlpha":0.5,"hwBeta":"0.01","hwGamma":0.1,"output":"expected","direction":"above"}`, testSettings,
			TTest{Fields: []string{"a"}, Window: time.Minute, History: 3600, Alpha: 0.001, Output: OutputExpected, Mode: ModeAuto},
			Anomaly{Detector: DetectorHoltWinters, Output: OutputExpected, Threshold: 3, Season: 7 * 24 * time.Hour, Direction: analysis.Above, HWAlpha: 0.5, HWBeta: 0.01, HWGamma: 0.1}, ""},
		{"seasonal at the bound of window means", `{"measurement":"m","fields":["a"],"detector":"seasonal","season":"1w","window":"1m","seasons":13,"hwAlpha":0.5}`, testSettings,
			TTest{Fields: []string{"a"}, Window: time.Minute, History: 3600, Alpha: 0.001, Output: OutputScore, Mode: ModeAuto},
			Anomaly{Detector: DetectorSeasonal, Output: OutputScore, Threshold: 3.5, Season: 7 * 24 * time.Hour, Seasons: 13, Direction: analysis.Both}, ""},
		{"ttest gives pvalue; a threshold it does not use is dropped", `{"measurement":"m","fields":["a"],"detector":"ttest","output":"pvalue","alpha":0.01,"threshold":9}`, testSettings,
			TTest{Fields: []string{"a"}, Window: 5 * time.Minute, History: 3600, Alpha: 0.01, Output: OutputPValue, Mode: ModeAuto},
			Anomaly{Detector: DetectorTTest, Output: OutputPValue, Direction: analysis.Both}, ""},
		{"peers over a Kafka topic", `{"topic":"printer","measurement":"m","fields":["a","b"],"detector":"peers","mode":"auto"}`, kafka,
			TTest{Fields: []string{"a", "b"}, Window: 5 * time.Minute, History: 3600, Alpha: 0.001, Output: OutputScore, Mode: ModePoints},
			Anomaly{Detector: DetectorPeers, Output: OutputScore, Threshold: 3.5, Direction: analysis.Both}, "printer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQuery(dataQuery("anomaly", tt.js), tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			if q.Type != QueryTypeAnomaly || !reflect.DeepEqual(q.TTest, tt.ttest) || q.Anomaly != tt.anomaly || q.Kafka.Topic != tt.topic {
				t.Fatalf("got %+v %+v, want %+v %+v", q.TTest, q.Anomaly, tt.ttest, tt.anomaly)
			}
		})
	}
	q, err := ParseQuery(dataQuery("anomaly", `{"measurement":"m","fields":["a"],"format":"annotations","minDeviation":2,"direction":"above"}`), testSettings)
	if err != nil || q.Format != FormatAnnotations {
		t.Fatalf("annotations: %v %q", err, q.Format)
	}
	if f := q.Anomaly.Filter(); f != (analysis.Filter{MinDeviation: 2, Direction: analysis.Above}) {
		t.Errorf("filter %+v", f)
	}
}

// Every default threshold in src/defaults.json belongs to a detector that
// uses a threshold, and every such detector has one.
func TestAnomalyDefaultThresholds(t *testing.T) {
	uses := vigil.Rule.Anomaly.Uses["threshold"]
	for _, d := range vigil.Rule.Options.Detector {
		th, ok := vigil.Default.Query.Anomaly.Threshold[d]
		if slices.Contains(uses, d) != ok || ok && !(th > 0) {
			t.Errorf("detector %s: default threshold %v (%v), uses a threshold: %v", d, th, ok, slices.Contains(uses, d))
		}
	}
	if len(vigil.Default.Query.Anomaly.Threshold) != len(uses) {
		t.Errorf("default thresholds %v for detectors %v", vigil.Default.Query.Anomaly.Threshold, uses)
	}
	// Every detector named in the rules is a detector.
	for name, list := range vigil.Rule.Anomaly.Uses {
		for _, d := range list {
			if !slices.Contains(vigil.Rule.Options.Detector, d) {
				t.Errorf("uses.%s: %q is not a detector", name, d)
			}
		}
	}
}

// validation.json's bounds on seasons are the detectors' own (the editor
// reads the file; the detectors panic beyond their bounds).
func TestAnomalyRulesMatchDetectors(t *testing.T) {
	r := vigil.Rule.Anomaly
	if r.MaxSeasonPositions != analysis.MaxSeasonPositions || r.MaxSeasonalValues != analysis.MaxSeasonalValues {
		t.Errorf("validation.json: maxSeasonPositions %d, maxSeasonalValues %d; pkg/analysis: %d, %d",
			r.MaxSeasonPositions, r.MaxSeasonalValues, analysis.MaxSeasonPositions, analysis.MaxSeasonalValues)
	}
	// Every accepted seasonal and Holt-Winters setting builds its model.
	checked := 0
	for _, season := range vigil.Rule.Options.Season {
		s := mustDuration("season", season)
		for _, w := range []time.Duration{time.Second * 9, time.Minute, 5 * time.Minute, time.Hour, s / 2} {
			for _, n := range []int{1, r.Seasons.Max} {
				js := fmt.Sprintf(`{"measurement":"m","fields":["a"],"detector":"seasonal","season":%q,"window":%q,"seasons":%d}`, season, w, n)
				q, err := ParseQuery(dataQuery("anomaly", js), testSettings)
				if err != nil {
					continue
				}
				a := q.Anomaly
				checked++
				if err := analysis.CheckSeasonal(int64(a.Season), int64(q.TTest.Window), a.Seasons, a.Threshold); err != nil {
					t.Errorf("%s: accepted, but %v", js, err)
				}
				js = fmt.Sprintf(`{"measurement":"m","fields":["a"],"detector":"holtwinters","season":%q,"window":%q}`, season, w)
				if q, err = ParseQuery(dataQuery("anomaly", js), testSettings); err != nil {
					continue
				}
				if err := analysis.CheckHoltWinters(int(q.Anomaly.Season/q.TTest.Window), 0.5, 0.5, 0.5, q.Anomaly.Threshold); err != nil {
					t.Errorf("%s: accepted, but %v", js, err)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d seasonal settings accepted", checked)
	}
}

func TestParseQueryAnomalyErrors(t *testing.T) {
	kafka := testSettings
	kafka.Kafka.Brokers = []string{"127.0.0.1:9092"}
	base := `"measurement":"m","fields":["a"]`
	tests := []struct {
		json, field, message string
	}{
		{`{"fields":["a"]}`, "measurement", "is empty"},
		{`{"measurement":"m"}`, "fields", "is empty"},
		{`{` + base + `,"detector":"prophet"}`, "detector", `"prophet" is not a valid detector: use ttest, zscore, mad, seasonal, holtwinters, peers`},
		{`{` + base + `,"output":"z"}`, "output", `"z" is not a valid output: use score, anomaly, expected, band, pvalue, t`},
		{`{` + base + `,"detector":"zscore","output":"pvalue"}`, "output", "pvalue is given only by the ttest detector: use score, anomaly, expected or band with zscore"},
		{`{` + base + `,"detector":"seasonal","output":"t"}`, "output", "t is given only by the ttest detector"},
		{`{` + base + `,"detector":"mad","mode":"windows"}`, "mode", "windows does not apply to the mad detector, which needs every point: use auto or points"},
		{`{` + base + `,"window":"60d"}`, "window", `must be at most 30d`},
		{`{` + base + `,"alpha":1}`, "alpha", "must be between 0 and 1"},
		{`{` + base + `,"history":1}`, "history", "from 2 to 10000000"},
		{`{` + base + `,"detector":"zscore","threshold":0}`, "threshold", "must be a number above 0, got 0; leave it empty for the zscore detector's default"},
		{`{` + base + `,"detector":"zscore","threshold":-1}`, "threshold", "got -1"},
		{`{` + base + `,"detector":"zscore","threshold":1e999}`, "threshold", "must be a number, got 1e999"},
		{`{` + base + `,"detector":"zscore","threshold":"high"}`, "threshold", "must be a number, got high"},
		{`{` + base + `,"threshold":-1}`, "threshold", "leave it empty for the ttest detector's default"},
		{`{` + base + `,"season":"2d"}`, "season", `"2d" is not a season: use 1d or 1w`},
		{`{` + base + `,"season":"day"}`, "season", `"day" is not a season`},
		{`{` + base + `,"season":1}`, "season", `must be a duration: use 1d or 1w`},
		{`{` + base + `,"detector":"seasonal","window":"7m"}`, "window", "7m does not divide the season (1d) into whole windows"},
		{`{` + base + `,"detector":"holtwinters","season":"1w","window":"1h40m"}`, "window", "1h40m does not divide the season (1w)"},
		{`{` + base + `,"detector":"holtwinters","season":"1w","window":"30s"}`, "window", "gives 20160 windows per season (1w), more than 10080: use a window of at least 1m that divides the season"},
		{`{` + base + `,"detector":"seasonal","window":"1s"}`, "window", "gives 86400 windows per season (1d), more than 10080: use a window of at least 9s"},
		{`{` + base + `,"seasons":0}`, "seasons", "must be a whole number of seasons from 1 to 52, got 0"},
		{`{` + base + `,"detector":"seasonal","seasons":53}`, "seasons", "got 53"},
		{`{` + base + `,"detector":"seasonal","seasons":2.5}`, "seasons", "got 2.5"},
		{`{` + base + `,"minDeviation":-0.1}`, "minDeviation", "must be at least 0 (in the series' own units), got -0.1"},
		{`{` + base + `,"minDeviation":"NaN"}`, "minDeviation", "must be a number, got NaN"},
		{`{` + base + `,"direction":"up"}`, "direction", `"up" is not a valid direction: use both, above, below`},
		{`{` + base + `,"detector":"holtwinters","hwAlpha":1}`, "hwAlpha", "must be between 0 and 1 (exclusive), or 0 to fit it on the warm-up, got 1"},
		{`{` + base + `,"detector":"holtwinters","hwAlpha":0.5}`, "hwAlpha", "is fitted together with the other two: give hwBeta and hwGamma too, or leave all three empty to fit them on the warm-up"},
		{`{` + base + `,"detector":"holtwinters","hwBeta":0.5,"hwAlpha":0,"hwGamma":0.5}`, "hwBeta", "give hwAlpha too"},
		{`{` + base + `,"detector":"holtwinters","window":"1d"}`, "window", "gives 1 windows per season (1d), fewer than 2"},
		{`{` + base + `,"detector":"seasonal","season":"1w","window":"1m","seasons":14}`, "seasons", "14 seasons of 10080 windows are 141120 window means per series, more than 131072: use at most 13 seasons, or a longer window"},
		{`{` + base + `,"hwBeta":-0.2}`, "hwBeta", "got -0.2"},
		{`{` + base + `,"hwGamma":"x"}`, "hwGamma", "must be a number"},
		{`{` + base + `,"format":"json"}`, "format", `"json" is not an anomaly query format`},
		{`{` + base + `,"tags":{"":"x"}}`, "tags", "empty tag name"},
		{`{"topic":"t","fields":["a"]}`, "measurement", "is empty"},
		{`{"topic":"a b","measurement":"m","fields":["a"]}`, "topic", "is not a Kafka topic name"},
		{`{"topic":"t","format":"json","measurement":"m","fields":["a"]}`, "measurement", "applies only to the line format"},
		{`{"topic":"t","measurement":"m","fields":["a"],"detector":"mad","mode":"windows"}`, "mode", "needs every point"},
	}
	for _, tt := range tests {
		_, err := ParseQuery(dataQuery("anomaly", tt.json), kafka)
		qe, ok := err.(*QueryError)
		if !ok || qe.Field != tt.field || !strings.Contains(qe.Error(), tt.message) {
			t.Errorf("%s: got %v, want field %q with %q", tt.json, err, tt.field, tt.message)
		}
	}
	_, err := ParseQuery(dataQuery("anomaly", `{"topic":"t","measurement":"m","fields":["a"]}`), testSettings)
	if qe, ok := err.(*QueryError); !ok || qe.Field != "queryType" {
		t.Errorf("a topic without brokers: %v", err)
	}
}

// A query saved without queryType is an anomaly query when it gives a
// setting only the anomaly query has (src/types.test.ts checks the same).
func TestParseQueryInfersAnomaly(t *testing.T) {
	kafka := testSettings
	kafka.Kafka.Brokers = []string{"127.0.0.1:9092"}
	for js, want := range map[string]QueryType{
		`{"measurement":"m","fields":["a"],"detector":"zscore"}`:            QueryTypeAnomaly,
		`{"measurement":"m","fields":["a"],"threshold":3}`:                  QueryTypeAnomaly,
		`{"measurement":"m","fields":["a"],"season":"1d"}`:                  QueryTypeAnomaly,
		`{"measurement":"m","fields":["a"],"seasons":3}`:                    QueryTypeAnomaly,
		`{"measurement":"m","fields":["a"],"minDeviation":1}`:               QueryTypeAnomaly,
		`{"measurement":"m","fields":["a"],"direction":"above"}`:            QueryTypeAnomaly,
		`{"measurement":"m","fields":["a"],"hwAlpha":0.5}`:                  QueryTypeAnomaly,
		`{"measurement":"m","fields":["a"],"hwBeta":0.5}`:                   QueryTypeAnomaly,
		`{"measurement":"m","fields":["a"],"hwGamma":0.5}`:                  QueryTypeAnomaly,
		`{"topic":"t","measurement":"m","fields":["a"],"detector":"ttest"}`: QueryTypeAnomaly,
		`{"topic":"t","measurement":"m","fields":["a"]}`:                    QueryTypeKafka,
		`{"measurement":"m","fields":["a"],"detector":""}`:                  QueryTypeTTest,
		`{"flux":"x","detector":"mad"}`:                                     QueryTypeFlux,
	} {
		q, err := ParseQuery(dataQuery("", js), kafka)
		if err != nil || q.Type != want {
			t.Errorf("%s: %v %s, want %s", js, err, q.Type, want)
		}
	}
}
