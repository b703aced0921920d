package frames

import (
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerthistory"
)

// AlertTable is the stored alert history as a table, oldest first: time,
// the Kapacitor columns, and one column per label.
func AlertTable(records []alerthistory.Record, statement string) data.Frames {
	labelSet := map[string]bool{}
	for _, r := range records {
		for k := range r.Labels {
			labelSet[k] = true
		}
	}
	labels := make([]string, 0, len(labelSet))
	for k := range labelSet {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	n := len(records)
	times := make([]time.Time, n)
	ids, names, levels, triggers, messages := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	durations := make([]int64, n)
	values := make([]*float64, n)
	labelCols := make([][]string, len(labels))
	for i := range labelCols {
		labelCols[i] = make([]string, n)
	}
	for i, r := range records {
		times[i], ids[i], names[i], levels[i], triggers[i], messages[i] = r.Time, r.AlertID, r.AlertName, r.Level, r.TriggerType, r.Message
		durations[i], values[i] = r.Duration, r.Value
		for j, k := range labels {
			labelCols[j][i] = r.Labels[k]
		}
	}
	duration := data.NewField(alerthistory.FieldDuration, nil, durations)
	duration.Config = &data.FieldConfig{Unit: "ns"}
	f := data.NewFrame("alert history",
		data.NewField("time", nil, times),
		data.NewField(alerthistory.TagAlertName, nil, names),
		data.NewField(alerthistory.TagLevel, nil, levels),
		data.NewField(alerthistory.FieldMessage, nil, messages),
		data.NewField(alerthistory.FieldValue, nil, values),
		duration,
		data.NewField(alerthistory.TagAlertID, nil, ids),
		data.NewField(alerthistory.TagTriggerType, nil, triggers),
	)
	for j, k := range labels {
		f.Fields = append(f.Fields, data.NewField(k, nil, labelCols[j]))
	}
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTable, ExecutedQueryString: statement}
	return data.Frames{f}
}

// AlertAnnotations is the history as annotation regions: fields time,
// timeEnd, title, text and tags, which Grafana maps onto annotations. An
// episode still firing ends at its start (a point annotation).
func AlertAnnotations(events []alerthistory.Event, statement string) data.Frames {
	n := len(events)
	starts, ends := make([]time.Time, n), make([]time.Time, n)
	titles, texts, tags := make([]string, n), make([]string, n), make([]string, n)
	for i, e := range events {
		starts[i], ends[i] = e.Start, e.End
		if e.End.IsZero() {
			ends[i] = e.Start
		}
		titles[i], texts[i], tags[i] = e.AlertName, e.Text, e.Level+","+e.AlertName
	}
	return annotationFrame("alert history", starts, ends, titles, texts, tags, statement)
}

// annotationFrame has the fields Grafana maps onto annotations: time,
// timeEnd, title, text and tags (comma-separated).
func annotationFrame(name string, starts, ends []time.Time, titles, texts, tags []string, statement string) data.Frames {
	f := data.NewFrame(name,
		data.NewField("time", nil, starts),
		data.NewField("timeEnd", nil, ends),
		data.NewField("title", nil, titles),
		data.NewField("text", nil, texts),
		data.NewField("tags", nil, tags),
	)
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTable, ExecutedQueryString: statement}
	return data.Frames{f}
}
