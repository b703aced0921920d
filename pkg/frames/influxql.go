package frames

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// InfluxQL collects a raw InfluxQL answer, chunk by chunk, into frames
// shaped as Grafana's InfluxDB data source shapes InfluxQL results: a series
// with a time column gives one timeseries-multi frame per value column (the
// value field named by the column, the series' tags as labels); a series
// without time (SHOW statements, say) gives one table frame.
type InfluxQL struct {
	// MaxPoints bounds the values read (the data source's "Max points").
	MaxPoints int64
	series    []*influx.Series
	values    int64
}

// Add takes one chunk's series; a series continued from the previous chunk
// is appended to it.
func (b *InfluxQL) Add(s influx.Series) error {
	b.values += int64(len(s.Values) * max(len(s.Columns)-1, 1))
	if b.values > b.MaxPoints {
		return &models.TooManyPointsError{MaxPoints: b.MaxPoints,
			Hint: "aggregate with GROUP BY time($__interval) or narrow the time range"}
	}
	if n := len(b.series); n > 0 && sameSeries(b.series[n-1], &s) {
		b.series[n-1].Values = append(b.series[n-1].Values, s.Values...)
		return nil
	}
	b.series = append(b.series, &s)
	return nil
}

func sameSeries(a, b *influx.Series) bool {
	return a.Name == b.Name && fmt.Sprint(a.Tags) == fmt.Sprint(b.Tags) && fmt.Sprint(a.Columns) == fmt.Sprint(b.Columns)
}

// Frames builds the frames, each with the executed statement in its meta.
func (b *InfluxQL) Frames(statement string) (data.Frames, error) {
	var out data.Frames
	for _, s := range b.series {
		if len(s.Columns) > 1 && s.Columns[0] == "time" {
			times := make([]time.Time, len(s.Values))
			for i, row := range s.Values {
				ns, ok := row[0].(json.Number)
				n, err := ns.Int64()
				if !ok || err != nil {
					return nil, fmt.Errorf("InfluxDB answered a time that is not an epoch: %v", row[0])
				}
				times[i] = time.Unix(0, n).UTC()
			}
			for c := 1; c < len(s.Columns); c++ {
				value := column(s.Values, c)
				value.Name, value.Labels = s.Columns[c], data.Labels(s.Tags)
				f := data.NewFrame(s.Name, data.NewField("Time", nil, times), value)
				f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
				out = append(out, f)
			}
			continue
		}
		f := data.NewFrame(s.Name)
		for c, name := range s.Columns {
			field := column(s.Values, c)
			field.Name = name
			f.Fields = append(f.Fields, field)
		}
		f.Meta = &data.FrameMeta{Type: data.FrameTypeTable}
		out = append(out, f)
	}
	for _, f := range out {
		f.Meta.ExecutedQueryString = statement
	}
	return out, nil
}

// column is one column of rows as a nullable field of the type its values
// have: numbers, booleans, else strings (numbers among strings are kept as
// their text).
func column(rows [][]any, c int) *data.Field {
	numeric, boolean := true, true
	for _, row := range rows {
		switch row[c].(type) {
		case nil:
		case json.Number:
			boolean = false
		case bool:
			numeric = false
		default:
			numeric, boolean = false, false
		}
	}
	switch {
	case numeric:
		vals := make([]*float64, len(rows))
		for i, row := range rows {
			if x, ok := influx.Number(row[c]); ok {
				vals[i] = &x
			}
		}
		return data.NewField("", nil, vals)
	case boolean:
		vals := make([]*bool, len(rows))
		for i, row := range rows {
			if x, ok := row[c].(bool); ok {
				vals[i] = &x
			}
		}
		return data.NewField("", nil, vals)
	}
	vals := make([]*string, len(rows))
	for i, row := range rows {
		if row[c] != nil {
			x := fmt.Sprint(row[c])
			vals[i] = &x
		}
	}
	return data.NewField("", nil, vals)
}
