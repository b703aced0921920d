package models

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
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
