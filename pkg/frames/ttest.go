package frames

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

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
	meta := func() *data.FrameMeta {
		return &data.FrameMeta{
			Type:                data.FrameTypeTimeSeriesMulti,
			TypeVersion:         data.FrameTypeVersion{0, 1},
			ExecutedQueryString: strings.Join(out.Scripts, "\n\n"),
			Custom: map[string]any{
				"mode":       string(out.Mode),
				"lookback":   out.Lookback.String(),
				"pointsRead": out.PointsRead,
			},
		}
	}
	var frames data.Frames
	for _, s := range out.Series {
		values := make([]float64, len(s.Results))
		for i, r := range s.Results {
			switch output {
			case models.OutputT:
				values[i] = r.T
			case models.OutputAnomaly:
				if r.Anomalous(alpha) {
					values[i] = 1
				}
			default:
				values[i] = r.P
			}
		}
		labels := data.Labels{FieldLabel: s.Field}
		for k, v := range s.Tags {
			if k != FieldLabel {
				labels[k] = v
			}
		}
		value := data.NewField(string(output), labels, values)
		value.Config = &data.FieldConfig{DisplayNameFromDS: displayName(s)}
		f := data.NewFrame("", data.NewField("Time", nil, s.Ends), value)
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
