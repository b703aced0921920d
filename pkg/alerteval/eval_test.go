package alerteval

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/frames"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeQuerier answers each refId with scripted frames or an error, and
// records the requests it got.
type fakeQuerier struct {
	frames   map[string]data.Frames
	errs     map[string]error
	callErr  error
	requests []DatasourceRequest
}

func (f *fakeQuerier) QueryData(_ context.Context, uid string, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	f.requests = append(f.requests, DatasourceRequest{DatasourceUID: uid, Request: req})
	if f.callErr != nil {
		return nil, f.callErr
	}
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		if err, ok := f.errs[q.RefID]; ok {
			resp.Responses[q.RefID] = backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
			continue
		}
		resp.Responses[q.RefID] = backend.DataResponse{Frames: f.frames[q.RefID]}
	}
	return resp, nil
}

// printerRule is the shape of provisioning/alerting/printer.yaml's rules.
func printerRule(reduceMode string, cond Query) Rule {
	return Rule{
		UID: "vigil-printer", Title: "Printer anomaly", Folder: "Vigil", Condition: "C",
		Labels:      map[string]string{"severity": "critical"},
		Annotations: map[string]string{"value": "{{ $values.B.Value }}", "message": "{{ $labels.field }} p={{ $values.B }} {{ $labels.nope }}"},
		Data: []Query{
			{RefID: "A", DatasourceUID: "vigil", RelativeTimeRange: RelativeTimeRange{From: 1800}, Model: map[string]any{
				"refId": "A", "queryType": "ttest", "measurement": "temperatures", "fields": []any{"hotend", "bed"}, "output": "pvalue"}},
			{RefID: "B", DatasourceUID: ExprDatasourceUID, Model: map[string]any{"type": "reduce", "expression": "A", "reducer": "last", "settings": map[string]any{"mode": reduceMode}}},
			cond,
		},
	}
}

func thresholdQuery(typ string, params ...float64) Query {
	ps := make([]any, len(params))
	for i, p := range params {
		ps[i] = p
	}
	return Query{RefID: "C", DatasourceUID: ExprDatasourceUID, Model: map[string]any{"type": "threshold", "expression": "B",
		"conditions": []any{map[string]any{"evaluator": map[string]any{"type": typ, "params": ps}}}}}
}

// ttestFrames builds Vigil's own t-test response: one series per field and
// tag set, the p-values given per series.
func ttestFrames(series ...*ttest.Series) data.Frames {
	return frames.TTest(&ttest.Outcome{Series: series}, models.OutputPValue, 0.001)
}

func pseries(field string, tags map[string]string, ps ...float64) *ttest.Series {
	s := &ttest.Series{Field: field, Tags: tags}
	for i, p := range ps {
		s.Ends = append(s.Ends, now.Add(time.Duration(i-len(ps))*5*time.Minute))
		s.Results = append(s.Results, analysis.Result{P: p})
	}
	return s
}

func TestBuildRequests(t *testing.T) {
	rule := printerRule(ModeDropNN, thresholdQuery("lt", 0.001))
	rule.Data = append(rule.Data, Query{RefID: "D", DatasourceUID: "vigil", RelativeTimeRange: RelativeTimeRange{From: 600, To: 60},
		Model: map[string]any{"queryType": "power", "maxDataPoints": 500.0, "intervalMs": 60000}})
	reqs, err := BuildRequests(rule, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].DatasourceUID != "vigil" || len(reqs[0].Request.Queries) != 2 {
		t.Fatalf("want one request to vigil with queries A and D, got %+v", reqs)
	}
	wantHeaders := map[string]string{"FromAlert": "true", "X-Cache-Skip": "true", "X-Rule-Uid": "vigil-printer", "X-Grafana-Org-Id": "1"}
	if got := reqs[0].Request.Headers; !equalMaps(got, wantHeaders) {
		t.Errorf("headers %v, want %v", got, wantHeaders)
	}
	tests := []struct {
		refID, queryType string
		maxDP            int64
		interval         time.Duration
		from, to         time.Time
	}{
		{"A", "ttest", 43200, time.Second, now.Add(-30 * time.Minute), now},
		{"D", "power", 500, time.Minute, now.Add(-10 * time.Minute), now.Add(-time.Minute)},
	}
	for i, tc := range tests {
		q := reqs[0].Request.Queries[i]
		if q.RefID != tc.refID || q.QueryType != tc.queryType || q.MaxDataPoints != tc.maxDP || q.Interval != tc.interval ||
			!q.TimeRange.From.Equal(tc.from) || !q.TimeRange.To.Equal(tc.to) {
			t.Errorf("query %d = %+v, want %+v", i, q, tc)
		}
		var model map[string]any
		if err := json.Unmarshal(q.JSON, &model); err != nil {
			t.Fatal(err)
		}
		if model["maxDataPoints"] != float64(tc.maxDP) || model["intervalMs"] != float64(tc.interval.Milliseconds()) || model["queryType"] != tc.queryType {
			t.Errorf("query %s JSON %s lacks the defaults Grafana writes into the model", tc.refID, q.JSON)
		}
	}
	// Without a UID there is no rule key: only the two fixed headers.
	rule.UID = ""
	reqs, _ = BuildRequests(rule, now)
	if len(reqs[0].Request.Headers) != 2 {
		t.Errorf("headers without a rule UID: %v", reqs[0].Request.Headers)
	}
	rule.Data[0].RelativeTimeRange = RelativeTimeRange{From: 0, To: 0}
	if _, err := BuildRequests(rule, now); err == nil {
		t.Error("an empty relative time range on a data query was accepted")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

type wantInstance struct {
	labels string // data.Labels string of the instance's labels
	state  State
	reason string
}

func TestEvaluate(t *testing.T) {
	mathC := Query{RefID: "C", DatasourceUID: ExprDatasourceUID, Model: map[string]any{"type": "math", "expression": "$B < 0.001"}}
	rule := func(mode string, cond Query, edit ...func(*Rule)) Rule {
		r := printerRule(mode, cond)
		for _, e := range edit {
			e(&r)
		}
		return r
	}
	lt := thresholdQuery("lt", 0.001)
	// L is the instance labels: the rule's, plus the series' pairs.
	L := func(pairs ...string) string {
		l := data.Labels{"alertname": "Printer anomaly", "grafana_folder": "Vigil", "severity": "critical"}
		for i := 0; i+1 < len(pairs); i += 2 {
			l[pairs[i]] = pairs[i+1]
		}
		return l.String()
	}
	sorted := func(tim ...time.Time) []time.Time { return tim }
	tests := []struct {
		name    string
		rule    Rule
		frames  data.Frames
		qerr    error
		callErr error
		want    []wantInstance
		errHas  string
	}{
		{"one instance per field: hotend fires, bed does not", rule(ModeDropNN, lt),
			ttestFrames(pseries("hotend", nil, 0.5, 1e-9), pseries("bed", nil, 0.4, 0.3)),
			nil, nil, []wantInstance{{L("field", "bed"), Normal, ""}, {L("field", "hotend"), Alerting, ""}}, ""},
		{"one instance per tag set", rule(ModeDropNN, lt),
			ttestFrames(pseries("bed", map[string]string{"printer": "a"}, 1e-5), pseries("bed", map[string]string{"printer": "b"}, 0.2)),
			nil, nil, []wantInstance{{L("field", "bed", "printer", "a"), Alerting, ""}, {L("field", "bed", "printer", "b"), Normal, ""}}, ""},
		{"math condition as threshold", rule(ModeDropNN, mathC),
			ttestFrames(pseries("hotend", nil, 1e-9), pseries("bed", nil, 0.3)),
			nil, nil, []wantInstance{{L("field", "bed"), Normal, ""}, {L("field", "hotend"), Alerting, ""}}, ""},
		{"expressions listed out of order", rule(ModeDropNN, lt, func(r *Rule) { r.Data[1], r.Data[2] = r.Data[2], r.Data[1] }),
			ttestFrames(pseries("hotend", nil, 1e-9)), nil, nil, []wantInstance{{L("field", "hotend"), Alerting, ""}}, ""},
		{"dropNN last skips a trailing NaN", rule(ModeDropNN, lt),
			ttestFrames(pseries("hotend", nil, 0.5, 1e-9, math.NaN())), nil, nil, []wantInstance{{L("field", "hotend"), Alerting, ""}}, ""},
		{"strict last takes the NaN: NaN < alpha is false", rule(ModeStrict, lt),
			ttestFrames(pseries("hotend", nil, 0.5, 1e-9, math.NaN())), nil, nil, []wantInstance{{L("field", "hotend"), Normal, ""}}, ""},
		{"dropNN over an all-NaN series: that instance is NoData", rule(ModeDropNN, lt),
			ttestFrames(pseries("hotend", nil, math.NaN()), pseries("bed", nil, 0.3)),
			nil, nil, []wantInstance{{L("field", "bed"), Normal, ""}, {L("field", "hotend"), NoData, ""}}, ""},
		{"threshold gt (power rule)", rule(ModeDropNN, thresholdQuery("gt", 4)),
			ttestFrames(pseries("p", nil, 1, 5)),
			nil, nil, []wantInstance{{L("field", "p"), Alerting, ""}}, ""},
		{"threshold gt below the threshold", rule(ModeDropNN, thresholdQuery("gt", 4)),
			ttestFrames(pseries("p", nil, 5, 2)), nil, nil, []wantInstance{{L("field", "p"), Normal, ""}}, ""},
		{"within_range", rule(ModeDropNN, thresholdQuery("within_range", 0.1, 0.5)),
			ttestFrames(pseries("a", nil, 0.3), pseries("b", nil, 0.7)), nil, nil,
			[]wantInstance{{L("field", "a"), Alerting, ""}, {L("field", "b"), Normal, ""}}, ""},
		{"outside_range", rule(ModeDropNN, thresholdQuery("outside_range", 0.1, 0.5)),
			ttestFrames(pseries("a", nil, 0.3), pseries("b", nil, 0.7)), nil, nil,
			[]wantInstance{{L("field", "a"), Normal, ""}, {L("field", "b"), Alerting, ""}}, ""},
		{"no frames: NoData", rule(ModeDropNN, lt), nil, nil, nil, []wantInstance{{L(), NoData, ""}}, ""},
		{"No Data frame: NoData", rule(ModeDropNN, lt), data.Frames{data.NewFrame("")}, nil, nil, []wantInstance{{L(), NoData, ""}}, ""},
		{"Vigil's empty t-test frame with dropNN: NoData", rule(ModeDropNN, lt), ttestFrames(), nil, nil, []wantInstance{{L(), NoData, ""}}, ""},
		{"Vigil's empty t-test frame with strict last: NaN, Normal", rule(ModeStrict, lt), ttestFrames(), nil, nil, []wantInstance{{L(), Normal, ""}}, ""},
		{"noDataState OK", rule(ModeDropNN, lt, func(r *Rule) { r.NoDataState = "OK" }), nil, nil, nil, []wantInstance{{L(), Normal, "NoData"}}, ""},
		{"noDataState Alerting", rule(ModeDropNN, lt, func(r *Rule) { r.NoDataState = "Alerting" }), nil, nil, nil, []wantInstance{{L(), Alerting, "NoData"}}, ""},
		{"duplicated labels break the data plane contract: Error", rule(ModeDropNN, lt),
			append(ttestFrames(pseries("hotend", nil, 0.1)), ttestFrames(pseries("hotend", nil, 0.2))...),
			nil, nil, []wantInstance{{L(), Error, ""}}, "labels-unique"},
		{"unsorted time breaks the data plane contract: Error", rule(ModeDropNN, lt),
			data.Frames{func() *data.Frame {
				f := ttestFrames(pseries("hotend", nil, 0.1, 0.2))[0]
				f.Fields[0] = data.NewField("Time", nil, sorted(now, now.Add(-time.Minute)))
				return f
			}()},
			nil, nil, []wantInstance{{L(), Error, ""}}, "time-sorted"},
		{"query error: Error", rule(ModeDropNN, lt), nil, errors.New("bucket not found"), nil, []wantInstance{{L(), Error, ""}}, "bucket not found"},
		{"execErrState Alerting", rule(ModeDropNN, lt, func(r *Rule) { r.ExecErrState = "Alerting" }), nil, errors.New("boom"), nil,
			[]wantInstance{{L(), Alerting, "Error"}}, "boom"},
		{"plugin unreachable: Error", rule(ModeDropNN, lt), nil, nil, errors.New("connection refused"), []wantInstance{{L(), Error, ""}}, "connection refused"},
		{"condition on the series itself: Error", rule(ModeDropNN, lt, func(r *Rule) { r.Condition = "A" }),
			ttestFrames(pseries("hotend", nil, 0.1)), nil, nil, []wantInstance{{L(), Error, ""}}, "only reduced data"},
		{"condition not in data: Error", rule(ModeDropNN, lt, func(r *Rule) { r.Condition = "Z" }),
			ttestFrames(pseries("hotend", nil, 0.1)), nil, nil, []wantInstance{{L(), Error, ""}}, "not one of"},
		{"expression on a missing refId: Error", rule(ModeDropNN, thresholdQuery("lt", 0.001), func(r *Rule) { r.Data[1].Model["expression"] = "X" }),
			ttestFrames(pseries("hotend", nil, 0.1)), nil, nil, []wantInstance{{L(), Error, ""}}, "never evaluated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQuerier{frames: map[string]data.Frames{"A": tc.frames}, callErr: tc.callErr}
			if tc.qerr != nil {
				q.errs = map[string]error{"A": tc.qerr}
			}
			ev := Evaluate(context.Background(), q, tc.rule, now)
			if tc.errHas == "" && ev.Err != nil {
				t.Fatalf("evaluation error: %v", ev.Err)
			}
			if tc.errHas != "" && (ev.Err == nil || !strings.Contains(ev.Err.Error(), tc.errHas)) {
				t.Fatalf("error %v, want one containing %q", ev.Err, tc.errHas)
			}
			if len(ev.Instances) != len(tc.want) {
				t.Fatalf("%d instances %+v, want %d", len(ev.Instances), ev.Instances, len(tc.want))
			}
			for i, w := range tc.want {
				got := ev.Instances[i]
				if l := data.Labels(got.Labels).String(); l != w.labels || got.State != w.state || got.Reason != w.reason {
					t.Errorf("instance %d: {%s} %s (reason %q), want {%s} %s (reason %q)", i, l, got.State, got.Reason, w.labels, w.state, w.reason)
				}
				if got.State == Error || got.Reason == "Error" {
					if got.Error == "" {
						t.Errorf("instance %d: Error without message", i)
					}
				}
			}
		})
	}
}

func TestEvaluateValuesAndAnnotations(t *testing.T) {
	q := &fakeQuerier{frames: map[string]data.Frames{"A": ttestFrames(pseries("hotend", nil, 0.5, 1e-9), pseries("bed", nil, 0.25))}}
	ev := Evaluate(context.Background(), q, printerRule(ModeDropNN, thresholdQuery("lt", 0.001)), now)
	if ev.Err != nil || len(ev.Instances) != 2 {
		t.Fatalf("%v %+v", ev.Err, ev.Instances)
	}
	bed, hotend := ev.Instances[0], ev.Instances[1]
	if hotend.Values["B"].Value != 1e-9 || hotend.Values["C"].Value != 1 || bed.Values["B"].Value != 0.25 || bed.Values["C"].Value != 0 {
		t.Errorf("values hotend %v bed %v", hotend.Values, bed.Values)
	}
	if data.Labels(hotend.Values["B"].Labels).String() != "field=hotend" {
		t.Errorf("B labels %v", hotend.Values["B"].Labels)
	}
	want := map[string]string{"value": "1e-09", "message": "hotend p=0.000000001 [no value]"}
	if !equalMaps(hotend.Annotations, want) {
		t.Errorf("hotend annotations %q, want %q", hotend.Annotations, want)
	}
	if want := "[ var='B' labels={field=hotend} value=1e-09 ], [ var='C' labels={field=hotend} value=1 ]"; hotend.EvaluationString != want {
		t.Errorf("evaluation string %q, want %q", hotend.EvaluationString, want)
	}
	if bed.Annotations["value"] != "0.25" {
		t.Errorf("bed value annotation %q", bed.Annotations["value"])
	}
	// The request the rule sent is the alerting one.
	if len(q.requests) != 1 || q.requests[0].Request.Headers["FromAlert"] != "true" {
		t.Errorf("requests %+v", q.requests)
	}
}

// TestDuplicateConditionLabels: two condition items with one label set
// (here made by math joining {x} and {y} with {x, y}) fail the evaluation,
// as Grafana cannot tell their instances apart.
func TestDuplicateConditionLabels(t *testing.T) {
	frame := func(labels map[string]string) *data.Frame {
		f := data.NewFrame("", data.NewField("Time", nil, []time.Time{now}), data.NewField("v", labels, []float64{1}))
		f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
		return f
	}
	rule := Rule{Title: "dup", Condition: "C", Data: []Query{
		{RefID: "A", DatasourceUID: "vigil", RelativeTimeRange: RelativeTimeRange{From: 60}},
		{RefID: "D", DatasourceUID: "vigil", RelativeTimeRange: RelativeTimeRange{From: 60}},
		{RefID: "B", DatasourceUID: ExprDatasourceUID, Model: map[string]any{"type": "reduce", "expression": "A", "reducer": "last"}},
		{RefID: "E", DatasourceUID: ExprDatasourceUID, Model: map[string]any{"type": "reduce", "expression": "D", "reducer": "last"}},
		{RefID: "C", DatasourceUID: ExprDatasourceUID, Model: map[string]any{"type": "math", "expression": "$B + $E"}},
	}}
	q := &fakeQuerier{frames: map[string]data.Frames{
		"A": {frame(map[string]string{"x": "1"}), frame(map[string]string{"y": "1"})},
		"D": {frame(map[string]string{"x": "1", "y": "1"})},
	}}
	ev := Evaluate(context.Background(), q, rule, now)
	if ev.Err == nil || !strings.Contains(ev.Err.Error(), "duplicate results with labels {x=1, y=1}") || ev.Instances[0].State != Error {
		t.Fatalf("got %v %+v", ev.Err, ev.Instances)
	}
}
