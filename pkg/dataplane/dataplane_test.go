package dataplane

import (
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

var t0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

func ts(n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t0.Add(time.Duration(i) * time.Minute)
	}
	return out
}

func typed(typ data.FrameType, f *data.Frame) *data.Frame {
	f.Meta = &data.FrameMeta{Type: typ, TypeVersion: data.FrameTypeVersion{0, 1}}
	return f
}

func multi(name string, labels data.Labels, times []time.Time, values any) *data.Frame {
	return typed(data.FrameTypeTimeSeriesMulti, data.NewFrame("", data.NewField("Time", nil, times), data.NewField(name, labels, values)))
}

func fp(v float64) *float64 { return &v }

func TestGoodResponses(t *testing.T) {
	tests := []struct {
		name    string
		frames  data.Frames
		noData  bool
		series  int
		numbers int
	}{
		{"no frames is No Data", nil, true, 0, 0},
		{"one frame without fields is No Data", data.Frames{typed(data.FrameTypeTimeSeriesMulti, data.NewFrame(""))}, true, 0, 0},
		{"untyped frame without fields is No Data", data.Frames{data.NewFrame("")}, true, 0, 0},
		{"multi: one series per field and tag set", data.Frames{
			multi("pvalue", data.Labels{"field": "hotend"}, ts(3), []float64{0.5, 0.2, 1e-9}),
			multi("pvalue", data.Labels{"field": "bed"}, ts(2), []float64{0.5, 0.4}),
			multi("pvalue", data.Labels{"field": "bed", "printer": "b"}, ts(2), []*float64{nil, fp(0.3)}),
		}, false, 3, 0},
		{"multi: empty value item (fields without rows) is not No Data", data.Frames{multi("pvalue", nil, ts(0), []float64{})}, false, 1, 0},
		{"multi: string fields and later time fields are remainder data", data.Frames{
			typed(data.FrameTypeTimeSeriesMulti, data.NewFrame("", data.NewField("host", nil, []string{"a", "b"}), data.NewField("Time", nil, ts(2)),
				data.NewField("v", nil, []int64{1, 2}), data.NewField("t2", nil, []time.Time{t0, t0}))),
		}, false, 1, 0},
		{"wide: one frame, several series", data.Frames{
			typed(data.FrameTypeTimeSeriesWide, data.NewFrame("", data.NewField("Time", nil, ts(2)),
				data.NewField("cpu", data.Labels{"host": "a"}, []float64{1, 2}), data.NewField("cpu", data.Labels{"host": "b"}, []float64{3, 4}))),
		}, false, 2, 0},
		{"long: dimensions in string fields, repeated timestamps", data.Frames{
			typed(data.FrameTypeTimeSeriesLong, data.NewFrame("", data.NewField("Time", nil, []time.Time{t0, t0, t0.Add(time.Minute), t0.Add(time.Minute)}),
				data.NewField("host", nil, []string{"a", "b", "a", "b"}), data.NewField("cpu", nil, []float64{1, 6, 4, 8}))),
		}, false, 2, 0},
		{"numeric-multi", data.Frames{
			typed(data.FrameTypeNumericMulti, data.NewFrame("", data.NewField("cpu", data.Labels{"host": "a"}, []float64{1}))),
			typed(data.FrameTypeNumericMulti, data.NewFrame("", data.NewField("cpu", data.Labels{"host": "b"}, []*float64{nil}))),
		}, false, 0, 2},
		{"numeric-wide", data.Frames{
			typed(data.FrameTypeNumericWide, data.NewFrame("", data.NewField("cpu", data.Labels{"host": "a"}, []float64{1}), data.NewField("cpu", data.Labels{"host": "b"}, []float64{6}))),
		}, false, 0, 2},
		{"numeric-long", data.Frames{
			typed(data.FrameTypeNumericLong, data.NewFrame("", data.NewField("cpu", nil, []float64{1, 6}), data.NewField("host", nil, []string{"a", "b"}))),
		}, false, 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := Read(tc.frames)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if resp.NoData != tc.noData || len(resp.Series) != tc.series || len(resp.Numbers) != tc.numbers {
				t.Fatalf("got NoData=%v series=%d numbers=%d, want %v %d %d", resp.NoData, len(resp.Series), len(resp.Numbers), tc.noData, tc.series, tc.numbers)
			}
			if err := CheckNumeric(tc.frames); err != nil {
				t.Fatalf("CheckNumeric: %v", err)
			}
		})
	}
}

// TestBadResponses breaks each rule once; the exact set of rules reported
// is checked, so removing a rule's check fails its case.
func TestBadResponses(t *testing.T) {
	good := func() *data.Frame { return multi("pvalue", data.Labels{"field": "hotend"}, ts(2), []float64{1, 2}) }
	withMeta := func(f *data.Frame, m *data.FrameMeta) *data.Frame { f.Meta = m; return f }
	nullableTime := []*time.Time{&t0, nil}
	tests := []struct {
		name   string
		frames data.Frames
		want   []string
	}{
		{"nil frame", data.Frames{good(), nil}, []string{RuleFrameNotNil}},
		{"No Data frame alongside data", data.Frames{good(), typed(data.FrameTypeTimeSeriesMulti, data.NewFrame(""))}, []string{RuleNoDataAlone}},
		{"no type in meta", data.Frames{withMeta(good(), nil)}, []string{RuleTypeDeclared}},
		{"table type", data.Frames{withMeta(good(), &data.FrameMeta{Type: data.FrameTypeTable, TypeVersion: data.FrameTypeVersion{0, 1}})}, []string{RuleTypeDeclared}},
		//lint:ignore SA1019 the deprecated type is what this case feeds the rule
		{"deprecated timeseries-many", data.Frames{withMeta(good(), &data.FrameMeta{Type: data.FrameTypeTimeSeriesMany, TypeVersion: data.FrameTypeVersion{0, 1}})}, []string{RuleTypeDeclared}},
		{"type version 0.0", data.Frames{withMeta(good(), &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti})}, []string{RuleTypeVersion}},
		{"type version newer than known", data.Frames{withMeta(good(), &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{1, 0}})}, []string{RuleTypeVersion}},
		{"second frame without the type", data.Frames{good(), withMeta(multi("pvalue", data.Labels{"field": "bed"}, ts(2), []float64{1, 2}), nil)}, []string{RuleTypeConsistent}},
		{"fields of different lengths", data.Frames{multi("pvalue", nil, ts(3), []float64{1, 2})}, []string{RuleFieldLengths}},
		{"no time field", data.Frames{typed(data.FrameTypeTimeSeriesMulti, data.NewFrame("", data.NewField("v", nil, []float64{1})))}, []string{RuleTimeField}},
		{"nullable time field", data.Frames{typed(data.FrameTypeTimeSeriesMulti, data.NewFrame("", data.NewField("Time", nil, nullableTime), data.NewField("v", nil, []float64{1, 2})))}, []string{RuleTimeField}},
		{"labels on the time field", data.Frames{typed(data.FrameTypeTimeSeriesMulti, data.NewFrame("", data.NewField("Time", data.Labels{"a": "b"}, ts(2)), data.NewField("v", nil, []float64{1, 2})))}, []string{RuleTimeNoLabels}},
		{"time not sorted", data.Frames{multi("v", nil, []time.Time{t0.Add(time.Minute), t0}, []float64{1, 2})}, []string{RuleTimeSorted}},
		{"long: time not sorted", data.Frames{typed(data.FrameTypeTimeSeriesLong, data.NewFrame("", data.NewField("Time", nil, []time.Time{t0.Add(time.Minute), t0}),
			data.NewField("host", nil, []string{"a", "b"}), data.NewField("cpu", nil, []float64{1, 6})))}, []string{RuleTimeSorted}},
		{"duplicate timestamp", data.Frames{multi("v", nil, []time.Time{t0, t0}, []float64{1, 2})}, []string{RuleTimeUnique}},
		{"long: a series with two rows at one time", data.Frames{typed(data.FrameTypeTimeSeriesLong, data.NewFrame("", data.NewField("Time", nil, []time.Time{t0, t0}),
			data.NewField("host", nil, []string{"a", "a"}), data.NewField("cpu", nil, []float64{1, 6})))}, []string{RuleTimeUnique}},
		{"no numeric value field", data.Frames{typed(data.FrameTypeTimeSeriesMulti, data.NewFrame("", data.NewField("Time", nil, ts(2)), data.NewField("s", nil, []string{"a", "b"})))}, []string{RuleValueNumeric}},
		{"bool value field", data.Frames{multi("up", nil, ts(2), []bool{true, false})}, []string{RuleValueNumeric, RuleValueNumeric}},
		{"two value fields in a multi frame", data.Frames{typed(data.FrameTypeTimeSeriesMulti, data.NewFrame("", data.NewField("Time", nil, ts(2)),
			data.NewField("a", nil, []float64{1, 2}), data.NewField("b", nil, []float64{1, 2})))}, []string{RuleOneValuePerFrame}},
		{"two wide frames", data.Frames{
			typed(data.FrameTypeTimeSeriesWide, data.NewFrame("", data.NewField("Time", nil, ts(2)), data.NewField("a", nil, []float64{1, 2}))),
			typed(data.FrameTypeTimeSeriesWide, data.NewFrame("", data.NewField("Time", nil, ts(2)), data.NewField("b", nil, []float64{1, 2}))),
		}, []string{RuleSingleFrame}},
		{"numeric frame with two rows", data.Frames{typed(data.FrameTypeNumericMulti, data.NewFrame("", data.NewField("cpu", nil, []float64{1, 2})))}, []string{RuleNumericRows}},
		{"numeric-long rows without dimensions", data.Frames{typed(data.FrameTypeNumericLong, data.NewFrame("", data.NewField("cpu", nil, []float64{1, 2})))}, []string{RuleLongDimensions}},
		{"same series twice", data.Frames{good(), good()}, []string{RuleSeriesUnique, RuleLabelsUnique}},
		{"two names, same labels", data.Frames{good(), multi("t", data.Labels{"field": "hotend"}, ts(2), []float64{1, 2})}, []string{RuleLabelsUnique}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := Read(tc.frames)
			if err == nil {
				t.Fatalf("accepted: %+v", resp)
			}
			e, ok := AsError(err)
			if !ok {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			got := e.Rules()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("rules %v, want %v (%v)", got, tc.want, err)
			}
			if CheckNumeric(tc.frames) == nil {
				t.Fatal("CheckNumeric accepted what Read refused")
			}
		})
	}
}

// TestReadValues checks what is read, not only that it is accepted.
func TestReadValues(t *testing.T) {
	resp, err := Read(data.Frames{typed(data.FrameTypeTimeSeriesLong, data.NewFrame("",
		data.NewField("Time", nil, []time.Time{t0, t0, t0.Add(time.Minute)}),
		data.NewField("host", nil, []string{"a", "b", "a"}), data.NewField("cpu", nil, []*float64{fp(1), nil, fp(4)})))})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Series) != 2 {
		t.Fatalf("series %+v", resp.Series)
	}
	a, b := resp.Series[0], resp.Series[1]
	if a.Name != "cpu" || a.Labels.String() != "host=a" || len(a.Values) != 2 || *a.Values[1] != 4 || !a.Time[1].Equal(t0.Add(time.Minute)) {
		t.Fatalf("series a %+v", a)
	}
	if b.Labels.String() != "host=b" || len(b.Values) != 1 || b.Values[0] != nil {
		t.Fatalf("series b %+v", b)
	}
}
