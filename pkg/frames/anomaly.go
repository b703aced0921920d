package frames

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// The band output's number fields, in frame order: the window mean, the
// expected value and the band of means that score at most 1.
var bandFields = []string{"value", "expected", "lower", "upper"}

// Anomaly builds an anomaly query's frames, shaped as the t-test's (TTest):
// one timeseries-multi frame per series, a time field (window ends) and one
// float64 value field named after the output, labelled field=<name> and
// the series' tags; with no series one empty frame carrying the notices.
//
// Outputs: score (>= 0, above 1 anomalous), anomaly (1 when score > 1,
// else 0), expected, pvalue and t (the t-test's; NaN for the other
// detectors, which the query parser refuses), and band: per series one
// frame with four number fields value, expected, lower and upper, each
// labelled like the value field. A band frame keeps the timeseries-multi
// type so that every frame of a response has one type; its first number
// field is value, the window mean, which is what alerting reads from a
// multi frame with more than one number field (the band is for panels:
// alert rules use score or anomaly).
//
// meta.custom has the t-test's mode, lookback, pointsRead and state, plus,
// for the editor's preview, windows (the frame's series' windows) and
// anomalousWindows (those scoring above 1); with no series both are 0.
//
// Infinite and NaN values: a score is +Inf when the baseline has no spread
// and the mean differs from it, and NaN when the detector has no verdict
// (the t-test's NaN p-value). They travel as float64: the backend hands
// frames to Grafana as Arrow, whose float64 holds IEEE ±Inf and NaN as they
// are, so expressions and alert rules compare +Inf > 1 as true and NaN as
// not anomalous; the JSON Grafana sends the browser writes them as null
// with the field's entities (`"entities": {"Inf": [rows]}`, the SDK's
// frame JSON), from which the front end restores Infinity and NaN.
func Anomaly(out *ttest.Outcome, output models.Output) data.Frames {
	var frames data.Frames
	for _, s := range out.Series {
		fields := []*data.Field{data.NewField("Time", nil, s.Ends)}
		if output == models.OutputBand {
			for _, name := range bandFields {
				fields = append(fields, namedField(s, name, bandColumn(s, name)))
			}
		} else {
			values := make([]float64, len(s.Verdicts))
			for i, v := range s.Verdicts {
				values[i] = verdictValue(v, output)
			}
			fields = append(fields, valueField(s, output, values))
		}
		f := data.NewFrame("", fields...)
		f.Meta = anomalyMeta(out, s)
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		f := data.NewFrame("", data.NewField("Time", nil, []time.Time{}), data.NewField(string(output), nil, []float64{}))
		f.Meta = anomalyMeta(out, nil)
		frames = data.Frames{f}
	}
	for _, n := range out.Notices {
		frames[0].Meta.Notices = append(frames[0].Meta.Notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: n})
	}
	return frames
}

// anomalyMeta is outcomeMeta with the preview's counts for series s (nil:
// none).
func anomalyMeta(out *ttest.Outcome, s *ttest.Series) *data.FrameMeta {
	m := outcomeMeta(out)
	windows, anomalous := 0, 0
	if s != nil {
		windows = len(s.Verdicts)
		for _, v := range s.Verdicts {
			if v.Anomalous() {
				anomalous++
			}
		}
	}
	m.Custom.(map[string]any)["windows"] = windows
	m.Custom.(map[string]any)["anomalousWindows"] = anomalous
	return m
}

// verdictValue is what a window shows for a single-valued output.
func verdictValue(v analysis.Verdict, output models.Output) float64 {
	switch output {
	case models.OutputAnomaly:
		if v.Anomalous() {
			return 1
		}
		return 0
	case models.OutputExpected:
		return v.Expected
	case models.OutputPValue:
		return v.P
	case models.OutputT:
		return v.T
	}
	return v.Score
}

// bandColumn is one of the band output's columns for series s.
func bandColumn(s *ttest.Series, name string) []float64 {
	col := make([]float64, len(s.Verdicts))
	for i, v := range s.Verdicts {
		switch name {
		case "value":
			col[i] = s.Means[i]
		case "expected":
			col[i] = v.Expected
		case "lower":
			col[i] = v.Lower
		case "upper":
			col[i] = v.Upper
		}
	}
	return col
}

// namedField is a band column: named name, labelled as valueField, shown
// as the series' display name and the column's name.
func namedField(s *ttest.Series, name string, values any) *data.Field {
	f := valueField(s, models.Output(name), values)
	f.Config.DisplayNameFromDS = displayName(s) + " " + name
	return f
}

// AnomalyLive builds one frame for an anomaly query's live stream, as
// TTestLive does for the t-test: the windows closed in one poll for every
// series of the channel, in wide form (a time field and, per series, one
// value field, or the band's four, labelled as in Anomaly; null where a
// series has no window at that time).
func AnomalyLive(series []*ttest.Series, output models.Output) *data.Frame {
	times, index := windowEnds(series)
	f := data.NewFrame("", data.NewField("Time", nil, times))
	column := func(s *ttest.Series, value func(i int) float64) []*float64 {
		values := make([]*float64, len(times))
		for i, t := range s.Ends {
			v := value(i)
			values[index[t]] = &v
		}
		return values
	}
	for _, s := range series {
		if output == models.OutputBand {
			for _, name := range bandFields {
				col := bandColumn(s, name)
				f.Fields = append(f.Fields, namedField(s, name, column(s, func(i int) float64 { return col[i] })))
			}
			continue
		}
		f.Fields = append(f.Fields, valueField(s, output, column(s, func(i int) float64 { return verdictValue(s.Verdicts[i], output) })))
	}
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide}
	return f
}

// AnomalyAnnotations turns the anomalous windows (score > 1) into
// annotation regions, one per window: time (window start), timeEnd, title,
// text (the window mean, the expected value, the band and the score),
// tags.
func AnomalyAnnotations(out *ttest.Outcome, window time.Duration, detector models.Detector) data.Frames {
	var starts, ends []time.Time
	var titles, texts, tags []string
	for _, s := range out.Series {
		name := displayName(s)
		for i, v := range s.Verdicts {
			if !v.Anomalous() {
				continue
			}
			starts = append(starts, s.Ends[i].Add(-window))
			ends = append(ends, s.Ends[i])
			titles = append(titles, name+" anomaly")
			texts = append(texts, fmt.Sprintf("%s: mean %.4g, expected %.4g (band %.4g to %.4g), score %s (%s)",
				name, s.Means[i], v.Expected, v.Lower, v.Upper, scoreText(v.Score), detector))
			tags = append(tags, "anomaly,"+s.Field)
		}
	}
	return annotationFrame("anomalies", starts, ends, titles, texts, tags, strings.Join(out.Scripts, "\n\n"))
}

// scoreText writes a score, +Inf as "∞" (a baseline without spread).
func scoreText(x float64) string {
	if math.IsInf(x, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.3g", x)
}
