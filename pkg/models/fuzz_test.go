package models

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	vigil "github.com/vigil/vigil-anomaly-datasource"
)

// FuzzParseQuery: whatever the JSON and query type, ParseQuery returns a
// query or a *QueryError naming a field, never panics, and what it accepts
// holds what the query runners rely on.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		`{"measurement":"m","fields":["a"],"window":"5m","history":3600,"alpha":0.001}`,
		`{"measurement":"m","fields":["a","a"," "],"window":"1d12h","history":"60","alpha":"0.05","output":"t","mode":"windows"}`,
		`{"measurement":"m","field":"a","tags":{"p":"1"},"format":"annotations"}`,
		`{"queryType":"power","measurement":"power","subMeters":["a",""],"aggregate":"sum"}`,
		`{"flux":"from(bucket: v.bucket)"}`, `{"influxql":"SELECT 1"}`, `{"queryType":"alerts","format":"table"}`,
		`{"queryType":"anomaly","measurement":"m","fields":["a"],"detector":"seasonal","season":"1w","seasons":"8","window":"1h"}`,
		`{"queryType":"anomaly","measurement":"m","fields":["a"],"detector":"holtwinters","hwAlpha":0.5,"hwGamma":"0","output":"band"}`,
		`{"measurement":"m","fields":["a"],"detector":"mad","threshold":"3.5","minDeviation":1e300,"direction":"below"}`,
		`{"measurement":"m","fields":["a"],"detector":"seasonal","window":"7m","threshold":-1,"season":"24h"}`,
		`{"window":5}`, `{"history":1e400}`, `{"alpha":NaN}`, `{"tags":{"":"x"}}`, `[]`, `null`, `{`,
	} {
		f.Add("", seed)
		f.Add("ttest", seed)
		f.Add("anomaly", seed)
	}
	from := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, queryType, js string) {
		q, err := ParseQuery(backend.DataQuery{RefID: "A", QueryType: queryType, JSON: []byte(js),
			TimeRange: backend.TimeRange{From: from, To: from.Add(time.Hour)}}, testSettings)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Field == "" || qe.Reason == "" {
				t.Fatalf("error %v (%T) names no field", err, err)
			}
			return
		}
		if q.Bucket == "" {
			t.Fatal("accepted without a bucket")
		}
		for k := range q.Tags {
			if strings.TrimSpace(k) == "" {
				t.Fatal("accepted an empty tag name")
			}
		}
		switch q.Type {
		case QueryTypeTTest:
			tt := q.TTest
			if q.Measurement == "" || len(tt.Fields) == 0 || tt.Window <= 0 ||
				tt.History < 2 || !(tt.Alpha > 0 && tt.Alpha < 1) || tt.Output == "" || tt.Mode == "" {
				t.Fatalf("accepted t-test %+v", q)
			}
		case QueryTypeAnomaly:
			checkAnomaly(t, q)
		case QueryTypePower:
			if q.Measurement == "" || q.Power.ActivePower == "" || q.Power.Aggregate == "" {
				t.Fatalf("accepted power %+v", q)
			}
		case QueryTypeFlux, QueryTypeInfluxQL, QueryTypeAlerts:
		default:
			t.Fatalf("accepted query type %q", q.Type)
		}
	})
}

// checkAnomaly: an accepted anomaly query holds what its runner and
// detectors rely on (validation.json's "anomaly" rules).
func checkAnomaly(t *testing.T, q Query) {
	t.Helper()
	tt, a, r := q.TTest, q.Anomaly, vigil.Rule.Anomaly
	uses := func(setting string) bool { return slices.Contains(r.Uses[setting], string(a.Detector)) }
	ok := q.Measurement != "" || q.Kafka.Topic != ""
	ok = ok && len(tt.Fields) > 0 && tt.Window > 0 && tt.History >= 2 && tt.Alpha > 0 && tt.Alpha < 1 && tt.Output == a.Output
	ok = ok && slices.Contains(vigil.Rule.Options.Detector, string(a.Detector)) && slices.Contains(vigil.Rule.Options.AnomalyOutput, string(a.Output))
	ok = ok && (a.Output != OutputPValue && a.Output != OutputT || a.Detector == DetectorTTest)
	ok = ok && (a.Detector != DetectorMAD && q.Kafka.Topic == "" || tt.Mode == ModePoints)
	ok = ok && (uses("threshold") == (a.Threshold > 0)) && !math.IsInf(a.Threshold, 0)
	ok = ok && (uses("season") == (a.Season > 0)) && (a.Season == 0 || a.Season%tt.Window == 0 && int64(a.Season/tt.Window) <= r.MaxSeasonPositions)
	ok = ok && (a.Season == 0 || int64(a.Season/tt.Window) >= r.MinSeasonPositions)
	ok = ok && (uses("seasons") == (a.Seasons > 0)) && a.Seasons <= r.Seasons.Max && int64(a.Season/tt.Window)*int64(a.Seasons) <= r.MaxSeasonalValues
	ok = ok && (a.HWAlpha == 0) == (a.HWBeta == 0) && (a.HWBeta == 0) == (a.HWGamma == 0)
	ok = ok && a.MinDeviation >= 0 && !math.IsInf(a.MinDeviation, 0) && slices.Contains(vigil.Rule.Options.Direction, string(a.Direction))
	for _, v := range []float64{a.HWAlpha, a.HWBeta, a.HWGamma} {
		ok = ok && (v == 0 || v > 0 && v < 1 && uses("hwAlpha"))
	}
	if !ok {
		t.Fatalf("accepted anomaly %+v", q)
	}
}

// goDuration is the part of the duration syntax that Go's time.ParseDuration
// also reads (no d, w, M, y; at most 9 decimals): there both must agree.
var goDuration = regexp.MustCompile(`^(\d{1,12}(\.\d{1,9})?(ns|us|µs|ms|s|m|h))+$`)

// FuzzParseDuration: ParseDuration never panics, agrees with Go's
// time.ParseDuration wherever their syntaxes meet, and reads back its own
// result written in nanoseconds.
func FuzzParseDuration(f *testing.F) {
	for _, seed := range []string{"5m", "1h30m", "1.5d", "0.123456789s", "292y", "293y", "1e3s", "-5m", "5", ".5m", "1.m", "µs", "9223372036854775807ns", "9223372036854775808ns"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q: negative %d", s, d)
		}
		if back, err := ParseDuration(time.Duration(d).String()); goDuration.MatchString(d.String()) && (err != nil || back != d) {
			t.Fatalf("%q = %d ns, but %q reads as %d (%v)", s, d, d.String(), back, err)
		}
		if goDuration.MatchString(s) {
			if want, err := time.ParseDuration(s); err == nil && want != d {
				t.Fatalf("%q: %d ns, Go's time.ParseDuration %d", s, d, want)
			}
		}
	})
}

// channelPath is what Grafana accepts in a channel path (its Live channel
// guide), with Vigil's three parts.
var channelPath = regexp.MustCompile(`^(ttest|power|kafka|anomaly)/[A-Za-z0-9_.\-]{1,32}/[0-9a-f]{32}$`)

// FuzzLiveChannel: any query object gets a path Grafana accepts; keys that
// do not shape the stream do not change it, and the order of keys does not
// either.
func FuzzLiveChannel(f *testing.F) {
	for _, seed := range []string{
		`{"measurement":"temperatures","fields":["hotend"],"tags":{"printer":"p1"}}`,
		`{"measurement":"m","fields":["température 😀 \u2028"],"tags":{"ﬀ":"<&>","😀":"\u0000"}}`,
		`{"fields":[1,null,{"a":[]}],"alpha":1e-300,"history":1e21}`, `{}`, `{"queryType":"ttest"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, js string) {
		var data map[string]any
		if json.Unmarshal([]byte(js), &data) != nil || data == nil {
			return
		}
		queryType := QueryTypeTTest
		if len(js)%2 == 1 {
			queryType = QueryTypeAnomaly // the same rules, the anomaly label
		}
		path, err := LiveChannel(queryType, []byte(js))
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Field != "queryType" {
				t.Fatalf("%s: %v", js, err)
			}
			return
		}
		if !channelPath.MatchString(path) {
			t.Fatalf("%s: path %q is not a Grafana channel path", js, path)
		}
		data["refId"], data["datasource"], data["hide"] = "Z", map[string]any{"uid": "x"}, true
		again, _ := json.Marshal(data) // keys in another order, and more of them
		if p, err := LiveChannel(queryType, again); err != nil || p != path {
			t.Fatalf("%s: %q, but %s gives %q (%v)", js, path, again, p, err)
		}
	})
}
