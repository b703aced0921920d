package frames

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// FieldLabel is the label that names a t-test series' field, so that Grafana
// alerting makes one alert instance per field (and tag set).
const FieldLabel = "field"

// TTest builds one timeseries-multi frame per series: a time field (window
// ends) and one float64 value field named after the output, labelled with
// field=<name> and the series' tags. With no series, it returns one empty
// frame (Grafana alerting reads that as NoData) carrying the notices.
func TTest(out *ttest.Outcome, output models.Output, alpha float64) data.Frames {
	meta := func() *data.FrameMeta { return outcomeMeta(out) }
	var frames data.Frames
	for _, s := range out.Series {
		values := make([]float64, len(s.Results))
		for i, r := range s.Results {
			values[i] = outputValue(r, output, alpha)
		}
		f := data.NewFrame("", data.NewField("Time", nil, s.Ends), valueField(s, output, values))
		f.Meta = meta()
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		f := data.NewFrame("", data.NewField("Time", nil, []time.Time{}), data.NewField(string(output), nil, []float64{}))
		f.Meta = meta()
		frames = data.Frames{f}
	}
	for _, n := range out.Notices {
		frames[0].Meta.Notices = append(frames[0].Meta.Notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: n})
	}
	return frames
}

// outcomeMeta is a t-test (or anomaly) frame's metadata: the frame type,
// the statements run, and meta.custom's read mode, warm-up lookback,
// points read and kept state.
func outcomeMeta(out *ttest.Outcome) *data.FrameMeta {
	custom := map[string]any{
		"mode":       string(out.Mode),
		"lookback":   out.Lookback.String(),
		"pointsRead": out.PointsRead,
	}
	if out.State != "" {
		custom["state"] = out.State // cold or warm: whether kept state answered
	}
	return &data.FrameMeta{
		Type:                data.FrameTypeTimeSeriesMulti,
		TypeVersion:         data.FrameTypeVersion{0, 1},
		ExecutedQueryString: strings.Join(out.Scripts, "\n\n"),
		Custom:              custom,
	}
}

// outputValue is what a window shows for the chosen output.
func outputValue(r analysis.Result, output models.Output, alpha float64) float64 {
	switch output {
	case models.OutputT:
		return r.T
	case models.OutputAnomaly:
		if r.Anomalous(alpha) {
			return 1
		}
		return 0
	}
	return r.P
}

// valueField is a series' value field: named after the output, labelled
// field=<name> plus the series' tags.
func valueField(s *ttest.Series, output models.Output, values any) *data.Field {
	labels := data.Labels{FieldLabel: s.Field}
	for k, v := range s.Tags {
		if k != FieldLabel {
			labels[k] = v
		}
	}
	f := data.NewField(string(output), labels, values)
	f.Config = &data.FieldConfig{DisplayNameFromDS: displayName(s)}
	return f
}

// displayName is the field name, followed by the tags when there are any.
func displayName(s *ttest.Series) string {
	if len(s.Tags) == 0 {
		return s.Field
	}
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%s", k, s.Tags[k])
	}
	return s.Field + " " + strings.Join(parts, " ")
}

// TTestLive builds one frame for a live stream: the windows closed in one
// poll, for every series of the channel, in wide form (a time field and one
// value field per series, labelled as in TTest; null where a series has no
// window at that time). With one series it has the fields of the query
// response.
func TTestLive(series []*ttest.Series, output models.Output, alpha float64) *data.Frame {
	times, index := windowEnds(series)
	f := data.NewFrame("", data.NewField("Time", nil, times))
	for _, s := range series {
		values := make([]*float64, len(times))
		for i, t := range s.Ends {
			v := outputValue(s.Results[i], output, alpha)
			values[index[t]] = &v
		}
		f.Fields = append(f.Fields, valueField(s, output, values))
	}
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide}
	return f
}

// TTestAnnotations turns the anomalous windows (p < alpha) into annotation
// regions, one per window: time (window start), timeEnd, title, text, tags.
func TTestAnnotations(out *ttest.Outcome, window time.Duration, alpha float64) data.Frames {
	var starts, ends []time.Time
	var titles, texts, tags []string
	for _, s := range out.Series {
		name := displayName(s)
		for i, r := range s.Results {
			if !r.Anomalous(alpha) {
				continue
			}
			starts = append(starts, s.Ends[i].Add(-window))
			ends = append(ends, s.Ends[i])
			titles = append(titles, name+" anomaly")
			texts = append(texts, fmt.Sprintf("%s: p = %.3g, t = %.3g over %d points", name, r.P, r.T, r.N))
			tags = append(tags, "anomaly,"+s.Field)
		}
	}
	return annotationFrame("anomalies", starts, ends, titles, texts, tags, strings.Join(out.Scripts, "\n\n"))
}

// windowEnds are the distinct window ends of series in time order, and each
// end's row: the rows of a live frame in wide form.
func windowEnds(series []*ttest.Series) ([]time.Time, map[time.Time]int) {
	set := map[time.Time]bool{}
	for _, s := range series {
		for _, t := range s.Ends {
			set[t] = true
		}
	}
	times := make([]time.Time, 0, len(set))
	for t := range set {
		times = append(times, t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	index := make(map[time.Time]int, len(times))
	for i, t := range times {
		index[t] = i
	}
	return times, index
}
